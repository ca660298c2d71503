"""Floors for P2 and P7: the least a `crm` read command could cost.

    .venv/bin/python benchmarks/floor.py DB list LIMIT
    .venv/bin/python benchmarks/floor.py DB list-json | list-csv
    .venv/bin/python benchmarks/floor.py DB show REF
    .venv/bin/python benchmarks/floor.py DB search QUERY
    .venv/bin/python benchmarks/floor.py DB followups-today

Each one pays what any minicrm command must pay — the interpreter and
`import sqlmodel` — then runs the same SQL statements the services issue
(read off SQLAlchemy's echo of `crm list`, `crm show`, `crm search`), with
the same pragmas, through the stdlib sqlite3 module, and prints comparable
output. No ORM rows, no pydantic read models, no Typer. It folds text with
minicrm.text (stdlib only) so a REF or query matches exactly as in the app.
"""

import csv
import json
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

import sqlmodel  # noqa: F401  # the import every minicrm command pays; the floor pays it too

from minicrm.text import fold, tokens

BATCH = 500  # list_contacts streams with yield_per=500 and reads tags per batch
CONTACT_COLUMNS = (
    "id, name, name_folded, email, phone, company, title, city, region, country, industry, "
    "source, stage, stage_entered_at, value_cents, owner, notes, extra, score, lost_reason, "
    "search_text, created_at, updated_at, deleted_at, version"
)
CONTACT_SELECT = f"SELECT {CONTACT_COLUMNS} FROM contact"
CSV_COLUMNS = [
    "id", "name", "email", "phone", "company", "title", "city", "region", "country",
    "industry", "source", "stage", "value", "owner", "tags", "notes", "extra", "score",
    "lost_reason", "created_at", "updated_at",
]  # fmt: skip
PROFILE_FIELDS = (
    "email", "phone", "company", "title", "city", "region", "country", "industry", "source",
    "stage", "owner", "lost_reason", "score", "notes",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def connect(path: str) -> sqlite3.Connection:
    """The app's connection: its pragmas, its schema check, then one transaction."""
    con = sqlite3.connect(path, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=15000")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("BEGIN")
    con.execute("SELECT version_num FROM alembic_version").fetchone()
    con.execute("ROLLBACK")
    con.execute("BEGIN")
    return con


def timezone_setting(con: sqlite3.Connection) -> str | None:
    row = con.execute(
        'SELECT "key", value, updated_at FROM setting WHERE "key" = ?', ("timezone",)
    ).fetchone()
    return row["value"] if row else None


def utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def local(value: str | None) -> str:
    moment = utc(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def money(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:,.2f}".removesuffix(".00")


def major(cents: int | None):
    if cents is None:
        return None
    return cents // 100 if cents % 100 == 0 else cents / 100


def tags_of(con: sqlite3.Connection, ids: list[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = con.execute(
        "SELECT contact_tag.contact_id, tag.name FROM contact_tag "
        f"JOIN tag ON tag.id = contact_tag.tag_id WHERE contact_tag.contact_id IN ({marks}) "
        "ORDER BY tag.name",
        ids,
    )
    result: dict[int, list[str]] = {}
    for contact_id, name in rows:
        result.setdefault(contact_id, []).append(name)
    return result


def contact_json(row: sqlite3.Row, tags: list[str]) -> dict:
    return {
        "id": row["id"], "name": row["name"], "email": row["email"], "phone": row["phone"],
        "company": row["company"], "title": row["title"], "city": row["city"],
        "region": row["region"], "country": row["country"], "industry": row["industry"],
        "source": row["source"], "stage": row["stage"], "value": major(row["value_cents"]),
        "owner": row["owner"], "tags": tags,
        "notes": row["notes"], "extra": json.loads(row["extra"]) if row["extra"] else {},
        "score": row["score"], "lost_reason": row["lost_reason"],
        "created_at": utc(row["created_at"]).isoformat(),
        "updated_at": utc(row["updated_at"]).isoformat(),
    }  # fmt: skip


def live_contacts(con: sqlite3.Connection, limit: int | None):
    """(row, tags) for live contacts by name, in batches like list_contacts."""
    sql = f"{CONTACT_SELECT} WHERE deleted_at IS NULL ORDER BY name_folded, id"
    params: tuple = ()
    if limit is not None:
        sql, params = sql + " LIMIT ? OFFSET 0", (limit,)
    cursor = con.execute(sql, params)
    while batch := cursor.fetchmany(BATCH):
        tags = tags_of(con, [r["id"] for r in batch])
        for row in batch:
            yield row, tags.get(row["id"], [])


def print_plain_table(header: list[str], rows) -> None:
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows[:201]) for i in range(len(header))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


# ------------------------------------------------------------------ commands


def cmd_list(con: sqlite3.Connection, limit: str) -> None:
    timezone_setting(con)
    rows = (
        [str(r["id"]), r["name"], r["company"] or "", r["stage"], money(r["value_cents"]),
         str(r["score"]), r["owner"] or "", ", ".join(tags)]
        for r, tags in live_contacts(con, int(limit))
    )  # fmt: skip
    print_plain_table(["ID", "Name", "Company", "Stage", "Value", "Score", "Owner", "Tags"], rows)


def cmd_list_json(con: sqlite3.Connection) -> None:
    out = sys.stdout
    count = 0
    for count, (row, tags) in enumerate(live_contacts(con, None), start=1):
        out.write("[\n  " if count == 1 else ",\n  ")
        out.write(json.dumps(contact_json(row, tags), ensure_ascii=False))
    out.write("\n]\n" if count else "[]\n")


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cmd_list_csv(con: sqlite3.Connection) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row, tags in live_contacts(con, None):
        data = contact_json(row, tags)
        writer.writerow([csv_cell(data[k]) for k in CSV_COLUMNS])


def resolve_ref(con: sqlite3.Connection, ref: str) -> sqlite3.Row:
    text = ref.strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        row = con.execute(
            f"{CONTACT_SELECT} WHERE id = ? AND deleted_at IS NULL", (int(text),)
        ).fetchone()
        if row is None:
            sys.exit(f"no contact #{text}")
        return row
    if "@" in text:
        rows = con.execute(
            f"{CONTACT_SELECT} WHERE lower(email) = lower(?) AND deleted_at IS NULL "
            "LIMIT ? OFFSET 0",
            (text, 20),
        ).fetchall()
        if rows:
            return one(rows, text)
    fragment = fold(text)
    exact = con.execute(
        f"{CONTACT_SELECT} WHERE name_folded = ? AND deleted_at IS NULL LIMIT ? OFFSET 0",
        (fragment, 20),
    ).fetchall()
    if len(exact) == 1:
        return exact[0]
    escaped = fragment.replace("/", "//").replace("%", "/%").replace("_", "/_")
    rows = con.execute(
        f"{CONTACT_SELECT} WHERE (name_folded LIKE '%' || ? || '%' ESCAPE '/') "
        "AND deleted_at IS NULL ORDER BY name_folded LIMIT ? OFFSET 0",
        (escaped, 11),
    ).fetchall()
    return one(rows, text)


def one(rows: list[sqlite3.Row], ref: str) -> sqlite3.Row:
    if len(rows) != 1:
        sys.exit(f"{ref!r} matches {len(rows)} contacts")
    return rows[0]


def cmd_show(con: sqlite3.Connection, ref: str) -> None:
    contact = resolve_ref(con, ref)
    cid = contact["id"]
    tags = tags_of(con, [cid]).get(cid, [])
    interactions = con.execute(
        "SELECT id, contact_id, kind, at, summary, search_text, amount_cents, owner, created_at "
        "FROM interaction WHERE contact_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET 0",
        (cid, 20),
    ).fetchall()
    changes = con.execute(
        "SELECT id, contact_id, from_stage, to_stage, at, reason FROM stage_change "
        "WHERE contact_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET 0",
        (cid, 20),
    ).fetchall()
    followups = con.execute(
        "SELECT id, contact_id, due_at, note, done_at, recurrence, snoozed, owner, created_at, "
        "updated_at, version FROM followup WHERE contact_id = ? AND done_at IS NULL "
        "ORDER BY due_at",
        (cid,),
    ).fetchall()
    timezone_setting(con)
    lines = [f"#{cid}  {contact['name']}"]
    for field in PROFILE_FIELDS:
        if contact[field] not in (None, ""):
            lines.append(f"  {field.title() + ':':<13}{contact[field]}")
    if contact["value_cents"] is not None:
        lines.append(f"  {'Value:':<13}{money(contact['value_cents'])}")
    if tags:
        lines.append(f"  {'Tags:':<13}{', '.join(tags)}")
    for key, value in (json.loads(contact["extra"]) if contact["extra"] else {}).items():
        lines.append(f"  {key + ':':<13}{value}")
    lines.append(f"  {'Created:':<13}{local(contact['created_at'])}")
    lines += ["", "Follow-ups:" if followups else "Follow-ups: none open"]
    lines += [f"  [{f['id']}] {local(f['due_at'])}  {f['note'] or ''}".rstrip() for f in followups]
    timeline = [(utc(i["at"]), f"{i['kind']}: {i['summary'] or ''}") for i in interactions]
    timeline += [(utc(c["at"]), f"stage {c['from_stage']} → {c['to_stage']}") for c in changes]
    timeline.sort(key=lambda e: e[0], reverse=True)
    lines += ["", "Timeline:" if timeline else "Timeline: nothing yet"]
    lines += [f"  {at.astimezone():%Y-%m-%d %H:%M}  {text}" for at, text in timeline[:20]]
    print("\n".join(lines))


def cmd_search(con: sqlite3.Connection, query: str) -> None:
    words = tokens(query)
    match = " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)
    limit = 20
    con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='contact_fts'").fetchone()
    direct = [
        r[0]
        for r in con.execute(
            "SELECT c.id FROM contact_fts JOIN contact c ON c.id = contact_fts.rowid "
            "WHERE contact_fts MATCH ? AND c.deleted_at IS NULL "
            "ORDER BY bm25(contact_fts), c.id LIMIT ?",
            (match, limit),
        )
    ]
    indirect = [
        r[0]
        for r in con.execute(
            "SELECT i.contact_id FROM (SELECT rowid AS id, rank FROM interaction_fts "
            "WHERE interaction_fts MATCH ?) f "
            "JOIN interaction i ON i.id = f.id JOIN contact c ON c.id = i.contact_id "
            "WHERE c.deleted_at IS NULL "
            "GROUP BY i.contact_id ORDER BY min(f.rank), i.contact_id LIMIT ?",
            (match, limit),
        )
    ]
    ranked = [(i, "contact") for i in direct]
    ranked += [(i, "interaction") for i in indirect if i not in set(direct)]
    ranked = ranked[:limit]
    ids = [i for i, _ in ranked]
    marks = ", ".join("?" * len(ids))
    rows = {}
    if ids:
        rows = {r["id"]: r for r in con.execute(f"{CONTACT_SELECT} WHERE id IN ({marks})", ids)}
    tags_of(con, list(rows))
    if not ranked:
        print(f"nothing matches {query!r}", file=sys.stderr)
        return
    print_plain_table(
        ["ID", "Name", "Company", "Stage", "Matched in"],
        [
            [str(i), rows[i]["name"], rows[i]["company"] or "", rows[i]["stage"], where]
            for i, where in ranked
            if i in rows
        ],
    )


def cmd_followups_today(con: sqlite3.Connection) -> None:
    """Provisional (the command does not exist yet): open follow-ups due by
    the end of the local day, overdue first, with their contact's name.
    Align it with services/followups.py when `crm followup list` lands."""
    timezone_setting(con)
    now = datetime.now().astimezone()
    end_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    end_utc = end_of_day.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    rows = con.execute(
        "SELECT f.id, f.due_at, f.note, c.name FROM followup f "
        "JOIN contact c ON c.id = f.contact_id "
        "WHERE f.done_at IS NULL AND f.due_at < ? AND c.deleted_at IS NULL "
        "ORDER BY f.due_at, f.id",
        (end_utc,),
    )
    print_plain_table(
        ["ID", "Due", "Contact", "Note"],
        ([str(r["id"]), local(r["due_at"]), r["name"], r["note"] or ""] for r in rows),
    )


COMMANDS = {
    "list": cmd_list,
    "list-json": cmd_list_json,
    "list-csv": cmd_list_csv,
    "show": cmd_show,
    "search": cmd_search,
    "followups-today": cmd_followups_today,
}


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[2] not in COMMANDS:
        sys.exit(__doc__)
    con = connect(sys.argv[1])
    try:
        COMMANDS[sys.argv[2]](con, *sys.argv[3:])
        con.execute("COMMIT")
    finally:
        con.close()


if __name__ == "__main__":
    main()
