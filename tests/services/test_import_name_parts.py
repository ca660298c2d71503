"""A given/family pair the file gave (or the user typed) is the N the vCard
export writes, not nameparser's guess: María Rodríguez Moreno's family name
is Rodríguez Moreno."""

import io
from datetime import UTC, datetime

import pytest

from minicrm.db import session_scope
from minicrm.errors import ValidationError
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.transfer.exporting import write_contacts_csv, write_contacts_vcf
from minicrm.services.transfer.files import ImportOptions, import_file

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TYPED = "N:Rodríguez Moreno;María;;;"
GUESSED = "N:Moreno;María;Rodríguez;;"  # nameparser's parts of the name alone


def run_import(engine, tmp_path, content: str, name: str, **options):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def export(engine, fmt: str = "vcf") -> str:
    out = io.StringIO(newline="")
    with session_scope(engine, write=False) as session:
        writer = write_contacts_vcf if fmt == "vcf" else write_contacts_csv
        writer(list_contacts(session), out)
    return out.getvalue()


def n_lines(vcf: str) -> list[str]:
    return [line for line in vcf.splitlines() if line.startswith("N:")]


@pytest.mark.parametrize(
    "header", ["Given Name,Family Name", "First Name,Last Name", "Nombre,Apellidos"]
)
def test_a_spanish_double_surname_from_csv_is_exported_as_given(engine, tmp_path, header):
    run_import(engine, tmp_path, f"{header},Email\nMaría,Rodríguez Moreno,m@x.es\n", "a.csv")
    assert n_lines(export(engine)) == [TYPED]


def test_the_typed_n_survives_vcard_and_csv_round_trips(engine, tmp_path):
    run_import(engine, tmp_path, "Given Name,Family Name\nMaría,Rodríguez Moreno\n", "a.csv")
    run_import(engine, tmp_path, export(engine), "again.vcf", on_duplicate="create")
    assert n_lines(export(engine)) == [TYPED] * 2  # the copy read its parts from the card's N
    run_import(engine, tmp_path, export(engine, "csv"), "again.csv", on_duplicate="create")
    assert n_lines(export(engine)) == [TYPED] * 4  # and from the CSV's extra


def test_a_name_without_parts_is_still_guessed(engine, tmp_path):
    run_import(engine, tmp_path, "Name\nMaría Rodríguez Moreno\n", "a.csv")
    assert n_lines(export(engine)) == [GUESSED]


# ----------------------------------------------------------- typed on add/edit


def test_add_keeps_a_typed_given_family_pair(engine):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="María Rodríguez Moreno", given="María",
                                          family="Rodríguez Moreno"), now=NOW)  # fmt: skip
    assert n_lines(export(engine)) == [TYPED]


def test_edit_sets_and_clears_the_pair(engine):
    with session_scope(engine) as session:
        contact = add_contact(session, ContactInput(name="María Rodríguez Moreno"), now=NOW)
    assert n_lines(export(engine)) == [GUESSED]
    with session_scope(engine) as session:
        changes = ContactChanges(given="María", family="Rodríguez Moreno")
        edited = update_contact(session, contact.id, changes, now=NOW)
    assert edited.extra == {"name_given": "María", "name_family": "Rodríguez Moreno"}
    assert n_lines(export(engine)) == [TYPED]
    with session_scope(engine) as session:
        update_contact(session, contact.id, ContactChanges(given="", family=""), now=NOW)
    assert n_lines(export(engine)) == [GUESSED]


def test_typed_parts_replace_the_parts_an_import_kept(engine, tmp_path):
    card = "BEGIN:VCARD\r\nFN:Jan van der Berg\r\nN:Berg;Jan;van der;;\r\nEND:VCARD\r\n"
    run_import(engine, tmp_path, card, "a.vcf")
    with session_scope(engine) as session:
        edited = update_contact(session, 1, ContactChanges(given="Jan", family="van der Berg"))
    assert {k: v for k, v in edited.extra.items() if k.startswith("name_")} == {
        "name_given": "Jan", "name_family": "van der Berg",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(given="María"), "give --given and --family together"),
        (dict(given="Maria", family="Rodríguez Moreno"),
         "--given 'Maria' is not part of the name 'María Rodríguez Moreno'"),
        (dict(name="María Moreno", given="María", family="Rodríguez Moreno"),
         "--family 'Rodríguez Moreno' is not part of the name 'María Moreno'"),
    ],
)  # fmt: skip
def test_parts_must_come_in_pairs_and_be_in_the_name(engine, changes, message):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="María Rodríguez Moreno"), now=NOW)
    name = changes.pop("name", None)
    with pytest.raises(ValidationError) as caught, session_scope(engine) as session:
        fields = {"name": name} if name else {}
        update_contact(session, 1, ContactChanges(fields=fields, **changes), now=NOW)
    assert caught.value.message == message
