"""The bulk-load helpers `crm demo` and the importers share: row inserts
through each table's own INSERT (with the timestamp text SQLite stores made
cheaply), and SQLite's FTS triggers and indexes set aside while rows pour in."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from sqlalchemy import Connection, bindparam, insert, text

from minicrm.models import Contact

DAY = 86_400
PEOPLE_TABLES = ("contact", "contact_tag", "stage_change", "interaction", "followup")


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
        self._statements: dict[tuple[str, tuple[str, ...]], tuple[str, Callable | None]] = {}

    def day(self, value: date | None) -> object:
        """A DATE column's value: the ISO text SQLite stores on the fast path."""
        return value.isoformat() if self.raw and value is not None else value

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

    def insert_rows(self, model: type, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """insert() of rows already laid out as tuples of `columns`: at 100,000
        contacts the dicts alone, built and taken apart again, cost seconds."""
        if not rows:
            return
        table = model.__table__
        if not self.raw:
            self.connection.execute(
                insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
            )
            return
        found = self._statements.get((table.name, columns))
        if found is None:
            compiled = insert(table).compile(
                dialect=self.connection.dialect, column_keys=list(columns)
            )
            order = [columns.index(key) for key in compiled.positiontup]
            reorder = None if order == list(range(len(columns))) else itemgetter(*order)
            found = self._statements[(table.name, columns)] = (compiled.string, reorder)
        sql, reorder = found
        self.connection.exec_driver_sql(sql, rows if reorder is None else list(map(reorder, rows)))


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


FTS_INSERT_TRIGGERS = {"contact_fts_insert": "contact", "interaction_fts_insert": "interaction"}


@contextmanager
def sqlite_bulk_load(
    connection: Connection, *, indexes: bool, tables: tuple[str, ...] = PEOPLE_TABLES
) -> Iterator[None]:
    """Let SQLite take the rows without per-row upkeep, then catch up in bulk.

    At 100,000 contacts the FTS5 triggers firing per row cost ~16 s and the
    indexes on scattered keys (times, names) ~9 s more. So the two FTS insert
    triggers and, if `indexes`, the indexes of the filled tables are dropped;
    afterwards one statement per table indexes the new rows in FTS5 and all
    is recreated from its own stored SQL (the migration stays the one place
    defining it). All in the caller's transaction: a failure undoes the drops.
    `tables`: the tables being filled (the people's, unless told)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    schema = connection.execute(
        text("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
             "AND sql IS NOT NULL AND tbl_name IN :tables").bindparams(
            bindparam("tables", list(tables), expanding=True)
        )
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
