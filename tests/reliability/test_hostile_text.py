"""R4: hostile text in every field is stored and shown verbatim, never executed."""

import csv
import io
import json

import pytest

HOSTILE = [
    "Robert'); DROP TABLE contact;--",
    '" OR 1=1 --',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\u202eevil\u202c \u200f\u200e mixed RTL",
    "tab\tand\rcarriage and\x1b[31mescape\x1b[0m",
    "x" * 10_000,
    "%_%\\%",
    "NULL",
    "<script>alert(1)</script>",
]
TEXT_FIELDS = ["--company", "--title", "--city", "--region", "--country", "--industry",
               "--source", "--owner", "--note"]  # fmt: skip
JSON_KEYS = [
    "company",
    "title",
    "city",
    "region",
    "country",
    "industry",
    "source",
    "owner",
    "notes",
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_round_trips_verbatim(cli, hostile):
    def crm(_, *args):
        return cli.ok(*args)

    db_path = None
    options = [item for flag in TEXT_FIELDS for item in (flag, hostile)]
    contact_id = crm(
        db_path, "add", "Name " + hostile, *options, "--set", f"k={hostile}"
    ).stdout.strip()
    crm(db_path, "log", contact_id, "note", hostile)
    crm(db_path, "followup", "add", contact_id, "tomorrow", hostile)

    shown = json.loads(crm(db_path, "show", contact_id, "--json").stdout)
    assert shown["name"] == "Name " + hostile.strip()
    assert {key: shown[key] for key in JSON_KEYS} == {key: hostile.strip() for key in JSON_KEYS}
    assert shown["extra"] == {"k": hostile.strip()}
    assert shown["timeline"][0]["summary"] == hostile.strip()
    assert shown["followups"][0]["note"] == hostile.strip()

    listed = json.loads(crm(db_path, "list", "--json").stdout)
    assert [c["id"] for c in listed] == [int(contact_id)]  # the table is still there
    assert "\x00" not in crm(db_path, "list").stdout

    [row] = list(csv.DictReader(io.StringIO(crm(db_path, "list", "--csv").stdout, newline="")))
    for value in row.values():  # a negative number (the score) is a number, not a formula
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or float(value) < 0
