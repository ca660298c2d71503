"""The word lists `crm demo` draws from: names, places, companies and
summaries in Latin, Persian and Greek scripts, and the shop's vocabulary."""

import unicodedata
from dataclasses import dataclass

# fmt: off
LOST_REASONS = ("no budget", "no need", "wrong contact", "went elsewhere")
TAGS = ("vip", "wholesale", "newsletter", "no-budget", "repeat", "local", "price-sensitive")
OWNERS = ("Sam", "Ana", "Jonas", "Leila", "Nikos")  # the shop's salespeople
SOURCES = ("referral",) * 4 + ("walk-in",) * 4 + ("website",) * 4 + ("instagram",) * 3 + (
    "facebook", "facebook", "trade-show", "cold-call", "cold-call")
INDUSTRIES = ("retail", "hospitality", "construction", "health", "education", "tech",
              "food & beverage", "beauty", "automotive", "real estate")
RECURRENCES = ("FREQ=WEEKLY;INTERVAL=1", "FREQ=WEEKLY;INTERVAL=2", "FREQ=MONTHLY;INTERVAL=1",
               "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR", "FREQ=DAILY;INTERVAL=1")
FOLLOWUPS_PER_CONTACT = (0,) * 6 + (1,) * 12 + (2,) * 15 + (3,) * 11 + (4,) * 6  # mean 2
FOLLOWUP_NOTES = ("Call back about the quote", "Send samples", "Check the delivery went well",
                  "Ask for a review", "Remind about the unpaid invoice", "Check in", None)
START_INDEX = (0,) * 18 + (1,) * 2  # most leads enter at the top of the funnel
# Before a contact is won it is courted; afterwards it mostly buys.
PROSPECT_KINDS = ("call", "email") * 3 + ("note", "sms", "visit") * 2 + ("meeting", "quote")
CUSTOMER_KINDS = ("purchase",) * 4 + ("call", "email", "note", "sms", "visit", "quote")
# "{p}" is a product. Latin-script contacts get English summaries, the others
# a mix of English and their own language, as a real shop would type them.
SUMMARIES = {
    "call": ("Called about {p}", "Left a voicemail", "Call: asked for a discount on {p}",
             "Discussed delivery dates for {p}", "Follow-up call on the quote"),
    "email": ("Sent the price list for {p}", "Emailed the catalogue", "Sent the invoice",
              "Answered questions about {p}", "Replied to the newsletter, wants {p}"),
    "meeting": ("Meeting at their place about {p}", "Showed a demo of {p}",
                "Lunch meeting, talked about next season", "Meeting to review the contract"),
    "note": ("Budget approved for {p}", "Decision expected next month",
             "Prefers to be called in the morning", "Comparing us with a competitor on {p}"),
    "sms": ("Texted the opening hours", "SMS reminder about the appointment",
            "Texted: {p} back in stock"),
    "visit": ("Came by the shop, looked at {p}", "Visited the showroom for {p}"),
    "quote": ("Quote for {p}", "Revised quote for {p}", "Quote for {p} with delivery"),
    "purchase": ("Bought {p}", "Order of {p}", "Repeat order: {p}", "Paid for {p} in cash"),
}
PRODUCTS = ("office chairs", "an espresso machine", "floor tiles", "LED lighting", "gift cards",
            "the winter stock", "a catering package", "two laptops", "paint supplies",
            "spa vouchers", "a display fridge", "printer toner", "kitchen knives", "a sofa")
# Reserved example domains (RFC 2606): demo data must never reach a real mailbox.
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
EXTRA_KEYS = ("birthday", "instagram", "preferred_contact")
ARABIC_KEYS = str.maketrans("یک", "يك")  # what an Arabic keyboard types for them


@dataclass(frozen=True)
class Script:
    """What fits one writing system: companies ({last}: the contact's surname),
    titles, notes, and summaries in that language with their products."""

    companies: tuple[str, ...]
    titles: tuple[str, ...]
    notes: tuple[str, ...]
    summaries: dict[str, tuple[str, ...]]
    products: tuple[str, ...] = ()


SCRIPTS = {
    "latin": Script(
        ("{last} & Sons", "{last} Hardware", "{last} Consulting", "Blue Harbor Café",
         "Northside Builders", "Green Leaf Market", "Sunrise Dental", "Bright Minds Academy",
         "Pixel Forge Studio", "Golden Crust Bakery", "Harbor View Hotel", "Prime Auto Repair"),
        ("Owner", "Manager", "Purchasing Manager", "Office Manager", "Assistant", "CEO"),
        ("Prefers WhatsApp", "Call after 5pm", "Asked about bulk discounts",
         "Met at the spring trade fair", "Pays by bank transfer"),
        {}),
    "persian": Script(
        ("فروشگاه آریا", "شرکت پارس‌تجارت", "کافه نارنج", "هتل سپهر", "آموزشگاه البرز",
         "کلینیک دندان‌پزشکی نوین", "ساختمانی کیان", "{last} و پسران"),
        ("مدیر", "مالک", "مدیر خرید", "کارشناس فروش", "حسابدار"),
        ("ترجیح می‌دهد با واتس‌اپ تماس بگیریم", "بعد از ساعت ۵ تماس گرفته شود",
         "دنبال تخفیف عمده است"),
        {"call": ("تماس درباره {p}", "پیگیری تلفنی پیش‌فاکتور"), "purchase": ("خرید {p}",),
         "visit": ("به فروشگاه آمد و {p} را دید",), "quote": ("پیش‌فاکتور {p}",),
         "note": ("بودجه {p} تأیید شد",)},
        ("صندلی اداری", "دستگاه اسپرسو", "کاشی کف", "کارت هدیه")),
    "greek": Script(
        ("{last} Α.Ε.", "{last} & ΣΙΑ Ο.Ε.", "Ταβέρνα Ο Μύλος", "Ξενοδοχείο Αιγαίο",
         "Φούρνος Η Γωνιά", "Φροντιστήριο Πρόοδος", "Φαρμακείο Υγεία"),
        ("Ιδιοκτήτης", "Διευθυντής", "Υπεύθυνος αγορών", "Λογιστής"),
        ("Προτιμά τηλεφωνική επικοινωνία", "Καλέστε μετά τις 5 μ.μ.", "Ζήτησε έκπτωση χονδρικής"),
        {"call": ("Τηλεφώνημα για {p}", "Άφησα μήνυμα"), "purchase": ("Αγόρασε {p}",),
         "visit": ("Ήρθε στο κατάστημα για {p}",), "quote": ("Προσφορά για {p}",),
         "email": ("Στάλθηκε ο τιμοκατάλογος",)},
        ("καρέκλες γραφείου", "μηχανή εσπρέσο", "πλακάκια", "δωροκάρτες")),
}


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _names(spec: str) -> tuple[tuple[str, str, str, bool], ...]:
    """'Name[:ascii[:f]]' items, 'Male|Female' surname forms (Greek), as
    (male form, female form, ascii for the email, is a woman's first name)."""
    items = [(item.split(":") + ["", ""])[:3] for item in spec.split()]
    return tuple((n.split("|")[0], n.split("|")[-1], a or _ascii(n).replace("'", ""), f == "f")
                 for n, a, f in items)


EN = (_names("James Mary Robert Patricia John Jennifer Michael Linda David Emily Sarah Chris "
             "Jessica Kevin Ashley Oliver Amelia George Isla Harry Grace Chloe"),
      _names("Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore "
             "Jackson Thompson White Harris Clark Walker Wright Evans Hughes O'Brien"))
ES = (_names("José María Antonio Carmen Manuel Lucía Javier Ana Francisco Laura Álvaro Marta "
             "Sergio Elena Pablo Sofía Raúl Begoña Íñigo Nuria Guadalupe Alejandro"),
      _names("García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Jiménez "
             "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Navarro Torres Peña"))
DE = (_names("Jürgen Anna Lukas Sophie Maximilian Marie Felix Lena Jonas Hannah Stefan Katrin "
             "Matthias Julia Uwe Sabine Jörg Björn Ute Günter"),
      _names("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
             "Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Zimmermann Krüger"))
FR = (_names("Jean Marie Pierre Camille Louis Chloé Hugo Léa Lucas Manon Antoine Zoé Théo Inès "
             "Mathieu Hélène François Céline"),
      _names("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon "
             "Laurent Lefèvre Michel Garnier Faure Rousseau Fontaine"))
IT = (_names("Giuseppe Maria Giovanni Anna Marco Giulia Luca Francesca Alessandro Chiara Matteo "
             "Sara Andrea Elena Niccolò Federica"),
      _names("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
             "Gallo Conti Mancini Costa Giordano"))
# Persian: some names hold a zero-width non-joiner, as Persian keyboards type them.
FA = (_names("محمد:mohammad علی:ali زهرا:zahra فاطمه:fatemeh حسین:hossein مریم:maryam "
             "رضا:reza سارا:sara امیر:amir نرگس:narges مهدی:mehdi لیلا:leila مهر‌ناز:mehrnaz "
             "آرش:arash شیرین:shirin کیان:kian نیلوفر:niloufar امیر‌حسین:amirhossein "
             "محمد‌رضا:mohammadreza پریسا:parisa"),
      _names("رضایی:rezaei کریمی:karimi محمدی:mohammadi حسینی:hosseini احمدی:ahmadi "
             "موسوی:mousavi جعفری:jafari رحیمی:rahimi صادقی:sadeghi کاظمی:kazemi "
             "علی‌پور:alipour نوری:nouri حسینی‌نژاد:hosseininejad یزدانی:yazdani "
             "قاسمی:ghasemi شریفی:sharifi عباسی:abbasi"))
EL = (_names("Γιώργος:giorgos Νίκος:nikos Κώστας:kostas Δημήτρης:dimitris Γιάννης:giannis "
             "Παναγιώτης:panagiotis Βασίλης:vasilis Χρήστος:christos Σπύρος:spyros "
             "Μαρία:maria:f Ελένη:eleni:f Κατερίνα:katerina:f Σοφία:sofia:f "
             "Αγγελική:angeliki:f Δήμητρα:dimitra:f Ιωάννα:ioanna:f Χριστίνα:christina:f"),
      _names("Παπαδόπουλος|Παπαδοπούλου:papadopoulos Νικολάου:nikolaou Γεωργίου:georgiou "
             "Οικονόμου:oikonomou Βλάχος|Βλάχου:vlachos Μακρής|Μακρή:makris Ιωάννου:ioannou "
             "Παπαδάκης|Παπαδάκη:papadakis Καραγιάννης|Καραγιάννη:karagiannis "
             "Παππάς|Παππά:pappas Πετρόπουλος|Πετροπούλου:petropoulos"))


@dataclass(frozen=True)
class Locale:
    country: str
    script: str
    weight: int
    phones: tuple[str, ...]  # prefixes; `digits` random digits follow
    digits: int
    places: str  # "city/region; …"
    names: tuple  # (first names, surnames)


LOCALES = (
    Locale("United States", "latin", 18, ("+1212", "+1512", "+1312", "+1206", "+1305"), 7,
            "New York/NY; Austin/TX; Chicago/IL; Seattle/WA; Miami/FL", EN),
    Locale("United Kingdom", "latin", 7, ("+4477", "+4478", "+4479"), 8,
            "London/England; Manchester/England; Edinburgh/Scotland; Cardiff/Wales", EN),
    Locale("España", "latin", 8, ("+346",), 8,
            "Madrid/Madrid; Barcelona/Cataluña; Sevilla/Andalucía; Bilbao/País Vasco", ES),
    Locale("México", "latin", 6, ("+5255", "+5233", "+5281"), 8,
            "Ciudad de México/CDMX; Guadalajara/Jalisco; Monterrey/Nuevo León", ES),
    Locale("Deutschland", "latin", 9, ("+49151", "+49160", "+49176"), 8,
            "Berlin/Berlin; München/Bayern; Köln/Nordrhein-Westfalen; Leipzig/Sachsen", DE),
    Locale("France", "latin", 6, ("+3361", "+3365", "+3377"), 7,
            "Paris/Île-de-France; Lyon/Auvergne-Rhône-Alpes; Nantes/Pays de la Loire", FR),
    Locale("Italia", "latin", 6, ("+393",), 9,
            "Roma/Lazio; Milano/Lombardia; Napoli/Campania; Firenze/Toscana", IT),
    Locale("ایران", "persian", 25, ("+98912", "+98935", "+98919", "+98936"), 7,
            "تهران/تهران; اصفهان/اصفهان; شیراز/فارس; مشهد/خراسان رضوی; رشت/گیلان", FA),
    Locale("Ελλάδα", "greek", 15, ("+3069",), 8,
            "Αθήνα/Αττική; Θεσσαλονίκη/Κεντρική Μακεδονία; Πάτρα/Δυτική Ελλάδα; "
            "Ηράκλειο/Κρήτη", EL),
)
# fmt: on
LOCALE_DRAW = [locale for locale in LOCALES for _ in range(locale.weight)]
PLACES = {loc: [tuple(p.strip().split("/")) for p in loc.places.split(";")] for loc in LOCALES}

# The shop's catalogue: (name, code, price in cents). Deal lines draw from it.
CATALOGUE = (
    ("Office chair", "CHR-01", 18900),
    ("Espresso machine", "ESP-02", 64900),
    ("Floor tiles (m²)", "TIL-03", 3450),
    ("LED panel", "LED-04", 7990),
    ("Gift card", "GFT-05", 5000),
    ("Catering package", "CAT-06", 42000),
    ("Laptop", "LAP-07", 109900),
    ("Paint (10 l)", "PNT-08", 6590),
    ("Spa voucher", "SPA-09", 12000),
    ("Display fridge", "FRG-10", 189000),
    ("Printer toner", "TNR-11", 4790),
    ("Kitchen knife set", "KNF-12", 15900),
)
LINES_PER_DEAL = (1,) * 5 + (2,) * 3 + (3,) * 2 + (4,)  # mean ~2
QUANTITIES = (1, 1, 1, 1, 2, 2, 3, 4, 5, 10, 0.5, 2.5)
DISCOUNTS = (5.0, 10.0, 10.0, 15.0, 20.0, 2.5)  # percent, on about a quarter of the lines
REPEAT_DEALS = (0, 0, 1, 1, 1, 2, 2, 3, 4)  # more deals for a won customer over the year
