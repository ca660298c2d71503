"""Win probabilities learnt from the database's own won/lost history.

`crm score --model history`: naive Bayes in log-odds form. A lead's log-odds
of winning are the base rate's plus, for each field it has a value in
(source, industry, region, owner, the furthest open stage reached, each
product on it, each tag), how far that value moves the odds:

    prior      = ln((W + 1) / (L + 1))                  Laplace, alpha = 1
    p0         = (W + 1) / (W + L + 2)                  the smoothed base rate
    effect(v)  = ln(1 + w_v / (m·p0)) − ln(1 + l_v / (m·(1 − p0)))
    P(win)     = logistic(prior + Σ effect), clipped to [0.001, 0.999]

w_v and l_v count the won and lost deals with value v. effect(v) is the
naive-Bayes likelihood ratio ln P(v|won)/P(v|lost), written by Bayes' rule as
logit P(won|v) − logit p0 with P(won|v) = (w_v + m·p0) / (w_v + l_v + m): each
value starts as m = 10 pseudo-contacts at the base rate, so its own record
takes over as evidence piles up. Plain Laplace smoothing over the distinct
values lets one won contact dominate: with 1 won, 30 lost and 5 values, a
value only that contact has adds ln 11.7 ≈ 2.5 per field; here 0.97. A value
never seen on a closed contact, or no value, adds 0. Tags count when present
only (a shop's tag list is open ended). Odoo's learnt scores show the
mistakes this avoids: one won lead scoring 91.67 %, leads stuck at 100 %.

Examples are deals: training data are the closed ones (won or lost, not
trashed), each with its own source and owner (else its contact's), its
company's industry and region (else its contact's), the furthest stage it
reached, its products (deal lines) and its contact's tags; with fewer than
MIN_CLOSED of them, or no won or no lost one, the model is not ready and the
caller falls back to the rule scores. Deals are fetched with three queries
(features with a GROUP BY over the stage history, tags, products); counting
and scoring run in Python on those rows, one code path for scores and backtest.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Deal
from minicrm.services.records.contacts import resolve_ref
from minicrm.services.scoring.examples import Example, cached_rule_scores, fetch_examples

__all__ = ["cached_rule_scores", "fetch_examples"]  # (with the names defined here)

FIELDS = ("source", "industry", "region", "owner", "stage_reached")
TAG_FIELD = "tag"
PRODUCT_FIELD = "product"  # each product on the deal's lines, like tags
MIN_CLOSED = 20
ALPHA = 1.0  # Laplace pseudo-count per class for the base rate
PRIOR_STRENGTH = 10.0  # m: pseudo-contacts at the base rate behind every value
P_MIN, P_MAX = 0.001, 0.999  # never certain: shown as 0.1 % … 99.9 %
TRAIN_TENTHS = 7  # backtest: learn from the oldest 70 % of closed deals
CALIBRATION_BINS = 5  # 0–20 %, 20–40 % …: few enough to fill on a small shop's data
MIN_BACKTEST = -(-MIN_CLOSED * 10 // TRAIN_TENTHS)  # 29: 20 to learn from, 9 to test


# ------------------------------------------------------------- read models


@dataclass(frozen=True, slots=True)
class Factor:
    field: str  # one of FIELDS, "product" or "tag"
    value: str
    log_odds_contribution: float

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "contribution": round(self.log_odds_contribution, 4),
        }


@dataclass(frozen=True, slots=True)
class HistoryScore:
    """One open deal's chance; `contact_id` and `name` are its contact's
    (None for a deal without one)."""

    contact_id: int | None
    name: str | None
    probability: float
    factors: list[Factor]  # largest |contribution| first
    deal_id: int | None = None
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.contact_id,
            "name": self.name,
            "probability": round(self.probability, 4),
            "factors": [f.to_json() for f in self.factors],
            "deal_id": self.deal_id,
            "title": self.title,
        }


@dataclass(frozen=True)
class HistoryResult:
    ready: bool
    message: str | None
    closed_count: int
    won_count: int
    lost_count: int
    base_rate: float | None  # the smoothed share of closed deals won
    scores: list[HistoryScore] = field(default_factory=list)  # highest first

    def to_json(self) -> dict[str, Any]:
        data = _plain({k: v for k, v in asdict(self).items() if k != "scores"})
        return {**data, "scores": [s.to_json() for s in self.scores]}


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None  # None when the bin is empty
    observed_win_rate: float | None


@dataclass(frozen=True)
class BacktestReport:
    ready: bool
    message: str | None
    closed_count: int
    n_train: int = 0
    n_test: int = 0
    split_at: datetime | None = None  # close time of the first test deal
    test_win_rate: float | None = None
    accuracy: float | None = None  # predicted won when P ≥ 0.5
    baseline_guess: str | None = None  # training's majority outcome, won or lost
    baseline_accuracy: float | None = None  # always guessing baseline_guess
    auc: float | None = None  # None when the test part holds one outcome only
    brier: float | None = None
    calibration: list[CalibrationBin] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """JSON-ready: floats to 4 places, times in ISO 8601 with their offset."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value.isoformat() if isinstance(value, datetime) else value


# ------------------------------------------------------------------- model


class NaiveBayes:
    """Won/lost counts per field value, and the effects computed from them."""

    def __init__(self, examples: Iterable[Example], *, prior_strength: float = PRIOR_STRENGTH):
        self.won = self.lost = 0
        self.counts: dict[tuple[str, str], list[int]] = {}  # (field, key) -> [won, lost]
        for example in examples:
            outcome = 0 if example.won else 1
            if example.won:
                self.won += 1
            else:
                self.lost += 1
            for name, key in _features(example):
                self.counts.setdefault((name, key), [0, 0])[outcome] += 1
        self.prior = math.log((self.won + ALPHA) / (self.lost + ALPHA))
        self.base_rate = (self.won + ALPHA) / (self.won + self.lost + 2 * ALPHA)
        self._won_pseudo = prior_strength * self.base_rate
        self._lost_pseudo = prior_strength * (1 - self.base_rate)
        self._effects: dict[tuple[str, str], float] = {}

    def effect(self, name: str, key: str) -> float:
        """ln P(v|won)/P(v|lost) for value `key` of field `name`; 0 if unseen."""
        feature = (name, key)
        effect = self._effects.get(feature)
        if effect is None:
            won, lost = self.counts.get(feature, (0, 0))
            effect = math.log1p(won / self._won_pseudo) - math.log1p(lost / self._lost_pseudo)
            self._effects[feature] = effect
        return effect

    def log_odds(self, example: Example) -> float:
        return self.prior + sum(self.effect(name, key) for name, key in _features(example))

    def factors(self, example: Example) -> list[Factor]:
        shown = [(n, v[1], v[0]) for n, v in zip(FIELDS, example.values, strict=True) if v]
        shown += [(PRODUCT_FIELD, value, key) for key, value in example.products]
        shown += [(TAG_FIELD, tag, tag) for tag in example.tags]
        factors = [Factor(n, value, self.effect(n, key)) for n, value, key in shown]
        factors.sort(key=lambda f: -abs(f.log_odds_contribution))
        return factors


def _features(example: Example) -> Iterable[tuple[str, str]]:
    for name, value in zip(FIELDS, example.values, strict=True):
        if value is not None:
            yield name, value[0]
    for key, _shown in example.products:
        yield PRODUCT_FIELD, key
    for tag in example.tags:
        yield TAG_FIELD, tag


def probability(log_odds: float) -> float:
    """The logistic, clipped so no lead is ever certain either way."""
    p = 1 / (1 + math.exp(-max(-50.0, min(50.0, log_odds))))
    return min(P_MAX, max(P_MIN, p))


def not_ready_reason(won: int, lost: int) -> str | None:
    """Why a history of `won` and `lost` deals is too thin to learn from."""
    closed = won + lost
    if closed < MIN_CLOSED:
        return f"only {closed} closed deals; the history model needs at least {MIN_CLOSED}"
    if not won or not lost:
        missing = "won" if not won else "lost"
        return (
            f"no {missing} deals among the {closed} closed ones; "
            "the history model needs both won and lost deals"
        )
    return None


# ---------------------------------------------------------------- services


def history_scores(
    session: Session,
    *,
    ref: str | int | None = None,
    deal_id: int | None = None,
    top: int | None = None,
    now: datetime | None = None,
) -> HistoryResult:
    """The win probability of every open deal (or of the contact REF's
    current deal, or of deal `deal_id`), highest first. `now` ignores history
    after that moment: stage moves later than `now`, and deals closed later,
    are left out."""
    if top is not None and top < 1:
        raise UserError("--top must be 1 or more")
    only_id = None
    if deal_id is not None:
        only_id = _open_deal(session, deal_id).id
    elif ref is not None:
        only_id = _current_open_deal(session, ref).id
    examples = fetch_examples(session, now=now, only_open_id=only_id)
    closed = [e for e in examples if e.won is not None]
    won = sum(1 for e in closed if e.won)
    reason = not_ready_reason(won, len(closed) - won)
    if reason:
        message = f"{reason} — showing rule scores instead"
        return HistoryResult(False, message, len(closed), won, len(closed) - won, None)
    model = NaiveBayes(closed)
    ranked = sorted(
        ((model.log_odds(e), e) for e in examples if e.won is None),
        key=lambda pair: (-pair[0], pair[1].deal_id or 0),
    )
    scores = [
        HistoryScore(
            e.contact_id, e.name, probability(log_odds), model.factors(e), e.deal_id, e.title
        )
        for log_odds, e in ranked[:top]
    ]
    return HistoryResult(True, None, len(closed), won, model.lost, model.base_rate, scores)


def _open_deal(session: Session, deal_id: int) -> Deal:
    from minicrm.errors import NotFoundError

    deal = session.get(Deal, deal_id)
    if deal is None or deal.deleted_at is not None:
        raise NotFoundError(f"no deal #{deal_id}")
    if deal.stage in (WON, LOST):
        raise UserError(
            f"deal #{deal.id} {deal.title} is already {deal.stage}; "
            "the history model scores open deals only"
        )
    return deal


def _current_open_deal(session: Session, ref: str | int) -> Deal:
    """The contact's current deal, which must be open."""
    from minicrm.services.records.deals import current_deal

    contact = resolve_ref(session, ref)
    deal = current_deal(session, contact.id)
    if deal is None:
        raise UserError(f"#{contact.id} {contact.name} has no deal to score")
    if deal.stage in (WON, LOST):
        raise UserError(
            f"#{contact.id} {contact.name} is already {deal.stage}; "
            "the history model scores open deals only"
        )
    return deal


def backtest(session: Session, *, now: datetime | None = None) -> BacktestReport:
    """Learn from the oldest 70 % of closed deals (by the time they were won
    or lost), predict the newest 30 %, and measure how well that went."""
    closed = fetch_examples(session, now=now, closed_only=True)
    closed.sort(key=lambda e: (e.closed_at, e.deal_id or 0))
    n_train = len(closed) * TRAIN_TENTHS // 10
    train, test = closed[:n_train], closed[n_train:]
    if len(closed) < MIN_BACKTEST:
        message = (
            f"only {len(closed)} closed deals; a backtest needs at least {MIN_BACKTEST} "
            f"({MIN_CLOSED} to learn from, the newer rest to test on)"
        )
        return BacktestReport(False, message, len(closed))
    won = sum(1 for e in train if e.won)
    reason = not_ready_reason(won, n_train - won)
    if reason:
        message = f"in the oldest {TRAIN_TENTHS * 10} % of closed deals, {reason}"
        return BacktestReport(False, message, len(closed))
    model = NaiveBayes(train)
    predicted = [probability(model.log_odds(e)) for e in test]
    actual = [bool(e.won) for e in test]
    hits = sum((p >= 0.5) == y for p, y in zip(predicted, actual, strict=True))
    win_rate = sum(actual) / len(actual)
    return BacktestReport(
        ready=True,
        message=None,
        closed_count=len(closed),
        n_train=len(train),
        n_test=len(test),
        split_at=test[0].closed_at,
        test_win_rate=win_rate,
        accuracy=hits / len(test),
        baseline_guess=WON if model.won >= model.lost else LOST,
        baseline_accuracy=win_rate if model.won >= model.lost else 1 - win_rate,
        auc=auc(predicted, actual),
        brier=brier(predicted, actual),
        calibration=calibration(predicted, actual),
    )


# ---------------------------------------------------------------- measures


def auc(predicted: Sequence[float], actual: Sequence[bool]) -> float | None:
    """Area under the ROC curve by the Mann–Whitney rank formula: the chance
    that a random won deal was given more than a random lost one, ties
    counting half. None when either outcome is absent."""
    positives = sum(actual)
    negatives = len(actual) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(predicted)), key=predicted.__getitem__)
    rank_sum, start = 0.0, 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and predicted[order[end + 1]] == predicted[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1  # ranks are 1-based; ties share the mean
        rank_sum += mean_rank * sum(actual[i] for i in order[start : end + 1])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(predicted: Sequence[float], actual: Sequence[bool]) -> float:
    """Mean squared gap between probability and outcome (0 is perfect)."""
    return sum((p - y) ** 2 for p, y in zip(predicted, actual, strict=True)) / len(predicted)


def calibration(
    predicted: Sequence[float], actual: Sequence[bool], *, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Per probability band: how many, what was predicted, how many won."""
    members: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, y in zip(predicted, actual, strict=True):
        members[min(int(p * bins), bins - 1)].append((p, y))
    return [
        CalibrationBin(
            lower=index / bins,
            upper=(index + 1) / bins,
            count=len(rows),
            mean_predicted=sum(p for p, _ in rows) / len(rows) if rows else None,
            observed_win_rate=sum(y for _, y in rows) / len(rows) if rows else None,
        )
        for index, rows in enumerate(members)
    ]
