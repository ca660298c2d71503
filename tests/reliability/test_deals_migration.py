"""Migration 0005 keeps every figure of the release before it (issue 11).

tests/fixtures/schema-0004-demo.db is `crm demo --contacts 300 --seed 7` as
the 0004 release (a contact was a deal) made it, and
schema-0004-demo-figures.json what that release's reports said about it, at
a fixed NOW; both come from make_release_fixture.py run with the old code.
Here the current code upgrades a copy and must say the same at the same NOW.
"""

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from minicrm.db import SCHEMA_HEAD, current_revision, ensure_schema, make_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OLD = json.loads((FIXTURES / "schema-0004-demo-figures.json").read_text())
NOW = datetime.fromisoformat(OLD["now"])
BY = ("", "owner", "source", "industry", "region")
OPEN_STAGES = [s["stage"] for s in OLD["funnel"][""]["stages"] if s["stage"] not in ("won", "lost")]


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("release") / "crm.db"
    shutil.copyfile(FIXTURES / "schema-0004-demo.db", path)
    path.chmod(0o600)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        old_rows = connection.execute(
            text("SELECT id, stage, value_cents, lost_reason, score, company FROM contact")
        ).all()
    upgrade = ensure_schema(engine)
    assert upgrade is not None and upgrade.from_revision == "0004"
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()
    path.with_suffix(".old-rows.json").write_text(json.dumps([list(r) for r in old_rows]))
    return path


def old_rows(path: Path) -> list[list]:
    return json.loads(path.with_suffix(".old-rows.json").read_text())


def session_on(path: Path):
    return Session(make_engine(f"sqlite:///{path}"))


def same_old_keys(old, new, where: str = "", skip=()) -> None:
    """`new` says what `old` said; keys `new` gained since are not compared."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for key, value in old.items():
            if key not in skip:
                assert key in new, f"{where}.{key} missing"
                same_old_keys(value, new[key], f"{where}.{key}", skip)
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for number, (a, b) in enumerate(zip(old, new, strict=True)):
            same_old_keys(a, b, f"{where}[{number}]", skip)
    elif isinstance(old, float):
        assert new == pytest.approx(old, rel=1e-9, abs=1e-9), where
    else:
        assert new == old, where


def test_every_contact_became_its_own_deal_with_its_history(upgraded):
    with session_on(upgraded) as session:
        deals = session.execute(
            text("SELECT id, contact_id, stage, value_cents, lost_reason, score, lost_at_stage "
                 "FROM deal ORDER BY id")
        ).all()  # fmt: skip
        orphans = session.execute(
            text("SELECT count(*) FROM stage_change WHERE deal_id IS NOT contact_id")
        ).scalar()
        unlinked = session.execute(
            text("SELECT count(*) FROM interaction i JOIN contact c ON c.id = i.contact_id "
                 "WHERE i.kind = 'purchase' AND c.stage = 'won' AND i.deal_id IS NOT c.id")
        ).scalar()  # fmt: skip
        linked_elsewhere = session.execute(
            text("SELECT count(*) FROM interaction i JOIN contact c ON c.id = i.contact_id "
                 "WHERE i.deal_id IS NOT NULL AND c.stage <> 'won'")
        ).scalar()  # fmt: skip
        companies = session.execute(
            text("SELECT c.company, k.name_folded FROM contact c "
                 "LEFT JOIN company k ON k.id = c.company_id")
        ).all()  # fmt: skip
        lost_paths = session.execute(
            text("SELECT count(*) FROM deal WHERE stage = 'lost' AND lost_at_stage IS NULL")
        ).scalar()
    before = {r[0]: r for r in old_rows(upgraded)}
    assert [d.id for d in deals] == sorted(before) and all(d.contact_id == d.id for d in deals)
    for deal in deals:
        _id, stage, value, reason, score, _company = before[deal.id]
        assert (deal.stage, deal.value_cents, deal.lost_reason, deal.score) == (
            stage, value, reason, score,
        )  # fmt: skip
        assert deal.lost_at_stage is None or deal.lost_at_stage in OPEN_STAGES
    assert orphans == 0 and unlinked == 0 and linked_elsewhere == 0
    assert lost_paths == 0  # every demo contact has a full history: lost from somewhere
    from minicrm.text import fold

    for company_text, folded in companies:
        assert folded == (fold(company_text) if company_text else None)


@pytest.mark.parametrize("by", BY)
def test_funnel_is_the_same_but_the_weighted_forecast(upgraded, by):
    """Every key the 0004 funnel had says the same; only `forecast` may move.

    The lost-from rule: a deal closed without a known path votes on no
    stage's P(win | stage), and a stage with fewer than 10 closed deals that
    passed through it takes the overall win rate. Every demo deal has its
    history, so with no stage short of closed deals the forecast is the old
    one exactly (the whole funnel is so); a --by group where stages fall back
    may weigh differently, but a weighted figure never passes the open value."""
    from minicrm.services.funnel.funnel import funnel_report

    with session_on(upgraded) as session:
        new = funnel_report(session, by=by or None, now=NOW).to_json()
    old = OLD["funnel"][by]
    same_old_keys(old, new, by or "funnel", skip=("forecast",))
    groups = old["groups"].items() if by else [("", old)]
    for key, figures in groups:
        got = new["groups"][key] if by else new
        open_value = sum(s["value"] for s in figures["stages"] if s["stage"] in OPEN_STAGES)
        assert 0 <= got["forecast"] <= open_value + 0.01, key
        if not by or got.get("fallback_stages") == []:
            assert got["forecast"] == pytest.approx(figures["forecast"], abs=0.01), key


def test_forecast_open_counts_and_values_are_the_same(upgraded):
    from minicrm.services.funnel.reports import forecast_report

    with session_on(upgraded) as session:
        new = forecast_report(session, now=NOW).to_json()
    old = OLD["forecast"]
    assert (new["open"], new["value"]) == (old["open"], old["value"])
    assert new["weighted"] <= new["value"]
    for part, key in (("owners", "owner"), ("months", "month")):
        assert [(x[key], x["open"], x["value"]) for x in new[part]] == [
            (x[key], x["open"], x["value"]) for x in old[part]
        ], part
        assert all(x["weighted"] <= x["value"] + 0.01 for x in new[part])


def test_every_contact_keeps_its_stage_value_and_score(upgraded):
    """Listed as of the fixture's own day: a listing first recomputes the
    scores for the day it is asked about, and scores move with the calendar."""
    from minicrm.services.contacts.listing import list_contacts

    with session_on(upgraded) as session:
        new = {c.id: c.to_json() for c in list_contacts(session, now=NOW)}
    assert len(new) == len(OLD["contacts"]) == 300
    for old in OLD["contacts"]:
        assert {k: new[old["id"]][k] for k in old} == old


def test_segments_change_only_by_won_customers_who_logged_no_purchase(upgraded):
    """Before, only purchases made revenue; now a won deal with no purchase
    linked counts its value at its close date. So the expectation is the old
    code's own report on the old data with exactly that added: each won
    contact with a value and no purchase given one purchase of its value when
    it was won (make_release_fixture.py computes it with the 0004 code)."""
    from minicrm.services.funnel.reports import segments_report

    rows = old_rows(upgraded)
    with session_on(upgraded) as session:
        new = segments_report(session).to_json()
        buyers = set(
            session.execute(
                text("SELECT DISTINCT contact_id FROM interaction WHERE kind = 'purchase'")
            ).scalars()
        )
    won_silent = [r for r in rows if r[1] == "won" and r[2] is not None and r[0] not in buyers]
    old, expected = OLD["segments"], OLD["segments_when_won_deals_count"]
    assert won_silent, "the fixture must have won customers with no purchase"
    assert expected["customers"] == old["customers"] + len(won_silent)
    assert expected["revenue"] == pytest.approx(
        old["revenue"] + sum(r[2] for r in won_silent) / 100, abs=0.005
    )
    same_old_keys(expected, new, "segments")


@pytest.mark.postgres_only("the PostgreSQL path of migration 0005")
def test_postgres_upgrade_from_0004_turns_contacts_into_deals():
    from minicrm.db import upgrade_schema
    from tests_support_pg import create_test_database, drop_test_database

    from .conftest_urls import server_url
    from .make_schema_fixtures import BASE_ROWS, ROWS_SINCE

    url = create_test_database(server_url())
    engine = make_engine(url)
    try:
        upgrade_schema(engine, "0004")
        with engine.begin() as connection:
            for statement in [*BASE_ROWS, *ROWS_SINCE["0002"], *ROWS_SINCE["0003"], *WON_ROWS]:
                connection.execute(text(statement))
        upgrade_schema(engine, "head")
        assert current_revision(engine) == SCHEMA_HEAD
        with engine.connect() as connection:
            deals = connection.execute(
                text("SELECT id, contact_id, company_id, stage, value_cents, lost_reason, "
                     "lost_at_stage, closed_at IS NOT NULL FROM deal ORDER BY id")
            ).all()  # fmt: skip
            companies = connection.execute(
                text("SELECT id, name, name_folded FROM company ORDER BY id")
            ).all()
            links = connection.execute(
                text("SELECT id, company_id, stage, score FROM contact ORDER BY id")
            ).all()
            history = connection.execute(
                text("SELECT id, deal_id FROM stage_change ORDER BY id")
            ).all()
            purchases = connection.execute(
                text("SELECT id, deal_id FROM interaction ORDER BY id")
            ).all()
            connection.execute(  # the sequences go on after the kept ids
                text("INSERT INTO deal (title, stage, stage_entered_at, score, created_at, "
                     "updated_at, version) VALUES ('next', 'lead', now(), 0, now(), now(), 1)")
            )  # fmt: skip
            next_id = connection.execute(text("SELECT max(id) FROM deal")).scalar()
    finally:
        engine.dispose()
        drop_test_database(server_url(), url)
    assert [tuple(d) for d in deals] == [
        (1, 1, 1, "qualified", 125050, None, None, False),
        (2, 2, None, "lost", None, "no budget", "lead", True),
        (3, 3, 1, "won", 90000, None, None, True),
    ]
    assert [tuple(c) for c in companies] == [(1, "Lopez Bakery", "lopez bakery")]
    assert [tuple(c) for c in links] == [
        (1, 1, "qualified", 0), (2, None, "lost", 0), (3, 1, "won", 7),
    ]  # fmt: skip
    assert [tuple(h) for h in history] == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3)]
    assert [tuple(p) for p in purchases] == [(1, None), (2, 3)]  # only a won contact's
    assert next_id == 4


WON_ROWS = [
    "INSERT INTO contact (id, name, name_folded, company, stage, value_cents, owner, score, "
    "search_text, created_at, updated_at, stage_entered_at, version) VALUES "
    "(3, 'Pablo Ruiz', 'pablo ruiz', ' LÓPEZ bakery', 'won', 90000, 'ana', 7, 'pablo ruiz', "
    "'2025-01-04 10:00:00', '2025-01-09 10:00:00', '2025-01-09 10:00:00', 1)",
    "INSERT INTO stage_change (id, contact_id, from_stage, to_stage, at, reason) VALUES "
    "(5, 3, NULL, 'lead', '2025-01-04 10:00:00', NULL), "
    "(6, 3, 'lead', 'won', '2025-01-09 10:00:00', NULL)",
    "INSERT INTO interaction (id, contact_id, kind, at, summary, search_text, amount_cents, "
    "owner, created_at) VALUES (2, 3, 'purchase', '2025-01-10 12:00:00', 'bread', "
    "'bread', 90000, 'ana', '2025-01-10 12:00:00')",
]
