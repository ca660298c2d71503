"""Demo data for `crm demo`: a year of a small shop's customers and leads.

Rows are generated a chunk of contacts at a time and written with SQLAlchemy
Core bulk inserts, never ORM objects, so 100,000 contacts with a million
interactions take seconds and little memory. Everything is drawn from one
random.Random(seed) against a fixed `now`: a seed reproduces the database.
"""

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from sqlalchemy import Connection, bindparam, func, insert, select, text
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Contact, ContactTag, FollowUp, Interaction, StageChange, Tag
from minicrm.services import config
from minicrm.services.demo_data import (
    ARABIC_KEYS,
    CUSTOMER_KINDS,
    ES,
    EXTRA_KEYS,
    FOLLOWUP_NOTES,
    FOLLOWUPS_PER_CONTACT,
    INDUSTRIES,
    LOCALE_DRAW,
    LOST_REASONS,
    MAIL_DOMAINS,
    OWNERS,
    PLACES,
    PRODUCTS,
    PROSPECT_KINDS,
    RECURRENCES,
    SCRIPTS,
    SOURCES,
    START_INDEX,
    SUMMARIES,
    TAGS,
    Locale,
    Script,
)  # fmt: skip
from minicrm.text import fold, search_text

CHUNK_CONTACTS = 1_000  # ~10,000 interaction rows per insert
DAY = 86_400


@dataclass(frozen=True)
class DemoSummary:
    """How many rows generate_demo wrote; `tags` counts contact-tag links."""

    contacts: int = 0
    interactions: int = 0
    followups: int = 0
    stage_changes: int = 0
    tags: int = 0


def generate_demo(
    session: Session, *, contacts: int = 200, seed: int = 1, now: datetime | None = None
) -> DemoSummary:
    """Add `contacts` demo contacts with a year of history before `now`.

    Existing data stays (new ids follow the highest one); the caller's
    session_scope commits."""
    if contacts < 0:
        raise UserError("--contacts must be 0 or more")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    session.flush()
    writer = RowWriter(session.connection())
    stages = config.open_stages(session)
    maker = _Maker(random.Random(seed), stages, now, writer.stamp, _tag_ids(writer.connection))
    first_id = (writer.connection.execute(select(func.max(Contact.id))).scalar() or 0) + 1
    end_id = first_id + contacts
    tables = (Contact, ContactTag, StageChange, Interaction, FollowUp)  # parents first
    counts = dict.fromkeys(tables, 0)
    # Rebuilding an index beats inserting into it once the new rows outnumber the old.
    with sqlite_bulk_load(writer.connection, indexes=contacts >= first_id - 1):
        for start in range(first_id, end_id, CHUNK_CONTACTS):
            rows = maker.chunk(range(start, min(start + CHUNK_CONTACTS, end_id)))
            for model in tables:
                writer.insert(model, rows[model])
                counts[model] += len(rows[model])
    if contacts and writer.connection.dialect.name == "postgresql":  # ids given, not drawn
        writer.connection.execute(
            text("SELECT setval(pg_get_serial_sequence('contact', 'id'), max(id)) FROM contact")
        )
    from minicrm.services.scoring import recompute_scores

    recompute_scores(session, list(range(first_id, end_id)), now=now)
    return DemoSummary(
        contacts=counts[Contact],
        interactions=counts[Interaction],
        followups=counts[FollowUp],
        stage_changes=counts[StageChange],
        tags=counts[ContactTag],
    )


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class RowWriter:
    """Bulk inserts through each table's own INSERT statement.

    At 100,000 contacts SQLAlchemy's per-value processing of ~4 million
    datetimes took 16 s, over half the 30 s budget. So on SQLite, rows carry
    the text UTCDateTime would store, made by a cheap formatter that is first
    checked against the type itself; anywhere else (or if they ever differ)
    rows carry aware datetimes and go through the types as usual."""

    def __init__(self, connection: Connection):
        self.connection = connection
        stamp = _sqlite_stamper() if connection.dialect.name == "sqlite" else None
        self.raw = stamp is not None and all(
            self._stored(_utc(ts)) == stamp(ts)
            for ts in (0, 1_780_003_599)  # 21:39:59
        )
        self.stamp: Callable[[int], object] = stamp if stamp and self.raw else _utc

    def _stored(self, value: datetime) -> object:
        column_type = Contact.__table__.c.created_at.type
        param = bindparam("at", value, type_=column_type)
        return self.connection.execute(text("SELECT :at").bindparams(param)).scalar()

    def insert(self, model: type, rows: list[dict]) -> None:
        if not rows:
            return
        statement = insert(model.__table__)
        if not self.raw:
            self.connection.execute(statement, rows)
            return
        compiled = statement.compile(dialect=self.connection.dialect, column_keys=list(rows[0]))
        values = itemgetter(*compiled.positiontup)
        self.connection.exec_driver_sql(compiled.string, [values(row) for row in rows])


def _sqlite_stamper() -> Callable[[int], str]:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS.000000', naive UTC as stored."""
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000" for s in range(DAY)]
    days: dict[int, str] = {}

    def stamp(ts: int) -> str:
        day, second = divmod(ts, DAY)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = f"{date(1970, 1, 1) + timedelta(days=day)} "
        return prefix + times[second]

    return stamp


def _tag_ids(connection: Connection) -> dict[str, int]:
    """Ids of the demo tags, creating those the database lacks."""
    query = select(Tag.name, Tag.id).where(Tag.name.in_(TAGS))
    have = dict(connection.execute(query).all())
    missing = [{"name": name} for name in TAGS if name not in have]
    if missing:
        connection.execute(insert(Tag.__table__), missing)
        have = dict(connection.execute(query).all())
    return have


FTS_INSERT_TRIGGERS = {"contact_fts_insert": "contact", "interaction_fts_insert": "interaction"}


@contextmanager
def sqlite_bulk_load(connection: Connection, *, indexes: bool) -> Iterator[None]:
    """Let SQLite take the rows without per-row upkeep, then catch up in bulk.

    At 100,000 contacts the FTS5 triggers firing per row cost ~16 s and the
    indexes on scattered keys (times, names) ~9 s more. So the two FTS insert
    triggers and, if `indexes`, the indexes of the filled tables are dropped;
    afterwards one statement per table indexes the new rows in FTS5 and all
    is recreated from its own stored SQL (the migration stays the one place
    defining it). All in the caller's transaction: a failure undoes the drops."""
    if connection.dialect.name != "sqlite":
        yield
        return
    schema = connection.execute(
        text("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
             "AND sql IS NOT NULL AND tbl_name IN "
             "('contact', 'contact_tag', 'stage_change', 'interaction', 'followup')")
    ).all()  # fmt: skip
    dropped = [
        (kind, name, sql)
        for kind, name, sql in schema
        if name in FTS_INSERT_TRIGGERS or (kind == "index" and indexes)
    ]
    last_ids = {
        table: connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
        for table in FTS_INSERT_TRIGGERS.values()
    }
    for kind, name, _sql in dropped:
        connection.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    yield
    for _kind, name, sql in dropped:
        if name in FTS_INSERT_TRIGGERS:
            table = FTS_INSERT_TRIGGERS[name]
            connection.exec_driver_sql(
                f"INSERT INTO {table}_fts(rowid, search_text) "
                f"SELECT id, search_text FROM {table} WHERE id > {int(last_ids[table])}"
            )
        connection.exec_driver_sql(sql)


class _Maker:
    """Draws contacts and their histories as plain row dicts for Core."""

    def __init__(
        self,
        rng: random.Random,
        stages: list[str],
        now: datetime,
        stamp: Callable[[int], object],  # epoch seconds -> a datetime value to store
        tag_ids: dict[str, int],
    ):
        self.rng, self.stages, self.stamp, self.tag_ids = rng, stages, stamp, tag_ids
        self.now = int(now.timestamp())
        self.today = self.now - self.now % DAY
        self.summaries = {name: self._summary_pool(s) for name, s in SCRIPTS.items()}
        self.emails: set[str] = set()

    def _summary_pool(self, script: Script) -> dict[str, list[tuple[str, str]]]:
        pool = {}
        for kind, templates in SUMMARIES.items():
            texts = [t.format(p=p) for t in templates for p in PRODUCTS]
            native = [
                t.format(p=p) for t in script.summaries.get(kind, ()) for p in script.products
            ]
            texts += native * (len(texts) // len(native)) if native else []  # about half
            pool[kind] = [(s, search_text(s)) for s in texts]
        return pool

    def chunk(self, ids: range) -> dict[type, list[dict]]:
        rows = {m: [] for m in (Contact, ContactTag, StageChange, Interaction, FollowUp)}
        for contact_id in ids:
            self.contact(contact_id, rows)
        return rows

    def contact(self, contact_id: int, rows: dict[type, list[dict]]) -> None:
        rng, stamp = self.rng, self.stamp
        locale = LOCALE_DRAW[int(rng.random() * len(LOCALE_DRAW))]
        row = self.profile(contact_id, locale)
        created = self.now - rng.randrange(3600, 365 * DAY)
        changes = self.history(created)
        rows[StageChange] += [
            {"contact_id": contact_id, "from_stage": f, "to_stage": t, "at": stamp(ts), "reason": r}
            for f, t, ts, r in changes
        ]
        _, stage, entered, reason = changes[-1]
        row.update(
            stage=stage,
            stage_entered_at=stamp(entered),
            lost_reason=reason if stage == LOST else None,
            created_at=stamp(created),
            updated_at=stamp(entered + int(rng.random() * (self.now - entered) / 2)),
        )
        rows[Contact].append(row)
        span = (created, entered if stage == LOST else self.now)  # the lost are left alone
        won_at = entered if stage == WON else None
        pool = self.summaries[locale.script]
        purchases = self.interactions(row, pool, span, won_at, rows[Interaction])
        self.followups(row, created, rows[FollowUp])
        for tag in self.tags(row, purchases):
            rows[ContactTag].append({"contact_id": contact_id, "tag_id": self.tag_ids[tag]})

    def profile(self, contact_id: int, locale: Locale) -> dict:
        rng = self.rng
        script = SCRIPTS[locale.script]
        first, last = rng.choice(locale.names[0]), rng.choice(locale.names[1])
        surname, handle = last[1] if first[3] else last[0], f"{first[2]}.{last[2]}"
        if locale.names is ES and rng.random() < 0.7:  # both parents' surnames
            second = rng.choice(ES[1])
            if second != last:
                surname, handle = f"{surname} {second[0]}", handle + second[2][0]
        name = f"{first[0]} {surname}"
        if locale.script == "persian" and rng.random() < 0.05:
            name = name.translate(ARABIC_KEYS)
        has_company = rng.random() < 0.65
        company = rng.choice(script.companies).format(last=last[0]) if has_company else None
        email = self.email(contact_id, handle) if rng.random() < 0.75 else None
        phone = None
        if rng.random() < 0.85:
            digits = rng.randrange(2 * 10 ** (locale.digits - 1), 10**locale.digits)
            phone = f"{rng.choice(locale.phones)}{digits}"
        city, region = rng.choice(PLACES[locale]) if rng.random() < 0.9 else (None, None)
        value = rng.lognormvariate(7.2, 0.9) if rng.random() < 0.9 else None
        notes = rng.choice(script.notes) if rng.random() < 0.2 else None
        return {
            "id": contact_id, "name": name, "name_folded": fold(name), "email": email,
            "phone": phone, "company": company,
            "title": rng.choice(script.titles) if has_company and rng.random() < 0.8 else None,
            "city": city, "region": region,
            "country": locale.country if rng.random() < 0.95 else None,
            "industry": rng.choice(INDUSTRIES) if has_company else None,
            "source": rng.choice(SOURCES), "owner": rng.choice(OWNERS),
            "value_cents": int(value / 10) * 1000 if value else None,
            "notes": notes, "extra": self.extra(first[2]) if rng.random() < 0.15 else None,
            "score": 0, "search_text": search_text(name, email, phone, company, notes),
            "deleted_at": None, "version": 1,
        }  # fmt: skip

    def email(self, contact_id: int, handle: str) -> str:
        address = f"{handle.replace(' ', '')}@{self.rng.choice(MAIL_DOMAINS)}"
        if address in self.emails:  # the same name again: people add a number
            address = address.replace("@", f"{contact_id}@", 1)
        self.emails.add(address)
        return address

    def extra(self, handle: str) -> str:
        rng = self.rng
        key = rng.choice(EXTRA_KEYS)
        if key == "birthday":
            value = (date(1950, 1, 1) + timedelta(days=rng.randrange(52 * 365))).isoformat()
        else:
            value = f"@{handle}{rng.randrange(100)}" if key == "instagram" else "whatsapp"
        return json.dumps({key: value}, ensure_ascii=False, sort_keys=True)

    def history(self, created: int) -> list[tuple[str | None, str, int, str | None]]:
        """The funnel path from the creation stage (a change from None): mostly
        forward, sometimes skipping or going back, ending won, lost or open."""
        rng, stages = self.rng, self.stages
        index = min(rng.choice(START_INDEX), len(stages) - 1)
        path: list[tuple[str | None, str, str | None]] = [(None, stages[index], None)]
        stay = 0.08 + 0.5 * max(0.0, 1 - (self.now - created) / (60 * DAY))  # new: move less
        while len(path) < 10:
            r, here = rng.random(), path[-1][1]
            if r < stay:
                break
            if r < stay + 0.08:
                path.append((here, LOST, rng.choice(LOST_REASONS)))
                break
            index += -1 if r > 0.85 and index > 0 else 2 if r > 0.81 else 1
            if index >= len(stages):
                path.append((here, WON, None))
                break
            path.append((here, stages[index], None))
        times = [created, *sorted(rng.sample(range(created + 1, self.now + 1), len(path) - 1))]
        return [(f, t, ts, r) for (f, t, r), ts in zip(path, times, strict=True)]

    def interactions(self, row: dict, pool: dict, span, won_at: int | None, out: list) -> int:
        """About ten within `span`, more for customers; returns the purchases."""
        rng, stamp, contact_id, owner = self.rng, self.stamp, row["id"], row["owner"]
        start, end = span
        base = row["value_cents"] or 50_000
        count = rng.randint(1, 15) + (rng.randint(2, 8) if won_at else 0)
        purchases = 0
        for ts in sorted([start + int(rng.random() * (end - start)) for _ in range(count)]):
            kinds = CUSTOMER_KINDS if won_at and ts >= won_at else PROSPECT_KINDS
            kind = kinds[int(rng.random() * len(kinds))]
            summaries = pool[kind]
            summary, words = summaries[int(rng.random() * len(summaries))]
            amount = None
            if kind == "purchase":
                amount, purchases = int(base * (0.05 + 0.45 * rng.random())), purchases + 1
            elif kind == "quote":
                amount = int(base * (0.5 + rng.random())) // 100 * 100
            at = stamp(ts)
            out.append({
                "contact_id": contact_id, "kind": kind, "at": at, "summary": summary,
                "search_text": words, "amount_cents": amount, "created_at": at,
                "owner": owner if rng.random() < 0.85 else OWNERS[int(rng.random() * len(OWNERS))],
            })  # fmt: skip
        return purchases

    def followups(self, row: dict, created: int, out: list) -> None:
        """About two each: done ones, and open ones overdue, due today or later."""
        rng, now, stamp, contact_id, owner = self.rng, self.now, self.stamp, row["id"], row["owner"]
        closed = row["stage"] in (WON, LOST)
        for _ in range(FOLLOWUPS_PER_CONTACT[int(rng.random() * len(FOLLOWUPS_PER_CONTACT))]):
            is_done, r = rng.random() < (0.85 if closed else 0.45), rng.random()
            if is_done:
                due = rng.randint(created, now)
            elif r < 0.35:  # overdue
                due = rng.randint(max(created, now - 45 * DAY), now - 60)
            elif r < 0.5:  # today, in office hours
                due = max(created, self.today + rng.randrange(16, 36) * 1800)
            else:  # later, on the hour
                due = now - now % 3600 + rng.randint(1, 60 * 24) * 3600
            made = rng.randint(created, min(due, now))
            done = min(now, max(made, due + rng.randint(-2 * DAY, 3 * DAY))) if is_done else None
            snoozed = 0 if rng.random() < 0.75 else rng.randint(1, 3)
            recurring = not is_done and rng.random() < 0.1
            out.append({
                "contact_id": contact_id, "due_at": stamp(due), "note": rng.choice(FOLLOWUP_NOTES),
                "done_at": stamp(done) if done else None,
                "recurrence": rng.choice(RECURRENCES) if recurring else None,
                "snoozed": snoozed, "owner": owner, "created_at": stamp(made),
                "updated_at": stamp(done or (rng.randint(made, now) if snoozed else made)),
                "version": 1,
            })  # fmt: skip

    def tags(self, row: dict, purchases: int) -> list[str]:
        rng, stage = self.rng, row["stage"]
        chosen = [tag for tag, share in (("newsletter", 0.3), ("local", 0.15),
                  ("price-sensitive", 0.08)) if rng.random() < share]  # fmt: skip
        if row["company"] and rng.random() < 0.15:
            chosen.append("wholesale")
        if rng.random() < (0.25 if stage == WON else 0.02):
            chosen.append("vip")
        if stage == WON and purchases >= 3:
            chosen.append("repeat")
        if row["lost_reason"] == "no budget" or rng.random() < 0.03:
            chosen.append("no-budget")
        return chosen
