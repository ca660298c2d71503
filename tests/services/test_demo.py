"""crm demo's generator: deterministic, consistent, and realistic enough to
exercise search, follow-ups and the funnel."""

import json
import re
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from minicrm.db import make_engine, session_scope
from minicrm.errors import UserError
from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    Deal,
    DealLine,
    FollowUp,
    Interaction,
    Product,
    StageChange,
)
from minicrm.services import demo
from minicrm.services.contacts.editing import ContactInput, add_contact, search_text_of
from minicrm.services.contacts.search import search_contacts
from minicrm.services.demo.generate import generate_demo
from minicrm.services.records import config
from minicrm.services.records.deals import mirror_current_deals
from minicrm.services.transfer import bulk_load
from minicrm.text import fold, search_text

NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
TABLES = (
    "contact", "tag", "contact_tag", "stage_change", "interaction", "followup",
    "company", "product", "deal", "deal_line",
)  # fmt: skip


def dump(session) -> dict[str, list[tuple]]:
    return {
        table: [tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
        for table in TABLES
    }


@pytest.fixture
def other_engine(tmp_path, migrated_template):
    """A second fresh database, to compare two runs."""
    path = tmp_path / "other.db"
    shutil.copyfile(migrated_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def demo_session(session):
    """A session holding 300 demo contacts."""
    generate_demo(session, contacts=300, seed=7, now=NOW)
    return session


@pytest.mark.sqlite_only("compares raw rows with a second SQLite database")
def test_same_seed_and_now_give_identical_rows(session, other_engine):
    generate_demo(session, contacts=120, seed=3, now=NOW)
    with session_scope(other_engine) as other:
        generate_demo(other, contacts=120, seed=3, now=NOW)
        assert dump(other) == dump(session)


def test_a_different_seed_gives_different_rows(session, other_engine):
    generate_demo(session, contacts=120, seed=3, now=NOW)
    with session_scope(other_engine) as other:
        generate_demo(other, contacts=120, seed=4, now=NOW)
        names = "SELECT name FROM contact ORDER BY id"
        assert other.execute(text(names)).all() != session.execute(text(names)).all()


@pytest.mark.sqlite_only("SQLite's fast insert path")
def test_fast_sqlite_path_stores_what_the_column_types_store(session, other_engine, monkeypatch):
    assert bulk_load.RowWriter(session.connection()).raw, "SQLite takes the fast path"
    generate_demo(session, contacts=80, seed=5, now=NOW)
    # A timestamp formatter that disagrees with UTCDateTime must be refused,
    # sending every row through SQLAlchemy's own type processing instead.
    monkeypatch.setattr(bulk_load, "_sqlite_stamper", lambda: lambda ts: "1999-01-01 00:00:00")
    with session_scope(other_engine) as other:
        assert not bulk_load.RowWriter(other.connection()).raw
        generate_demo(other, contacts=80, seed=5, now=NOW)
        assert dump(other) == dump(session)


def test_summary_counts_match_the_tables_and_are_in_range(session):
    summary = generate_demo(session, contacts=300, seed=7, now=NOW)

    def count(model):
        return session.execute(select(func.count()).select_from(model)).scalar_one()

    assert summary.contacts == count(Contact) == 300
    assert summary.interactions == count(Interaction)
    assert summary.followups == count(FollowUp)
    assert summary.stage_changes == count(StageChange)
    assert summary.tags == session.execute(text("SELECT count(*) FROM contact_tag")).scalar()
    assert summary.companies == count(Company)
    assert summary.deals == count(Deal)
    assert summary.deal_lines == count(DealLine)
    assert summary.products == count(Product) == len(demo.CATALOGUE) == 12
    assert 8 <= summary.interactions / 300 <= 12
    assert 1.5 <= summary.followups / 300 <= 2.5
    assert 1.4 <= summary.deals / 300 <= 2.2, "repeat deals for customers"
    assert 1.5 <= summary.deal_lines / summary.deals <= 2.5
    assert 2.5 <= summary.stage_changes / summary.deals <= 4
    assert 30 <= summary.companies <= 120
    assert summary.tags > 0


def test_zero_contacts_writes_nothing_and_negative_is_refused(session):
    assert generate_demo(session, contacts=0, now=NOW) == demo.DemoSummary()
    with pytest.raises(UserError):
        generate_demo(session, contacts=-1, now=NOW)


def test_deal_stage_is_its_last_stage_change(demo_session):
    stages = config.all_stages(demo_session)
    deals = demo_session.execute(select(Deal)).scalars().all()
    for deal in deals:
        changes = (
            demo_session.execute(
                select(StageChange)
                .where(StageChange.deal_id == deal.id)
                .order_by(StageChange.at, StageChange.id)
            )
            .scalars()
            .all()
        )
        first, last = changes[0], changes[-1]
        assert (first.from_stage, first.at) == (None, deal.created_at)
        assert (last.to_stage, last.at) == (deal.stage, deal.stage_entered_at)
        assert all(c.contact_id == deal.contact_id for c in changes)
        times = [c.at for c in changes]
        assert times == sorted(set(times)), "stage change times strictly increase"
        assert times[-1] <= NOW
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage == before.to_stage
        assert all(c.to_stage in stages for c in changes)
        assert deal.updated_at >= deal.stage_entered_at
        assert (deal.closed_at is not None) == (deal.stage in (WON, LOST))
        assert deal.closed_at in (None, deal.stage_entered_at)
        assert (deal.version, deal.deleted_at) == (1, None)
    reached = {d.stage for d in deals}
    assert {WON, LOST} <= reached and reached - {WON, LOST}, "open and closed deals"


def test_contacts_mirror_their_current_deal_and_are_scored(demo_session):
    """The contact's stage/value/lost reason/score are its current deal's, as
    services.deals.records keeps them: running the mirror changes nothing."""
    fields = (Contact.id, Contact.stage, Contact.stage_entered_at, Contact.value_cents,
              Contact.lost_reason, Contact.score)  # fmt: skip
    before = demo_session.execute(select(*fields).order_by(Contact.id)).all()
    mirror_current_deals(demo_session, None)
    assert demo_session.execute(select(*fields).order_by(Contact.id)).all() == before
    contacts = demo_session.execute(select(Contact)).scalars().all()
    assert len({c.score for c in contacts}) > 3, "demo contacts are scored by the rules"
    for contact in contacts:
        assert contact.updated_at >= contact.stage_entered_at
        assert (contact.version, contact.deleted_at) == (1, None)


def test_funnel_history_has_skips_and_moves_back(demo_session):
    order = {stage: i for i, stage in enumerate([*config.open_stages(demo_session), WON])}
    steps = [
        order[to] - order[frm]
        for frm, to in demo_session.execute(
            select(StageChange.from_stage, StageChange.to_stage).where(
                StageChange.from_stage.is_not(None), StageChange.to_stage != LOST
            )
        )
    ]
    assert 1 in steps and any(s >= 2 for s in steps) and any(s < 0 for s in steps)


def test_lost_deals_have_a_reason_and_the_stage_they_were_lost_from(demo_session):
    lost = demo_session.execute(select(Deal).where(Deal.stage == LOST)).scalars().all()
    assert lost
    open_stages = config.open_stages(demo_session)
    for deal in lost:
        assert deal.lost_reason in demo.LOST_REASONS
        move = demo_session.execute(
            select(StageChange).where(StageChange.deal_id == deal.id, StageChange.to_stage == LOST)
        ).scalar_one()
        assert move.reason == deal.lost_reason
        assert deal.lost_at_stage == move.from_stage and deal.lost_at_stage in open_stages
    for model in (Deal, Contact):
        others = select(func.count()).where(model.stage != LOST, model.lost_reason.is_not(None))
        assert demo_session.execute(others).scalar() == 0
    assert (
        demo_session.execute(
            select(func.count()).where(Deal.stage != LOST, Deal.lost_at_stage.is_not(None))
        ).scalar()
        == 0
    )


def test_names_come_in_latin_persian_and_greek(demo_session):
    names = demo_session.execute(select(Contact.name)).scalars().all()
    for script in (r"[A-Za-z]", r"[\u0600-\u06ff]", r"[\u0370-\u03ff]"):
        assert any(re.search(script, name) for name in names), script
    assert any("\u200c" in name for name in names), "a Persian name with a ZWNJ"


def test_folded_columns_are_what_the_services_write(demo_session):
    for contact in demo_session.execute(select(Contact)).scalars():
        assert contact.name_folded == fold(contact.name)
        assert contact.search_text == search_text_of(contact)
        if contact.extra:
            assert isinstance(json.loads(contact.extra), dict)
    for summary, stored in demo_session.execute(
        select(Interaction.summary, Interaction.search_text)
    ):
        assert stored == search_text(summary)


ARABIC_KEYBOARD = str.maketrans("یک", "يك")


def found(session, query: str) -> set[int]:
    return {hit.contact.id for hit in search_contacts(session, query, limit=500)}


def test_search_finds_persian_name_typed_on_an_arabic_keyboard(demo_session):
    names = demo_session.execute(select(Contact.id, Contact.name)).all()
    contact_id, name = next((i, n) for i, n in names if "ی" in n.split()[-1])
    typed = name.split()[-1].translate(ARABIC_KEYBOARD)
    assert typed != name.split()[-1]
    assert contact_id in found(demo_session, typed)
    # Some demo names were themselves typed on an Arabic keyboard.
    contact_id, name = next((i, n) for i, n in names if "ي" in n)
    persian = name.translate(str.maketrans("يك", "یک"))
    assert contact_id in found(demo_session, persian)


def test_search_finds_zwnj_name_typed_without_it(demo_session):
    names = demo_session.execute(select(Contact.id, Contact.name)).all()
    contact_id, name = next((i, n) for i, n in names if "\u200c" in n)
    word = next(w for w in name.split() if "\u200c" in w).replace("\u200c", "")
    assert contact_id in found(demo_session, word)


def test_search_finds_interaction_summaries(demo_session):
    hits = search_contacts(demo_session, "espresso", limit=500)
    assert any(hit.matched_in == "interaction" for hit in hits)


def test_times_stay_within_the_year_before_now(demo_session):
    def count(query):
        return demo_session.execute(select(func.count()).select_from(query.subquery())).scalar()

    year_ago = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
    assert count(select(Contact.id).where(Contact.created_at < year_ago)) == 0
    for column in (Contact.created_at, Contact.updated_at, Contact.stage_entered_at):
        assert count(select(Contact.id).where(column > NOW)) == 0
    for column in (Interaction.at, Interaction.created_at, StageChange.at):
        assert count(select(column).where(column > NOW)) == 0
    for column in (FollowUp.created_at, FollowUp.updated_at, FollowUp.done_at):
        assert count(select(FollowUp.id).where(column > NOW)) == 0
    too_early = (
        select(Interaction.id)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Interaction.at < Contact.created_at)
    )
    assert count(too_early) == 0
    backwards = select(FollowUp.id).where(FollowUp.updated_at < FollowUp.created_at)
    assert count(backwards) == 0


def test_followups_are_done_overdue_today_and_later(demo_session):
    rows = demo_session.execute(select(FollowUp)).scalars().all()
    done = [f for f in rows if f.done_at]
    still_open = [f for f in rows if not f.done_at]
    assert done and still_open
    assert any(f.due_at < NOW for f in still_open), "overdue"
    assert any(f.due_at.date() == NOW.date() for f in still_open), "today"
    assert any(f.due_at > NOW and f.due_at.date() > NOW.date() for f in still_open), "later"
    assert any(f.recurrence and f.recurrence.startswith("FREQ=") for f in still_open)
    assert any(f.snoozed > 0 for f in rows)
    assert all(f.recurrence is None for f in done)


def test_purchases_and_quotes_have_amounts(demo_session):
    rows = demo_session.execute(select(Interaction.kind, Interaction.amount_cents)).all()
    assert {kind for kind, _ in rows} == {
        "call", "email", "meeting", "note", "sms", "visit", "quote", "purchase"
    }  # fmt: skip
    for kind, amount in rows:
        assert (amount is not None) == (kind in ("quote", "purchase"))
        assert amount is None or amount > 0


def test_adds_to_existing_data(session):
    first = add_contact(session, ContactInput(name="Existing Person"), now=NOW)
    summary = generate_demo(session, contacts=50, seed=2, now=NOW)
    ids = session.execute(select(Contact.id).order_by(Contact.id)).scalars().all()
    assert ids == list(range(first.id, first.id + 51))
    assert summary.contacts == 50
    assert [hit.contact.id for hit in search_contacts(session, "Existing")] == [first.id]


def schema(session) -> list[tuple]:
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    return [tuple(row) for row in session.execute(text(query))]


@pytest.mark.sqlite_only("FTS5 and SQLite indexes")
@pytest.mark.parametrize("batches", [(60,), (60, 20)], ids=["fresh", "more-than-before"])
def test_indexes_and_search_are_whole_afterwards(session, batches):
    # A big batch rebuilds the indexes; a small one into a fuller database
    # keeps them and only sets the per-row FTS triggers aside.
    before = schema(session)
    for seed, contacts in enumerate(batches):
        generate_demo(session, contacts=contacts, seed=seed, now=NOW)
    assert schema(session) == before
    assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    for table in ("contact_fts", "interaction_fts"):  # the index matches its table
        session.execute(text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"))
    later = add_contact(session, ContactInput(name="Zyxwv Quokka"), now=NOW)
    assert [hit.contact.id for hit in search_contacts(session, "quokka")] == [later.id]


def test_renamed_stages_are_used(session):
    config.set_setting(session, "stages", "lead,qualified,proposal", now=NOW)
    generate_demo(session, contacts=100, seed=1, now=NOW)
    used = set(session.execute(select(StageChange.to_stage)).scalars())
    assert used <= {"lead", "qualified", "proposal", WON, LOST}
    assert "lead" in used and "awareness" not in used


def test_companies_have_several_people_and_a_third_have_none(demo_session):
    rows = demo_session.execute(
        select(Contact.company, Contact.company_id, Contact.industry, Company.name,
               Company.industry).outerjoin(Company, Company.id == Contact.company_id)
    ).all()  # fmt: skip
    alone = [r for r in rows if r.company_id is None]
    assert 0.25 <= len(alone) / len(rows) <= 0.42
    assert all(r.company is None for r in alone)
    for company, _id, industry, name, company_industry in (r for r in rows if r.company_id):
        assert company == name and industry == company_industry
    people = (
        demo_session.execute(
            select(func.count()).group_by(Contact.company_id).where(Contact.company_id.is_not(None))
        )
        .scalars()
        .all()
    )
    assert max(people) >= 4 and sum(1 for n in people if n >= 2) >= len(people) / 2
    folded = demo_session.execute(select(Company.name_folded)).scalars().all()
    assert len(folded) == len(set(folded)), "one company per folded name"
    company_only = (
        demo_session.execute(select(Deal).where(Deal.contact_id.is_(None))).scalars().all()
    )
    assert company_only and all(d.company_id is not None for d in company_only)


def test_deal_lines_add_up_to_the_deal_value(demo_session):
    prices = dict(demo_session.execute(select(Product.id, Product.price_cents)).all())
    lines = demo_session.execute(select(DealLine)).scalars().all()
    per_deal: dict[int, list] = {}
    for line in lines:
        per_deal.setdefault(line.deal_id, []).append(line)
        assert line.unit_price_cents == prices[line.product_id]
        expected = round(line.quantity * line.unit_price_cents * (1 - line.discount / 100))
        assert line.total_cents == expected
    assert {len(v) for v in per_deal.values()} == {1, 2, 3, 4}
    assert 0.1 <= sum(1 for x in lines if x.discount) / len(lines) <= 0.4
    values = dict(demo_session.execute(select(Deal.id, Deal.value_cents)).all())
    for deal_id, its_lines in per_deal.items():
        assert values[deal_id] == sum(x.total_cents for x in its_lines)
    assert 0.7 <= len(per_deal) / len(values) <= 0.95, "some deals have a value only"


def test_customers_come_back_with_more_deals(demo_session):
    deals = demo_session.execute(
        select(Deal.contact_id, Deal.stage, Deal.created_at, Deal.expected_close, Deal.source)
        .where(Deal.contact_id.is_not(None))
        .order_by(Deal.contact_id, Deal.created_at)
    ).all()
    by_contact: dict[int, list] = {}
    for deal in deals:
        by_contact.setdefault(deal.contact_id, []).append(deal)
    repeats = [d for ds in by_contact.values() if len(ds) > 1 for d in ds[1:]]
    assert sum(1 for ds in by_contact.values() if len(ds) >= 3) >= 10
    assert {d.stage for d in repeats} >= {WON, LOST} and any(
        d.stage not in (WON, LOST) for d in repeats
    )
    for ds in by_contact.values():
        assert all(d.source == "repeat" for d in ds[1:])
        if len(ds) > 1:
            assert ds[0].stage == WON, "only customers come back"
    open_deals = [d for d in deals if d.stage not in (WON, LOST)]
    with_close = [d for d in open_deals if d.expected_close is not None]
    assert 0.6 <= len(with_close) / len(open_deals) <= 0.95
    assert all(d.expected_close is None for d in deals if d.stage in (WON, LOST))
    assert any(d.expected_close < NOW.date() for d in with_close), "some are overdue"


def test_purchases_pay_for_won_deals_and_quotes_name_open_ones(demo_session):
    rows = demo_session.execute(
        select(Interaction.kind, Interaction.at, Interaction.contact_id, Deal.contact_id,
               Deal.stage, Deal.created_at, Deal.closed_at)
        .outerjoin(Deal, Deal.id == Interaction.deal_id)
    ).all()  # fmt: skip
    purchases = [r for r in rows if r.kind == "purchase"]
    assert purchases and all(r[3] is not None for r in purchases), "every purchase has its deal"
    for _kind, at, contact_id, deal_contact, stage, created, closed in rows:
        if deal_contact is None:
            continue
        assert deal_contact == contact_id
        if _kind == "purchase":
            assert stage == WON and closed <= at
        else:
            assert _kind == "quote" and created <= at and (closed is None or at < closed)
    assert any(r.kind == "quote" and r[3] is not None for r in rows)


def test_a_second_run_keeps_one_catalogue(session):
    generate_demo(session, contacts=30, seed=1, now=NOW)
    again = generate_demo(session, contacts=30, seed=2, now=NOW)
    assert again.products == 0
    assert session.execute(select(func.count()).select_from(Product)).scalar() == 12
    deal_ids = session.execute(select(Deal.id).order_by(Deal.id)).scalars().all()
    assert deal_ids == list(range(1, len(deal_ids) + 1))


def test_crm_demo_says_what_it_added_and_the_deal_commands_see_it(cli):
    result = cli.ok("demo", "--contacts", "40", "--seed", "3")
    said = result.stderr + result.stdout
    found = re.search(
        r"added 40 contacts, (\d+) companies, (\d+) deals with (\d+) lines, 12 products, "
        r"(\d+) interactions, (\d+) follow-ups and (\d+) stage changes",
        said,
    )
    assert found, said
    companies, deals, lines = (int(found[i]) for i in (1, 2, 3))
    assert companies > 0 and deals >= 40 and lines > deals / 2
    listed = cli.json("list", "--limit", "1000")
    assert len(listed) == 40 and all(c["stage"] for c in listed)
