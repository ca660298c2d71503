"""The reminder digest: sections, owners, the --only-new ledger, renderers, JSON."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.models import ReminderLedger
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.contacts.trash import trash_contact
from minicrm.services.followups.cadence import set_cadence
from minicrm.services.followups.followups import add_followup, complete_followup, snooze_followup
from minicrm.services.followups.interactions import log_interaction
from minicrm.services.followups.remind import (
    build_digest,
    digest_to_json,
    mark_sent,
    render_html,
    render_markdown,
    render_text,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Berlin; Berlin's day ends 23:00 UTC
FOLLOWUP_KEYS = [
    "id", "contact_id", "contact_name", "due_at", "note", "done_at", "recurrence", "snoozed",
    "owner", "deal_id", "overdue", "contact_phone", "contact_email",
]  # fmt: skip


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def contact(session, name, **fields):
    return add_contact(session, ContactInput(name=name, **fields), now=NOW - timedelta(days=100))


def followup(session, ref, due_at, note=None, **kwargs):
    return add_followup(session, ref, due_at, note, now=NOW - timedelta(days=1), **kwargs)


def digest(engine, **kwargs):
    with session_scope(engine, write=False) as session:
        return build_digest(session, **{"now": NOW, "zone": BERLIN, **kwargs})


def notes(items):
    return [item.followup.note for item in items]


@pytest.fixture
def around_midnight(engine):
    """Follow-ups on both sides of now and of Berlin's midnights."""
    with session_scope(engine) as session:
        contact(session, "Maria Lopez", phone="+34600123456", email="maria@x.example", owner="Ana")
        contact(session, "Gone Person", owner="Ana")
        followup(session, "maria", utc(23, 9, 59), "a minute ago")
        followup(session, "maria", NOW, "right now")
        followup(session, "maria", utc(23, 22, 59), "23:59 Berlin")
        followup(session, "maria", utc(23, 23, 0), "midnight Berlin")
        followup(session, "maria", utc(24, 22, 59), "tomorrow 23:59 Berlin")
        followup(session, "maria", utc(24, 23, 0), "day after, 00:00 Berlin")
        done = followup(session, "maria", utc(20, 9), "closed")
        complete_followup(session, done.id, zone=BERLIN, now=NOW)
        followup(session, "gone", utc(22, 9), "of a trashed contact")
        trash_contact(session, "gone", now=NOW)


def test_sections_split_at_now_and_at_local_midnight(engine, around_midnight):
    today_only = digest(engine)
    assert notes(today_only.overdue) == ["a minute ago"]
    assert notes(today_only.today) == ["right now", "23:59 Berlin"]
    assert today_only.upcoming == []

    next_day = digest(engine, days=1)
    assert notes(next_day.upcoming) == ["midnight Berlin", "tomorrow 23:59 Berlin"]
    assert notes(digest(engine, days=2).upcoming)[-1] == "day after, 00:00 Berlin"


def test_the_day_ends_at_the_zones_midnight_not_at_utcs(engine, around_midnight):
    in_utc = digest(engine, zone=UTC)
    assert notes(in_utc.today) == ["right now", "23:59 Berlin", "midnight Berlin"]


def test_days_below_zero_is_refused(engine):
    with pytest.raises(UserError, match="--days must be between 0 and 3660"):
        digest(engine, days=-1)


def test_owner_filter_ignores_case_for_followups_and_touch(engine):
    with session_scope(engine) as session:
        contact(session, "Maria Lopez", owner="Ana")
        contact(session, "Sam's Client", owner="sam")
        followup(session, "maria", utc(22, 9), "ana's")
        followup(session, "sam's", utc(22, 9), "sam's")
        set_cadence(session, "30d", ref="maria", now=NOW)
        set_cadence(session, "30d", ref="sam's", now=NOW)
    for spelling in ("ana", "ANA", " Ana "):
        only_ana = digest(engine, owner=spelling)
        assert notes(only_ana.overdue) == ["ana's"]
        assert [t.contact_name for t in only_ana.touch] == ["Maria Lopez"]
    assert len(digest(engine).overdue) == 2


def test_touch_section_comes_from_the_cadence_and_an_interaction_resets_it(engine):
    with session_scope(engine) as session:
        contact(session, "Quiet Customer", phone="+34600123456", email="quiet@x.example")
        contact(session, "Busy Customer")
        set_cadence(session, "30d", ref="quiet", now=NOW)
        set_cadence(session, "30d", ref="busy", now=NOW)
        log_interaction(session, "quiet", "call", at=NOW - timedelta(days=40), now=NOW)
        log_interaction(session, "busy", "call", at=NOW - timedelta(days=5), now=NOW)
    [due] = digest(engine).touch
    assert (due.contact_name, due.due_since) == ("Quiet Customer", NOW - timedelta(days=10))
    [entry] = digest_to_json(digest(engine))["due_to_get_in_touch"]
    assert (entry["phone"], entry["email"]) == ("+34600123456", "quiet@x.example")

    with session_scope(engine) as session:
        log_interaction(session, "quiet", "visit", at=NOW - timedelta(hours=1), now=NOW)
    assert digest(engine).touch == []


def test_only_new_leaves_out_what_was_sent_until_it_moves(engine):
    with session_scope(engine) as session:
        contact(session, "Maria Lopez")
        first = followup(session, "maria", utc(22, 9), "overdue one")
        followup(session, "maria", utc(23, 15), "today one")
        set_cadence(session, "30d", ref="maria", now=NOW)
    sent = digest(engine, only_new=True)
    assert (len(sent.overdue), len(sent.today), len(sent.touch)) == (1, 1, 1)
    with session_scope(engine) as session:
        assert mark_sent(session, sent, NOW) == 3
        assert mark_sent(session, sent, NOW) == 0  # a second run of the same digest is harmless
        keys = set(session.execute(select(ReminderLedger.key)).scalars())
    assert f"followup:{first.id}:2026-11-22T09:00:00+00:00" in keys

    again = digest(engine, only_new=True)
    assert again.is_empty()
    assert again.overdue_total == 1  # --exit-code still sees the overdue follow-up
    assert len(digest(engine).overdue) == 1  # without --only-new everything shows

    with session_scope(engine) as session:
        snooze_followup(session, first.id, utc(23, 18), now=NOW)
        log_interaction(session, "maria", "call", at=NOW - timedelta(days=31), now=NOW)
    moved = digest(engine, only_new=True)
    assert notes(moved.today) == ["overdue one"]  # announced again at its new time
    assert [t.due_since for t in moved.touch] == [NOW - timedelta(days=1)]


@pytest.fixture
def hostile(engine, monkeypatch):
    monkeypatch.setenv("CRM_USER", "zoe")  # who a follow-up of an owner-less contact falls to
    with session_scope(engine) as session:
        contact(
            session, "<script>alert(1)</script>", phone="+34600123456",
            email="maria@x.example", owner="Ana",
        )  # fmt: skip
        followup(session, "script", utc(22, 9), "quote | 5 < 6\n& \x1b[31mred")
        contact(session, "Nobody's", owner=None)
        followup(session, "nobody", utc(23, 15), "call")
        set_cadence(session, "30d", ref="nobody", now=NOW)
    return digest(engine)


def test_text_lines_carry_time_name_note_phone_and_email(hostile):
    text = render_text(hostile, BERLIN)
    assert (
        "  2026-11-22 10:00  <script>alert(1)</script> — quote | 5 < 6 & \\x1b[31mred"
        "  ☎ +34600123456  ✉ maria@x.example  #1"
    ) in text
    assert "\x1b" not in text
    owners = [line for line in text.splitlines() if line.startswith("Owner: ")]
    assert owners == ["Owner: Ana", "Owner: zoe", "Owner: (no owner)"]
    assert "Owner: zoe\nToday (1)\n  2026-11-23 16:00  Nobody's — call  #2\n" in text
    assert (
        "Owner: (no owner)\nDue to get in touch (1)\n  Nobody's — nothing logged yet, every 30d\n"
    ) in text


def test_html_escapes_every_value_and_links_phone_and_email(hostile):
    page = render_html(hostile, BERLIN)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "quote | 5 &lt; 6 &amp; \\x1b[31mred" in page
    assert '<a href="tel:+34600123456">+34600123456</a>' in page
    assert '<a href="mailto:maria@x.example">maria@x.example</a>' in page
    assert "http" not in page  # no external assets


def test_markdown_escapes_table_breakers_and_html(hostile):
    page = render_markdown(hostile, BERLIN)
    row = (
        "| 2026-11-22 10:00 | \\<script\\>alert(1)\\</script\\> "
        "| quote \\| 5 \\< 6 & \\\\x1b\\[31mred |"
    )
    assert row in page
    assert "| +34600123456 | maria@x.example | #1 |" in page


def test_empty_digest_says_nothing_due(engine):
    empty = digest(engine)
    assert empty.is_empty()
    assert render_text(empty, BERLIN).splitlines()[2] == "Nothing due."
    assert "Nothing due." in render_markdown(empty, BERLIN)
    assert "<p>Nothing due.</p>" in render_html(empty, BERLIN)


def test_json_has_exactly_the_documented_keys(engine, around_midnight):
    data = digest_to_json(digest(engine, days=1))
    assert list(data) == ["generated_at", "overdue", "today", "upcoming", "due_to_get_in_touch"]
    assert data["generated_at"] == "2026-11-23T10:00:00+00:00"
    [overdue] = data["overdue"]
    assert list(overdue) == FOLLOWUP_KEYS
    assert (overdue["overdue"], overdue["due_at"]) == (True, "2026-11-23T09:59:00+00:00")
    assert (overdue["contact_phone"], overdue["contact_email"]) == (
        "+34600123456", "maria@x.example",
    )  # fmt: skip
    assert [f["overdue"] for f in data["today"]] == [False, False]
    assert [f["note"] for f in data["upcoming"]] == ["midnight Berlin", "tomorrow 23:59 Berlin"]


# ------------------------------------------------------------ mail settings


def test_mail_settings_prefer_the_environment_and_pick_safe_defaults(session, monkeypatch):
    from minicrm.services.followups.mailer import mail_settings
    from minicrm.services.records.config import set_setting

    monkeypatch.setattr("socket.gethostname", lambda: "shop-pc")
    nothing = mail_settings(session, environ={})
    assert (nothing.sender, nothing.smtp) == ("minicrm@shop-pc", None)  # sendmail, then

    set_setting(session, "smtp_host", "stored.example")
    set_setting(session, "smtp_port", "2525")
    set_setting(session, "mail_from", "stored@shop.example")
    stored = mail_settings(session, environ={})
    assert (stored.sender, stored.smtp.where, stored.smtp.starttls) == (
        "stored@shop.example", "stored.example:2525", False,
    )  # fmt: skip

    env = {"CRM_SMTP_HOST": "env.example", "CRM_SMTP_USER": "ana", "CRM_SMTP_PASSWORD": "pw"}
    set_setting(session, "smtp_port", "587")
    login = mail_settings(session, environ=env).smtp
    assert (login.host, login.port, login.user, login.password, login.starttls) == (
        "env.example", 587, "ana", "pw", True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"CRM_SMTP_HOST": "h.example", "CRM_SMTP_USER": "ana"}, "CRM_SMTP_PASSWORD is not"),
        ({"CRM_SMTP_HOST": "h.example", "CRM_SMTP_PORT": "70000"}, "invalid SMTP port"),
        ({"CRM_SMTP_HOST": "h.example", "CRM_SMTP_STARTTLS": "maybe"}, "must be yes or no"),
        ({"CRM_MAIL_FROM": "nobody"}, "invalid sender address 'nobody'"),
    ],
)
def test_bad_mail_settings_are_user_errors(session, environ, fragment):
    from minicrm.services.followups.mailer import mail_settings

    with pytest.raises(UserError, match=fragment):
        mail_settings(session, environ=environ)


def test_a_password_never_goes_to_a_remote_server_in_clear():
    from minicrm.services.followups.mailer import SmtpSettings, send_digest

    plain_text = SmtpSettings("mail.example", 25, "ana", "pw", starttls=False)
    with pytest.raises(UserError, match="refusing to send the password to mail.example:25"):
        send_digest(
            "s", "t", "<p>h</p>", to=["me@shop.example"], sender="a@b.example", smtp=plain_text
        )


def ledger_keys(engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.execute(select(ReminderLedger.key)).scalars())


def test_the_ledger_forgets_what_can_never_be_announced_again(engine):
    """Done, deleted and moved follow-ups, trashed contacts and lapses that an
    interaction ended leave the ledger the next time it is written; what may
    still show stays, so nothing is announced twice."""
    from minicrm.services.followups.followups import remove_followup

    with session_scope(engine) as session:
        for name in ("Ana Done", "Bo Removed", "Cy Snoozed", "Di Kept", "Ed Trashed", "Fay Quiet"):
            contact(session, name)
            set_cadence(session, "30d", ref=name, now=NOW)
        done = followup(session, "ana", utc(22, 9), "done")
        removed = followup(session, "bo", utc(22, 9), "removed")
        snoozed = followup(session, "cy", utc(22, 9), "snoozed")
        kept = followup(session, "di", utc(22, 9), "kept")
        followup(session, "ed trashed", utc(22, 9), "trashed")
        for name in ("Ana", "Bo", "Cy", "Di", "Ed Trashed", "Fay"):
            log_interaction(session, name, "call", at=NOW - timedelta(days=40), now=NOW)
    sent = digest(engine, only_new=True)
    with session_scope(engine) as session:
        assert mark_sent(session, sent, NOW) == 11  # five follow-ups, six lapses
    assert len(ledger_keys(engine)) == 11

    with session_scope(engine) as session:
        complete_followup(session, done.id, zone=UTC, now=NOW)
        remove_followup(session, removed.id)
        snooze_followup(session, snoozed.id, utc(23, 18), now=NOW)
        trash_contact(session, "ed trashed", now=NOW)
        log_interaction(session, "fay", "visit", at=NOW - timedelta(hours=2), now=NOW)
    later = digest(engine, only_new=True)
    assert notes(later.today) == ["snoozed"]  # news again at its new time
    with session_scope(engine) as session:
        assert mark_sent(session, later, NOW) == 1
    stays = {
        f"followup:{kept.id}:2026-11-22T09:00:00+00:00",
        f"followup:{snoozed.id}:2026-11-23T18:00:00+00:00",
    }
    keys = ledger_keys(engine)
    assert stays <= keys
    assert not any(k.startswith(f"followup:{i}:") for i in (done.id, removed.id) for k in keys)
    assert f"followup:{snoozed.id}:2026-11-22T09:00:00+00:00" not in keys
    touch_ids = sorted(int(k.split(":")[1]) for k in keys if k.startswith("touch:"))
    assert len(touch_ids) == 4  # Ana, Bo, Cy, Di: still quiet; Ed trashed, Fay contacted
    assert digest(engine, only_new=True).is_empty()  # and nothing is announced twice
