"""Win probabilities learnt from won/lost history: cold start, smoothing (the
Odoo failure cases), a hand-computed example, and the backtest's figures."""

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Company, Deal, DealLine, Product
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.deals.stages import move_stage
from minicrm.services.demo.generate import generate_demo
from minicrm.services.records import config
from minicrm.services.records.contacts import get_contact
from minicrm.services.scoring.history import (
    FIELDS,
    P_MAX,
    P_MIN,
    PRODUCT_FIELD,
    TAG_FIELD,
    Example,
    NaiveBayes,
    auc,
    backtest,
    calibration,
    history_scores,
    probability,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def closed(session, name, outcome, *, at=T0, reached=None, tags=(), **fields):
    """A contact created in awareness, maybe moved on to `reached`, then
    won or lost at `at` (its close time)."""
    contact = add_contact(
        session, ContactInput(name=name, tags=list(tags), **fields), force=True, now=at - DAY * 9
    )
    if reached:
        move_stage(session, contact.id, reached, now=at - DAY)
    move_stage(session, contact.id, outcome, reason="no need" if outcome == LOST else None, now=at)
    return contact


def direct(session, name, stage, **fields):
    """A contact created straight into `stage`: no open stage reached."""
    reason = "no need" if stage == LOST else None
    data = ContactInput(name=name, stage=stage, lost_reason=reason, **fields)
    return add_contact(session, data, force=True, now=T0)


def lead(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), force=True, now=T0)


DAY = timedelta(days=1)


def history(session, won: int, lost: int, **fields):
    for i in range(won):
        direct(session, f"Won {i}", WON, **fields)
    for i in range(lost):
        direct(session, f"Lost {i}", LOST, **fields)


def example(won, *values, tags=()):
    padded = [*values, *[None] * (len(FIELDS) - len(values))]
    keyed = tuple((v.casefold(), v) if v else None for v in padded)
    return Example(0, "x", won, T0, keyed, tuple(tags))


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# -------------------------------------------------------------- cold start


def test_nineteen_closed_contacts_are_not_enough(session):
    history(session, won=10, lost=9, source="referral")
    lead(session, "Open Lead", source="referral")
    result = history_scores(session)
    assert not result.ready
    assert result.closed_count == 19
    assert result.scores == []
    assert result.message == (
        "only 19 closed deals; the history model needs at least 20 — showing rule scores instead"
    )


def test_twenty_closed_contacts_are_enough(session):
    history(session, won=10, lost=10)
    lead(session, "Open Lead")
    result = history_scores(session)
    assert result.ready and result.message is None
    assert (result.closed_count, result.won_count, result.lost_count) == (20, 10, 10)
    assert [s.name for s in result.scores] == ["Open Lead"]
    data = result.to_json()
    assert {k: v for k, v in data.items() if k != "scores"} == {
        "ready": True, "message": None, "closed_count": 20, "won_count": 10, "lost_count": 10,
        "base_rate": 0.5,
    }  # fmt: skip
    assert data["scores"][0]["factors"] == [
        {"field": "stage_reached", "value": "awareness", "contribution": 0.0}
    ]


def test_no_won_contact_at_all_is_not_ready(session):
    history(session, won=0, lost=25)
    lead(session, "Open Lead")
    result = history_scores(session)
    assert not result.ready
    assert result.message.startswith("no won deals among the 25 closed ones")


def test_no_lost_contact_at_all_is_not_ready(session):
    history(session, won=25, lost=0)
    assert history_scores(session).message.startswith("no lost deals among the 25")


def test_trashed_contacts_do_not_count(session):
    history(session, won=10, lost=10)
    trash_contact(session, "Lost 3")
    result = history_scores(session)
    assert (result.ready, result.closed_count) == (False, 19)


# ------------------------------------------------------ hand-computed example


def test_two_field_example_matches_the_hand_computed_probability(session):
    # 12 won (6 by referral, 4 owned by ana), 8 lost (1 by referral, 4 ana's),
    # all created straight into won/lost, so no stage reached.
    for i in range(12):
        direct(session, f"Won {i}", WON, source="referral" if i < 6 else "walk-in",
               owner="ana" if i < 4 else "ben")  # fmt: skip
    for i in range(8):
        direct(session, f"Lost {i}", LOST, source="Referral" if i < 1 else "walk-in",
               owner="ana" if i < 4 else "ben")  # fmt: skip
    open_lead = lead(session, "Open Lead", source="referral", owner="Ana", stage="decision")
    # prior odds (12+1)/(8+1); base rate p0 = 13/22; m = 10 pseudo-contacts:
    # effect = ln(1 + w/(m·p0)) − ln(1 + l/(m·(1 − p0))), with m·p0 = 65/11, m(1−p0) = 45/11
    wp, lp = Fraction(65, 11), Fraction(45, 11)
    referral = (1 + 6 / wp) / (1 + 1 / lp)
    ana = (1 + 4 / wp) / (1 + 4 / lp)
    odds = Fraction(13, 9) * referral * ana
    expected = float(odds / (1 + odds))

    [score] = history_scores(session, ref=open_lead.id).scores
    assert score.probability == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.6648, abs=1e-4)  # odds 1.98 : 1
    effects = {f.field: f.log_odds_contribution for f in score.factors}
    assert effects == pytest.approx(
        {"source": math.log(referral), "owner": math.log(ana), "stage_reached": 0.0}
    )
    assert [f.field for f in score.factors] == ["source", "owner", "stage_reached"]
    assert score.factors[0].value == "referral"  # the lead's own spelling


# ------------------------------------------------- smoothing, Odoo's failures


def test_one_won_contact_does_not_make_its_source_a_sure_thing(session):
    direct(session, "Only Winner", WON, source="trade fair", owner="ana")
    for i in range(30):
        direct(session, f"Lost {i}", LOST, source=("walk-in", "website")[i % 2], owner="ana")
    twin = lead(session, "Same Source", source="trade fair", owner="ana")
    [score] = history_scores(session, ref=twin.id).scores
    base_rate = 2 / 33
    assert base_rate < score.probability < 0.2  # evidence counts, but one win proves little
    # (Odoo's 0.1 smoothing without a prior gives (1 + 0.1) / (1 + 0.2) = 91.67 % here)


def test_a_value_seen_only_in_won_contacts_is_not_certain(session):
    for i in range(30):
        closed(session, f"Won {i}", WON, reached="action", tags=["vip"], source="referral")
        closed(session, f"Lost {i}", LOST, reached="interest", source="walk-in")
    twin = lead(session, "Lookalike", source="referral", tags=["vip"], stage="action")
    [score] = history_scores(session, ref=twin.id).scores
    assert 0.9 < score.probability < P_MAX
    assert f"{score.probability:.1%}" != "100.0%"


def test_overwhelming_evidence_is_clipped_below_certainty():
    history = [example(True, "referral", tags=["vip"]) for _ in range(10_000)]
    history += [example(False, "walk-in") for _ in range(10_000)]
    model = NaiveBayes(history)
    assert probability(model.log_odds(example(None, "referral", tags=["vip"]))) == P_MAX
    assert probability(model.log_odds(example(None, "walk-in"))) == P_MIN


def test_unseen_and_missing_values_contribute_nothing(session):
    history(session, won=15, lost=10, source="referral", industry="retail")
    newcomer = lead(session, "Newcomer", source="TikTok")  # unseen source, no industry
    [score] = history_scores(session, ref=newcomer.id).scores
    by_field = {f.field: f for f in score.factors}
    assert by_field["source"].log_odds_contribution == 0.0
    assert by_field["stage_reached"].log_odds_contribution == 0.0  # nobody closed reached one
    assert "industry" not in by_field and "owner" not in by_field
    assert score.probability == pytest.approx(16 / 27)  # the smoothed base rate, (15+1)/(25+2)


def test_values_are_counted_case_insensitively_and_tags_by_presence(session):
    for i in range(10):
        direct(session, f"Won {i}", WON, source="Instagram" if i % 2 else "instagram")
        direct(session, f"Lost {i}", LOST, source="walk-in")
    [score] = history_scores(session, ref=lead(session, "Ig", source="INSTAGRAM").id).scores
    assert score.factors[0].field == "source"
    assert score.factors[0].log_odds_contribution == pytest.approx(math.log(1 + 10 / 5))


SMALL = st.sampled_from([None, "a", "b", "c"])
EXAMPLES = st.builds(
    lambda won, values, tags: example(won, *values, tags=tags),
    st.booleans(),
    st.lists(SMALL, min_size=len(FIELDS), max_size=len(FIELDS)),
    st.lists(st.sampled_from(["vip", "local", "new"]), unique=True, max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(history=st.lists(EXAMPLES, max_size=60), probe=EXAMPLES)
def test_probabilities_are_always_strictly_between_0_and_1(history, probe):
    model = NaiveBayes(history)
    factors = model.factors(probe)
    assert all(math.isfinite(f.log_odds_contribution) for f in factors)
    assert 0 < P_MIN <= probability(model.log_odds(probe)) <= P_MAX < 1


@settings(max_examples=100, deadline=None)
@given(
    lost=st.lists(st.lists(SMALL, min_size=len(FIELDS), max_size=len(FIELDS)), min_size=19),
    shared=st.sampled_from(range(len(FIELDS))),
)
def test_one_won_contact_and_one_shared_value_never_passes_20_percent(lost, shared):
    winner = example(True, *["w"] * len(FIELDS), tags=["w"])
    model = NaiveBayes([winner, *(example(False, *values) for values in lost)])
    probe = [None] * len(FIELDS)
    probe[shared] = "w"
    assert probability(model.log_odds(example(None, *probe))) < 0.2


# -------------------------------------------------------------- the service


def test_open_contacts_come_highest_first_with_top_and_ref(session):
    for i in range(12):
        closed(session, f"Won {i}", WON, reached="action", source="referral")
        closed(session, f"Lost {i}", LOST, reached="interest", source="walk-in")
    warm = lead(session, "Warm", source="referral", stage="action")
    cold = lead(session, "Cold", source="walk-in")
    lead(session, "Middling", source="referral", stage="interest")  # +1.22 − 1.22
    result = history_scores(session)
    assert [s.name for s in result.scores] == ["Warm", "Middling", "Cold"]
    assert [s.name for s in history_scores(session, top=2).scores] == ["Warm", "Middling"]
    assert [s.contact_id for s in history_scores(session, ref="cold").scores] == [cold.id]
    assert result.scores[0].to_json()["id"] == warm.id
    with pytest.raises(UserError, match="already won"):
        history_scores(session, ref="Won 3")
    with pytest.raises(UserError, match="--top must be 1 or more"):
        history_scores(session, top=0)


def test_now_leaves_out_later_history(session):
    history(session, won=10, lost=10)  # closed at T0
    for i in range(5):
        closed(session, f"Late {i}", WON, at=T0 + 30 * DAY)
    assert history_scores(session).closed_count == 25
    assert history_scores(session, now=T0 + DAY).closed_count == 20


def test_factors_name_real_fields_with_the_deals_own_values(session):
    generate_demo(session, contacts=300, seed=5, now=NOW)
    result = history_scores(session, top=25)
    assert result.ready and len(result.scores) == 25
    stages = config.open_stages(session)
    for score in result.scores:
        deal = session.get(Deal, score.deal_id)
        contact = get_contact(session, score.contact_id) if deal.contact_id else None
        company = session.get(Company, deal.company_id) if deal.company_id else None
        assert deal.stage not in (WON, LOST) and deal.contact_id == score.contact_id
        products = {
            p.name
            for p in session.scalars(
                select(Product).join(DealLine, DealLine.product_id == Product.id)
                .where(DealLine.deal_id == deal.id)
            )
        }  # fmt: skip
        for factor in score.factors:
            assert factor.field in (*FIELDS, TAG_FIELD, PRODUCT_FIELD)
            if factor.field == TAG_FIELD:
                assert factor.value in contact.tags
            elif factor.field == PRODUCT_FIELD:
                assert factor.value in products
            elif factor.field == "stage_reached":
                assert factor.value in stages
            elif factor.field in ("industry", "region"):
                own = getattr(company, factor.field, None) or getattr(contact, factor.field)
                assert own == factor.value
            else:  # source, owner: the deal's, else its contact's
                own = getattr(deal, factor.field) or getattr(contact, factor.field)
                assert own == factor.value
    probabilities = [s.probability for s in result.scores]
    assert probabilities == sorted(probabilities, reverse=True)


# ---------------------------------------------------------------- backtest


def test_auc_counts_ties_as_half_and_matches_pairwise_counting():
    assert auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auc([0.5] * 4, [True, False, True, False]) == 0.5
    assert auc([0.7, 0.7, 0.3], [True, False, False]) == 0.75
    assert auc([0.4, 0.6], [True, True]) is None


@given(st.lists(st.tuples(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]), st.booleans()), min_size=1))
def test_auc_equals_the_share_of_correctly_ordered_pairs(pairs):
    predicted, actual = [p for p, _ in pairs], [y for _, y in pairs]
    wins = [p for p, y in pairs if y]
    losses = [p for p, y in pairs if not y]
    if not wins or not losses:
        assert auc(predicted, actual) is None
        return
    ordered = sum((w > l) + 0.5 * (w == l) for w in wins for l in losses)  # noqa: E741
    assert auc(predicted, actual) == pytest.approx(ordered / (len(wins) * len(losses)))


def test_calibration_bins_cover_every_prediction():
    bins = calibration([0.05, 0.15, 0.5, 0.99, 1.0], [False, True, True, True, True])
    assert [(b.lower, b.upper, b.count) for b in bins] == [
        (0.0, 0.2, 2), (0.2, 0.4, 0), (0.4, 0.6, 1), (0.6, 0.8, 0), (0.8, 1.0, 2),
    ]  # fmt: skip
    assert bins[0].mean_predicted == pytest.approx(0.1)
    assert bins[0].observed_win_rate == 0.5
    assert bins[1].mean_predicted is None and bins[1].observed_win_rate is None


def separable_history(session, *, flip_newest: bool = False, newest_source=None):
    """40 closed contacts, one a day: 'good' won and 'bad' lost, in turn. The
    newest 12 (the test part) follow the same rule, the opposite one, or
    come from a source the model never saw."""
    for day in range(40):
        won = day % 2 == 0
        newest = day >= 28
        if newest and flip_newest:
            won = not won
        source = ("good" if day % 2 == 0 else "bad") if not (newest and newest_source) else None
        closed(session, f"Contact {day}", WON if won else LOST, at=T0 + day * DAY,
               source=source or newest_source)  # fmt: skip


def test_backtest_on_a_separable_history_is_perfect(session):
    separable_history(session)
    report = backtest(session)
    assert report.ready
    assert (report.closed_count, report.n_train, report.n_test) == (40, 28, 12)
    assert report.split_at == T0 + 28 * DAY
    assert (report.auc, report.accuracy, report.test_win_rate) == (1.0, 1.0, 0.5)
    assert report.baseline_guess == WON and report.baseline_accuracy == 0.5
    assert report.brier < 0.05
    assert sum(b.count for b in report.calibration) == report.n_test


def test_backtest_on_a_reversed_history_is_always_wrong(session):
    separable_history(session, flip_newest=True)
    report = backtest(session)
    assert (report.auc, report.accuracy) == (0.0, 0.0)
    assert report.brier > 0.6


def test_backtest_with_nothing_to_tell_the_newest_apart_scores_half(session):
    separable_history(session, newest_source="unheard of")
    report = backtest(session)
    assert report.auc == 0.5
    assert [b.count for b in report.calibration] == [0, 0, 12, 0, 0]  # all at the base rate


def test_backtest_needs_29_closed_contacts(session):
    for day in range(28):
        closed(session, f"Contact {day}", (WON, LOST)[day % 2], at=T0 + day * DAY)
    report = backtest(session)
    assert not report.ready
    assert report.message.startswith("only 28 closed deals; a backtest needs at least 29")
    assert report.to_json()["ready"] is False
    closed(session, "Contact 28", WON, at=T0 + 28 * DAY)
    report = backtest(session)
    assert (report.ready, report.n_train, report.n_test) == (True, 20, 9)


def test_backtest_on_demo_data_is_sane(session):
    generate_demo(session, contacts=400, seed=2, now=NOW)
    closed_count = session.execute(
        select(func.count()).where(Deal.stage.in_((WON, LOST)), Deal.deleted_at.is_(None))
    ).scalar_one()
    report = backtest(session, now=NOW)
    assert report.ready
    assert report.n_train + report.n_test == report.closed_count == closed_count
    assert report.n_train == closed_count * 7 // 10
    assert 0 <= report.auc <= 1 and 0 <= report.accuracy <= 1 and 0 <= report.brier <= 1
    # demo wins come after the last stages, so the stage reached carries real signal
    assert report.auc > 0.75 and report.brier < 0.2
    assert report.accuracy > report.baseline_accuracy
    assert sum(b.count for b in report.calibration) == report.n_test
    data = report.to_json()
    assert set(data) >= {"n_train", "n_test", "accuracy", "auc", "brier", "calibration"}
    assert set(data["calibration"][0]) == {
        "lower", "upper", "count", "mean_predicted", "observed_win_rate",
    }  # fmt: skip


# ------------------------------------------------------------ deals (issue 11)


def test_every_closed_deal_is_an_example_with_its_products(session):
    from minicrm.services.records.deals import open_deal, record_deal_move

    tiles = Product(name="Floor Tiles", name_key="floortiles", price_cents=100,
                    created_at=T0, updated_at=T0)  # fmt: skip
    session.add(tiles)
    session.flush()
    repeat = lead(session, "Repeat buyer", source="referral")
    for i in range(24):  # one contact, 24 closed deals: 12 with tiles won, 12 without lost
        outcome = WON if i % 2 == 0 else LOST
        deal = open_deal(session, title=f"Order {i}", stage="interest", contact_id=repeat.id,
                         now=T0 - DAY)  # fmt: skip
        if outcome == WON:
            session.add(DealLine(deal_id=deal.id, product_id=tiles.id, quantity=1,
                                 unit_price_cents=100, total_cents=100))  # fmt: skip
        old, deal.stage = deal.stage, outcome
        record_deal_move(session, deal, old, T0 + i * DAY, "no need" if outcome == LOST else None)
    pitch = open_deal(session, title="Tiles pitch", stage="interest", contact_id=repeat.id,
                      now=T0 + 30 * DAY)  # fmt: skip
    session.add(DealLine(deal_id=pitch.id, product_id=tiles.id, quantity=2,
                         unit_price_cents=100, total_cents=200))  # fmt: skip
    session.flush()
    result = history_scores(session)
    assert result.ready and (result.won_count, result.lost_count) == (12, 12)
    # the contact's first deal (opened by add_contact) and the pitch are open
    by_deal = {s.deal_id: s for s in result.scores}
    assert set(by_deal) == {pitch.id, repeat.id}
    product = [f for f in by_deal[pitch.id].factors if f.field == PRODUCT_FIELD]
    assert [(f.value, round(f.log_odds_contribution, 4)) for f in product] == [
        ("Floor Tiles", round(math.log1p(12 / 5), 4)),
    ]  # fmt: skip
    assert by_deal[pitch.id].probability > by_deal[repeat.id].probability
    data = by_deal[pitch.id].to_json()
    assert (data["id"], data["name"], data["deal_id"], data["title"]) == (
        repeat.id, "Repeat buyer", pitch.id, "Tiles pitch",
    )  # fmt: skip
    assert [s.deal_id for s in history_scores(session, deal_id=pitch.id).scores] == [pitch.id]
    # REF means the contact's current deal: its newest open one
    assert [s.deal_id for s in history_scores(session, ref=repeat.id).scores] == [pitch.id]


def test_industry_comes_from_the_company_else_the_contact(session):
    for i in range(10):
        closed(session, f"Won {i}", WON, company="Retail Co", industry="food")
        closed(session, f"Lost {i}", LOST, industry="retail")
    session.execute(
        Company.__table__.update().where(Company.name == "Retail Co").values(industry="retail")
    )
    with_company = lead(session, "In company", company="Retail Co", industry="food")
    result = history_scores(session)
    assert result.won_count == result.lost_count == 10
    (score,) = [s for s in result.scores if s.contact_id == with_company.id]
    # every closed deal says industry retail (company's, else contact's): no signal
    industry = [f for f in score.factors if f.field == "industry"]
    assert [(f.value, round(f.log_odds_contribution, 6)) for f in industry] == [("retail", 0.0)]
