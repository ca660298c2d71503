"""Recurring follow-ups: `--every` words and RRULEs, and the next occurrence."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minicrm.errors import ValidationError
from minicrm.services.followups.cadence import parse_every
from minicrm.services.followups.followups import next_occurrence, parse_recurrence

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def at(year, month, day, hour=9, minute=0, *, zone=BERLIN) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def occurrences(rule: str, due: datetime, zone, count: int) -> list[datetime]:
    """The chain `crm followup done` walks: each next one after the last."""
    found = [due]
    while len(found) < count:
        following = next_occurrence(rule, found[-1], found[-1], zone)
        if following is None:
            break
        found.append(following)
    return found


# ------------------------------------------------------- parse_recurrence


@pytest.mark.parametrize(
    ("every", "rule"),
    [
        ("day", "FREQ=DAILY"),
        ("daily", "FREQ=DAILY"),
        ("week", "FREQ=WEEKLY"),
        ("Weekly", "FREQ=WEEKLY"),
        ("2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
        ("  2   WEEKS ", "FREQ=WEEKLY;INTERVAL=2"),
        ("1 week", "FREQ=WEEKLY"),
        ("3 days", "FREQ=DAILY;INTERVAL=3"),
        ("month", "FREQ=MONTHLY"),
        ("6 months", "FREQ=MONTHLY;INTERVAL=6"),
        ("year", "FREQ=YEARLY"),
        ("weekday", WEEKDAYS),
        ("weekdays", WEEKDAYS),
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=MONTHLY;BYMONTHDAY=1"),
        ("rrule:freq=weekly;byday=tu,th", "FREQ=WEEKLY;BYDAY=TU,TH"),
        ("FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=5"),
        ("INTERVAL=2;FREQ=WEEKLY", "INTERVAL=2;FREQ=WEEKLY"),
    ],
)
def test_every_in_words_or_as_an_rrule_becomes_the_stored_rrule(every, rule):
    assert parse_recurrence(every) == rule


@pytest.mark.parametrize("every", [None, "", "   "])
def test_no_every_means_no_recurrence(every):
    assert parse_recurrence(every) is None


@pytest.mark.parametrize(
    ("every", "says"),
    [
        ("fortnightly", "cannot read --every"),
        ("every tuesday", "cannot read --every"),
        ("BYDAY=MO", "cannot read --every"),
        ("0 days", "positive interval"),
        ("FREQ=FORTNIGHTLY", "invalid RRULE"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid RRULE"),
        ("RRULE:FREQ=DAILY;FOO=1", "invalid RRULE"),
    ],
)
def test_an_unreadable_rule_is_a_validation_error(every, says):
    with pytest.raises(ValidationError, match=says) as caught:
        parse_recurrence(every)
    assert every in caught.value.message


def test_a_zero_interval_rrule_is_refused():
    with pytest.raises(ValidationError):
        parse_recurrence("FREQ=WEEKLY;INTERVAL=0")


def test_an_rrule_with_a_utc_until_is_accepted_and_respected():
    rule = parse_recurrence("RRULE:FREQ=DAILY;UNTIL=20260325T080000Z")
    assert rule == "FREQ=DAILY;UNTIL=20260325T080000Z"
    assert len(occurrences(rule, at(2026, 3, 23), BERLIN, 10)) == 3


@pytest.mark.parametrize("every", ["day", "2 weeks", "weekday", "RRULE:FREQ=MONTHLY;COUNT=3"])
def test_every_stored_rule_is_readable_by_the_calendar_export(every):
    from icalendar import vRecur

    rule = parse_recurrence(every)
    assert vRecur.from_ical(rule).to_ical().decode() == rule


# -------------------------------------------------------- next_occurrence


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_weekly_keeps_nine_local_across_both_dst_changes(zone):
    due = at(2026, 3, 2, zone=zone)  # a Monday in winter time
    chain = occurrences("FREQ=WEEKLY", due, zone, 40)
    assert len(chain) == 40  # into December: through spring-forward and fall-back
    for occurrence in chain:
        shown = occurrence.astimezone(zone)
        assert (shown.weekday(), shown.hour, shown.minute) == (0, 9, 0)
        assert occurrence.tzinfo is UTC
    offsets = {o.astimezone(zone).utcoffset() for o in chain}
    assert len(offsets) == 2  # both standard and summer time were crossed


def test_weekly_across_the_spring_change_is_a_week_of_wall_clock_not_of_hours():
    due = at(2026, 3, 23)
    following = next_occurrence("FREQ=WEEKLY", due, due, BERLIN)
    assert following == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert following - due == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (at(2026, 3, 27), at(2026, 3, 30)),  # Friday -> Monday, across the DST weekend
        (at(2026, 3, 4), at(2026, 3, 5)),  # Wednesday -> Thursday
        (at(2026, 3, 28), at(2026, 3, 30)),  # due on a Saturday -> Monday
    ],
)
def test_weekday_skips_the_weekend(due, expected):
    assert next_occurrence(WEEKDAYS, due, due, BERLIN) == expected


def test_every_two_weeks_is_fourteen_days_of_wall_clock():
    due = at(2026, 3, 20)
    assert next_occurrence("FREQ=WEEKLY;INTERVAL=2", due, due, BERLIN) == at(2026, 4, 3)


def test_missed_occurrences_are_not_replayed():
    due = at(2026, 3, 2)
    later = datetime(2026, 3, 20, 12, tzinfo=UTC)
    assert next_occurrence("FREQ=WEEKLY", due, later, BERLIN) == at(2026, 3, 23)


def test_the_next_occurrence_is_strictly_after():
    due = at(2026, 3, 2)
    assert next_occurrence("FREQ=DAILY", due, at(2026, 3, 5), BERLIN) == at(2026, 3, 6)


def test_monthly_on_the_31st_follows_rfc_5545_like_the_calendar_apps():
    # Months without a 31st are skipped, as every calendar that reads the
    # exported RRULE does, so minicrm and the calendar agree.
    due = at(2026, 1, 31)
    assert next_occurrence("FREQ=MONTHLY", due, due, BERLIN) == at(2026, 3, 31)


@pytest.mark.parametrize(
    ("rule", "last"),
    [
        ("FREQ=WEEKLY;COUNT=1", at(2026, 3, 23)),
        ("FREQ=WEEKLY;COUNT=3", at(2026, 4, 6)),
        ("FREQ=DAILY;UNTIL=20260325T090000", at(2026, 3, 25)),  # UNTIL is local wall time
        ("FREQ=DAILY;UNTIL=20260325", at(2026, 3, 24)),  # a date UNTIL is that midnight
    ],
)
def test_a_rule_that_has_run_out_has_no_next_occurrence(rule, last):
    due = at(2026, 3, 23)
    assert next_occurrence(rule, due, last, BERLIN) is None
    if last != due:
        assert next_occurrence(rule, due, last - timedelta(minutes=1), BERLIN) == last


def test_until_ends_the_chain_that_done_walks():
    chain = occurrences("FREQ=DAILY;UNTIL=20260325T090000", at(2026, 3, 23), BERLIN, 10)
    assert chain == [at(2026, 3, 23), at(2026, 3, 24), at(2026, 3, 25)]


def test_count_is_used_up_by_marking_occurrences_done(session):
    from minicrm.services.contacts.editing import ContactInput, add_contact
    from minicrm.services.followups.followups import add_followup, complete_followup

    now = datetime(2026, 3, 20, tzinfo=UTC)
    contact = add_contact(session, ContactInput(name="Maria Lopez"), now=now)
    first = add_followup(session, contact.id, at(2026, 3, 23), every="FREQ=WEEKLY;COUNT=2", now=now)
    second = complete_followup(session, first.id, zone=BERLIN, now=now).next
    assert second is not None and second.due_at == at(2026, 3, 30)
    assert complete_followup(session, second.id, zone=BERLIN, now=now).next is None


def test_the_occurrences_done_walks_are_one_series(session):
    """Each next occurrence is a new row naming the first as its series, and
    carrying the moves before it (snoozes, then one for each done)."""
    from minicrm.services.contacts.editing import ContactInput, add_contact
    from minicrm.services.followups.followups import (
        add_followup,
        complete_followup,
        snooze_followup,
    )

    now = datetime(2026, 3, 20, tzinfo=UTC)
    contact = add_contact(session, ContactInput(name="Maria Lopez"), now=now)
    first = add_followup(session, contact.id, at(2026, 3, 23), every="week", now=now)
    assert (first.series_id, first.series_revision) == (None, 0)
    snooze_followup(session, first.id, at(2026, 3, 24), now=now)
    second = complete_followup(session, first.id, zone=BERLIN, now=now).next
    third = complete_followup(session, second.id, zone=BERLIN, now=now).next
    assert [(f.series_id, f.series_revision, f.snoozed) for f in (second, third)] == [
        (first.id, 2, 0),
        (first.id, 3, 0),
    ]
    assert len({first.id, second.id, third.id}) == 3


# ------------------------------------------------- one grammar for "how often"


@pytest.mark.parametrize(
    ("said", "rule", "days"),
    [
        ("day", "FREQ=DAILY", 1), ("daily", "FREQ=DAILY", 1),
        ("30d", "FREQ=DAILY;INTERVAL=30", 30), ("week", "FREQ=WEEKLY", 7),
        ("weekly", "FREQ=WEEKLY", 7), ("2w", "FREQ=WEEKLY;INTERVAL=2", 14),
        ("2 weeks", "FREQ=WEEKLY;INTERVAL=2", 14), ("2 wk", "FREQ=WEEKLY;INTERVAL=2", 14),
        ("month", "FREQ=MONTHLY", 30), ("3 months", "FREQ=MONTHLY;INTERVAL=3", 90),
        ("3mo", "FREQ=MONTHLY;INTERVAL=3", 90), ("1y", "FREQ=YEARLY", 365),
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", 14),
    ],
)  # fmt: skip
def test_every_and_cadence_read_the_same_intervals(said, rule, days):
    assert parse_recurrence(said) == rule
    assert parse_every(said) == days


@pytest.mark.parametrize("said", ["0d", "0 weeks", "fortnight", "2 fortnights", ""])
def test_neither_reads_what_is_no_interval(said):
    with pytest.raises(ValidationError):
        parse_every(said)
    if said:
        with pytest.raises(ValidationError):
            parse_recurrence(said)


def test_a_rule_that_skips_the_given_day_starts_on_its_first_date(session):
    """FREQ=WEEKLY;BYDAY=MO,TH said for Friday 4 Dec 2026 10:00: the first
    follow-up is Monday 7 Dec 10:00, as a calendar expands the rule."""
    from minicrm.services.contacts.editing import ContactInput, add_contact
    from minicrm.services.followups.followups import add_followup

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    contact = add_contact(session, ContactInput(name="Ann Lee"), now=now)
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    followup = add_followup(session, contact.id, friday, "call",
                            every="FREQ=WEEKLY;BYDAY=MO,TH", now=now)  # fmt: skip
    assert followup.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    same_day = add_followup(session, contact.id, friday, "call", every="week", now=now)
    assert same_day.due_at == friday  # a rule that produces the given day keeps it
