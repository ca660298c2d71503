from datetime import UTC, datetime, timedelta


def test_log_prints_the_id_and_shows_in_the_timeline(cli):
    cli.ok("add", "Maria Lopez")
    assert (
        cli.ok("log", "maria", "call", "asked about chairs", "--at", "2026-01-05 15:00").stdout
        == "1\n"
    )
    cli.ok("log", "maria", "purchase", "two chairs", "--amount", "240.50")
    entries = cli.json("show", "maria")["timeline"]
    interactions = [e for e in entries if e["type"] == "interaction"]
    assert [(e["kind"], e["summary"], e["amount"]) for e in interactions] == [
        ("purchase", "two chairs", 240.5),
        ("call", "asked about chairs", None),
    ]
    assert interactions[1]["at"] == "2026-01-05T15:00:00+00:00"  # TZ=UTC in tests


def test_show_limit_pages_the_timeline(cli):
    cli.ok("add", "Maria Lopez")
    for n in range(5):
        cli.ok("log", "maria", "note", f"note {n}", "--at", f"2026-01-0{n + 1} 10:00")
    entries = cli.json("show", "maria", "--limit", "3")["timeline"]
    assert [e.get("summary", e["type"]) for e in entries] == ["stage_change", "note 4", "note 3"]


def test_log_mistakes_are_user_errors_and_write_nothing(cli):
    cli.ok("add", "Maria Lopez")
    before = cli.table_counts()
    cli.assert_user_error(cli("log", "maria", "dance"), "unknown kind 'dance'", "purchase")
    cli.assert_user_error(cli("log", "maria", "call", "--at", "someday"), "cannot read the date")
    cli.assert_user_error(cli("log", "nobody", "call"), "no contact matches")
    cli.assert_user_error(cli("log", "maria", "purchase", "--amount", "a lot"), "invalid amount")
    assert cli.table_counts() == before


def test_followup_add_list_done_snooze_rm(cli):
    cli.ok("add", "Maria Lopez", "--owner", "ana", "--phone", "+34600123456")
    assert cli.ok("followup", "add", "maria", "tomorrow 10am", "send the quote").stdout == "1\n"
    cli.ok("followup", "add", "maria", "2 days ago", "late already", "--past")
    cli.ok("followup", "add", "maria", "+1h", "weekly check", "--every", "week")
    agenda = cli.json("followup", "list")
    assert [f["note"] for f in agenda] == ["late already", "weekly check", "send the quote"]
    assert [f["overdue"] for f in agenda] == [True, False, False]
    assert list(agenda[0]) == [
        "id", "contact_id", "contact_name", "due_at", "note", "done_at", "recurrence",
        "snoozed", "owner", "deal_id", "overdue",
    ]  # fmt: skip
    assert agenda[1]["recurrence"] == "FREQ=WEEKLY"
    assert [f["note"] for f in cli.json("followup", "list", "--overdue")] == ["late already"]

    result = cli.json("followup", "done", "3")
    assert result["done"]["done_at"] is not None
    next_due = datetime.fromisoformat(result["next"]["due_at"])
    assert next_due - datetime.fromisoformat(result["done"]["due_at"]) == timedelta(days=7)

    snoozed = cli.json("followup", "snooze", "2", "+2d")
    assert snoozed["snoozed"] == 1
    assert datetime.fromisoformat(snoozed["due_at"]) > datetime.now(UTC) + timedelta(days=1)
    cli.ok("followup", "rm", "1")
    assert [f["note"] for f in cli.json("followup", "list", "--all")] == [
        "late already", "weekly check",
    ]  # fmt: skip


def test_followup_table_when_piped(cli):
    cli.ok("add", "Maria Lopez")
    cli.ok("followup", "add", "maria", "2026-01-01 09:00", "old one", "--past")
    out = cli.ok("followup", "list").stdout
    assert "\x1b[" not in out
    assert "2026-01-01 09:00" in out and "overdue" in out and "old one" in out


def test_followup_mistakes(cli):
    cli.ok("add", "Maria Lopez")
    before = cli.table_counts()
    cli.assert_user_error(cli("followup", "add", "maria", "whenever"), "cannot read the date")
    cli.assert_user_error(
        cli("followup", "add", "maria", "tomorrow", "--every", "fortnightly"), "cannot read --every"
    )
    cli.assert_user_error(cli("followup", "done", "42"), "no follow-up #42")
    cli.assert_user_error(cli("followup", "list", "--today", "--all"), "choose one of")
    cli.assert_user_error(cli("followup", "done", "x"), "Invalid value")
    assert cli.table_counts() == before


def test_cadence_set_list_rm(cli):
    cli.ok("add", "Maria Lopez", "--tag", "vip")
    cli.ok("cadence", "set", "maria", "30d")
    cli.ok("cadence", "set", "--tag", "vip", "2w")
    assert cli.json("cadence", "list") == [
        {"id": 2, "contact_id": None, "contact_name": None, "tag": "vip", "every_days": 14},
        {"id": 1, "contact_id": 1, "contact_name": "Maria Lopez", "tag": None, "every_days": 30},
    ]
    cli.ok("cadence", "rm", "--tag", "vip")
    cli.ok("cadence", "rm", "maria")
    assert cli.json("cadence", "list") == []
    cli.assert_user_error(cli("cadence", "set", "maria", "often"), "cannot read 'often'")
    cli.assert_user_error(cli("cadence", "rm", "maria"), "has no cadence")


def test_log_at_a_day_without_its_year_is_the_latest_one_not_next_year(cli):
    """`crm log --at "dec 3"` said on Dec 4 records yesterday's call, not
    one a year ahead (TZ is UTC in tests)."""
    from datetime import UTC, datetime, timedelta

    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    cli.ok("add", "Ann Lee")
    phrase = f"{yesterday:%b} {yesterday.day} 10am".lower()
    cli.ok("log", "Ann", "call", "rang", "--at", phrase)
    timeline = cli.json("show", "Ann")["timeline"]
    (call,) = [e for e in timeline if e["type"] == "interaction" and e["kind"] == "call"]
    assert call["at"].startswith(f"{yesterday.isoformat()}T10:00")


def test_a_follow_up_for_today_after_its_hour_is_not_put_in_the_past(cli):
    from datetime import UTC, datetime

    cli.ok("add", "Ann Lee")
    before = datetime.now(UTC).replace(microsecond=0)
    followup = cli.json("followup", "add", "Ann", "today", "call back")
    due = datetime.fromisoformat(followup["due_at"])
    assert due >= before or due.hour == 9  # 09:00 today when said before nine


def test_what_happened_is_never_in_the_future_and_what_is_to_do_never_in_the_past(cli):
    cli.ok("add", "Ann Lee")
    cli.assert_user_error(cli("log", "Ann", "call", "--at", "tomorrow"), "in the future")
    cli.assert_user_error(cli("log", "Ann", "call", "--at", "in 2 hours"), "in the future")
    assert cli.json("show", "Ann")["timeline"][-1]["type"] != "interaction"  # nothing logged
    cli.assert_user_error(cli("followup", "add", "Ann", "yesterday", "x"), "--past")
    cli.assert_user_error(cli("followup", "add", "Ann", "2 days ago", "x"), "in the past")
    assert cli.json("followup", "list", "--all") == []
    overdue = cli.json("followup", "add", "Ann", "yesterday", "late", "--past")
    assert overdue["overdue"] is True
