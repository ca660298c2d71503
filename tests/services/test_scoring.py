"""Lead scores: rule files, per/max, figures from SQL, explanations, and the
cached score staying current when contacts, interactions, follow-ups or the
rules change."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from minicrm.errors import ValidationError
from minicrm.models import Contact, Deal, FollowUp, Interaction
from minicrm.services.contacts.editing import (
    ContactChanges,
    ContactInput,
    add_contact,
    update_contact,
)
from minicrm.services.contacts.listing import list_contacts
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.followups import (
    add_followup,
    complete_followup,
    remove_followup,
    snooze_followup,
)
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.scoring import scores as scoring
from minicrm.services.scoring.figures import FIGURES, facts_for
from minicrm.services.scoring.rulebook import DEFAULT_RULES, parse_rules
from minicrm.services.scoring.rules import RuleError
from minicrm.services.scoring.scores import (
    current_rules,
    explain,
    load_rules,
    recompute_scores,
    rules_text,
    top_scores,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = """
[[rule]]
name = "referral"
when = "source == 'referral'"
points = 25

[[rule]]
name = "engaged"
per = "interactions_30d"
points = 3
max = 10

[[rule]]
name = "overdue"
when = "overdue_followups > 0"
points = -7

[[rule]]
name = "vip"
when = "tag('vip')"
points = 20
"""


@pytest.fixture
def rules(session):
    load_rules(session, RULES, now=NOW)


def add(session, name, *, tags=(), at=NOW - 100 * DAY, **fields):
    data = ContactInput(name=name, tags=list(tags), **fields)
    return add_contact(session, data, force=True, now=at)


def stored_score(session, contact_id) -> int:
    return session.execute(select(Contact.score).where(Contact.id == contact_id)).scalar_one()


def log(session, ref, days_ago, kind="call", amount=None):
    return log_interaction(session, ref, kind, at=NOW - days_ago * DAY, amount=amount, now=NOW)


# ------------------------------------------------------------- rule files


def test_the_default_rules_are_valid_and_rank_a_warm_lead_above_a_cold_one(session):
    rule_set = parse_rules(DEFAULT_RULES)
    assert len(rule_set) == 14
    assert rules_text(session) == DEFAULT_RULES  # nothing stored: the defaults
    recent = NOW - 10 * DAY
    warm = add(session, "Maria", source="referral", email="m@x.com", stage="decision", at=recent)
    for days_ago in (1, 3, 5):
        log(session, "maria", days_ago)
    cold = add(session, "Bob Stone", at=recent)
    assert stored_score(session, warm.id) == 25 + 9 + 15  # referral, 3 calls, deciding
    assert stored_score(session, cold.id) == -10  # no way to reach him


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[rule]\nname = 'x'", "not valid TOML"),
        ("points = 3", "unknown top-level key 'points'"),
        ("rule = 'x'", "[[rule]] table"),
        ("[[rule]]\nwhen = 'value > 1'\npoints = 1", "rule #1 needs a name"),
        ("[[rule]]\nname = ' '\nwhen = 'value > 1'\npoints = 1", "rule #1 needs a name"),
        ("[[rule]]\nname = 'a'\nwhen = 'value > 1'\npionts = 1", "rule 'a': unknown key 'pionts'"),
        ("[[rule]]\nname = 'a'\nwhen = 'value > 1'", "rule 'a': points must be a number"),
        ("[[rule]]\nname = 'a'\nwhen = 'value > 1'\npoints = '5'", "points must be a number"),
        ("[[rule]]\nname = 'a'\nwhen = 'value > 1'\npoints = true", "points must be a number"),
        ("[[rule]]\nname = 'a'\npoints = 1", "rule 'a': give a condition"),
        ("[[rule]]\nname = 'a'\nwhen = 'value > 1'\npoints = 1\nmax = 3", "max only goes with per"),
        ("[[rule]]\nname = 'a'\nper = 'value'\npoints = 1\nmax = 0", "max must be a positive"),
        ("[[rule]]\nname = 'a'\nper = 'visits'\npoints = 1", "per names an unknown figure"),
        ("[[rule]]\nname = 'a'\nper = 'source'\npoints = 1", "source is text"),
        ("[[rule]]\nname = 'a'\nper = 3\npoints = 1", "per must name a figure"),
        ("[[rule]]\nname = 'a'\nwhen = 3\npoints = 1", "when must be a quoted condition"),
        (
            "[[rule]]\nname = 'a'\nwhen = 'value > 1'\npoints = 1\n"
            "[[rule]]\nname = 'a'\nwhen = 'value > 2'\npoints = 2",
            "rule 'a': two rules have this name",
        ),
        (
            "[[rule]]\nname = 'came by referral'\nwhen = \"source == 'refe')\"\npoints = 1",
            "rule 'came by referral': unexpected ')' at column 17",
        ),
    ],
)
def test_a_broken_rules_file_says_what_and_where(text, fragment):
    with pytest.raises(ValidationError) as caught:
        parse_rules(text)
    assert fragment in caught.value.message
    assert "\n" not in caught.value.message


def test_a_rule_error_carries_its_rule_and_column():
    with pytest.raises(RuleError) as caught:
        parse_rules("[[rule]]\nname = 'late'\nwhen = 'days_in_stage >> 3'\npoints = 1")
    assert (caught.value.rule, caught.value.column) == ("late", 16)


def test_an_empty_rules_file_scores_everyone_zero(session, rules):
    contact = add(session, "Maria", source="referral")
    assert stored_score(session, contact.id) == 25
    loaded = load_rules(session, "# no rules for now\n", now=NOW)
    assert loaded.rules == 0
    assert stored_score(session, contact.id) == 0


# ----------------------------------------------------------------- per/max


def facts(**values):
    return scoring.ContactFacts(1, "x", "interest", 0, values, frozenset())


@pytest.mark.parametrize(
    ("rule", "values", "points"),
    [
        ("per = 'interactions_30d'\npoints = 3\nmax = 10", {"interactions_30d": 2}, 6),
        ("per = 'interactions_30d'\npoints = 3\nmax = 10", {"interactions_30d": 7}, 10),
        ("per = 'interactions_30d'\npoints = 3", {"interactions_30d": 70}, 210),
        ("per = 'days_in_stage'\npoints = -2\nmax = 15", {"days_in_stage": 40}, -15),
        ("per = 'purchases_total'\npoints = 0.01", {"purchases_total": 1250.5}, 13),
        ("per = 'purchases_total'\npoints = 0.01", {"purchases_total": 1249.9}, 12),
        ("per = 'days_since_last_interaction'\npoints = 1", {}, 0),  # missing: nothing
        ("per = 'value'\npoints = 1\nmax = 5", {"value": -30}, 0),  # no negative units
        ("per = 'extra.visits'\npoints = 2", {"extra.visits": "4"}, 8),
        ("per = 'extra.visits'\npoints = 2", {"extra.visits": "lots"}, 0),
        (
            "per = 'interactions_90d'\nwhen = \"stage == 'decision'\"\npoints = 2",
            {"interactions_90d": 4, "stage": "decision"},
            8,
        ),
        (
            "per = 'interactions_90d'\nwhen = \"stage == 'decision'\"\npoints = 2",
            {"interactions_90d": 4, "stage": "interest"},
            0,
        ),
        ("when = 'value > 1'\npoints = 2.5", {"value": 2}, 3),  # half away from zero
        ("when = 'value > 1'\npoints = -2.5", {"value": 2}, -3),
    ],
)
def test_per_rules_earn_points_per_unit_up_to_max(rule, values, points):
    rule_set = parse_rules(f"[[rule]]\nname = 'r'\n{rule}\n")
    scored = scoring.score_contact(rule_set, facts(**values))
    assert scored.score == points
    assert [(hit.name, hit.points) for hit in scored.rules] == ([("r", points)] if points else [])


# ---------------------------------------------------------------- figures


def test_figures_are_counted_in_their_windows(session):
    contact = add(session, "Maria", value="1500")
    for days_ago in (0, 10, 30, 31, 90, 91, 400, -5):  # -5: dated in the future
        log(session, "maria", days_ago)
    log(session, "maria", 20, "purchase", amount="100.25")
    log(session, "maria", 200, "purchase", amount="50")
    log(session, "maria", 2, "purchase")  # a purchase without an amount
    add_followup(session, "maria", NOW - 2 * DAY, now=NOW)
    add_followup(session, "maria", NOW + 2 * DAY, now=NOW)
    done = add_followup(session, "maria", NOW - 9 * DAY, now=NOW)
    complete_followup(session, done.id, zone=ZoneInfo("UTC"), now=NOW)
    figures = explain(session, contact.id, now=NOW).figures
    assert figures == {
        "value": 1500,
        "interactions_30d": 5,  # 0, 2, 10, 20 and exactly 30 days ago
        "interactions_90d": 7,  # …and 31 and exactly 90 days ago
        "days_since_last_interaction": 0,
        "days_in_stage": 100,
        "days_since_created": 100,
        "days_to_close": None,  # new with deals: no expected close date
        "lines_count": 0,  # new with deals: no deal lines
        "purchases_total": 150.25,
        "purchases_count": 3,
        "open_followups": 2,
        "overdue_followups": 1,
    }


def test_a_contact_with_no_history_has_empty_figures(session):
    contact = add(session, "Maria")
    figures = explain(session, contact.id, now=NOW).figures
    assert figures["days_since_last_interaction"] is None
    assert figures["value"] is None
    counts = ("interactions_30d", "interactions_90d", "purchases_total", "purchases_count",
              "open_followups", "overdue_followups")  # fmt: skip
    assert {k: figures[k] for k in counts} == dict.fromkeys(counts, 0)
    assert set(figures) == {"value", *FIGURES}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_figures_equal_a_count_by_hand(session, seed):
    """Random histories; every figure must equal a brute-force count over the rows."""
    rng = random.Random(seed)
    offsets = [0, 1, 29, 30, 31, 89, 90, 91, 365, -1, -40]
    ids = []
    for n in range(12):
        contact = add(session, f"Contact {n}", at=NOW - rng.choice([0, 5, 100]) * DAY)
        ids.append(contact.id)
        for _ in range(rng.randint(0, 9)):
            session.add(
                Interaction(
                    contact_id=contact.id, kind=rng.choice(["call", "purchase", "email"]),
                    at=NOW - rng.choice(offsets) * DAY - rng.randint(0, 3) * timedelta(hours=7),
                    amount_cents=rng.choice([None, 999, 12345]), created_at=NOW,
                )
            )  # fmt: skip
        for _ in range(rng.randint(0, 4)):
            session.add(
                FollowUp(
                    contact_id=contact.id, due_at=NOW + rng.choice([-3, -0.01, 0.01, 4]) * DAY,
                    done_at=rng.choice([None, NOW]), created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
    session.flush()
    found = {f.id: f.values for f in facts_for(session, ids, now=NOW)}
    for contact_id in ids:
        rows = session.execute(select(Interaction).where(Interaction.contact_id == contact_id))
        past = [i for i in rows.scalars() if i.at <= NOW]
        purchases = [i for i in past if i.kind == "purchase"]
        open_ = [
            f
            for f in session.execute(select(FollowUp).where(FollowUp.contact_id == contact_id))
            .scalars()
            .all()
            if f.done_at is None
        ]
        last = max((i.at for i in past), default=None)
        expected = {
            "interactions_30d": sum(i.at >= NOW - 30 * DAY for i in past),
            "interactions_90d": sum(i.at >= NOW - 90 * DAY for i in past),
            "days_since_last_interaction": (NOW - last).days if last else None,
            "purchases_count": len(purchases),
            "purchases_total": sum(i.amount_cents or 0 for i in purchases) / 100,
            "open_followups": len(open_),
            "overdue_followups": sum(f.due_at < NOW for f in open_),
        }
        assert {k: found[contact_id][k] for k in expected} == expected, contact_id


# ------------------------------------------------------------ explanation


def test_explain_lists_each_rule_with_its_points_and_what_it_read(session, rules):
    add(session, "Maria Lopez", source="Referral", tags=["VIP", "cold"])
    log(session, "maria", 3)
    scored = explain(session, "maria", now=NOW)
    assert scored.score == 48
    assert [(h.name, h.points) for h in scored.rules] == [
        ("referral", 25), ("engaged", 3), ("vip", 20),
    ]  # fmt: skip
    assert scored.rules[0].used == {"source": "Referral"}
    assert scored.rules[1].used == {"interactions_30d": 1}
    assert scored.rules[2].tags == ("vip",)
    assert scored.to_json() == {
        "id": scored.id, "name": "Maria Lopez", "score": 48,
        "rules": [
            {"name": "referral", "points": 25}, {"name": "engaged", "points": 3},
            {"name": "vip", "points": 20},
        ],
        "deal_id": scored.deal_id, "title": "Maria Lopez",
    }  # fmt: skip
    assert scored.to_json(figures=True)["figures"]["interactions_30d"] == 1


# --------------------------------------------------------------- triggers


def test_a_new_contact_is_scored_as_it_is_added(session, rules):
    contact = add(session, "Maria", source="referral", tags=["vip"])
    assert contact.score == 45
    assert stored_score(session, contact.id) == 45


def test_logging_an_interaction_updates_the_cached_score(session, rules):
    contact = add(session, "Maria")
    assert stored_score(session, contact.id) == 0
    log(session, "maria", 1)
    assert stored_score(session, contact.id) == 3
    log(session, "maria", 2)
    log(session, "maria", 45)  # outside the 30 days
    assert stored_score(session, contact.id) == 6


def test_editing_a_contact_updates_its_score(session, rules):
    contact = add(session, "Maria")
    updated = update_contact(session, "maria", ContactChanges(add_tags=["vip"]), now=NOW)
    assert updated.score == stored_score(session, contact.id) == 20
    update_contact(session, "maria", ContactChanges(fields={"source": "referral"}), now=NOW)
    assert stored_score(session, contact.id) == 45
    update_contact(session, "maria", ContactChanges(remove_tags=["vip"]), now=NOW)
    assert stored_score(session, contact.id) == 25


def test_follow_ups_move_the_overdue_figure(session, rules):
    contact = add(session, "Maria")
    late = add_followup(session, "maria", NOW - DAY, "call back", now=NOW)
    assert stored_score(session, contact.id) == -7
    snooze_followup(session, late.id, NOW + DAY, now=NOW)
    assert stored_score(session, contact.id) == 0
    later = add_followup(session, "maria", NOW - 2 * DAY, now=NOW)
    assert stored_score(session, contact.id) == -7
    complete_followup(session, later.id, zone=ZoneInfo("UTC"), now=NOW)
    assert stored_score(session, contact.id) == 0
    complete_followup(session, late.id, zone=ZoneInfo("UTC"), now=NOW)
    again = add_followup(session, "maria", NOW - 2 * DAY, now=NOW)
    assert stored_score(session, contact.id) == -7
    remove_followup(session, again.id)  # takes no `now`: scored as of the clock
    assert stored_score(session, contact.id) == 0


def test_a_score_change_is_not_an_edit(session, rules):
    contact = add(session, "Maria")
    log(session, "maria", 1)
    row = session.execute(select(Contact.version, Contact.updated_at)).one()
    assert (row.version, row.updated_at) == (contact.version, contact.updated_at)


def test_loading_rules_rescores_everyone(session, rules):
    maria = add(session, "Maria", source="referral")
    bob = add(session, "Bob", tags=["vip"])
    log(session, "bob", 1)
    assert (stored_score(session, maria.id), stored_score(session, bob.id)) == (25, 23)
    loaded = load_rules(
        session, RULES.replace("points = 25", "points = 40").replace("= 20", "= 1"), now=NOW
    )
    assert (loaded.rules, loaded.recomputed.scored, loaded.recomputed.changed) == (4, 2, 2)
    assert (stored_score(session, maria.id), stored_score(session, bob.id)) == (40, 4)


def test_broken_rules_change_nothing(session, rules):
    maria = add(session, "Maria", source="referral")
    before = (rules_text(session), stored_score(session, maria.id))
    with pytest.raises(RuleError, match="rule 'referral'"):
        load_rules(session, RULES.replace("source == 'referral'", "source == "), now=NOW)
    assert (rules_text(session), stored_score(session, maria.id)) == before
    assert current_rules(session).text == RULES


def test_recompute_in_batches_gives_what_one_by_one_gives(session, rules, monkeypatch):
    monkeypatch.setattr(scoring, "BATCH", 3)
    rng = random.Random(7)
    for n in range(10):
        add(session, f"C{n}", source=rng.choice(["referral", "web", None]),
            tags=rng.choice([[], ["vip"]]))  # fmt: skip
        for _ in range(rng.randint(0, 5)):
            log(session, f"C{n}", rng.randint(0, 40))
    expected = {s.id: s.score for s in (explain(session, f"C{n}", now=NOW) for n in range(10))}
    session.execute(update(Deal).values(score=-999))
    trash_contact(session, "C3", now=NOW)  # trashed contacts are kept current too
    done = recompute_scores(session, now=NOW)
    assert (done.scored, done.changed) == (10, 10)
    stored = dict(session.execute(select(Deal.contact_id, Deal.score)).all())
    assert stored == expected


def test_recompute_only_the_contacts_asked_for(session, rules):
    ids = [add(session, name, source="referral").id for name in ("A", "B", "C")]
    session.execute(update(Deal).values(score=0))
    session.execute(update(Contact).values(score=0))
    done = recompute_scores(session, [ids[0], ids[2], ids[0]], now=NOW)
    assert (done.scored, done.changed) == (2, 2)
    assert [stored_score(session, i) for i in ids] == [25, 0, 25]


# ----------------------------------------------------------- the ranking


def test_top_scores_ranks_open_live_contacts_best_first(session, rules):
    add(session, "Low", source="web")
    add(session, "High", source="referral", tags=["vip"])
    add(session, "Mid", source="referral")
    add(session, "Won", source="referral", stage="won")
    add(session, "Lost", source="referral", stage="lost", lost_reason="no budget")
    add(session, "Gone", source="referral", tags=["vip"])
    trash_contact(session, "Gone", now=NOW)
    assert [(s.name, s.score) for s in top_scores(session, limit=10, now=NOW)] == [
        ("High", 45), ("Mid", 25), ("Low", 0),
    ]  # fmt: skip
    assert [s.name for s in top_scores(session, limit=1, now=NOW)] == ["High"]
    with pytest.raises(ValidationError):
        top_scores(session, limit=0, now=NOW)


def test_shown_scores_are_current_and_refresh_the_cache(session, rules):
    contact = add(session, "Maria")
    log(session, "maria", 1)
    assert stored_score(session, contact.id) == 3
    later = NOW + 40 * DAY  # the call has left the 30-day window
    assert [s.score for s in top_scores(session, now=later)] == [0]
    assert stored_score(session, contact.id) == 0


def test_list_sorted_by_score_follows_the_scores(session, rules):
    add(session, "Ana", source="referral")
    add(session, "Ben", tags=["vip"])
    add(session, "Cy")
    log(session, "cy", 1)
    add(session, "Dee", source="referral", tags=["vip"])
    listed = [(c.name, c.score) for c in list_contacts(session, sort="score", now=NOW)]
    assert listed == [("Dee", 45), ("Ana", 25), ("Ben", 20), ("Cy", 3)]


# ------------------------------------------------------------ deals (issue 11)

DEAL_RULES = """
[[rule]]
name = "madrid"
when = "contact.city == 'Madrid'"
points = 7

[[rule]]
name = "retail company"
when = "company.industry == 'retail'"
points = 11

[[rule]]
name = "closing soon"
when = "days_to_close <= 30"
points = 13

[[rule]]
name = "per line"
per = "lines_count"
points = 2
max = 5

[[rule]]
name = "big"
when = "value >= 1000"
points = 100
"""


def deal_rules(session):
    load_rules(session, DEAL_RULES, now=NOW)


def second_deal(session, contact_id, title, **fields):
    from minicrm.services.records.deals import open_deal

    deal = open_deal(session, title=title, stage="interest", contact_id=contact_id,
                     now=NOW - DAY, **fields)  # fmt: skip
    scoring.refresh_deal_scores(session, [deal.id], now=NOW)
    return deal


def test_contact_and_company_fields(session):
    from minicrm.models import Company

    deal_rules(session)
    madrid = add(session, "Ana", city="Madrid", company="Shop SL")
    add(session, "Ben", city="Paris", company="Other")
    session.execute(update(Company).where(Company.name == "Shop SL").values(industry="Retail"))
    recompute_scores(session, now=NOW)
    hits = {h.name: h.used for h in explain(session, madrid.id, now=NOW).rules}
    assert hits == {
        "madrid": {"contact.city": "Madrid"},
        "retail company": {"company.industry": "Retail"},
    }
    assert stored_score(session, madrid.id) == 18


def test_days_to_close_and_lines_count(session):
    from minicrm.models import DealLine, Product

    deal_rules(session)
    contact = add(session, "Ana")
    deal = session.scalars(select(Deal).where(Deal.contact_id == contact.id)).one()
    deal.expected_close = (NOW + 30 * DAY).date()
    product = Product(name="Tiles", name_key="tiles", price_cents=100, created_at=NOW,
                      updated_at=NOW)  # fmt: skip
    session.add(product)
    session.flush()
    for _ in range(3):
        session.add(DealLine(deal_id=deal.id, product_id=product.id, quantity=1,
                             unit_price_cents=100, total_cents=100))  # fmt: skip
    session.flush()
    scored = scoring.explain_deal(session, deal.id, now=NOW)
    assert scored.figures["days_to_close"] == 30 and scored.figures["lines_count"] == 3
    assert {h.name: h.points for h in scored.rules} == {"closing soon": 13, "per line": 5}
    later = scoring.explain_deal(session, deal.id, now=NOW + 31 * DAY)
    assert later.figures["days_to_close"] == -1  # overdue: negative
    assert "closing soon" in {h.name for h in later.rules}  # -1 <= 30
    deal.expected_close = (NOW + 31 * DAY).date()
    session.flush()
    assert {h.name for h in scoring.explain_deal(session, deal.id, now=NOW).rules} == {"per line"}


def test_a_contact_with_two_open_deals_has_two_scores(session):
    deal_rules(session)
    contact = add(session, "Ana", value="10")
    first = session.scalars(select(Deal).where(Deal.contact_id == contact.id)).one()
    second = second_deal(session, contact.id, "Big one", value_cents=500_000)
    assert session.get(Deal, first.id).score == 0
    assert session.get(Deal, second.id).score == 100
    assert stored_score(session, contact.id) == 100  # the newest open deal is current
    ranked = top_scores(session, now=NOW)
    assert [(s.deal_id, s.id, s.score, s.title) for s in ranked] == [
        (second.id, contact.id, 100, "Big one"), (first.id, contact.id, 0, "Ana"),
    ]  # fmt: skip
    assert explain(session, contact.id, now=NOW).deal_id == second.id
    # closing the current deal makes the other one current again
    from minicrm.services.deals.stages import move_deal

    move_deal(session, session.get(Deal, second.id), "lost", reason="no budget", at=NOW, now=NOW)
    scoring.refresh_score(session, contact.id, now=NOW)
    assert stored_score(session, contact.id) == 0


def test_refresh_score_rescores_every_live_deal_of_the_contact(session, rules):
    contact = add(session, "Ana")
    other = second_deal(session, contact.id, "Second")
    session.execute(update(Deal).values(score=-5))
    session.execute(update(Contact).values(score=-5))
    assert scoring.refresh_score(session, contact.id, now=NOW) == 0
    assert set(session.scalars(select(Deal.score)).all()) == {0}
    assert session.get(Deal, other.id).score == 0


def test_a_deal_without_a_contact(session, rules):
    from minicrm.services.records.deals import open_deal

    deal = open_deal(session, title="Walk-in order", stage="interest", source="referral",
                     now=NOW)  # fmt: skip
    (facts,) = facts_for(session, [deal.id], now=NOW)
    assert (facts.contact_id, facts.name, facts.tags) == (None, None, frozenset())
    assert facts.values["interactions_30d"] == 0 and facts.values["open_followups"] == 0
    assert facts.values["name"] is None and facts.values["source"] == "referral"
    scored = scoring.explain_deal(session, deal.id, now=NOW)
    assert scored.score == 25
    assert scored.to_json() == {
        "id": None, "name": None, "score": 25, "rules": [{"name": "referral", "points": 25}],
        "deal_id": deal.id, "title": "Walk-in order",
    }  # fmt: skip
    assert recompute_scores(session, now=NOW).scored == 1
    assert [s.deal_id for s in top_scores(session, now=NOW)] == [deal.id]


def test_recompute_for_some_contacts_scores_all_their_deals(session, rules):
    ana = add(session, "Ana", source="referral")
    second_deal(session, ana.id, "Second")
    add(session, "Ben", source="referral")
    session.execute(update(Deal).values(score=0))
    done = recompute_scores(session, [ana.id], now=NOW)
    assert (done.scored, done.changed) == (2, 2)
    assert stored_score(session, ana.id) == 25


def test_the_known_names_include_deal_contact_and_company_fields():
    from minicrm.services.scoring.figures import VOCABULARY

    for name in ("contact.city", "company.industry", "expected_close", "days_to_close",
                 "lines_count", "contact.source", "company.name"):  # fmt: skip
        assert VOCABULARY.kind_of(name) is not None, name
    with pytest.raises(
        RuleError, match=r"unknown name 'contact.ctiy' \(did you mean 'contact.city'"
    ):
        parse_rules("[[rule]]\nname = 'r'\nwhen = \"contact.ctiy == 'x'\"\npoints = 1\n")
    with pytest.raises(RuleError, match="unknown name 'company.industri'.*'company.industry'"):
        parse_rules("[[rule]]\nname = 'r'\nwhen = \"company.industri == 'x'\"\npoints = 1\n")
    with pytest.raises(RuleError, match="lines_count is a number"):
        parse_rules("[[rule]]\nname = 'r'\nwhen = \"lines_count > 'x'\"\npoints = 1\n")
    with pytest.raises(RuleError, match="per names an unknown figure.*days_to_close"):
        parse_rules("[[rule]]\nname = 'r'\nper = 'contact.cty'\npoints = 1\n")
