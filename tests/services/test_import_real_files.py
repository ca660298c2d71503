"""Importing files other programs wrote (tests/data, see its SOURCES.md):
address-book CSV exports checked against the vCards another program made
from the same files, and the Maven Analytics CRM sample checked against
figures computed straight from its CSV."""

import csv
import sqlite3
import statistics
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import vobject

from minicrm.db import session_scope
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.records.config import set_setting
from minicrm.services.records.validation import normalize_phone
from minicrm.services.transfer.files import ImportOptions, import_file

DATA = Path(__file__).resolve().parents[1] / "data"  # copies, see tests/data/SOURCES.md
CONTACTS_CSV = DATA / "contacts-csv"
MAVEN = DATA / "maven-crm" / "sales_pipeline.csv"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def csv_files() -> list[Path]:
    return sorted(CONTACTS_CSV.glob("*.csv")) if CONTACTS_CSV.is_dir() else []


def import_path(engine, path: Path, **options):
    with session_scope(engine) as session:
        return import_file(session, path, ImportOptions(**options), now=NOW)


def imported(engine) -> list:
    with session_scope(engine, write=False) as session:
        return sorted(list_contacts(session), key=lambda c: c.id)


def expected_cards(path: Path) -> list:
    return list(vobject.readComponents(path.with_suffix(".expected.vcf").read_text("utf-8")))


def values(card, name: str) -> list[str]:
    return [line.value for line in card.contents.get(name, [])]


def google_system_groups(path: Path) -> set[str]:
    """Group names the CSV marks as Google's own ('* My Contacts'): not tags."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    cells = [row.get("Group Membership") or "" for row in rows]
    return {g[2:].strip() for cell in cells for g in cell.split(" ::: ") if g.startswith("* ")}


@pytest.mark.parametrize("path", csv_files(), ids=lambda p: p.name)
def test_address_book_csv_matches_the_vcard_made_from_it(engine, path):
    report = import_path(engine, path)
    cards = expected_cards(path)
    found = imported(engine)
    assert (report.created, report.rejected) == (len(cards), [])
    assert len(found) == len(cards)
    skipped_groups = google_system_groups(path)
    for contact, card in zip(found, cards, strict=True):
        assert contact.name == card.fn.value
        emails = values(card, "email")
        assert contact.email == (emails[0] if emails else None)
        extra_emails = [v for k, v in sorted(contact.extra.items()) if k.startswith("email_")]
        assert sorted(extra_emails) == sorted(emails[1:])
        phones = values(card, "tel")
        first_number = next((t for t in phones if any(ch.isdigit() for ch in t)), None)
        assert contact.phone == (normalize_phone(first_number, "US") if first_number else None)
        extra_phones = [v for k, v in contact.extra.items() if k.startswith("phone_")]
        rest = list(phones)
        if first_number:
            rest.remove(first_number)
        assert sorted(extra_phones) == sorted(rest)
        org = values(card, "org")
        assert contact.company == (org[0][0] if org else None)
        assert contact.title == (values(card, "title") or [None])[0]
        assert contact.notes == (values(card, "note") or [None])[0]
        categories = [c for v in values(card, "categories") for c in v]
        expected_tags = sorted({c.casefold() for c in categories if c not in skipped_groups})
        assert contact.tags == expected_tags
        addresses = values(card, "adr")
        if addresses:  # the first address gives the place
            first = addresses[0]
            assert (contact.city, contact.region, contact.country) == (
                first.city or None, first.region or None, first.country or None,
            )  # fmt: skip


def test_gmail_quirks_survive(engine):
    import_path(engine, CONTACTS_CSV / "gmail.csv")
    [contact] = imported(engine)
    assert contact.notes == 'note"note'  # a doubled quote inside a quoted cell
    assert contact.tags == ["test"]  # "* My Contacts" is Google's own group
    assert contact.extra["birthday"] == "1975-12-12"


def test_bom_prefixed_sheet_reads_its_first_header(engine):
    assert (CONTACTS_CSV / "all.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import_path(engine, CONTACTS_CSV / "all.csv")
    [contact] = imported(engine)
    assert contact.name == "Display Name"  # the BOM did not spoil "Display Name"


# ----------------------------------------------------------------- Maven CRM

MAVEN_MAP = [
    "account=name", "opportunity_id=name", "account=company", "sales_agent=owner",
    "deal_stage=stage", "engage_date=created_at", "close_date=closed_at", "close_value=value",
    "product=extra.product", "opportunity_id=extra.opportunity_id",
]  # fmt: skip


def maven_rows() -> list[dict]:
    with MAVEN.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def win_rate(won: int, lost: int) -> float | None:
    return won / (won + lost) if won + lost else None


@pytest.fixture
def maven(engine):
    with session_scope(engine) as session:
        set_setting(session, "stages", "prospecting,engaging", now=NOW)
    report = import_path(engine, MAVEN, mapping=MAVEN_MAP)
    return report, maven_rows()


def test_maven_pipeline_imports_every_deal(maven, db_path):
    report, rows = maven
    assert (report.created, report.skipped, report.rejected) == (len(rows), [], [])
    assert report.notes == []  # ISO dates: nothing to decide; every column used
    with sqlite3.connect(db_path) as db:
        stages = dict(db.execute("SELECT stage, count(*) FROM contact GROUP BY stage").fetchall())
        sample = db.execute(
            "SELECT name, company, owner, value_cents, extra, lost_reason FROM contact "
            "WHERE json_extract(extra, '$.opportunity_id') = '1C1I7A6R'"
        ).fetchone()
        no_account = db.execute(
            "SELECT count(*) FROM contact WHERE company IS NULL AND name = "
            "json_extract(extra, '$.opportunity_id')"
        ).fetchone()[0]
        won_value = db.execute("SELECT sum(value_cents) FROM contact WHERE stage = 'won'")
        won_value = won_value.fetchone()[0]
    counted = {s.lower(): sum(r["deal_stage"] == s for r in rows) for s in
               ("Prospecting", "Engaging", "Won", "Lost")}  # fmt: skip
    assert stages == counted
    assert sample[:4] == ("Cancity 1C1I7A6R", "Cancity", "Moses Frase", 105400)
    assert '"product": "GTX Plus Basic"' in sample[4]
    assert no_account == sum(not r["account"] for r in rows) == 1425
    assert won_value == 100 * sum(int(r["close_value"]) for r in rows if r["deal_stage"] == "Won")


def test_maven_lost_deals_have_reason_unknown_and_history(maven, db_path):
    _report, rows = maven
    with sqlite3.connect(db_path) as db:
        reasons = db.execute(
            "SELECT DISTINCT lost_reason FROM contact WHERE stage = 'lost'"
        ).fetchall()
        moves = db.execute(
            "SELECT count(*) FROM stage_change WHERE to_stage IN ('won', 'lost')"
        ).fetchone()[0]
        created_now = db.execute(
            "SELECT count(*) FROM contact WHERE created_at = ?",
            (NOW.strftime("%Y-%m-%d %H:%M:%S.000000"),),
        ).fetchone()[0]
    assert reasons == [("unknown",)]
    assert moves == sum(r["deal_stage"] in ("Won", "Lost") for r in rows)
    assert created_now == sum(not r["engage_date"] for r in rows) == 500


def from_csv(rows: list[dict]) -> dict:
    won = [r for r in rows if r["deal_stage"] == "Won"]
    lost = [r for r in rows if r["deal_stage"] == "Lost"]
    cycles = [
        (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
        for r in won
    ]
    agents = sorted({r["sales_agent"] for r in rows})
    per_agent = {
        agent: win_rate(
            sum(r["sales_agent"] == agent for r in won),
            sum(r["sales_agent"] == agent for r in lost),
        )
        for agent in agents
    }
    return {
        "won": len(won), "lost": len(lost), "win_rate": win_rate(len(won), len(lost)),
        "avg_cycle": statistics.mean(cycles), "per_agent": per_agent,
    }  # fmt: skip


def from_sql(db_path) -> dict:
    with sqlite3.connect(db_path) as db:
        won, lost = db.execute(
            "SELECT sum(stage = 'won'), sum(stage = 'lost') FROM contact"
        ).fetchone()
        avg_cycle = db.execute(
            "SELECT avg(julianday(w.at) - julianday(c.created_at)) FROM contact c JOIN "
            "(SELECT contact_id, min(at) AS at FROM stage_change WHERE to_stage = 'won' "
            "GROUP BY contact_id) w ON w.contact_id = c.id WHERE c.stage = 'won'"
        ).fetchone()[0]
        agents = db.execute(
            "SELECT owner, sum(stage = 'won'), sum(stage = 'lost') FROM contact GROUP BY owner"
        ).fetchall()
    return {
        "won": won, "lost": lost, "win_rate": win_rate(won, lost), "avg_cycle": avg_cycle,
        "per_agent": {owner: win_rate(w, lost_) for owner, w, lost_ in agents},
    }  # fmt: skip


def test_maven_funnel_figures_equal_the_csv(maven, engine, db_path):
    _report, rows = maven
    expected = from_csv(rows)
    assert expected["won"] == 4238 and expected["lost"] == 2473  # the sample's own counts
    measured = from_sql(db_path)
    assert measured["won"] == expected["won"] and measured["lost"] == expected["lost"]
    assert measured["win_rate"] == pytest.approx(expected["win_rate"])
    assert measured["avg_cycle"] == pytest.approx(expected["avg_cycle"])
    assert measured["per_agent"] == pytest.approx(expected["per_agent"])

    import minicrm.services.funnel as funnel

    with session_scope(engine, write=False) as session:
        overall = funnel.funnel_report(session, now=NOW).figures
        by_owner = funnel.funnel_report(session, by="owner", now=NOW).groups
    assert (overall.won, overall.lost) == (expected["won"], expected["lost"])
    assert overall.win_rate == pytest.approx(expected["win_rate"])
    assert overall.avg_cycle_days == pytest.approx(expected["avg_cycle"])
    assert {agent: figures.win_rate for agent, figures in by_owner.items()} == pytest.approx(
        expected["per_agent"]
    )


# ------------------------------------------------------------------- vCards

VCARDS = DATA / "vcards"


def vcard_files() -> list[Path]:
    return sorted(VCARDS.glob("*.vcf")) if VCARDS.is_dir() else []


@pytest.mark.parametrize("path", vcard_files(), ids=lambda p: p.name)
def test_every_vcard_file_goes_through_the_import_pipeline(engine, path):
    from minicrm.errors import UserError

    cards = path.read_text("utf-8", errors="replace").upper().count("BEGIN:VCARD")
    if path.name == "khard-unparsable.vcf":
        with pytest.raises(UserError, match="1 row rejected"):
            import_path(engine, path)
        assert imported(engine) == []
        return
    report = import_path(engine, path)
    assert report.rejected == []
    assert report.created + len(report.skipped) == cards
    assert all(c.name for c in imported(engine))
