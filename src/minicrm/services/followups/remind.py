"""The reminder digest behind `crm remind`: what is overdue, due today, coming
up and due to get in touch, grouped by owner, in text, Markdown, HTML or JSON.

`--only-new` leaves out what the ledger (ledger.py) says was announced.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from html import escape

from sqlalchemy import select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact, FollowUp, FollowUpRead
from minicrm.services.followups import ledger
from minicrm.services.followups.cadence import TouchDue, due_to_get_in_touch
from minicrm.services.followups.ledger import followup_key
from minicrm.services.records.text_match import same_text

NO_OWNER = "(no owner)"
MAX_DAYS = 3660  # ten years ahead is plenty, and far from datetime's limits
_DIGEST_COLUMNS = (
    FollowUp.id, FollowUp.contact_id, Contact.name, FollowUp.due_at, FollowUp.note,
    FollowUp.recurrence, FollowUp.snoozed, FollowUp.owner, Contact.phone, Contact.email,
)  # fmt: skip


@dataclass(frozen=True)
class DigestFollowUp:
    """A follow-up with what it takes to act on it from a phone."""

    followup: FollowUpRead
    contact_phone: str | None
    contact_email: str | None

    @property
    def ledger_key(self) -> str:
        return followup_key(self.followup.id, self.followup.due_at)

    def to_json(self, now: datetime) -> dict:
        return {
            **self.followup.to_json(now),
            "contact_phone": self.contact_phone,
            "contact_email": self.contact_email,
        }


def touch_key(item: TouchDue) -> str:
    return ledger.touch_key(item.contact_id, item.due_since)


@dataclass
class Digest:
    generated_at: datetime
    days: int
    overdue: list[DigestFollowUp] = field(default_factory=list)
    today: list[DigestFollowUp] = field(default_factory=list)
    upcoming: list[DigestFollowUp] = field(default_factory=list)
    touch: list[TouchDue] = field(default_factory=list)
    # Everything overdue, announced before or not: `--exit-code` answers
    # "is anything overdue?", which --only-new must not change.
    overdue_total: int = 0

    def is_empty(self) -> bool:
        return not (self.overdue or self.today or self.upcoming or self.touch)

    def ledger_keys(self) -> list[str]:
        followups = [*self.overdue, *self.today, *self.upcoming]
        return [f.ledger_key for f in followups] + [touch_key(t) for t in self.touch]


def build_digest(
    session: Session,
    *,
    now: datetime,
    zone: tzinfo,
    days: int = 0,
    owner: str | None = None,
    only_new: bool = False,
) -> Digest:
    """Open follow-ups of live contacts, split at `now`, at the end of today
    and `days` local days later, plus the contacts due to get in touch."""
    from minicrm.dates import start_of_day

    check_days(days)
    owner = (owner or "").strip() or None
    end_of_today = start_of_day(now, zone, days_later=1)
    end_of_upcoming = start_of_day(now, zone, days_later=1 + days)
    digest = Digest(generated_at=now, days=days)
    for item in _open_followups_before(session, end_of_upcoming, owner):
        due = item.followup.due_at
        section = (
            digest.overdue if due < now else digest.today if due < end_of_today else digest.upcoming
        )
        section.append(item)
    digest.touch = due_to_get_in_touch(session, now=now, owner=owner)
    digest.overdue_total = len(digest.overdue)
    if only_new:
        sent = ledger.already_sent(session, digest.ledger_keys())
        for name in ("overdue", "today", "upcoming"):
            kept = [f for f in getattr(digest, name) if f.ledger_key not in sent]
            setattr(digest, name, kept)
        digest.touch = [t for t in digest.touch if touch_key(t) not in sent]
    return digest


def check_days(days: int) -> None:
    if not 0 <= days <= MAX_DAYS:
        raise UserError(
            f"--days must be between 0 and {MAX_DAYS} (days ahead to include), got {days}"
        )


def _open_followups_before(
    session: Session, end: datetime, owner: str | None
) -> Iterator[DigestFollowUp]:
    # Plain columns rather than ORM rows: on a big database the overdue pile
    # can be tens of thousands of rows, and the identity map would hold them all.
    query = (
        select(*_DIGEST_COLUMNS)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .where(FollowUp.done_at.is_(None), Contact.deleted_at.is_(None), FollowUp.due_at < end)
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    if owner:
        query = query.where(same_text(session, FollowUp.owner, owner))
    for row in session.execute(query):
        followup = FollowUpRead(
            id=row[0], contact_id=row[1], contact_name=row[2], due_at=row[3], note=row[4],
            recurrence=row[5], snoozed=row[6], owner=row[7],
        )  # fmt: skip
        yield DigestFollowUp(followup, row[8], row[9])


def mark_sent(session: Session, digest: Digest, now: datetime) -> int:
    """Record the digest's items as announced (and prune what can never be
    announced again); returns how many were new."""
    return ledger.record_sent(session, digest.ledger_keys(), now)


# ------------------------------------------------------------------ words


def section_titles(digest: Digest) -> dict[str, str]:
    ahead = "Tomorrow" if digest.days == 1 else f"Next {digest.days} days"
    return {
        "overdue": "Overdue",
        "today": "Today",
        "upcoming": ahead,
        "touch": "Due to get in touch",
    }


def digest_summary(digest: Digest) -> str:
    """'2 overdue, 1 today, 1 to get in touch' (or 'nothing due')."""
    parts = [
        (len(digest.overdue), "overdue"),
        (len(digest.today), "today"),
        (
            len(digest.upcoming),
            "tomorrow" if digest.days == 1 else f"in the next {digest.days} days",
        ),
        (len(digest.touch), "to get in touch"),
    ]
    said = [f"{count} {what}" for count, what in parts if count]
    return ", ".join(said) if said else "nothing due"


def digest_title(digest: Digest, zone: tzinfo) -> str:
    local = digest.generated_at.astimezone(zone)
    return f"Reminders for {local:%a %d %b %Y}, {local:%H:%M} ({zone_name(zone)})"


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def by_owner(digest: Digest) -> list[tuple[str, dict[str, list]]]:
    """[(owner, {section: items})], owners in alphabetical order, no owner
    last; owners that differ only in case are one person."""
    groups: dict[str, tuple[str, dict[str, list]]] = {}
    sections: list[tuple[str, Iterable]] = [
        ("overdue", ((f.followup.owner, f) for f in digest.overdue)),
        ("today", ((f.followup.owner, f) for f in digest.today)),
        ("upcoming", ((f.followup.owner, f) for f in digest.upcoming)),
        ("touch", ((t.owner, t) for t in digest.touch)),
    ]
    for section, items in sections:
        for owner, item in items:
            label = (owner or "").strip() or NO_OWNER
            key = "\uffff" if label == NO_OWNER else label.casefold()
            groups.setdefault(key, (label, {}))[1].setdefault(section, []).append(item)
    return [groups[key] for key in sorted(groups)]


def plain(text: str | None) -> str:
    """One line of text safe for a terminal, a table cell or a mail: line
    breaks become spaces and control characters (escape sequences a hostile
    note could carry) are shown as \\xNN instead of being acted on."""
    return _CONTROL.sub(_visible, text) if text else ""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def _visible(match: re.Match) -> str:
    char = match.group()
    return " " if char in "\r\n\t" else f"\\x{ord(char):02x}"


# -------------------------------------------------------------- renderers


def _local(value: datetime | None, zone: tzinfo) -> str:
    from minicrm.dates import format_local

    return format_local(value, zone)


def _last_contact(item: TouchDue, zone: tzinfo) -> str:
    if item.last_interaction_at is None:
        return "nothing logged yet"
    return f"last contact {_local(item.last_interaction_at, zone)}"


def render_text(digest: Digest, zone: tzinfo) -> str:
    lines = [digest_title(digest, zone), ""]
    if digest.is_empty():
        return "\n".join([*lines, "Nothing due.", ""])
    titles = section_titles(digest)
    for owner, sections in by_owner(digest):
        lines.append(f"Owner: {plain(owner)}")
        for section, items in sections.items():
            lines.append(f"{titles[section]} ({len(items)})")
            for item in items:
                lines.append("  " + _text_line(item, zone))
        lines.append("")
    return "\n".join(lines)


def _text_line(item: DigestFollowUp | TouchDue, zone: tzinfo) -> str:
    if isinstance(item, DigestFollowUp):
        f = item.followup
        head = f"{_local(f.due_at, zone)}  {plain(f.contact_name)}"
        head += f" — {plain(f.note)}" if f.note else ""
        phone, email, tail = item.contact_phone, item.contact_email, f"  #{f.id}"
    else:
        head = f"{plain(item.contact_name)} — {_last_contact(item, zone)}, every {item.every_days}d"
        phone, email, tail = item.phone, item.email, ""
    head += f"  ☎ {plain(phone)}" if phone else ""
    head += f"  ✉ {plain(email)}" if email else ""
    return head + tail


def _md(text: str | None) -> str:
    cleaned = plain(text)
    for ch in "\\`*_[]<>|":
        cleaned = cleaned.replace(ch, "\\" + ch)
    return cleaned


def render_markdown(digest: Digest, zone: tzinfo) -> str:
    lines = [f"# {_md(digest_title(digest, zone))}", ""]
    if digest.is_empty():
        return "\n".join([*lines, "Nothing due.", ""])
    titles = section_titles(digest)
    for owner, sections in by_owner(digest):
        lines += [f"## {_md(owner)}", ""]
        for section, items in sections.items():
            lines += [f"### {titles[section]} ({len(items)})", ""]
            header, rows = _table(section, items, zone)
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _table(section: str, items: list, zone: tzinfo) -> tuple[list[str], list[list[str]]]:
    """Header and cells (raw text) of one section's table."""
    if section == "touch":
        header = ["Contact", "Last contact", "Every", "Phone", "Email"]
        rows = [
            [t.contact_name, _local(t.last_interaction_at, zone) or "never",
             f"{t.every_days} days", t.phone or "", t.email or ""]
            for t in items
        ]  # fmt: skip
        return header, rows
    header = ["When", "Contact", "Note", "Phone", "Email", "ID"]
    rows = [
        [_local(i.followup.due_at, zone), i.followup.contact_name, i.followup.note or "",
         i.contact_phone or "", i.contact_email or "", f"#{i.followup.id}"]
        for i in items
    ]  # fmt: skip
    return header, rows


_STYLE = (
    "body{font-family:sans-serif;color:#222}table{border-collapse:collapse;margin-bottom:1em}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}h3.overdue{color:#b00020}"
)


def render_html(digest: Digest, zone: tzinfo) -> str:
    """A self-contained page (no external assets); every value escaped."""
    title = escape(digest_title(digest, zone))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
    ]
    if digest.is_empty():
        out.append("<p>Nothing due.</p>")
    titles = section_titles(digest)
    for owner, sections in by_owner(digest):
        out.append(f"<h2>{escape(plain(owner))}</h2>")
        for section, items in sections.items():
            out.append(f'<h3 class="{section}">{escape(titles[section])} ({len(items)})</h3>')
            header, rows = _table(section, items, zone)
            out.append("<table><thead><tr>")
            out.append("".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
            for row in rows:
                cells = [_html_cell(h, v) for h, v in zip(header, row, strict=True)]
                out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_cell(column: str, value: str) -> str:
    """Phone and email as links, so one tap on a phone calls or writes."""
    from urllib.parse import quote

    text = escape(plain(value))
    if value and column == "Phone":
        return f'<a href="tel:{escape(quote(value, safe="+"))}">{text}</a>'
    if value and column == "Email":
        return f'<a href="mailto:{escape(quote(value, safe="@+"))}">{text}</a>'
    return text


def digest_to_json(digest: Digest) -> dict:
    """SPEC §10: {generated_at, overdue, today, upcoming} of follow-ups (each
    with contact_phone and contact_email), plus due_to_get_in_touch."""
    now = digest.generated_at
    return {
        "generated_at": now.isoformat(),
        "overdue": [f.to_json(now) for f in digest.overdue],
        "today": [f.to_json(now) for f in digest.today],
        "upcoming": [f.to_json(now) for f in digest.upcoming],
        "due_to_get_in_touch": [t.to_json() for t in digest.touch],
    }
