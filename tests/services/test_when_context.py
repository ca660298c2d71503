"""WHEN read for what it is about: a follow-up looks ahead and is never put
in the past unless the phrase says so; a logged call, a stage move or a
report's --since looks back, so `jan 5` said in February is last month's."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.dates import parse_when

MADRID = ZoneInfo("Europe/Madrid")
ZONES = [MADRID, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tehran"),
         ZoneInfo("Australia/Sydney"), UTC]  # fmt: skip
FEB_10_AFTERNOON = datetime(2027, 2, 10, 16, 0, tzinfo=MADRID)  # a Wednesday


def local(text: str, now: datetime, **context) -> datetime:
    return parse_when(text, now=now, zone=MADRID, **context).astimezone(MADRID)


@pytest.mark.parametrize(
    ("phrase", "ahead", "back"),
    [
        ("jan 5", datetime(2028, 1, 5, 9), datetime(2027, 1, 5, 9)),
        ("feb 10", datetime(2027, 2, 10, 9), datetime(2027, 2, 10, 9)),
        ("dec 24 3pm", datetime(2027, 12, 24, 15), datetime(2026, 12, 24, 15)),
        ("1/15", datetime(2028, 1, 15, 9), datetime(2027, 1, 15, 9)),
        ("the 15th", datetime(2027, 2, 15, 9), datetime(2027, 1, 15, 9)),
        ("monday", datetime(2027, 2, 15, 9), datetime(2027, 2, 8, 9)),
        ("wednesday 10am", datetime(2027, 2, 17, 10), datetime(2027, 2, 10, 10)),
        ("3pm", datetime(2027, 2, 11, 15), datetime(2027, 2, 10, 15)),
        ("5pm", datetime(2027, 2, 10, 17), datetime(2027, 2, 9, 17)),
        ("feb 29", datetime(2028, 2, 29, 9), datetime(2024, 2, 29, 9)),
        ("yesterday", datetime(2027, 2, 9, 9), datetime(2027, 2, 9, 9)),
        ("2026-01-05", datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 9)),
    ],
)
def test_a_day_without_its_year_is_the_next_or_the_last_one(phrase, ahead, back):
    assert local(phrase, FEB_10_AFTERNOON).replace(tzinfo=None) == ahead
    assert local(phrase, FEB_10_AFTERNOON, looking_back=True).replace(tzinfo=None) == back


@pytest.mark.parametrize("phrase", ["today", "feb 10", "the 10th", "end of day", "tonight"])
def test_a_follow_up_for_today_whose_hour_has_passed_is_due_now(phrase):
    later = datetime(2027, 2, 10, 21, 30, tzinfo=MADRID)
    assert local(phrase, later, scheduling=True) == later


def test_scheduling_keeps_a_past_the_user_asked_for():
    assert local("yesterday", FEB_10_AFTERNOON, scheduling=True).day == 9
    assert local("2 days ago", FEB_10_AFTERNOON, scheduling=True).day == 8
    assert local("today 9am", FEB_10_AFTERNOON, scheduling=True).hour == 9  # a time, as said


FUTURE_PHRASES = [
    "today", "tomorrow", "tonight", "3pm", "noon", "midnight", "jan 5", "dec 24 3pm", "1/15",
    "the 15th", "monday", "friday 10am", "next week", "next month", "in a week", "in two weeks",
    "day after tomorrow", "end of month", "in half an hour", "+2h", "feb 29", "march 3",
]  # fmt: skip
PAST_PHRASES = ["jan 5", "dec 24 3pm", "1/15", "the 15th", "monday", "friday 10am", "3pm",
                "noon", "feb 29", "yesterday", "3 days ago", "last friday"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    zone=st.sampled_from(ZONES),
    phrase=st.sampled_from(FUTURE_PHRASES),
)
def test_a_follow_up_is_never_due_before_now(moment, zone, phrase):
    now = moment.replace(tzinfo=UTC, microsecond=0)
    due = parse_when(phrase, now=now, zone=zone, scheduling=True)
    assert due >= now


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    zone=st.sampled_from(ZONES),
    phrase=st.sampled_from(PAST_PHRASES),
)
def test_looking_back_a_day_said_without_its_year_is_not_after_today(moment, zone, phrase):
    now = moment.replace(tzinfo=UTC, microsecond=0)
    when = parse_when(phrase, now=now, zone=zone, looking_back=True)
    assert when.astimezone(zone).date() <= now.astimezone(zone).date()
    assert now - when < timedelta(days=366 * 8 + 1)  # feb 29 may be years back, no more


@pytest.mark.parametrize(
    ("since", "until", "start", "end"),
    [
        ("jan 1", "mar 31", datetime(2027, 1, 1), datetime(2027, 4, 1)),  # the first quarter
        ("dec 1", "dec 31", datetime(2026, 12, 1), datetime(2027, 1, 1)),  # last December
        (None, "dec 31", None, datetime(2028, 1, 1)),  # no --since: the next one
        ("feb 1", "feb 10", datetime(2027, 2, 1), datetime(2027, 2, 11)),
    ],
)
def test_a_report_period_said_without_years_lies_in_the_past(since, until, start, end):
    from minicrm.commands.reports import _since_until

    found = _since_until(since, until, FEB_10_AFTERNOON, MADRID)
    shown = [None if f is None else f.astimezone(MADRID).replace(tzinfo=None) for f in found]
    assert shown == [start, end]
