"""How right `crm dedupe` is: precision and recall on a labelled data set.

    .venv/bin/python benchmarks/dedupe_accuracy.py                   # dataset2, threshold 90
    .venv/bin/python benchmarks/dedupe_accuracy.py --dataset dataset3 --threshold 85
    .venv/bin/python benchmarks/dedupe_accuracy.py --all             # every copied data set

The Febrl data sets (tests/data/febrl/, see tests/data/SOURCES.md) are
synthetic Australian person records; each duplicate is an original with a
few typos, dropped or swapped words. Their rec_id says who is who:
rec-12-org and rec-12-dup-0 are one person. Each record with a name becomes
a contact of a fresh, migrated minicrm database (name = given_name +
surname, city = suburb, region = state; the data has
no email, phone or company, so only the name rule can find anything), then
the dedupe service runs and every pair of contacts inside one of its groups
counts as a predicted pair (groups chain, as the user sees them).

precision = true pairs predicted / pairs predicted
recall    = true pairs predicted / true pairs among the named records

Printed twice: with the surname rule (services/contacts/name_match.py) and
without it (the whole-name ratio alone), so its cost and gain show side by
side. Records without any name (a few per cent) cannot be contacts and are
left out of both counts.
"""

import argparse
import csv
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
FEBRL = ROOT / "tests" / "data" / "febrl"
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, insert, select  # noqa: E402

from minicrm.db import ensure_schema, make_engine, session_scope  # noqa: E402
from minicrm.models import Contact  # noqa: E402
from minicrm.services.dedupe.contacts import find_duplicate_groups  # noqa: E402
from minicrm.text import fold, search_text  # noqa: E402

LOADED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Figures:
    dataset: str
    threshold: int
    surname_rule: bool
    records: int  # named records loaded as contacts
    true_pairs: int
    predicted_pairs: int
    found_pairs: int  # predicted and true
    seconds: float  # the dedupe call alone

    @property
    def precision(self) -> float:
        return self.found_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.found_pairs / self.true_pairs if self.true_pairs else 1.0


def read_febrl(path: Path) -> list[dict[str, str]]:
    """The records of a Febrl CSV (values padded after each comma)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, skipinitialspace=True))


def person_of(rec_id: str) -> str:
    """rec-12-org and rec-12-dup-3 -> "12"."""
    return rec_id.split("-")[1]


def load_contacts(session, records: list[dict[str, str]]) -> dict[int, str]:
    """Insert every named record as a contact; contact id -> person. One bulk
    insert of the columns add_contact fills (folded name, search text), as
    the import does: add_contact one by one takes 10 s for 5,000 records."""
    rows, persons = [], []
    for record in records:
        name = " ".join(part for part in (record["given_name"], record["surname"]) if part)
        if name:
            city, region = record["suburb"] or None, record["state"] or None
            rows.append({"name": name, "name_folded": fold(name), "city": city,
                         "region": region, "search_text": search_text(name, city, region),
                         "created_at": LOADED_AT, "updated_at": LOADED_AT})  # fmt: skip
            persons.append(person_of(record["rec_id"]))
    table = Contact.__table__
    first = (session.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    session.execute(insert(table), rows)
    return {first + i: person for i, person in enumerate(persons)}


def true_pairs(people: dict[int, str]) -> set[tuple[int, int]]:
    by_person: dict[str, list[int]] = {}
    for contact_id, person in people.items():
        by_person.setdefault(person, []).append(contact_id)
    return {pair for ids in by_person.values() for pair in combinations(sorted(ids), 2)}


def predicted_pairs(groups) -> set[tuple[int, int]]:
    return {pair for g in groups for pair in combinations(sorted(c.id for c in g.contacts), 2)}


@contextmanager
def febrl_database(path: Path):
    """A fresh migrated database holding the data set; (session, people)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'febrl.db'}")
        ensure_schema(engine)
        try:
            with session_scope(engine) as session:
                people = load_contacts(session, read_febrl(path))
            with session_scope(engine, write=False) as session:
                yield session, people
        finally:
            engine.dispose()


def measure(session, people, *, dataset: str, threshold: int, surname_rule: bool) -> Figures:
    started = time.perf_counter()
    if surname_rule:
        groups = find_duplicate_groups(session, threshold=threshold)
    else:  # the whole-name ratio alone, as before the rule
        with mock.patch("minicrm.services.contacts.name_match.surnames_agree", return_value=True):
            groups = find_duplicate_groups(session, threshold=threshold)
    seconds = time.perf_counter() - started
    truth, predicted = true_pairs(people), predicted_pairs(groups)
    return Figures(dataset, threshold, surname_rule, len(people), len(truth), len(predicted),
                   len(truth & predicted), seconds)  # fmt: skip


def print_table(rows: list[Figures]) -> None:
    print("dataset   threshold  surname rule  records  true pairs  predicted  found  "
          "precision  recall  dedupe s")  # fmt: skip
    for f in rows:
        rule = "yes" if f.surname_rule else "no"
        print(f"{f.dataset:<9} {f.threshold:>9}  {rule:>12}  {f.records:>7}  {f.true_pairs:>10}  "
              f"{f.predicted_pairs:>9}  {f.found_pairs:>5}  {f.precision:>9.3f}  {f.recall:>6.3f}"
              f"  {f.seconds:>8.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="dataset2", help="a CSV name in tests/data/febrl/")
    parser.add_argument("--all", action="store_true", help="every data set copied there")
    parser.add_argument("--threshold", type=int, action="append",
                        help="name threshold (repeatable; default 90)")  # fmt: skip
    args = parser.parse_args(argv)
    names = sorted(p.stem for p in FEBRL.glob("*.csv")) if args.all else [args.dataset]
    rows = []
    for name in names:
        print(f"loading {name}…", file=sys.stderr)
        with febrl_database(FEBRL / f"{name}.csv") as (session, people):
            for threshold in args.threshold or [90]:
                for rule in (False, True):
                    rows.append(measure(session, people, dataset=name, threshold=threshold,
                                        surname_rule=rule))  # fmt: skip
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
