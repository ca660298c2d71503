"""vCard reading against files other programs wrote, and the round trip of
minicrm's own vCards (3.0 and 4.0)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.errors import UserError
from minicrm.models import ContactRead
from minicrm.services.transfer.vcard import read_vcards
from minicrm.services.transfer.vcard_writing import contacts_to_vcards

DATA = Path(__file__).resolve().parents[1] / "data"  # copies, see tests/data/SOURCES.md
VCARDS, CONTACTS_CSV = DATA / "vcards", DATA / "contacts-csv"
JOHN_NOTE_START = 'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"'
IBM = {"email": "john.doe@ibm.com", "company": "IBM", "title": "Money Counter"}

# Per file, per card: fields that must be there (extra compared key by key).
EXPECTED = {
    "John_Doe_ANDROID.vcf": [
        {"name": "john.doe@company.com", "email": "john.doe@company.com", "tags": ["My Contacts"]},
        {"name": "jane.doe@company.com", "line": 6},
        {"name": "Ñ Ñ Ñ Ñ Ñ", "phone": "123456789", "line": 11},  # quoted-printable UTF-8
        {
            "name": "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ",  # soft line breaks joined
            "phone": "123456",
            "extra": {"phone_2": "234567", "phone_3": "3456789", "phone_4": "45678901"},
        },
        {"name": "Ñ Ñ Ñ Ñ", "email": "bob@company.com", "company": "Ñ" * 12, "tags": []},
        {"name": "ÑÑÑÑ", "email": "henry@company.com", "company": "Ñ" * 44, "line": 71},
    ],
    "John_Doe_BLACK_BERRY.vcf": [
        {"name": "John Doe", "phone": "+96123456789", "company": "Acme Solutions"}
    ],
    "John_Doe_EVOLUTION.vcf": [
        {
            **IBM,
            "name": "Mr. John Richter, James Doe Sr.",
            "phone": "905-666-1234",
            "city": "Albaney",
            "region": "New York",
            "country": "United States of America",
            "tags": ["VIP"],
            "extra": {
                "street": "ASB-123, 15 Crescent moon drive",
                "postal_code": "12345",
                "birthday": "1980-03-22",
                "nickname": "Johny",
                "url": "http://www.ibm.com",
                "department": "Accounting, Dungeon",
                "phone_2": "905-555-1234",
            },
        }
    ],
    "John_Doe_GMAIL.vcf": [
        {
            **IBM,
            "name": "Mr. John Richter, James Doe Sr.",
            "phone": "905-555-1234",
            "extra": {
                "street": "Crescent moon drive\n555-asd\nNice Area, Albaney, New York 12345\n"
                "United States of America",
                "url": "http://www.ibm.com",  # written as http\://
                "birthday": "1980-03-22",
                "phone_2": "905-666-1234",
            },
        }
    ],
    "John_Doe_IPHONE.vcf": [
        {
            **IBM,
            "name": "Mr. John Richter James Doe Sr.",
            "phone": "905-555-1234",
            "city": "New York",
            "country": "United States of America",
            "extra": {
                "street": "Silicon Alley 5,",
                "department": "Accounting",
                "birthday": "2012-06-06",
                "phone_7": "905-222-1234",
            },
        }
    ],
    "John_Doe_LOTUS_NOTES.vcf": [
        {
            "name": "Mr. Doe John I Johny",
            "email": "john.doe@ibm.com",
            "phone": "+1 (212) 204-34456",
            "company": "IBM",
            "title": "Generic Accountant",
            "country": "U.S.A.",
            "extra": {
                "email_2": "billy_bob@gmail.com",
                "phone_2": "00-1-212-555-7777",
                "department": "SUN",
                "role": "Counting Money",
                "nickname": "Johny,JayJay",
                "postal_code": "NYC887",
            },
        }
    ],
    "John_Doe_MAC_ADDRESS_BOOK.vcf": [
        {
            **IBM,
            "name": "Mr. John Richter,James Doe Sr.",
            "phone": "905-777-1234",  # the preferred one, not the first
            "city": "New York",
            "extra": {"phone_2": "905-666-1234", "url": "http://www.ibm.com"},
        }
    ],
    "John_Doe_MS_OUTLOOK.vcf": [
        {
            "name": "Mr. John Richter James Doe Sr.",
            "email": "john.doe@ibm.cm",
            "phone": "(905) 555-1234",
            "company": "IBM",
            "title": "Money Counter",
            "city": "Albaney",  # the preferred (work) address
            "extra": {"street": "Cresent moon drive", "role": "Counting Money"},
        }
    ],
    "gmail-list.vcf": [
        {"name": "Arnold Smith", "email": "asmithk@gmail.com", "line": 1, "card": 1},
        {"name": "Chris Beatle", "email": "chrisy55d@yahoo.com", "line": 7, "card": 2},
        {"name": "Doug White", "email": "dwhite@gmail.com", "line": 13, "card": 3},
    ],
    "khard-altid.vcf": [{"name": "altid"}],
    "khard-category.vcf": [
        {"name": "contact with category", "email": "foo@example.org", "tags": ["bar"]}
    ],
    "khard-korean-c.vcf": [{"name": "최유림"}],
    "khard-korean-j.vcf": [{"name": "전도훈"}],
    "khard-labels.vcf": [{"name": "labeled guy", "company": "Test Inc"}],
    "khard-minimal.vcf": [{"name": "minimal contact", "tags": [], "extra": {}}],
    "khard-org.vcf": [{"name": "ACME Inc.", "company": "ACME Inc."}],
    "khard-post.vcf": [
        {
            "city": "The City",
            "region": "SomeState",
            "country": "HomeCountry",
            "extra": {"street": "PostBox, Ext, Main Street 1", "postal_code": "00000"},
        }
    ],
    "khard-tel-value-uri.vcf": [{"name": "bug 195", "phone": "67545678"}],
    "outlook-2003.vcf": [
        {
            "name": "John Doe III",
            "email": "jdoe@hotmail.com",
            "company": "Company, The",
            "notes": "This is the note field!!\nSecond line\n\nThird line is empty",
            "city": "Austin",
            "region": "TX",
            "extra": {"department": "TheDepartment", "birthday": "1980-03-21", "nickname": "Joey"},
        }
    ],
    "outlook-2007.vcf": [
        {
            "name": "Mr. Michael Angstadt Jr.",
            "email": "mike.angstadt@gmail.com",
            "phone": "(111) 555-1111",
            "notes": "This is the NOTE field\t\n"
            "I assume it encodes this text inside a NOTE vCard type.\n"
            "But I'm not sure because there's text formatting going on here.\n"
            "It does not preserve the formatting",
            "extra": {"url": "http://mikeangstadt.name", "phone_4": "(111) 555-3333"},
        }
    ],
    "rfc2426-example.vcf": [
        {
            "name": "Frank Dawson",
            "email": "Frank_Dawson@Lotus.com",
            "phone": "+1-919-676-9515",
            "company": "Lotus Development Corporation",
            "city": "Raleigh",
            "extra": {"email_2": "fdawson@earthlink.net", "postal_code": "27613-3502"},
        },
        {"name": "Tim Howes", "city": "Mountain View", "extra": {"postal_code": "94043"}},
    ],
    "rfc6350-example.vcf": [
        {
            "name": "Simon Perreault",
            "phone": "+1-418-656-9254 ext. 102",  # tel: URI with an extension
            "company": "Viagenie",
            "country": "Canada",
            "extra": {"phone_2": "+1-418-262-6501", "birthday": "--02-03"},
        }
    ],
}
EXPECTED_FROM_CSV = {
    "all.expected.vcf": [
        {
            "name": "Display Name",
            "email": "home@example.com",
            "phone": "100",
            "company": "Company",
            "title": "Job Title",
            "notes": "Notes",
            "tags": ["test"],
            "city": "Home City",
            "extra": {
                "email_3": "other@example.com",
                "phone_13": "444",
                "department": "Department",
            },
        }
    ],
    "email.expected.vcf": [
        {"name": f"test{n}@domain.tld", "email": f"test{n}@domain.tld"} for n in range(1, 5)
    ],
    "gmail.expected.vcf": [{"notes": 'note"note', "tags": ["My Contacts", "Test"]}],
    "outlook.expected.vcf": [
        {"email": "test1@domain.tld", "extra": {"email_3": "test3@domain.tld"}}
    ],
    "tb_plain.expected.vcf": [
        {"name": "Displayname", "country": "USA", "extra": {"email_2": "next@domain.tld"}}
    ],
}


def read_file(path: Path) -> list[dict]:
    return read_vcards(path.read_text(encoding="utf-8"), source_name=path.name)


def assert_has(card: dict, expected: dict) -> None:
    for key, value in expected.items():
        if key == "extra":
            assert {k: card["extra"].get(k) for k in value} == value
        else:
            assert card.get(key) == value, (key, card.get(key))


def test_every_shared_vcard_file_has_expectations():
    assert sorted(p.name for p in VCARDS.glob("*.vcf")) == sorted(
        [*EXPECTED, "khard-unparsable.vcf"]
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vcards_other_programs_wrote(name):
    cards = read_file(VCARDS / name)
    assert len(cards) == len(EXPECTED[name])
    for number, (card, expected) in enumerate(zip(cards, EXPECTED[name], strict=True), 1):
        assert card["card"] == number and card["name"]
        assert_has(card, expected)


@pytest.mark.parametrize("name", ["John_Doe_EVOLUTION.vcf", "John_Doe_GMAIL.vcf"])
def test_folded_escaped_notes_come_back_whole(name):
    (card,) = read_file(VCARDS / name)
    assert card["notes"].startswith(JOHN_NOTE_START)
    assert "INCLUDING, BUT NOT LIMITED TO, PROCUREMENT" in card["notes"]


@pytest.mark.parametrize("name", sorted(EXPECTED_FROM_CSV))
def test_vcards_converted_from_the_shared_csv_files(name):
    cards = read_file(CONTACTS_CSV / name)
    assert len(cards) == len(EXPECTED_FROM_CSV[name])
    for card, expected in zip(cards, EXPECTED_FROM_CSV[name], strict=True):
        assert_has(card, expected)


def test_the_unparsable_card_is_one_refusal_naming_it():
    assert read_file(VCARDS / "khard-unparsable.vcf") == [
        {"line": 1, "card": 1, "error": "card 1 (line 1) is not closed: END:VCARD is missing"}
    ]


# ------------------------------------------------------- tolerant, not lax


def card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no vCard found"),
        ("name,email\nBob,bob@example.com\n", "line 1: expected BEGIN:VCARD, found 'name,email'"),
    ],
)
def test_a_file_that_is_no_vcard_is_refused_whole(text, says):
    with pytest.raises(UserError, match="^f.vcf: ") as caught:
        read_vcards(text, source_name="f.vcf")
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (card("FN:One") + "stray text\n", 5, "text between cards, expected BEGIN:VCARD"),
        (card("FN:One") + "BEGIN:VCARD\nFN:Two\n", 5, "card 2 (line 5) is not closed"),
        (card("not a property", "=garbage"), 1, "card 1 (line 1): line 3 is not a vCard property"),
        (card("FN:X", version="5.0"), 1, "vCard version '5.0' is not supported"),
    ],
)
def test_a_card_that_cannot_be_read_is_one_refusal_and_the_others_are_read(text, line, says):
    cards = read_vcards(text + card("FN:Last"), source_name="f.vcf")
    refused = [c for c in cards if "error" in c]
    assert [(c["line"], says in c["error"]) for c in refused] == [(line, True)]
    assert cards[-1]["name"] == "Last"


def test_a_card_missing_its_end_does_not_swallow_the_next_ones():
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Open\n" + card("FN:Two") + card("FN:Three")
    cards = read_vcards(text)
    assert [c.get("name") or c["error"] for c in cards] == [
        "card 1 (line 1) is not closed: END:VCARD is missing",
        "Two",
        "Three",
    ]
    assert [c["card"] for c in cards] == [1, 2, 3]


def test_an_unreadable_line_in_a_card_that_says_who_it_is_is_skipped():
    (read,) = read_vcards(card("FN:Maria", "not a property", "EMAIL:m@example.com"))
    assert (read["name"], read["email"]) == ("Maria", "m@example.com")


def test_a_card_without_any_name_comes_back_nameless_for_the_import_to_reject():
    assert read_vcards(card("NOTE:who?")) == [
        {"name": "", "notes": "who?", "tags": [], "extra": {}, "line": 1, "card": 1}
    ]


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (["N:Lopez;Maria;;Dr.;"], "Dr. Maria Lopez"),
        (["ORG:ACME;Sales"], "ACME"),
        (["EMAIL:m@example.com"], "m@example.com"),
    ],
)
def test_the_name_falls_back_to_n_then_org_then_email(lines, name):
    assert read_vcards(card(*lines))[0]["name"] == name


def test_quoted_printable_in_a_declared_charset_or_windows_1252():
    text = card(
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Jos=E9 M=FCller",
        "NOTE;ENCODING=QUOTED-PRINTABLE:Caf=E9 au lait=0D=0Anext=",
        " line",
        version="2.1",
    )
    (read,) = read_vcards(text)
    assert read["name"] == "José Müller"
    assert read["notes"] == "Café au lait\nnext line"  # undeclared, not UTF-8: cp1252


def test_preferred_email_and_phone_come_first_in_every_version():
    v21 = card("FN:A", "EMAIL;INTERNET:a@x.org", "EMAIL;PREF;INTERNET:b@x.org", version="2.1")
    v30 = card("FN:A", "TEL:1", "TEL;TYPE=cell,pref:2")
    v40 = card("FN:A", "TEL;PREF=2:1", "TEL;VALUE=uri;PREF=1:tel:+1-555-0100", version="4.0")
    assert read_vcards(v21)[0]["email"] == "b@x.org"
    assert read_vcards(v21)[0]["extra"] == {"email_2": "a@x.org"}
    assert read_vcards(v30)[0]["phone"] == "2"
    assert read_vcards(v40)[0]["phone"] == "+1-555-0100"


def test_categories_from_every_line_split_on_commas():
    text = card("FN:A", "CATEGORIES:vip,Wholesale", "CATEGORIES:a\\,b,vip")
    assert read_vcards(text)[0]["tags"] == ["vip", "Wholesale", "a", "b"]


def test_old_mac_line_endings_nested_agent_cards_and_photos_are_coped_with():
    text = "\r".join(
        ["BEGIN:VCARD", "VERSION:2.1", "FN:Boss", "PHOTO;ENCODING=BASE64:!!not base64!!", "",
         "AGENT:", "BEGIN:VCARD", "FN:Assistant", "END:VCARD", "TEL:555", "END:VCARD"]
    )  # fmt: skip
    assert read_vcards(text) == [
        {"name": "Boss", "phone": "555", "tags": [], "extra": {}, "line": 1, "card": 1}
    ]


VCARD_BITS = st.sampled_from(
    ["BEGIN:VCARD", "END:VCARD", "VERSION:2.1", "VERSION:4.0", "FN:A", "N:;;", "TEL;PREF:1",
     "NOTE;ENCODING=QUOTED-PRINTABLE:a=", "=C3=", " folded", "", ":", ";", "ADR:;;;", "\\",
     "EMAIL;TYPE=\"a,b\":x", "PHOTO;ENCODING=b:==", "CATEGORIES:,,", "item1.ORG:\\;x"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(VCARD_BITS, st.text(max_size=12)), max_size=20), st.sampled_from("\n\r"))
def test_any_text_gives_cards_or_a_user_error_never_a_traceback(bits, newline):
    try:
        cards = read_vcards(newline.join(bits))
    except UserError as exc:
        assert exc.message
    else:
        for c in cards:
            assert c["line"] >= 1
            assert isinstance(c.get("name"), str) or c["error"]


# ----------------------------------------------------------- round trip

WHEN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def contact(**fields) -> ContactRead:
    return ContactRead(
        **{"id": 7, "name": "Maria Lopez", "stage": "interest", **fields},
        created_at=WHEN,
        updated_at=WHEN,
    )


FULL = dict(
    name="Μαρία Παπαδοπούλου",
    email="maria@example.com",
    phone="+302101234567",
    company="Ωμέγα, Inc.; Athens",
    title="Buyer",
    city="Athens",
    region="Attica",
    country="Greece",
    notes="پیگیری سفارش فرش\nsecond line; with, punctuation \\ and a long tail " * 3,
    tags=["vip", "wholesale"],
    extra={
        "email_2": "m2@example.com",
        "phone_2": "210 555 0100",
        "street": "Ermou 1",
        "postal_code": "105 63",
        "birthday": "1980-03-22",
        "url": "https://example.com/a,b",
        "nickname": "Mary",
        "department": "Sales",
        "role": "Owner",
    },
)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_round_trip_keeps_every_field_a_vcard_can_hold(version):
    text = contacts_to_vcards([contact(**FULL), contact(id=8, name="Bob")], version=version)
    assert text.count("\r\n") == text.count("\n")  # CRLF only
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
    assert f"VERSION:{version}\r\n" in text and "UID:contact-7@minicrm\r\n" in text
    assert "REV:20260320T120000Z\r\n" in text
    first, second = read_vcards(text)
    expected = {k: v for k, v in FULL.items() if k != "notes"}
    assert {k: first[k] for k in expected} == expected
    assert first["notes"] == FULL["notes"].strip()
    assert second == {
        "name": "Bob", "tags": [], "extra": {}, "line": second["line"], "card": 2, "_own_id": 8,
    }  # fmt: skip


def test_vobject_reads_our_vcards_too():
    import vobject

    for version in ("3.0", "4.0"):
        (parsed,) = vobject.readComponents(contacts_to_vcards([contact(**FULL)], version=version))
        assert parsed.fn.value == FULL["name"]
        assert parsed.org.value == ["Ωμέγα, Inc.; Athens", "Sales"]
        assert parsed.categories.value == ["vip", "wholesale"]


def test_version_4_writes_tel_uris_for_international_numbers():
    text = contacts_to_vcards([contact(phone="+302101234567")], version="4.0")
    assert "TEL;VALUE=uri;PREF=1:tel:+302101234567\r\n" in text


def test_only_vcard_3_and_4_are_written():
    with pytest.raises(UserError, match="choose one of: 3.0, 4.0"):
        contacts_to_vcards([contact()], version="2.1")


names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1)


@settings(max_examples=200, deadline=None)
@given(names.map(str.strip).filter(bool), names, st.lists(names.filter(lambda t: "," not in t)))
def test_round_trip_of_any_text(name, notes, tags):
    tags = [t.strip() for t in tags if t.strip()]
    (read,) = read_vcards(contacts_to_vcards([contact(name=name, notes=notes, tags=tags)]))
    assert read["name"] == name
    assert read.get("notes", "") == notes.strip()
    assert read["tags"] == list(dict.fromkeys(tags))


# ------------------------------------------------------------ names in parts


def n_of(text: str) -> list[str]:
    import vobject

    (card,) = vobject.readComponents(text)
    name = card.n.value
    return [name.family, name.given, name.additional, name.prefix, name.suffix]


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Maria Lopez", ["Lopez", "Maria", "", "", ""]),
        ("Mustermann, Heiko", ["Mustermann", "Heiko", "", "", ""]),
        ("Dr. John Q. Public, III", ["Public", "John", "Q.", "Dr.", "III"]),
        ("Jan van der Berg", ["van der Berg", "Jan", "", "", ""]),
        ("Prof. Dr. Max Horst Mustermann jr.", ["Mustermann", "Max", "Horst", "Prof. Dr.", "jr."]),
        ("Cher", ["", "Cher", "", "", ""]),
    ],
)
@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_the_n_we_write_has_the_names_parts(name, parts, version):
    assert n_of(contacts_to_vcards([contact(name=name)], version=version)) == parts


def test_the_parts_a_file_gave_are_kept_while_the_name_holds_them():
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan van der Berg\r\nN:Berg;Jan;van der;;\r\nEND:VCARD\r\n"
    )
    (read,) = read_vcards(card)
    assert {k: v for k, v in read["extra"].items() if k.startswith("name_")} == {
        "name_family": "Berg", "name_given": "Jan", "name_middle": "van der"
    }  # fmt: skip
    kept = contact(name="Jan van der Berg", extra=read["extra"])
    assert n_of(contacts_to_vcards([kept]))[:3] == ["Berg", "Jan", "van der"]
    renamed = contact(name="Anna Visser", extra=read["extra"])  # old parts no longer apply
    assert n_of(contacts_to_vcards([renamed]))[:2] == ["Visser", "Anna"]


def test_parts_that_say_nothing_new_are_not_kept():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Maria Lopez\r\nN:Lopez;Maria;;;\r\nEND:VCARD\r\n"
    (read,) = read_vcards(card)
    assert read["extra"] == {}


@pytest.mark.parametrize(
    ("birthday", "v3", "v4"),
    [
        ("1970-03-10", "BDAY:1970-03-10", "BDAY:19700310"),
        ("--03-10", "BDAY:--03-10", "BDAY:--0310"),
        ("circa 1800", "BDAY:circa 1800", "BDAY;VALUE=text:circa 1800"),
    ],
)
def test_birthdays_are_written_as_each_version_writes_a_date(birthday, v3, v4):
    person = contact(extra={"birthday": birthday})
    assert v3 in contacts_to_vcards([person], version="3.0").splitlines()
    assert v4 in contacts_to_vcards([person], version="4.0").splitlines()
    for version in ("3.0", "4.0"):
        (read,) = read_vcards(contacts_to_vcards([person], version=version))
        assert read["extra"]["birthday"] == birthday
