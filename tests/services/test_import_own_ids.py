"""Importing a file minicrm exported: each row is matched to the contact
with its id (CSV `id`, vCard `UID:contact-N@minicrm`) before email, phone or
name, while that contact still has about the row's name."""

import io
from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.transfer import duplicates
from minicrm.services.transfer.exporting import write_contacts_csv, write_contacts_vcf
from minicrm.services.transfer.files import ImportOptions, import_file

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
FORMATS = ("csv", "vcf")


def add(engine, name: str, email: str) -> int:
    with session_scope(engine) as session:
        return add_contact(session, ContactInput(name=name, email=email), now=NOW).id


def export(engine, fmt: str) -> str:
    out = io.StringIO(newline="")
    with session_scope(engine, write=False) as session:
        writer = write_contacts_csv if fmt == "csv" else write_contacts_vcf
        writer(list_contacts(session), out)
    return out.getvalue()


def run_import(engine, tmp_path, content: str, fmt: str, **options):
    path = tmp_path / f"export.{fmt}"
    path.write_text(content, encoding="utf-8", newline="")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def people(engine) -> list[tuple[int, str, str]]:
    with session_scope(engine, write=False) as session:
        return sorted((c.id, c.name, c.email) for c in list_contacts(session))


@pytest.fixture
def edited(engine):
    """Ann and Bob exported; the file then says Anne Lee-Smith at a new address."""
    add(engine, "Ann Lee", "ann@example.com")
    add(engine, "Bob Stone", "bob@example.com")

    def edit(fmt: str) -> str:
        text = export(engine, fmt)
        return text.replace("Ann Lee", "Anne Lee-Smith").replace("ann@example.com", "a@new.example")

    return edit


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edited_row_of_our_export_is_the_same_contact_by_id(engine, tmp_path, edited, fmt):
    report = run_import(engine, tmp_path, edited(fmt), fmt)
    assert report.created == 0
    assert report.skipped == [
        (2 if fmt == "csv" else 1, "duplicate of #1 Ann Lee (same id)"),
        (3 if fmt == "csv" else 10, "duplicate of #2 Bob Stone (same id)"),
    ]
    assert len(people(engine)) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_on_duplicate_update_updates_the_contact_with_that_id(engine, tmp_path, edited, fmt):
    report = run_import(engine, tmp_path, edited(fmt), fmt, on_duplicate="update")
    assert (report.created, report.updated) == (0, 1)  # Bob's row brought nothing new
    assert people(engine) == [
        (1, "Anne Lee-Smith", "a@new.example"), (2, "Bob Stone", "bob@example.com"),
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_id_naming_someone_else_here_is_not_a_match(engine, tmp_path, fmt):
    """A file exported from another database: its #1 is not our #1."""
    add(engine, "Maria Lopez", "maria@example.com")
    other = export(engine, fmt).replace("Maria Lopez", "Kenji Sato").replace("maria@", "kenji@")
    report = run_import(engine, tmp_path, other, fmt)
    assert (report.created, report.skipped) == (1, [])
    assert [name for _id, name, _e in people(engine)] == ["Maria Lopez", "Kenji Sato"]
    assert "1 row's id is a different person here" in " ".join(report.notes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_trashed_contact_is_not_matched_by_id(engine, tmp_path, fmt):
    from minicrm.services.contacts.trash import trash_contact

    contact_id = add(engine, "Ann Lee", "ann@example.com")
    text = export(engine, fmt).replace("ann@example.com", "a@new.example")
    with session_scope(engine) as session:
        trash_contact(session, contact_id)
    assert run_import(engine, tmp_path, text, fmt).created == 1


def test_an_id_column_that_is_no_number_is_ignored(engine, tmp_path):
    add(engine, "Ann Lee", "ann@example.com")
    report = run_import(engine, tmp_path, "id,name,email\nA-1,Ann Lee,ann@example.com\n", "csv")
    assert report.skipped == [(2, "duplicate of #1 Ann Lee (same email)")]


@pytest.mark.parametrize(
    ("here", "there", "same"),
    [
        ("Ann Lee", "Ann Lee", True),
        ("Ann Lee", "anne lee", True),
        ("Ann Lee", "Ann Lee-Smith", True),
        ("Ann Lee", "Anne Lee-Smith", True),
        ("Ann Lee", "Ann Leigh", True),
        ("Jan van der Berg", "Jan Berg", True),
        ("Lee, Ann", "Ann Lee", True),
        ("María Rodríguez", "Maria Rodriguez Moreno", True),
        ("Ann Lee", "Ann Smith", False),
        ("Maria Lopez", "Maria Garcia", False),
        ("Peter Meyer", "Paul Meyers", False),
        ("Ann Lee", "Kenji Sato", False),
    ],
)
def test_same_person_is_a_loose_name_match(here, there, same):
    assert duplicates.same_person(here, there) is same
