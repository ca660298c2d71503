"""iCalendar export of follow-ups: parsed back with icalendar, field by field."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.followups import (
    add_followup,
    complete_followup,
    next_occurrence,
    remove_followup,
    snooze_followup,
)
from minicrm.services.transfer.calendar_export import followups_to_ics, open_followups_for_export

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
GREEK = "Μαρία Παπαδοπούλου"
PERSIAN = "سارا احمدی"
PERSIAN_NOTE = "پیگیری سفارش فرش — قیمت نهایی را بفرستید، بعد از تعطیلات نوروز"


@pytest.fixture
def ids(engine) -> dict[str, int]:
    """Three live contacts with open follow-ups, one done, one trashed."""
    with session_scope(engine) as session:

        def contact(name, **fields):
            return add_contact(session, ContactInput(name=name, **fields), now=NOW).id

        maria, sara = contact("Maria Lopez", owner="alice"), contact(PERSIAN, owner="bob")
        greek, gone = contact(GREEK), contact("Gone Person")
        due = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
        made = {
            "one_off": add_followup(session, maria, due, "send the quote", now=NOW),
            "weekly": add_followup(session, greek, due, "call", every="week", now=NOW),
            "persian": add_followup(
                session, sara, due + timedelta(days=1, minutes=30), PERSIAN_NOTE, now=NOW
            ),
            "done": add_followup(session, maria, due, "already done", now=NOW),
            "trashed": add_followup(session, gone, due, "never shown", now=NOW),
        }
        complete_followup(session, made["done"].id, zone=UTC, now=NOW)
        trash_contact(session, gone, now=NOW)
        return {"maria": maria} | {name: f.id for name, f in made.items()}


def export(engine, **options) -> Calendar:
    with session_scope(engine, write=False) as session:
        followups = open_followups_for_export(session, owner=options.pop("owner", None))
    data = followups_to_ics(followups, now=NOW, **options)
    return Calendar.from_ical(data)


def entries(calendar: Calendar, name: str = "VTODO") -> dict[str, object]:
    return {str(entry["UID"]): entry for entry in calendar.walk(name)}


def uid(followup_id: int) -> str:
    return f"followup-{followup_id}@minicrm"


def test_only_open_follow_ups_of_live_contacts_are_exported_soonest_first(engine, ids):
    with session_scope(engine, write=False) as session:
        found = open_followups_for_export(session)
        assert [f.id for f in found] == [ids["one_off"], ids["weekly"], ids["persian"]]
        assert [f.id for f in open_followups_for_export(session, owner="ALICE")] == [ids["one_off"]]
    todos = entries(export(engine))
    assert sorted(todos) == sorted(uid(ids[n]) for n in ("one_off", "weekly", "persian"))


def test_the_calendar_names_its_producer_and_version(engine, ids):
    calendar = export(engine, calendar_name="Shop follow-ups")
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//minicrm//minicrm follow-ups//EN"
    assert str(calendar["X-WR-CALNAME"]) == "Shop follow-ups"
    assert calendar.walk("VTIMEZONE") == []  # no zone given: everything in UTC


def test_a_one_off_follow_up_as_a_todo_field_by_field(engine, ids):
    todo = entries(export(engine))[uid(ids["one_off"])]
    due = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    for field in ("DTSTART", "DUE"):
        assert todo.decoded(field) == due
        assert todo.decoded(field).utcoffset() == timedelta(0)
        assert todo[field].to_ical() == b"20260323T080000Z"
    assert todo.decoded("DTSTAMP") == NOW
    assert str(todo["SUMMARY"]) == "Follow up: Maria Lopez — send the quote"
    description = str(todo["DESCRIPTION"])
    assert description.startswith("send the quote\n")
    assert f"Contact: Maria Lopez (crm show {ids['maria']})" in description
    assert "Owner: alice" in description
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    assert int(todo["SEQUENCE"]) == 0
    assert "RRULE" not in todo
    (alarm,) = todo.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-15)
    assert str(alarm["DESCRIPTION"]) == "Follow up: Maria Lopez — send the quote"


def test_a_recurring_follow_up_carries_its_rrule(engine, ids):
    todo = entries(export(engine))[uid(ids["weekly"])]
    assert dict(todo["RRULE"]) == {"FREQ": ["WEEKLY"]}
    assert todo.decoded("DTSTART") == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    assert str(todo["SUMMARY"]) == f"Follow up: {GREEK} — call"
    assert todo.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-15)


def test_in_a_named_zone_a_recurring_follow_up_repeats_at_local_time_like_minicrm(engine, ids):
    calendar = export(engine, zone=BERLIN)
    todos = entries(calendar)
    weekly = todos[uid(ids["weekly"])]
    start = weekly.decoded("DTSTART")
    assert weekly["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert start.replace(tzinfo=None) == datetime(2026, 3, 23, 9, 0)
    assert weekly.decoded("DUE") == start
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    # a calendar app expands the rule from DTSTART in its zone; minicrm agrees
    expanded = rrulestr(weekly["RRULE"].to_ical().decode(), dtstart=start)
    ours, theirs = start.astimezone(UTC), start
    for _ in range(6):  # across the change to summer time on 29 March
        ours = next_occurrence("FREQ=WEEKLY", ours, ours, BERLIN)
        theirs = expanded.after(theirs)
        assert ours == theirs.astimezone(UTC)
        assert theirs.hour == 9
    one_off = todos[uid(ids["one_off"])]  # an exact instant stays in UTC
    assert one_off["DUE"].to_ical() == b"20260323T080000Z"


def test_a_floating_until_is_written_in_utc_as_rfc_5545_requires(engine):
    with session_scope(engine) as session:
        contact = add_contact(session, ContactInput(name="Maria Lopez"), now=NOW)
        due = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
        made = add_followup(session, contact.id, due, every="FREQ=DAILY;UNTIL=20260325T090000")
        date_until = add_followup(session, contact.id, due, every="FREQ=DAILY;UNTIL=20260325")
    todos = entries(export(engine, zone=BERLIN))
    rule = todos[uid(made.id)]["RRULE"]
    assert rule["UNTIL"] == [datetime(2026, 3, 25, 8, 0, tzinfo=UTC)]
    assert b"UNTIL=20260325T080000Z" in rule.to_ical()
    assert todos[uid(date_until.id)]["RRULE"]["UNTIL"] == [
        datetime(2026, 3, 24, 23, 0, tzinfo=UTC)  # local midnight, as next_occurrence reads it
    ]


def test_non_ascii_names_and_notes_survive(engine, ids):
    with session_scope(engine, write=False) as session:
        data = followups_to_ics(open_followups_for_export(session), now=NOW)
    todos = entries(Calendar.from_ical(data))
    persian = todos[uid(ids["persian"])]
    assert str(persian["SUMMARY"]) == f"Follow up: {PERSIAN} — {PERSIAN_NOTE}"
    assert str(persian["DESCRIPTION"]).startswith(PERSIAN_NOTE + "\n")
    assert persian.decoded("DUE") == datetime(2026, 3, 24, 8, 30, tzinfo=UTC)
    assert GREEK.encode() in data.replace(b"\r\n ", b"")
    lines = data.split(b"\r\n")
    assert lines[-1] == b""  # every line ends in CRLF
    assert max(len(line) for line in lines) <= 75  # folded, never inside a character
    for line in lines:
        line.decode("utf-8")


def test_as_events_for_calendars_that_ignore_tasks(engine, ids):
    calendar = export(engine, kind="event")
    assert calendar.walk("VTODO") == []
    events = entries(calendar, "VEVENT")
    assert len(events) == 3
    weekly = events[uid(ids["weekly"])]
    assert weekly.decoded("DTSTART") == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    assert weekly.decoded("DTEND") == datetime(2026, 3, 23, 8, 15, tzinfo=UTC)
    assert "DUE" not in weekly and "STATUS" not in weekly
    assert str(weekly["TRANSP"]) == "TRANSPARENT"
    assert dict(weekly["RRULE"]) == {"FREQ": ["WEEKLY"]}
    assert weekly.walk("VALARM")[0].decoded("TRIGGER") == timedelta(minutes=-15)


def test_done_follow_ups_handed_in_are_left_out_and_snoozes_raise_the_sequence(engine, ids):
    with session_scope(engine, write=False) as session:
        followups = open_followups_for_export(session)
    done = followups[0].model_copy(update={"id": 99, "done_at": NOW})
    snoozed = followups[1].model_copy(update={"snoozed": 3})
    todos = entries(Calendar.from_ical(followups_to_ics([done, snoozed], now=NOW)))
    assert list(todos) == [uid(snoozed.id)]
    assert int(todos[uid(snoozed.id)]["SEQUENCE"]) == 3


def test_uids_are_stable_between_exports(engine, ids):
    first = set(entries(export(engine)))
    later = followups_to_ics([], now=NOW)  # an empty calendar is still a calendar
    assert Calendar.from_ical(later).walk("VTODO") == []
    assert set(entries(export(engine))) == first


def test_an_unknown_entry_kind_is_a_user_error():
    with pytest.raises(UserError, match="todo or event"):
        followups_to_ics([], now=NOW, kind="task")


# ------------------------------------------------------ one series, one UID


def test_done_on_a_recurring_follow_up_moves_the_same_entry(engine, ids):
    """The next export updates the series' entry: same UID, higher SEQUENCE,
    the next occurrence's DTSTART; a calendar that imports it again still
    shows one series, not two."""
    before = entries(export(engine, zone=BERLIN))[uid(ids["weekly"])]
    with session_scope(engine) as session:
        following = complete_followup(session, ids["weekly"], zone=BERLIN, now=NOW).next
    assert following.id != ids["weekly"]
    after = entries(export(engine, zone=BERLIN))
    assert sorted(after) == sorted(uid(ids[n]) for n in ("one_off", "weekly", "persian"))
    moved = after[uid(ids["weekly"])]
    assert int(moved["SEQUENCE"]) > int(before["SEQUENCE"])
    assert moved.decoded("DTSTART") == before.decoded("DTSTART") + timedelta(days=7)
    assert moved.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 3, 30, 9, 0)
    assert dict(moved["RRULE"]) == dict(before["RRULE"])


def test_the_sequence_only_goes_up_through_snoozes_and_occurrences_done(engine, ids):
    """Each snooze and each done moves the entry, so each raises SEQUENCE, even
    when the occurrence done had been snoozed (its row keeps those snoozes)
    and when an earlier, done occurrence is removed."""

    def sequence() -> int:
        return int(entries(export(engine, zone=BERLIN))[uid(ids["weekly"])]["SEQUENCE"])

    seen, current = [sequence()], ids["weekly"]
    with session_scope(engine) as session:
        snooze_followup(session, current, NOW + timedelta(days=4), now=NOW)
    seen.append(sequence())
    with session_scope(engine) as session:
        snooze_followup(session, current, NOW + timedelta(days=5), now=NOW)
    seen.append(sequence())
    with session_scope(engine) as session:
        current = complete_followup(session, current, zone=BERLIN, now=NOW).next.id
    seen.append(sequence())
    with session_scope(engine) as session:
        later = complete_followup(session, current, zone=BERLIN, now=NOW).next
        remove_followup(session, current)  # a done occurrence taken out of the history
    seen.append(sequence())
    assert seen == [0, 1, 2, 3, 4]
    assert later.series_id == ids["weekly"]  # the first row's id, not the one before


def test_a_one_off_follow_up_done_leaves_the_calendar(engine, ids):
    with session_scope(engine) as session:
        assert complete_followup(session, ids["one_off"], zone=BERLIN, now=NOW).next is None
    assert uid(ids["one_off"]) not in entries(export(engine))


def test_each_series_keeps_its_own_uid(engine, ids):
    with session_scope(engine) as session:
        contact = add_contact(session, ContactInput(name="Ali Karimi"), now=NOW).id
        other = add_followup(session, contact, NOW + timedelta(days=3), every="day", now=NOW)
        complete_followup(session, other.id, zone=BERLIN, now=NOW)
        complete_followup(session, ids["weekly"], zone=BERLIN, now=NOW)
    found = entries(export(engine, zone=BERLIN))
    assert {uid(ids["weekly"]), uid(other.id)} <= set(found)
    assert len(found) == 4
