"""WHEN grammar (SPEC §2): every phrase, DST edges, errors, and properties."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.dates import format_when, parse_when, start_of_day, wall_clock
from minicrm.errors import UserError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TEHRAN = ZoneInfo("Asia/Tehran")
NEPAL = timezone(timedelta(hours=5, minutes=45))  # a fixed display zone, no DST
ZONES = [BERLIN, NEW_YORK, TEHRAN, ZoneInfo("UTC")]
NOW = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)  # Wednesday, 11:15 in Berlin (CET)


def when(text: str, *, now: datetime = NOW, zone=BERLIN) -> datetime:
    return parse_when(text, now=now, zone=zone)


def local(year, month, day, hour=0, minute=0, second=0, *, zone=BERLIN) -> datetime:
    """A wall-clock reading in `zone` as the UTC instant parse_when returns."""
    return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)


# ------------------------------------------------------------ the phrases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", local(2026, 3, 4, 9)),
        ("tomorrow", local(2026, 3, 5, 9)),
        ("tomorrow 9am", local(2026, 3, 5, 9)),
        ("tomorrow 2:30pm", local(2026, 3, 5, 14, 30)),
        ("tomorrow at 14:30", local(2026, 3, 5, 14, 30)),
        ("tomorrow noon", local(2026, 3, 5, 12)),
        ("tonight", local(2026, 3, 4, 20)),
        ("next friday", local(2026, 3, 6, 9)),
        ("friday", local(2026, 3, 6, 9)),
        ("next wednesday", local(2026, 3, 11, 9)),  # said on a Wednesday: a week away
        ("wednesday 8am", local(2026, 3, 11, 8)),  # today's 8am has passed
        ("wednesday 6pm", local(2026, 3, 4, 18)),  # later today
        ("monday 10am", local(2026, 3, 9, 10)),
        ("in 3 days", local(2026, 3, 7, 11, 15)),
        ("in 2 weeks", local(2026, 3, 18, 11, 15)),
        ("+2d", local(2026, 3, 6, 11, 15)),
        ("+3h", local(2026, 3, 4, 14, 15)),
        ("in 90 min", local(2026, 3, 4, 12, 45)),
        ("3 days ago", local(2026, 3, 1, 11, 15)),
        ("end of month", local(2026, 3, 31, 17)),  # 17:00 CEST: DST began on the 29th
        ("2026-12-24", local(2026, 12, 24, 9)),
        ("2026-12-24 14:30", local(2026, 12, 24, 14, 30)),
        ("2026-12-24T14:30:15", local(2026, 12, 24, 14, 30, 15)),
        ("2026-12-24 14:30z", datetime(2026, 12, 24, 14, 30, tzinfo=UTC)),
        ("2026-12-24T14:30:15+05:30", datetime(2026, 12, 24, 9, 0, 15, tzinfo=UTC)),
        ("2026-07-01 09:00-04:00", datetime(2026, 7, 1, 13, 0, tzinfo=UTC)),
        ("  Tomorrow   9AM ", local(2026, 3, 5, 9)),
    ],
)
def test_every_phrase_of_the_spec_means_an_exact_instant(text, expected):
    result = when(text)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 15, 12, tzinfo=UTC), local(2026, 12, 31, 17)),
        (datetime(2028, 2, 3, 12, tzinfo=UTC), local(2028, 2, 29, 17)),  # leap year
        (datetime(2026, 2, 28, 12, tzinfo=UTC), local(2026, 2, 28, 17)),  # the last day itself
    ],
)
def test_end_of_month_is_its_last_day_at_five(now, expected):
    assert when("end of month", now=now) == expected


def test_the_same_phrase_means_the_local_wall_clock_of_the_zone():
    assert when("tomorrow 9am", zone=NEW_YORK) == local(2026, 3, 5, 9, zone=NEW_YORK)
    assert when("tomorrow 9am", zone=TEHRAN) == datetime(2026, 3, 5, 5, 30, tzinfo=UTC)
    assert when("tomorrow 9am", zone=NEPAL) == datetime(2026, 3, 5, 3, 15, tzinfo=UTC)


# -------------------------------------------------------------- DST edges


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [  # the night between `now` and the answer is a DST change
        (BERLIN, datetime(2026, 3, 28, 11, tzinfo=UTC), datetime(2026, 3, 29, 7, tzinfo=UTC)),
        (BERLIN, datetime(2026, 10, 24, 10, tzinfo=UTC), datetime(2026, 10, 25, 8, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 7, 17, tzinfo=UTC), datetime(2026, 3, 8, 13, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 1, 14, tzinfo=UTC)),
    ],
)
def test_tomorrow_9am_stays_9am_local_across_a_dst_night(zone, now, expected):
    result = when("tomorrow 9am", now=now, zone=zone)
    assert result == expected
    assert result.astimezone(zone).hour == 9


def test_plus_hours_is_exact_real_time_across_the_spring_gap():
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET, the gap is 02:00-03:00
    result = when("+3h", now=now)
    assert result - now == timedelta(hours=3)
    assert result.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 5, 30)


def test_plus_hours_is_exact_real_time_across_the_autumn_repeat():
    now = datetime(2026, 10, 31, 5, 30, tzinfo=UTC)  # 01:30 EDT, 01:00-02:00 repeats
    result = when("+3h", now=now, zone=NEW_YORK)
    assert result - now == timedelta(hours=3)
    assert result.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 10, 31, 4, 30)
    now = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT on the night itself
    result = when("+3h", now=now, zone=NEW_YORK)
    assert result.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 11, 1, 3, 30)


@pytest.mark.parametrize(
    ("zone", "text", "expected"),
    [  # a reading in the gap means the real instant just after it (03:30 summer time)
        (BERLIN, "2026-03-29 02:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (NEW_YORK, "2026-03-08 02:30", datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
        # a repeated reading means its first occurrence unless an offset says otherwise
        (BERLIN, "2026-10-25 02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (BERLIN, "2026-10-25 02:30+01:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ],
)
def test_wall_times_in_the_gap_or_the_repeat_resolve_to_real_instants(zone, text, expected):
    assert when(text, zone=zone) == expected


@pytest.mark.parametrize(
    ("text", "now", "hours_later"),
    [
        ("in 1 day", datetime(2026, 3, 28, 10, 15, tzinfo=UTC), 23),
        ("in 1 day", datetime(2026, 10, 24, 10, 15, tzinfo=UTC), 25),
        ("in 1 week", datetime(2026, 3, 25, 10, 15, tzinfo=UTC), 7 * 24 - 1),
        ("+1d", datetime(2026, 10, 24, 10, 15, tzinfo=UTC), 25),
    ],
)
def test_calendar_steps_keep_the_wall_clock_time(text, now, hours_later):
    result = when(text, now=now)
    assert result - now == timedelta(hours=hours_later)
    assert result.astimezone(BERLIN).time() == now.astimezone(BERLIN).time()


def test_wall_clock_moves_a_gap_reading_past_the_gap_and_keeps_others():
    assert wall_clock(datetime(2026, 3, 29, 2, 30), BERLIN) == local(2026, 3, 29, 3, 30)
    repeated = wall_clock(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert repeated.utcoffset() == timedelta(hours=2)  # the first of the two 02:30s
    assert wall_clock(datetime(2026, 6, 1, 9), BERLIN) == local(2026, 6, 1, 9)


def test_start_of_day_is_local_midnight_even_when_midnight_does_not_exist():
    now = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already the 29th in Berlin
    assert start_of_day(now, BERLIN) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert start_of_day(now, BERLIN, days_later=1) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    # Tehran put its clocks forward at midnight until 2022: that day began at 01:00
    day = start_of_day(datetime(2021, 3, 21, 12, tzinfo=UTC), TEHRAN, days_later=1)
    assert day == datetime(2021, 3, 21, 20, 30, tzinfo=UTC)
    assert day.astimezone(TEHRAN).replace(tzinfo=None) == datetime(2021, 3, 22, 1, 0)


def test_format_when_keeps_the_offset_that_tells_repeated_hours_apart():
    assert format_when(NOW, BERLIN) == "2026-03-04 11:15+01:00"
    assert format_when(NOW + timedelta(seconds=5), BERLIN) == "2026-03-04 11:15:05+01:00"
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert format_when(second, BERLIN) == "2026-10-25 02:30+01:00"
    assert when(format_when(second, BERLIN)) == second


# ----------------------------------------------------------------- errors

EXAMPLE_PHRASES = ("tomorrow 9am", "next friday", "in 3 days", "2026-12-24", "9am", "14:30")
UNREADABLE = [
    "soon",
    "",
    "   ",
    "next funday",
    "25pm",
    "tomorrow 13pm",
    "in 3 parsecs",
    "2026-13-01",
    "march",  # a month is not a day
    "dec 24 9",  # 9 o'clock or 2009?
]


@pytest.mark.parametrize("text", UNREADABLE)
def test_an_unreadable_phrase_is_a_user_error_that_shows_examples(text):
    with pytest.raises(UserError) as caught:
        when(text)
    assert "\n" not in caught.value.message
    assert any(example in caught.value.message for example in EXAMPLE_PHRASES)


@pytest.mark.parametrize(
    "text", ["tomorrow 13pm", "tomorrow 0am", "today 24:00", "in 3 parsecs", "2026-02-30"]
)
def test_impossible_values_are_user_errors_naming_the_mistake(text):
    with pytest.raises(UserError, match="cannot read|unknown unit"):
        when(text)


def test_an_iso_date_with_a_one_digit_hour_is_read():
    assert when("2026-12-24 9:30") == local(2026, 12, 24, 9, 30)


@pytest.mark.parametrize(
    ("text", "zone"),
    [("0001-01-01 00:00", BERLIN), ("9999-12-31 23:00", NEW_YORK), ("12/31/9999 11pm", NEW_YORK)],
)
def test_dates_at_the_end_of_the_calendar_are_user_errors(text, zone):
    with pytest.raises(UserError):
        when(text, zone=zone)


def test_format_then_parse_round_trips_in_local_mean_time():
    old = datetime(1930, 1, 1, 12, tzinfo=TEHRAN)
    assert when(format_when(old, TEHRAN), zone=TEHRAN) == old.astimezone(UTC)


# ------------------------------------------------------------- properties

ANY_ZONE = st.sampled_from([*ZONES, NEPAL])
TIMES = st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(4, 23), st.integers(0, 59))
ISO_TIMES = st.builds("{:02d}:{:02d}".format, st.integers(4, 23), st.integers(0, 59))
PHRASES = st.one_of(
    st.sampled_from(["today", "tomorrow", "tonight", "end of month", "end of week", "now"]),
    st.builds("{} {}".format, st.sampled_from(["today", "tomorrow", "next friday"]), TIMES),
    st.builds("in {} {}".format, st.integers(0, 400), st.sampled_from(["days", "weeks", "h"])),
    st.builds("+{}{}".format, st.integers(0, 9999), st.sampled_from(["d", "h", "min", "w"])),
    st.builds(
        "{}-{:02d}-{:02d} {}".format,
        st.integers(1971, 2099),
        st.integers(1, 12),
        st.integers(1, 28),
        ISO_TIMES,
    ),
)
NOWS = st.datetimes(datetime(1971, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), PHRASES), zone=ANY_ZONE)
def test_any_text_gives_an_aware_utc_instant_or_a_user_error(text, zone):
    try:
        result = when(text, zone=zone)
    except UserError:
        return
    assert result.tzinfo is UTC


@settings(max_examples=300, deadline=None)
@given(
    value=st.datetimes(datetime(1970, 1, 2), datetime(2100, 12, 30), timezones=ANY_ZONE),
    zone=ANY_ZONE,
)
def test_format_when_then_parse_when_gives_back_the_same_instant(value, zone):
    value = value.replace(microsecond=0)  # format_when keeps whole seconds
    assert when(format_when(value, zone), zone=zone) == value.astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(text=PHRASES, now=NOWS, zone=ANY_ZONE)
def test_every_produced_datetime_is_aware(text, now, zone):
    result = when(text, now=now, zone=zone)
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(clock=TIMES, now=NOWS, zone=ANY_ZONE)
def test_tomorrow_at_a_time_is_that_wall_clock_time_on_the_next_local_day(clock, now, zone):
    shown = when(f"tomorrow {clock}", now=now, zone=zone).astimezone(zone)
    assert shown.date() == now.astimezone(zone).date() + timedelta(days=1)
    assert f"{shown.hour}:{shown.minute:02d}" == clock


def test_a_time_rounded_down_to_its_second_is_not_already_past_during_that_second():
    from minicrm.dates import already_past

    now = datetime(2026, 12, 4, 14, 7, 30, 999_999, tzinfo=UTC)
    assert not already_past(now.replace(microsecond=0), now)
    assert already_past(now.replace(second=29, microsecond=0), now)


def test_today_after_nine_schedules_now_and_that_is_not_past():
    from minicrm.dates import already_past

    now = datetime(2026, 12, 4, 14, 7, 30, 500_000, tzinfo=UTC)
    due = parse_when("today", now=now, zone=UTC, scheduling=True)
    assert due == now.replace(microsecond=0)
    assert not already_past(due, now)
