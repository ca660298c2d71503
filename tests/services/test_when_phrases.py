"""Everyday WHEN phrases: what each means, how ambiguities are settled, and
the rule that a phrase lands in the past only when it says so."""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm.dates import parse_when
from minicrm.errors import UserError
from minicrm.when_phrases import Clock, FromToday, MonthDay, Phrase, Weekday, read_phrase

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
ZONES = [MADRID, NEW_YORK, ZoneInfo("Asia/Tehran"), SYDNEY, ZoneInfo("UTC")]
MORNING = datetime(2026, 12, 3, 10, 30, tzinfo=MADRID)  # a Thursday
AFTERNOON = datetime(2026, 12, 3, 16, 0, tzinfo=MADRID)  # 3pm has passed
EVENING = datetime(2026, 12, 3, 19, 0, tzinfo=MADRID)  # the afternoon is over


def when(text: str, *, now: datetime = MORNING, zone=MADRID) -> datetime:
    return parse_when(text, now=now.astimezone(UTC), zone=zone)


def local(year, month, day, hour=9, minute=0, *, zone=MADRID) -> datetime:
    """A wall-clock reading in `zone` as the UTC instant parse_when returns."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


# ---------------------------------------------- Thursday 3 December, 10:30

SAID_IN_THE_MORNING = [
    # a time of day alone: the next one
    ("3pm", local(2026, 12, 3, 15)),
    ("noon", local(2026, 12, 3, 12)),
    ("midnight", local(2026, 12, 4, 0)),
    ("14:30", local(2026, 12, 3, 14, 30)),
    ("9am", local(2026, 12, 4, 9)),  # today's has passed
    ("at 3", local(2026, 12, 3, 15)),  # working hours: 1-7 are pm
    ("at 9", local(2026, 12, 4, 9)),
    # parts of the day
    ("tomorrow morning", local(2026, 12, 4, 9)),
    ("tomorrow afternoon", local(2026, 12, 4, 14)),
    ("tomorrow evening", local(2026, 12, 4, 18)),
    ("tomorrow night", local(2026, 12, 4, 20)),
    ("tomorrow in the afternoon", local(2026, 12, 4, 14)),
    ("this morning", local(2026, 12, 3, 10, 30)),  # it has begun: now
    ("this afternoon", local(2026, 12, 3, 14)),
    ("this evening", local(2026, 12, 3, 18)),
    ("tonight", local(2026, 12, 3, 20)),
    ("tonight at midnight", local(2026, 12, 4, 0)),  # the end of today, not its start
    ("friday afternoon", local(2026, 12, 4, 14)),
    # days
    ("day after tomorrow", local(2026, 12, 5)),
    ("the day after tomorrow", local(2026, 12, 5)),
    ("next week", local(2026, 12, 7)),  # its Monday
    ("next week 3pm", local(2026, 12, 7, 15)),
    ("next month", local(2027, 1, 1)),  # its 1st
    ("the 15th", local(2026, 12, 15)),
    ("15th", local(2026, 12, 15)),
    ("on the 15th", local(2026, 12, 15)),
    ("the 3rd", local(2026, 12, 3)),  # today counts
    ("the 1st", local(2027, 1, 1)),
    ("the 31st", local(2026, 12, 31)),
    # dates without a year: the next one, today counts
    ("jan 5", local(2027, 1, 5)),
    ("feb 14", local(2027, 2, 14)),
    ("1/15", local(2027, 1, 15)),
    ("12/24", local(2026, 12, 24)),
    ("24/12", local(2026, 12, 24)),  # 24 cannot be a month
    ("dec 3", local(2026, 12, 3)),
    ("dec 2", local(2027, 12, 2)),
    ("feb 29", local(2028, 2, 29)),  # the next one that exists
    ("24 dec", local(2026, 12, 24)),
    ("the 24th of december", local(2026, 12, 24)),
    ("march 1", local(2027, 3, 1)),
    ("dec 24 9am", local(2026, 12, 24, 9)),
    ("dec 24 at 9", local(2026, 12, 24, 9)),
    ("Dec 24 3pm", local(2026, 12, 24, 15)),
    ("3pm dec 24", local(2026, 12, 24, 15)),
    ("December 24th, 2026 at 3pm", local(2026, 12, 24, 15)),
    ("dec 24 2029", local(2029, 12, 24)),
    ("12/24/2026", local(2026, 12, 24)),
    ("24.12.2026", local(2026, 12, 24)),
    ("12/24/26", local(2026, 12, 24)),
    # a date and a time in either order
    ("2027-01-15 3pm", local(2027, 1, 15, 15)),
    ("3pm tomorrow", local(2026, 12, 4, 15)),
    ("noon tomorrow", local(2026, 12, 4, 12)),
    ("tomorrow at noon", local(2026, 12, 4, 12)),
    ("3pm on friday", local(2026, 12, 4, 15)),
    ("at 3 on monday", local(2026, 12, 7, 15)),
    # weekdays 'at' a bare hour
    ("monday at 3", local(2026, 12, 7, 15)),
    ("monday at 7", local(2026, 12, 7, 19)),
    ("monday at 8", local(2026, 12, 7, 8)),
    ("monday at 12", local(2026, 12, 7, 12)),
    ("monday at 18", local(2026, 12, 7, 18)),
    ("monday at 3am", local(2026, 12, 7, 3)),
    ("tomorrow at 9", local(2026, 12, 4, 9)),
    ("thursday", local(2026, 12, 10)),  # today's 09:00 has passed
    ("thursday 11am", local(2026, 12, 3, 11)),
    # offsets
    ("in a week", local(2026, 12, 10, 10, 30)),
    ("in two weeks", local(2026, 12, 17, 10, 30)),
    ("in twelve days", local(2026, 12, 15, 10, 30)),
    ("in a month", local(2027, 1, 3, 10, 30)),
    ("in an hour", local(2026, 12, 3, 11, 30)),
    ("in half an hour", local(2026, 12, 3, 11)),
    ("in 3 days at 10am", local(2026, 12, 6, 10)),
    ("+1w 9am", local(2026, 12, 10, 9)),
    # ends
    ("end of day", local(2026, 12, 3, 17)),
    ("end of week", local(2026, 12, 4, 17)),
    ("end of month", local(2026, 12, 31, 17)),
    # the past, said so
    ("yesterday", local(2026, 12, 2)),
    ("yesterday afternoon", local(2026, 12, 2, 14)),
    ("last friday", local(2026, 11, 27)),
    ("two days ago", local(2026, 12, 1, 10, 30)),
    ("a week ago", local(2026, 11, 26, 10, 30)),
    ("2020-01-01", local(2020, 1, 1)),
    ("12/24/2020", local(2020, 12, 24)),
]


@pytest.mark.parametrize(("text", "expected"), SAID_IN_THE_MORNING)
def test_said_on_a_thursday_morning(text, expected):
    assert when(text) == expected


SAID_AT_FOUR = [
    ("3pm", local(2026, 12, 4, 15)),  # passed: tomorrow
    ("noon", local(2026, 12, 4, 12)),
    ("at 3", local(2026, 12, 4, 15)),
    ("5pm", local(2026, 12, 3, 17)),
    ("at 5", local(2026, 12, 3, 17)),
    ("this afternoon", local(2026, 12, 3, 16)),  # under way: now
    ("this evening", local(2026, 12, 3, 18)),
    ("end of day", local(2026, 12, 3, 17)),
    ("thursday 3pm", local(2026, 12, 10, 15)),
    # a day named alone is that day at 09:00, even today after 09:00
    ("today", local(2026, 12, 3)),
    ("dec 3", local(2026, 12, 3)),
    ("the 3rd", local(2026, 12, 3)),
    # with a day named, the time is the user's word
    ("today 3pm", local(2026, 12, 3, 15)),
    ("dec 3 3pm", local(2026, 12, 3, 15)),
]


@pytest.mark.parametrize(("text", "expected"), SAID_AT_FOUR)
def test_said_at_four_in_the_afternoon(text, expected):
    assert when(text, now=AFTERNOON) == expected


def test_a_part_of_the_day_under_way_is_now_and_once_over_an_error():
    assert when("end of day", now=EVENING) == EVENING.astimezone(UTC)
    assert when("end of month", now=datetime(2026, 12, 31, 19, tzinfo=MADRID)) == local(
        2026, 12, 31, 19
    )
    assert when("tonight", now=datetime(2026, 12, 3, 22, 15, tzinfo=MADRID)) == local(
        2026, 12, 3, 22, 15
    )
    for text in ("this afternoon", "this morning"):
        with pytest.raises(UserError, match="is over.*try tomorrow"):
            when(text, now=EVENING)


def test_the_default_time_of_a_caller_applies_to_days_named_alone():
    midnight = time(0, 0)  # how reports read --since
    assert parse_when("today", now=MORNING, zone=MADRID, default_time=midnight) == local(
        2026, 12, 3, 0
    )
    assert parse_when("jan 5", now=MORNING, zone=MADRID, default_time=midnight) == local(
        2027, 1, 5, 0
    )
    assert parse_when("next week", now=MORNING, zone=MADRID, default_time=midnight) == local(
        2026, 12, 7, 0
    )


def test_the_words_are_read_apart_from_any_clock():
    assert read_phrase("monday at 3") == Phrase(Weekday(0), Clock(time(15)))
    assert read_phrase("3pm tomorrow") == Phrase(FromToday(1), Clock(time(15)))
    assert read_phrase("dec 24, 2026") == Phrase(MonthDay(12, 24, 2026))
    assert read_phrase("soon") is None


# ------------------------------------------------------ DST and the hour

FALL_BACK_NY = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EDT becomes 01:00 EST


def test_a_time_already_passed_in_the_repeated_hour_is_tomorrows():
    second_0115 = FALL_BACK_NY + timedelta(minutes=15)  # 01:15 EST, after the first 01:30
    assert when("1:30am", now=second_0115, zone=NEW_YORK) == local(
        2026, 11, 2, 1, 30, zone=NEW_YORK
    )
    first_0115 = FALL_BACK_NY - timedelta(minutes=45)  # 01:15 EDT
    assert when("1:30am", now=first_0115, zone=NEW_YORK) == FALL_BACK_NY - timedelta(minutes=30)


def test_in_zero_days_in_the_repeated_hour_is_now():
    second_0115 = FALL_BACK_NY + timedelta(minutes=15)
    assert when("in 0 days", now=second_0115, zone=NEW_YORK) == second_0115


def test_a_time_in_the_spring_gap_is_just_after_it():
    now = datetime(2026, 3, 29, 0, 30, tzinfo=MADRID)  # the gap is 02:00-03:00
    assert when("2:30am", now=now) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_tomorrow_morning_is_nine_on_the_clock_across_a_dst_night():
    now = datetime(2026, 10, 3, 12, tzinfo=SYDNEY)  # clocks go forward that night
    shown = when("tomorrow morning", now=now, zone=SYDNEY).astimezone(SYDNEY)
    assert (shown.date(), shown.hour, shown.utcoffset()) == (
        date(2026, 10, 4),
        9,
        timedelta(hours=11),
    )


# ----------------------------------------------------------------- errors

REFUSED = [
    ("march", "is a month, not a day"),  # a bare month: name the day
    ("may", "is a month, not a day"),
    ("march 2027", "is a month, not a day"),
    ("march 3pm", "is a month, not a day"),
    ("dec 24 9", "an hour or a year"),
    ("24 dec 9", "an hour or a year"),
    ("12/24 9", "an hour or a year"),
    ("dec 24 14", "an hour or a year"),
    ("dec 24 26", "four digits"),
    ("tomorrow 9", "write 9am, 9pm or 9:00"),
    ("monday 3", "write 3am, 3pm or 3:00"),
    ("9", "write 9am"),
    ("15", "write 15:00"),
    ("morning", "say this morning or tomorrow morning"),
    ("in the afternoon", "say this afternoon or tomorrow afternoon"),
    ("afternoon friday", "cannot read the date"),  # the part of the day goes after its day
    ("this", "say this morning"),
    ("in 2 hours at 3pm", "exact"),
    ("feb 30", "no such day"),
    ("apr 31", "no such day"),
    ("2/29/2027", "no such day"),
    ("the 32nd", "no month has a day 32"),
    ("13/13", "month first"),
    ("12.30", "cannot read the date"),  # a time with a dot, not a date
    ("in a few days", "cannot read the date"),
    ("next year", "cannot read the date"),
    ("soon", "cannot read the date"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_a_refused_phrase_says_why_and_shows_examples(text, reason):
    with pytest.raises(UserError) as caught:
        when(text)
    message = caught.value.message
    assert reason in message
    assert "try one of: 3pm, tomorrow 9am" in message
    assert "\n" not in message


# ------------------------------------------------------------- properties


def _dst_changes() -> list[datetime]:
    """Every instant in 2026-2027 when one of ZONES changes its offset."""
    changes, hour = [], datetime(2026, 1, 1, tzinfo=UTC)
    while hour < datetime(2028, 1, 1, tzinfo=UTC):
        following = hour + timedelta(hours=1)
        if any(
            hour.astimezone(z).utcoffset() != following.astimezone(z).utcoffset() for z in ZONES
        ):
            changes.append(following)
        hour = following
    return changes


DST_CHANGES = _dst_changes()
NOWS = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(  # the days of a DST change, either side of it
        lambda change, minutes, seconds: change + timedelta(minutes=minutes, seconds=seconds),
        st.sampled_from(DST_CHANGES),
        st.integers(-26 * 60, 26 * 60),
        st.integers(0, 59),
    ),
)
ANY_ZONE = st.sampled_from(ZONES)

HOURS = st.integers(1, 12)
TIMES = st.one_of(
    st.builds("{}{}".format, HOURS, st.sampled_from(["am", "pm", " pm"])),
    st.builds("{}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    st.builds("{}:{:02d}{}".format, HOURS, st.integers(0, 59), st.sampled_from(["am", "pm"])),
    st.builds("at {}".format, st.integers(0, 23)),
    st.sampled_from(["noon", "midnight", "at noon", "2:30am", "1:30am", "3am"]),
)
PARTS = st.sampled_from(["morning", "afternoon", "evening", "night"])
WEEKDAY_NAMES = st.sampled_from(["monday", "tue", "wednesday", "thu", "friday", "sat", "sunday"])
AHEAD = st.one_of(  # days that are never today
    st.sampled_from(["tomorrow", "day after tomorrow", "next week", "next month"]),
    st.builds("next {}".format, WEEKDAY_NAMES),
)
WEEKDAYS = st.one_of(WEEKDAY_NAMES, st.builds("next {}".format, WEEKDAY_NAMES))
NUMBERS = st.one_of(
    st.integers(0, 400).map(str),
    st.sampled_from(["a", "an", "one", "two", "three", "seven", "twelve"]),
)
FUTURE = st.one_of(
    TIMES,
    st.builds("{} {}".format, st.one_of(AHEAD, WEEKDAYS), TIMES),
    st.builds("{} {}".format, TIMES, st.one_of(AHEAD, WEEKDAYS)),
    st.builds("{} {}".format, st.one_of(AHEAD, WEEKDAYS), PARTS),
    st.one_of(AHEAD, WEEKDAYS),
    st.builds("in {} {}".format, NUMBERS, st.sampled_from(["days", "weeks", "months", "hours"])),
    st.builds("in {} days {}".format, st.integers(1, 30), TIMES),
    st.builds("+{}{}".format, st.integers(0, 999), st.sampled_from(["d", "h", "min", "w"])),
    st.sampled_from(["now", "in half an hour", "tonight", "end of day", "end of week"]),
    st.sampled_from(["end of month", "this evening", "tonight at midnight"]),
)
MAY_BE_OVER = st.builds("this {}".format, st.sampled_from(["morning", "afternoon"]))


@settings(max_examples=500, deadline=None)
@given(text=FUTURE, now=NOWS, zone=ANY_ZONE)
def test_a_phrase_that_does_not_name_the_past_is_never_before_now(text, now, zone):
    result = when(text, now=now, zone=zone)
    assert result >= now.replace(microsecond=0), (text, now.astimezone(zone))


@settings(max_examples=200, deadline=None)
@given(text=MAY_BE_OVER, now=NOWS, zone=ANY_ZONE)
def test_this_afternoon_is_now_or_later_or_an_error_once_it_is_over(text, now, zone):
    try:
        result = when(text, now=now, zone=zone)
    except UserError as exc:
        assert "is over" in exc.message
        return
    assert result >= now.replace(microsecond=0)


@settings(max_examples=300, deadline=None)
@given(clock=TIMES, now=NOWS, zone=ANY_ZONE)
def test_a_time_of_day_alone_is_within_the_next_day(clock, now, zone):
    result = when(clock, now=now, zone=zone)
    assert now.replace(microsecond=0) <= result < now + timedelta(hours=25)


MONTH_DAYS = st.sampled_from(
    [
        (month, day)
        for month in range(1, 13)
        for day in range(1, calendar.monthrange(2028, month)[1] + 1)
    ]
)
MONTH_WORDS = [
    "jan",
    "feb",
    "march",
    "apr",
    "may",
    "june",
    "jul",
    "aug",
    "sept",
    "oct",
    "nov",
    "dec",
]


def _spellings(month: int, day: int) -> list[str]:
    name = MONTH_WORDS[month - 1]
    return [f"{name} {day}", f"{day} {name}", f"{month}/{day}", f"the {day}th of {name}"]


@settings(max_examples=400, deadline=None)
@given(
    month_day=MONTH_DAYS,
    spelling=st.integers(0, 3),
    clock=st.one_of(st.just(""), TIMES),
    now=NOWS,
    zone=ANY_ZONE,
)
def test_a_date_without_a_year_is_the_next_one_today_included(
    month_day, spelling, clock, now, zone
):
    text = f"{_spellings(*month_day)[spelling]} {clock}".strip()
    shown = when(text, now=now, zone=zone).astimezone(zone).date()
    today = now.astimezone(zone).date()
    assert (shown.month, shown.day) == month_day
    assert shown >= today
    for year in range(today.year, shown.year):  # no earlier such day from today on
        if calendar.isleap(year) or month_day != (2, 29):
            assert date(year, *month_day) < today


@settings(max_examples=300, deadline=None)
@given(number=st.integers(1, 31), clock=st.one_of(st.just(""), TIMES), now=NOWS, zone=ANY_ZONE)
def test_the_15th_is_the_next_day_with_that_number(number, clock, now, zone):
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(number, "th")
    shown = when(f"the {number}{suffix} {clock}".strip(), now=now, zone=zone).astimezone(zone)
    today = now.astimezone(zone).date()
    assert shown.day == number and shown.date() >= today
    between = (today + timedelta(days=n) for n in range((shown.date() - today).days))
    assert all(day.day != number for day in between)


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(st.just("today"), st.builds("today {}".format, TIMES)), now=NOWS, zone=ANY_ZONE
)
def test_today_is_today_whatever_the_hour(text, now, zone):
    assert when(text, now=now, zone=zone).astimezone(zone).date() == now.astimezone(zone).date()


PAST = st.one_of(
    st.sampled_from(["yesterday", "yesterday afternoon", "day before yesterday"]),
    st.builds("last {}".format, WEEKDAY_NAMES),
    st.builds("last {} {}".format, WEEKDAY_NAMES, TIMES),
    st.builds("{} {} ago".format, NUMBERS, st.sampled_from(["days", "weeks", "hours", "min"])),
)


@settings(max_examples=200, deadline=None)
@given(text=PAST, now=NOWS, zone=ANY_ZONE)
def test_a_phrase_that_names_the_past_is_not_after_now(text, now, zone):
    assert when(text, now=now, zone=zone) <= now
