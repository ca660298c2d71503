"""The column names Outlook writes in German, French, Spanish and Dutch.

Field by field, as a localised Outlook exports its contacts (the lists in
Roundcube's csv2vcard localisation maps, program/localization/{de_DE,
fr_FR,es_ES}/csv2vcard.inc; Open-Xchange's outlook2007.nl_NL.properties for
Dutch; the headers of real exports in tests/data). Roles are
those of headers.py: a field name, or one of its role markers for the
parts of a name and the several emails and phones. Where Outlook's own
labels swap region and country (Roundcube's maps do too), the meaning wins:
`Land` is a country, `Region`/`Provincia`/`Bundesland` a region.
"""

GIVEN, MIDDLE, FAMILY, EMAILS, PHONES, BIRTHDAY = (
    "_given", "_middle", "_family", "_emails", "_phones", "_birthday",
)  # fmt: skip

GERMAN = {
    GIVEN: ("vorname",),
    MIDDLE: ("weitere vornamen", "zweiter vorname"),
    FAMILY: ("nachname",),
    "name": ("anzeigename", "vollständiger name"),
    EMAILS: ("e-mail-adresse", "e-mail", "e-mail adresse", "email-adresse",
             "primäre e-mail-adresse", "sekundäre e-mail-adresse"),
    PHONES: ("telefon geschäftlich", "telefon geschäftlich 2", "telefon privat",
             "telefon privat 2", "mobiltelefon", "mobiltelefon 2", "autotelefon",
             "haupttelefon", "weiteres telefon", "telefon firma", "telefon assistent",
             "fax geschäftlich", "fax privat", "weiteres fax", "rückmeldung", "telefon",
             "telefonnummer", "handy", "mobil", "mobil-tel.-nr.", "tel. dienstlich",
             "telefon für hörbehinderte", "fax-nummer", "pager-nummer",
             "telefon (privat)", "telefon (geschäftlich)", "telefon 2 (privat)"),
    "company": ("firma", "organisation", "unternehmen"),
    "title": ("position",),
    "extra.department": ("abteilung",),
    "city": ("ort geschäftlich", "ort privat", "weiterer ort", "ort", "stadt"),
    "region": ("region geschäftlich", "region privat", "weitere region", "bundesland"),
    "country": ("land/region geschäftlich", "land/region privat", "weiteres land/region",
                "land geschäftlich", "land privat", "weiteres land", "land"),
    "notes": ("notizen", "bemerkungen"),
    "tags": ("kategorien",),
    BIRTHDAY: ("geburtstag", "geburtsdatum"),
    "extra.website": ("webseite", "webseite 1", "webseite 2"),
    "extra.nickname": ("spitzname",),
}  # fmt: skip

FRENCH = {
    GIVEN: ("prénom",),
    MIDDLE: ("deuxième prénom",),
    FAMILY: ("nom", "nom de famille"),
    "name": ("nom à afficher", "nom complet"),
    EMAILS: ("adresse de messagerie", "adresse de messagerie 2", "adresse de messagerie 3",
             "adresse électronique principale", "adresse électronique secondaire",
             "adresse e-mail", "courriel"),
    PHONES: ("téléphone (bureau)", "téléphone 2 (bureau)", "téléphone (domicile)",
             "téléphone 2 (domicile)", "tél. mobile", "téléphone mobile", "portable",
             "téléphone (voiture)", "téléphone principal", "téléphone (autre)",
             "télécopie (bureau)", "télécopie (domicile)", "télécopie (autre)",
             "téléphone de l'assistant(e)", "récepteur de radiomessagerie",
             "tél. professionnel", "téléphone"),
    "company": ("société", "entreprise"),
    "title": ("fonction", "poste"),  # not "Profession": English Outlook has it too
    "city": ("ville (bureau)", "ville (domicile)", "ville (autre)", "ville"),
    "region": ("dép/région (bureau)", "dép/région (domicile)", "dép/région (autre)"),
    "country": ("pays/région (bureau)", "pays/région (domicile)", "pays/région (autre)",
                "pays"),
    "tags": ("catégories",),
    BIRTHDAY: ("anniversaire", "date de naissance"),
    "extra.website": ("page web", "site web 1"),
    "extra.nickname": ("surnom",),
}  # fmt: skip

SPANISH = {
    GIVEN: ("nombre",),
    MIDDLE: ("segundo nombre",),
    FAMILY: ("apellidos", "apellido"),
    "name": ("nombre en pantalla", "nombre completo"),
    EMAILS: ("dirección de correo electrónico", "dirección de correo electrónico 2",
             "dirección del correo electrónico 3", "dirección de correo electrónico 3",
             "dirección de correo electrónico principal",
             "dirección de correo electrónico secundaria", "correo electrónico",
             "correo"),
    PHONES: ("teléfono del trabajo", "teléfono del trabajo 2", "particular",
             "teléfono particular", "teléfono particular 2", "teléfono móvil", "móvil",
             "teléfono principal", "otro teléfono", "fax del trabajo", "fax particular",
             "otro fax", "buscapersonas", "teléfono del automóvil", "teléfono (trabajo)",
             "teléfono"),
    "company": ("organización", "compañía", "empresa"),
    "title": ("puesto", "cargo"),
    "extra.department": ("departamento",),
    "city": ("ciudad de trabajo", "ciudad del trabajo", "ciudad particular",
             "ciudad del domicilio", "otra ciudad", "ciudad"),
    "region": ("provincia o estado de trabajo", "provincia o estado del trabajo",
               "provincia o estado particular", "provincia o estado del domicilio",
               "otra provincia o estado", "provincia"),
    "country": ("país o región del trabajo", "país o región del domicilio",
                "otro país o región", "país de residencia", "país"),
    "notes": ("notas",),
    "tags": ("categorías",),
    BIRTHDAY: ("cumpleaños", "fecha de nacimiento"),
    "extra.website": ("página web", "página web 1"),
    "extra.nickname": ("apodo",),
}  # fmt: skip

DUTCH = {
    GIVEN: ("voornaam",),
    MIDDLE: ("middelste naam", "tussenvoegsel"),
    FAMILY: ("achternaam",),
    "name": ("weergavenaam", "volledige naam"),
    EMAILS: ("e-mailadres", "e-mail-adres", "e-mailadres 2", "e-mailadres 3"),
    PHONES: ("telefoon op werk", "telefoon op werk 2", "telefoon thuis", "telefoon thuis 2",
             "mobiele telefoon", "mobiel", "autotelefoon", "hoofdtelefoon",
             "andere telefoon", "fax op werk", "fax thuis", "andere fax", "pieper",
             "telefoon", "telefoonnummer", "telefoon assistent", "werktelefoon",
             "terugbellen", "radiotelefoon"),
    "company": ("bedrijf", "bedrijfsnaam", "organisatie"),
    "title": ("functie",),
    "extra.department": ("afdeling",),
    "city": ("werkplaats", "huisadres, plaats", "werkadres, plaats", "ander adres, plaats",
             "plaats", "woonplaats"),
    "region": ("werkprovincie", "provincie", "werkadres, provincie", "huisadres, provincie"),
    "country": ("land/regio (werk)", "land/regio (thuis)", "land/regio (anders)", "werkland",
                "land/regio"),
    "notes": ("notities", "opmerkingen"),
    "tags": ("categorieën",),
    BIRTHDAY: ("verjaardag", "geboortedatum"),
    "extra.website": ("webpagina", "webpagina 1", "website"),
    "extra.nickname": ("bijnaam",),
}  # fmt: skip

# "E-Mail 2: Adresse" (de), "E-mail 2: adres" (nl), "Adresse de messagerie 2" (fr),
# "Dirección de correo electrónico 2" (es): any number, not only the first three.
NUMBERED_EMAILS = (
    r"^e-?mail \d+: ?adresse?$",
    r"^e-?mail-?adres \d+$",
    r"^adresse de messagerie \d+$",
    r"^direcci[oó]n del? correo electr[oó]nico \d+$",
)


def localised_aliases() -> dict[str, str]:
    """header key → role, for every language above."""
    aliases: dict[str, str] = {}
    for language in (GERMAN, FRENCH, SPANISH, DUTCH):
        for role, names in language.items():
            for name in names:
                aliases.setdefault(name, role)
    return aliases
