"""The exports people actually have: Google Contacts (old and 2024), Outlook
in English, German, French, Spanish and Dutch (with its 0/0/00 birthdays
and Exchange X.500 addresses), LinkedIn's Connections.csv with its preamble,
and the vCards of Windows Address Book, DAVx5, The Bat!, Apple (UTF-16
without a byte-order mark) and Thunderbird. Files in tests/data; which
were written by other programs and which for minicrm is in SOURCES.md."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.transfer.csv_import import decode, find_header, read_csv, split_tags
from minicrm.services.transfer.dates import read_birthday
from minicrm.services.transfer.files import ImportOptions, import_file
from minicrm.services.transfer.importing import ImportRejected

DATA = Path(__file__).resolve().parents[1] / "data"
OURS = DATA / "written-for-minicrm"
EDGE = DATA / "vcards-edge"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def import_path(engine, path: Path, **options):
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def contacts(engine) -> dict[str, object]:
    with session_scope(engine, write=False) as session:
        return {c.name: c for c in list_contacts(session)}


# ------------------------------------------------------------ Google Contacts


def test_google_contacts_2024_cells_with_several_values(engine):
    report = import_path(engine, OURS / "google-contacts-2024.csv")
    assert (report.created, report.rejected) == (3, [])
    found = contacts(engine)
    maria = found["Maria Lopez"]
    assert maria.email == "maria@example.com"  # the first value of E-mail 1 is the main one
    assert maria.phone == "+34612345678"
    assert (maria.company, maria.title) == ("Olive Grove Ltd", "Buyer")
    assert maria.extra == {
        "birthday": "1980-03-10",
        "department": "Purchasing",
        "email_2": "m.lopez@olivegrove.example",
        "email_3": "maria.l@example.org",
        "phone_2": "+34 911 234 567",
        "website": "https://olivegrove.example/maria",
    }
    assert sorted(maria.tags) == ["customers", "starred", "vip"]  # no myContacts
    reza = found["رضا نیک\u200cپور"]
    assert (reza.tags, reza.extra["birthday"]) == (["suppliers"], "--03-21")  # no year
    giorgos = found["Γιώργος Α. Παπαδόπουλος"]
    assert giorgos.tags == []  # "* myContacts" alone
    assert (giorgos.company, giorgos.extra["company_2"]) == ("Ελαιώνας ΑΕ", "Δήμος Αθηναίων")


def test_the_older_google_csv_drops_its_my_contacts_group(engine):
    import_path(engine, DATA / "contacts-csv-google" / "tine20-google_contacts.csv")
    tags = {name: c.tags for name, c in contacts(engine).items()}
    assert tags["axel"] == ["kunden"]
    assert all(t in (["kunden"], []) for t in tags.values())


@pytest.mark.parametrize(
    ("cell", "tags"),
    [
        ("* myContacts ::: * starred ::: Customers", ["starred", "Customers"]),
        ("myContacts ::: VIP", ["VIP"]),
        ("* My Contacts ::: Test", ["Test"]),
        ("starred", ["starred"]),
        ("* Friends", []),  # another of Google's own groups
        ("a, b; c", ["a", "b", "c"]),
    ],
)
def test_google_system_groups_never_become_tags(cell, tags):
    assert split_tags(cell) == tags


# -------------------------------------------------------------------- Outlook


def test_german_outlook_2013_export(engine):
    report = import_path(
        engine, DATA / "contacts-csv-outlook-intl" / "tine20-importtest_outlook2013.csv"
    )
    assert (report.created, report.rejected) == (2, [])
    assert any("cp1252" in note for note in report.notes)
    found = contacts(engine)
    weiss = found["Cornelius Weiß"]
    assert (weiss.email, weiss.company, weiss.title) == (
        "c.weiss@unittest.de",
        "unittest",
        "Softwareengineering",
    )
    assert weiss.phone == "040 6432131545"  # no default region: kept as written
    # the same number as Telefon geschäftlich and (privat) is kept once;
    # Geburtstag 0.0.00 is no birthday
    assert weiss.extra == {"phone_2": "0176 164321545"}
    baumann = found["Christian Baumann"]
    assert (baumann.city, baumann.country) == ("Hamburg", "Deutschland")
    assert "birthday" not in baumann.extra


@pytest.mark.parametrize(
    ("file", "name", "expected"),
    [
        (
            "outlook-es.csv",
            "Lucía Fernández García",
            dict(company="Aceites del Sur SL", title="Jefa de compras", city="Sevilla",
                 region="Andalucía", country="España", email="lucia@aceitesdelsur.example",
                 phone="+34954123456", tags=["clientes", "vip"],
                 extra={"birthday": "1980-03-10", "department": "Compras",
                        "email_2": "lucia.fg@example.es", "phone_2": "+34 612 000 111",
                        # two family names, which nameparser alone would split
                        "name_family": "Fernández García", "name_given": "Lucía"}),
        ),
        (
            "outlook-nl.csv",
            "Jan van der Berg",
            dict(company="Olijfhuis BV", title="Inkoper", city="Utrecht", region="Utrecht",
                 country="Nederland", email="jan@olijfhuis.example", phone="+31201234567",
                 tags=["leveranciers"],
                 extra={"birthday": "1975-03-21", "department": "Inkoop",
                        "email_2": "jvdberg@example.nl", "phone_2": "+31 6 1234 5678",
                        "name_family": "Berg", "name_given": "Jan", "name_middle": "van der"}),
        ),
        (
            "outlook-fr.csv",
            "Élodie Lefèvre",
            dict(company="Huilerie Lefèvre SARL", title="Acheteuse", city="Nyons",
                 region="Drôme", country="France", email="elodie@huilerie.example",
                 phone="+33475260000", tags=["clients"],
                 extra={"exchange_dn": "/o=ExchangeLabs/ou=Exchange Administrative Group"
                        "/cn=Recipients/cn=elodie", "phone_2": "+33 6 12 34 56 78"}),
        ),
    ],
)  # fmt: skip
def test_localised_outlook_headers_are_read_like_the_english_ones(engine, file, name, expected):
    report = import_path(engine, OURS / file)
    assert (report.created, report.rejected) == (1, [])
    contact = contacts(engine)[name]
    assert {key: getattr(contact, key) for key in expected} == expected


def test_an_exchange_address_is_kept_aside_and_never_rejects_the_row(engine):
    report = import_path(engine, OURS / "outlook-exchange-x500.csv")
    assert (report.created, report.rejected) == (3, [])
    found = contacts(engine)
    sam = found["Sam Exchange"]
    assert sam.email == "sam@contoso.example"  # E-mail 2 steps up
    assert sam.extra["exchange_dn"].startswith("/o=ExchangeLabs/ou=Exchange Administrative")
    assert "birthday" not in sam.extra  # 1/0/00
    only = found["Only Exchange"]
    assert only.email is None and only.extra["exchange_dn"].startswith("/O=EXCHANGELABS/")
    assert found["Birthday Known"].extra == {"birthday": "1980-03-10"}


@pytest.mark.parametrize(
    "path",
    [
        DATA / "contacts-csv-outlook" / "zimbra-outlook-to-commawin.csv",
        DATA / "contacts-csv-outlook" / "zimbra-outlook-to-comma4369.csv",
    ],
    ids=lambda p: p.name,
)
def test_outlook_empty_birthdays_0_0_00_are_no_birthday(engine, path):
    report = import_path(engine, path)
    assert (report.created, report.rejected) == (1, [])
    (contact,) = contacts(engine).values()
    assert contact.email.endswith("@foo.com")
    assert "birthday" not in contact.extra


def test_a_day_first_windows_live_mail_export(engine):
    report = import_path(
        engine, DATA / "contacts-csv-outlook-intl" / "zimbra-wlmcontacts-french.csv"
    )
    assert (report.created, report.rejected) == (1, [])
    assert any("read as D/M/YYYY" in note for note in report.notes)
    (contact,) = contacts(engine).values()
    assert contact.extra["birthday"] == "2003-08-28"


def test_a_shift_jis_file_reads_with_encoding_and_says_so_without(engine):
    path = DATA / "contacts-csv-outlook-intl" / "zimbra-bug-77914.csv"
    with pytest.raises(UserError, match="--encoding"):
        import_path(engine, path)
    text, warning = decode(path.read_bytes(), path.name, encoding="shift_jis")
    assert "電子メール アドレス" in text and warning is None


@pytest.mark.parametrize(
    ("cell", "order", "birthday"),
    [
        ("0/0/00", "md", None), ("1/0/00", "md", None), ("0.0.00", "dm", None),
        ("1/1/4501", "md", None), ("0000-00-00", "md", None), ("", "md", None),
        ("3/10/1980", "md", "1980-03-10"), ("10.03.1980", "dm", "1980-03-10"),
        ("21-3-1975", "dm", "1975-03-21"), ("3/10/80", "md", "1980-03-10"),
        ("1980-03-10", "md", "1980-03-10"), ("19700310T000000Z", "md", "1970-03-10"),
        ("1996-04-15T201243+04:00", "md", "1996-04-15"), ("--0310", "md", "--03-10"),
        ("--03-10", "md", "--03-10"), ("--02-29", "md", "--02-29"),
        ("circa 1800", "md", "circa 1800"), ("19723101", "md", "19723101"),
    ],
)  # fmt: skip
def test_birthdays_as_exports_write_them(cell, order, birthday):
    assert read_birthday(cell, order) == birthday


# ------------------------------------------------------------------- LinkedIn


def test_linkedin_connections_preamble_is_skipped_and_said(engine):
    report = import_path(engine, OURS / "linkedin-Connections.csv")
    assert (report.created, report.rejected) == (2, [])
    assert "skipped 3 lines above the header (line 4)" in " ".join(report.notes)
    jane = contacts(engine)["Jane Doe"]
    assert (jane.company, jane.title, jane.email) == ("Acme Corp", "Head of Sales, EMEA", None)
    assert jane.extra == {
        "connected_on": "14 Mar 2023",
        "website": "https://www.linkedin.com/in/jane-doe-example",
    }


def test_a_file_without_a_known_header_anywhere_is_still_refused(engine, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("Notes:\nsomething\n\nfoo,bar\n1,2\n")
    with pytest.raises(UserError, match="no column of notes.csv is recognised"):
        import_path(engine, path)


# --------------------------------------------------------------------- vCards


def test_quoted_printable_breaks_inside_utf8_characters(engine):
    import_path(engine, EDGE / "folkerkinzel-v2_1.vcf")
    (contact,) = contacts(engine).values()
    assert "ÄÄÄÄÄÄ ääääää ÖÖÖÖÖÖ öööööö ÜÜÜÜÜÜ üüüüüü ßßßßßß" in contact.notes
    assert "\ufffd" not in contact.notes
    assert contact.extra["birthday"] == "1972-01-31"
    assert contact.extra["department"] == "Führungsetage"


def test_a_fold_inside_a_utf8_character_is_unfolded_on_bytes(engine, tmp_path):
    name = "Jörg Müller 王小明 😀"
    line = f"FN:{name}".encode()
    folded = b"\r\n ".join(line[i : i + 3] for i in range(0, len(line), 3))  # cuts ö, ü, 王…
    path = tmp_path / "cut.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:4.0\r\n" + folded + b"\r\nEND:VCARD\r\n")
    report = import_path(engine, path)
    assert report.notes == []  # read as UTF-8, not as cp1252
    assert list(contacts(engine)) == [name]


@pytest.mark.parametrize(
    ("file", "birthdays"),
    [
        ("vcard4android-allfields-vcard3.vcf", ["1996-04-15"]),  # date-time with offset
        ("vcard4android-vcard4.vcf", ["--04-16"]),  # no year
        ("khard-text-bday.vcf", ["circa 1800"]),  # text, kept as written
        ("fullcontact.vcf", ["2016-08-01"]),
    ],
)
def test_vcard_birthdays_are_calendar_dates(engine, file, birthdays):
    import_path(engine, EDGE / file)
    assert [c.extra.get("birthday") for c in contacts(engine).values()] == birthdays


def test_a_utf16_vcard_without_a_byte_order_mark(engine):
    report = import_path(engine, EDGE / "roundcube-utf-16_sample.vcf")
    assert (report.created, report.rejected) == (1, [])
    assert list(contacts(engine)) == ["Ǽgean ĽdaMonté"]


def test_a_cut_off_vcard_file_is_one_rejected_card(engine):
    with pytest.raises(ImportRejected) as caught:
        import_path(engine, EDGE / "folkerkinzel-Cropped_2_1.vcf")
    assert caught.value.report.rejected == [
        (1, "card 1 (line 1) is not closed: END:VCARD is missing")
    ]


@pytest.mark.parametrize("path", sorted(EDGE.glob("*.vcf")), ids=lambda p: p.name)
def test_every_edge_vcard_imports_or_rejects_by_card_never_whole(engine, path):
    try:
        report = import_path(engine, path, skip_invalid=True)
    except UserError as exc:  # only a file that is no vCard at all may fail whole
        pytest.fail(f"{path.name}: {exc.message}")
    assert report.created + len(report.rejected) + len(report.skipped) >= 1
    assert all(c.name for c in contacts(engine).values())


# ------------------------------------------------------------ property tests

# Any words, known header names among them ("land", "name"): a preamble line
# is one cell, and the header names more columns than that.
_PLAIN_WORDS = st.one_of(
    st.text(alphabet="abcdefghij klmnop.!?", min_size=1, max_size=40).filter(str.strip),
    st.sampled_from(["Notes:", "land", "Name", "email", "Vorname"]),
)


@settings(max_examples=150, deadline=None)
@given(preamble=st.lists(st.one_of(_PLAIN_WORDS, st.just("")), max_size=8))
def test_the_header_is_found_below_any_preamble(preamble):
    lines = [f'"{line}"' if line else "" for line in preamble]
    text = "\n".join([*lines, "First Name,Last Name,Email Address", "Ann,Lee,ann@example.com", ""])
    delimiter, line, header = find_header(text, "f.csv", [])
    assert (delimiter, line, header) == (
        ",",
        len(lines) + 1,
        ["First Name", "Last Name", "Email Address"],
    )
    _layout, rows = read_csv(text, "f.csv", [], UTC)
    (row,) = list(rows)
    assert row.fields["name"] == "Ann Lee" and row.fields["email"] == "ann@example.com"


_EMAILS = st.lists(
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True),
    min_size=1,
    max_size=5,
    unique=True,
)


@settings(max_examples=150, deadline=None)
@given(first=_EMAILS, second=_EMAILS)
def test_google_multi_value_cells_give_every_email_once_first_one_main(first, second):
    text = (
        "First Name,E-mail 1 - Value,E-mail 2 - Value\n"
        f"Ann,{' ::: '.join(first)},{' ::: '.join(second)}\n"
    )
    _layout, rows = read_csv(text, "g.csv", [], UTC)
    (row,) = list(rows)
    expected = list(dict.fromkeys([*first, *second]))
    extra = row.fields.get("extra", {})
    found = [row.fields["email"]] + [extra[f"email_{n}"] for n in range(2, len(expected) + 1)]
    assert found == expected
    assert len([k for k in extra if k.startswith("email_")]) == len(expected) - 1
