"""Reading contact files: CSV records to contact fields.

What comes out is a `SourceRow` per contact: raw field values with the line
they came from, the shape a vCard card becomes too, so one pipeline
(importing.py) validates and writes every format. Which column is
which field is headers.py's business; the order of a date's day and month
(dates.py) and the decimal mark of an amount (decimals.py) are decided per
column in a first pass; bytes become text in decoding.py.

The delimiter is sniffed (`,` `;` tab `|`); quoted cells may span lines.
Rows are produced lazily, a record at a time.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from minicrm.errors import UserError
from minicrm.services.transfer.dates import DateEvidence, parse_date, read_birthday
from minicrm.services.transfer.decimals import DecimalEvidence, read_amount
from minicrm.services.transfer.decoding import SNIFF_BYTES, decode  # noqa: F401 (re-exported)
from minicrm.services.transfer.headers import (
    BIRTHDAY,
    DATE_FIELDS,
    EMAILS,
    FAMILY,
    GIVEN,
    JSON_EXTRA,
    MIDDLE,
    OWN_ID,
    PHONES,
    TEXT_FIELDS,
    field_of,
    is_localised,
    plan_columns,
    recognise,
)

BIRTHDAYS = (BIRTHDAY, "extra.birthday")  # read as a calendar date, however mapped
GUESSED_NAME = "_guessed_name"  # in a row's fields when its name stands in for a missing one
_FORMULA_STARTS = frozenset("=+-@\t\r")
_TAG_SEPARATORS = re.compile(r"\s*(?::::|[,;])\s*")
# Google Contacts joins the values of one cell (two emails under E-mail 1) with this.
MULTI_VALUE = " ::: "
HEADER_SEARCH_ROWS = 20  # how far down a preamble (LinkedIn's "Notes:") may push the header
# Google's own groups: every contact is in myContacts, so it says nothing.
_SYSTEM_GROUPS = frozenset({"mycontacts", "my contacts"})
_STARRED = "starred"


@dataclass
class SourceRow:
    """One contact as read from a file: raw values, not yet validated.

    `fields` holds text per field of TEXT_FIELDS, `tags` (list), `extra`
    (dict) and datetimes for DATE_FIELDS; `error` is why the row cannot be
    read (a bad date, a stray cell), which rejects it."""

    line: int
    fields: dict[str, Any]
    error: str | None = None


@dataclass
class CsvLayout:
    """What the header told us: which columns feed which field."""

    delimiter: str
    width: int  # cells in the header
    columns: list[tuple[int, str, str]]  # (index, header, field or role)
    ignored: list[str]  # headers of the columns nothing reads
    joined: set[str] = field(default_factory=set)  # fields --map gave several columns
    notes: list[str] = field(default_factory=list)
    header_line: int = 1  # a preamble above the header pushes it down


# ----------------------------------------------------------------------- CSV


def sniff_delimiter(text: str) -> str:
    """csv.Sniffer on a sample, if the header line holds what it found; else
    the candidate the header line holds most of; else a comma."""
    sample = text[:SNIFF_BYTES]
    first_line = sample.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in first_line:
        return delimiter
    counts = {d: first_line.count(d) for d in ",;\t|"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def csv_records(text: str, delimiter: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) per record; quoted cells may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(f"cannot read {name} at line {reader.line_num}: {exc}") from exc


def find_header(text: str, name: str, mapping: list[tuple[str, str]]) -> tuple[str, int, list[str]]:
    """(delimiter, line, cells) of the header: of the top rows, the first
    with the most columns we know (or --map names), under the delimiter that
    finds the most; else the first line, as it is. Exports such as
    LinkedIn's put a few lines of notes above the header (a note that is
    one known word, like "Land", names fewer columns than the header)."""
    sniffed = sniff_delimiter(text)
    mapped = {column.strip().casefold() for column, _target in mapping}
    best = None
    for delimiter in dict.fromkeys((sniffed, ",", ";", "\t", "|")):
        found = _first_known_row(text, delimiter, name, mapped)
        if found and (best is None or found[0] > best[0]):
            best = (found[0], delimiter, found[1], found[2])
    if best is None:
        header = next((cells for _line, cells in csv_records(text, sniffed, name)), [])
        return sniffed, 1, header
    return best[1], best[2], best[3]


def _first_known_row(text, delimiter, name, mapped) -> tuple[int, int, list[str]] | None:
    """(known columns, line, cells) of the first top row with the most."""
    best = None
    try:
        for position, (line, cells) in enumerate(csv_records(text, delimiter, name)):
            if position >= HEADER_SEARCH_ROWS:
                break
            known = sum(recognise(c) is not None or c.strip().casefold() in mapped for c in cells)
            if known and (best is None or known > best[0]):
                best = (known, line, cells)
    except UserError:  # a stray quote under a wrong delimiter: not this one
        return None
    return best


def layout_csv(text: str, name: str, mapping: list[tuple[str, str]]) -> CsvLayout:
    delimiter, header_line, header = find_header(text, name, mapping)
    if not any(h.strip() for h in header):
        raise UserError(f"{name} has no header line; the first line must name the columns")
    columns = plan_columns(header, mapping)
    used = {index for index, _h, _f in columns}
    ignored = [h for i, h in enumerate(header) if i not in used and h.strip()]
    fields = {field_of(f) for _i, _h, f in columns} - {"ignore"}
    if not fields:
        raise UserError(
            f"no column of {name} is recognised ({', '.join(ignored[:8])}); say which is "
            "which with --map COLUMN=field, e.g. --map 'Full name=name'"
        )
    if not fields & {"name", "email", "phone", "company"}:
        raise UserError(f"no column of {name} gives a name; add --map COLUMN=name")
    mapped = [target for _column, target in mapping]
    joined = {target for target in mapped if mapped.count(target) > 1 and target in TEXT_FIELDS}
    layout = CsvLayout(delimiter, len(header), columns, ignored, joined, header_line=header_line)
    if header_line > 1:
        skipped = header_line - 1
        layout.notes.append(
            f"skipped {skipped} line{'s' if skipped > 1 else ''} above the header "
            f"(line {header_line}), as exports such as LinkedIn's write notes there"
        )
    return layout


def read_csv(
    text: str, name: str, mapping: list[tuple[str, str]], zone: tzinfo
) -> tuple[CsvLayout, Iterator[SourceRow]]:
    """The layout (with notes on how dates and amounts were read) and the rows, lazily."""
    layout = layout_csv(text, name, mapping)
    orders, marks = _first_pass(text, layout, name)
    builder = _RowBuilder(layout, orders, zone, marks)
    return layout, (builder.row(line, cells) for line, cells in _data_records(text, layout, name))


def _first_pass(text: str, layout: CsvLayout, name: str) -> tuple[dict, dict]:
    """The day/month order of each date column and the decimal mark of each
    amount column, decided from all of the column's values (a pass over those
    columns alone) and noted in the layout."""
    localised = any(is_localised(h) for _i, h, _f in layout.columns)
    dates = {i: (h, DateEvidence(day_first=localised))
             for i, h, f in layout.columns if f in (*DATE_FIELDS, *BIRTHDAYS)}  # fmt: skip
    amounts = {i: (h, DecimalEvidence(localised=localised))
               for i, h, f in layout.columns if f == "value"}  # fmt: skip
    columns = [*dates.items(), *amounts.items()]
    if columns:
        for _line, cells in _data_records(text, layout, name):
            for index, (_header, seen) in columns:
                if index < len(cells):
                    seen.add(cells[index])
    for _index, (header, seen) in columns:
        note = seen.describe(header)
        if note:
            layout.notes.append(note)
    orders = {index: seen.order() for index, (_header, seen) in dates.items()}
    marks = {index: (seen.mark(), header) for index, (header, seen) in amounts.items()}
    return orders, marks


def _data_records(text: str, layout: CsvLayout, name: str) -> Iterator[tuple[int, list[str]]]:
    for line, cells in csv_records(text, layout.delimiter, name):
        if line > layout.header_line and any(cells) and any(map(str.strip, cells)):
            yield line, cells


def _cell(value: str) -> str:
    """Strip a cell, undoing the quote our CSV export puts before a value a
    spreadsheet would run as a formula ('=…, '+…)."""
    value = value.strip()
    if value[:1] == "'" and value[1:2] in _FORMULA_STARTS and len(value) > 1:
        return value[1:]
    return value


class _RowBuilder:
    """The layout compiled into lists of column indexes per kind of field,
    so each record costs a few list walks."""

    def __init__(self, layout: CsvLayout, orders: dict[int, str], zone: tzinfo, marks: dict):
        self.width, self.joined, self.zone = layout.width, layout.joined, zone
        by_role: dict[str, list[int]] = {}
        for index, _header, role in layout.columns:
            by_role.setdefault(role, []).append(index)
        self.singles = [(ix[0], r) for r, ix in by_role.items() if r in TEXT_FIELDS
                        and len(ix) == 1 and r not in ("email", "phone", "value")]  # fmt: skip
        self.multiples = [(r, ix) for r, ix in by_role.items() if r in TEXT_FIELDS
                          and len(ix) > 1 and r not in ("email", "phone", "value")]  # fmt: skip
        # (index, decimal mark, header) of the value columns: the first non-empty one counts
        self.amounts = [(i, *marks[i]) for i in by_role.get("value", [])]
        self.parts = [by_role[r][0] for r in (GIVEN, MIDDLE, FAMILY) if r in by_role]
        self.part_of = {r: by_role[r][0] for r in (GIVEN, MIDDLE, FAMILY) if r in by_role}
        self.emails = sorted(by_role.get(EMAILS, []) + by_role.get("email", []))
        self.phones = sorted(by_role.get(PHONES, []) + by_role.get("phone", []))
        self.tags = by_role.get("tags", [])
        self.contact_points = [
            (name, indexes, looks_right)
            for name, indexes, looks_right in (
                ("email", self.emails, _has_at),
                ("phone", self.phones, _has_digit),
            )
            if indexes
        ]
        self.json_extra = by_role.get(JSON_EXTRA, [])
        self.own_id = by_role.get(OWN_ID, [None])[0]
        self.extras = [
            (i, r[6:])
            for r, ix in by_role.items()
            if r.startswith("extra.") and r not in BIRTHDAYS
            for i in ix
        ]
        self.birthdays = [(i, orders[i]) for r in BIRTHDAYS for i in by_role.get(r, [])]
        self.dates = [
            (i, r, orders[i]) for r, ix in by_role.items() if r in DATE_FIELDS for i in ix
        ]

    def row(self, line: int, cells: list[str]) -> SourceRow:
        row = SourceRow(line, {})
        try:
            self.fill(row.fields, cells)
        except ValueError as exc:
            row.error = str(exc)
        stray = len(cells) > self.width and any(c.strip() for c in cells[self.width :])
        if row.error is None and stray:  # a quote gone astray shifts every cell after it
            row.error = f"{len(cells)} cells but the header has {self.width} columns"
        return row

    def fill(self, fields: dict[str, Any], cells: list[str]) -> None:
        count = len(cells)
        extra: dict[str, Any] = {}
        for index, name in self.singles:
            if index < count and (value := cells[index].strip()):
                value = _cell(value) if value[0] == "'" else value
                if MULTI_VALUE in value and name != "notes":  # Google: several organisations
                    value, *others = split_values(value)
                    extra.update({f"{name}_{n}": v for n, v in enumerate(others, start=2)})
                fields[name] = value
        for name, indexes in self.multiples:
            found = _values(cells, count, indexes)
            if found:  # Home City and Work City: the first; --map a=name --map b=name: both
                joiner = "\n" if name == "notes" else " "
                fields[name] = joiner.join(found) if name in self.joined else found[0]
        for index, mark, header in self.amounts:
            if index < count and (value := _cell(cells[index])):
                fields["value"] = read_amount(value, mark, header)
                break
        if "name" not in fields and self.parts:
            parts = _values(cells, count, self.parts)
            if parts:
                fields["name"] = " ".join(parts)
        if self.part_of and "name" in fields:
            extra.update(self._kept_parts(fields["name"], cells, count))
        for name, indexes, looks_right in self.contact_points:
            if len(indexes) == 1:  # the common sheet: one email column, one value
                index = indexes[0]
                value = cells[index].strip() if index < count else ""
                if MULTI_VALUE not in value:
                    if value:  # a lone value is taken as it is, so a bad one is
                        # rejected as `crm add` would reject it
                        fields[name] = _cell(value) if value[0] == "'" else value
                    continue
            found = _distinct(
                v for value in _values(cells, count, indexes) for v in split_values(value)
            )
            _primary_and_rest(fields, extra, name, found, looks_right, several=True)
        if "name" not in fields:  # as address books do: the email, else the company
            fallback = fields.get("email") or fields.get("company") or fields.get("phone")
            if fallback:
                fields["name"], fields[GUESSED_NAME] = fallback, True
        if self.tags:
            for value in _values(cells, count, self.tags):
                fields.setdefault("tags", []).extend(split_tags(value))
        for index, key in self.extras:
            if index < count and (value := _cell(cells[index])):
                extra.setdefault(key, value)
        if self.json_extra:
            for value in _values(cells, count, self.json_extra):
                extra.update(_json_object(value))
        if extra:
            fields["extra"] = extra
        if self.own_id is not None and self.own_id < count:
            value = cells[self.own_id].strip()
            if value.isdecimal():  # another tool's "A-17" is no id of ours: not read
                fields[OWN_ID] = int(value)
        for index, name, order in self.dates:
            if index < count and (value := _cell(cells[index])):
                fields[name] = parse_date(value, order, self.zone, what=name)
        for index, order in self.birthdays:
            if index < count and (value := _cell(cells[index])):
                birthday = read_birthday(value, order)
                if birthday:
                    fields.setdefault("extra", {})["birthday"] = birthday

    def _kept_parts(self, name: str, cells: list[str], count: int) -> dict[str, str]:
        """The file's given/middle/family name, when they say what the name
        alone would not (name_parts.py)."""
        from minicrm.services.transfer.name_parts import NameParts, kept_parts

        def part(role: str) -> str:
            index = self.part_of.get(role)
            return _cell(cells[index]) if index is not None and index < count else ""

        return kept_parts(name, NameParts(part(FAMILY), part(GIVEN), part(MIDDLE)))


def _values(cells: list[str], count: int, indexes: list[int]) -> list[str]:
    """The non-empty cells at `indexes`, in order."""
    return [v for v in (_cell(cells[i]) for i in indexes if i < count) if v]


def _distinct(values) -> list[str]:
    """Each value once (Outlook repeats a number under Business and Home),
    ignoring case and spacing."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(" ".join(value.casefold().split()), value)
    return list(seen.values())


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


def _has_at(value: str) -> bool:
    return "@" in value


def _primary_and_rest(fields, extra, name: str, values: list[str], looks_right, *, several: bool):
    """The first value that looks like an email (phone) is the contact's; the
    others go to extra as email_2, phone_3… numbered by their column's place
    among the non-empty ones. A lone column is taken as it is, so a bad value
    is rejected as `crm add` would reject it."""
    if not values:
        return
    primary = next((i for i, v in enumerate(values) if looks_right(v)), None)
    if not several and primary is None:
        primary = 0
    for position, value in enumerate(values, start=1):
        if position - 1 == primary:
            fields[name] = value
        else:
            extra.setdefault(f"{name}_{position}", value)


def split_values(value: str) -> list[str]:
    """The values of one Google Contacts cell ('a@x.com ::: b@y.com')."""
    if MULTI_VALUE not in value:
        return [value]
    return [part for part in (p.strip() for p in value.split(MULTI_VALUE)) if part]


def split_tags(value: str) -> list[str]:
    """'a, b; c' and Google's '* myContacts ::: * starred ::: Customers' →
    the user's labels, and `starred` for a starred contact. Google marks its
    own groups with '* '; they are not labels anyone chose (myContacts holds
    every contact), so they are dropped, with or without the star."""
    if "*" not in value and "ontacts" not in value and "tarred" not in value:
        parts = (part.strip() for part in _TAG_SEPARATORS.split(value))
        return [part for part in parts if part.lstrip("#")]  # the common case, quickly
    tags = []
    for part in _TAG_SEPARATORS.split(value):
        label = part.strip()
        system = label.startswith("*")
        label = label.lstrip("*").strip()
        folded = label.casefold()
        if folded == _STARRED:
            tags.append(_STARRED)
        elif label.lstrip("#") and not system and folded not in _SYSTEM_GROUPS:
            tags.append(label)
    return tags


def _json_object(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError(f'extra must be a JSON object like {{"key": "value"}}, got {value!r}')
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
