"""SQL helpers every report shares: portable day arithmetic, inlined
constants, group keys, counts and medians per group, read models as JSON."""

from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from minicrm.models import cents_to_major

NO_VALUE = "(none)"


# ------------------------------------------------------------ dialect switch


class days_between(FunctionElement):  # noqa: N801 - used like func.x()
    """Fractional days from the first datetime to the second. The reports'
    only dialect-specific SQL: julianday() on SQLite, EXTRACT(EPOCH) elsewhere."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_standard(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


def sql_text(value: str) -> Any:
    """A constant string inlined into SQL (only for our own fixed words), so
    grouping by an expression never depends on how a driver numbers parameters."""
    return literal_column("'" + value.replace("'", "''") + "'")


def as_json(model: Any) -> dict[str, Any]:
    """A read model's fields as JSON, in field order: `x_cents` becomes `x` in
    major units, datetimes ISO 8601, nested read models their own JSON."""
    out: dict[str, Any] = {}
    for item in fields(model):
        value = getattr(model, item.name)
        if item.name.endswith("_cents"):
            out[item.name.removesuffix("_cents")] = cents_to_major(value)
        elif isinstance(value, tuple):
            out[item.name] = [as_json(v) if is_dataclass(v) else v for v in value]
        else:
            out[item.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def group_value(column) -> Any:
    """A text column as a group key: empty and missing values become "(none)"."""
    return func.coalesce(func.nullif(column, sql_text("")), sql_text(NO_VALUE))


def group_order(key: str) -> tuple:
    """Groups alphabetically, "(none)" last."""
    return (key == NO_VALUE, key.casefold(), key)


def mean_and_median(session: Session, rows: Any, keys: list[str], value: str) -> list[tuple]:
    """(keys…, count, mean, median) of rows.c[value] per keys, all in SQL: the
    median averages the one or two middle rows of a row_number() window."""
    part = [rows.c[k] for k in keys]
    ranked = select(
        *part,
        rows.c[value].label("v"),
        func.row_number().over(partition_by=part or None, order_by=rows.c[value]).label("pos"),
        func.count().over(partition_by=part or None).label("size"),
    ).subquery()
    r = ranked.c
    middle = or_(r.pos == (r.size + 1) // 2, r.pos == (r.size + 2) // 2)
    grouping = [r[k] for k in keys]
    query = select(*grouping, func.count(), func.avg(r.v), func.avg(case((middle, r.v))))
    if grouping:
        query = query.group_by(*grouping)
    return [
        (*row[: len(keys)], row[-3], _float(row[-2]), _float(row[-1]))
        for row in session.execute(query).all()
        if row[-3]
    ]


def grouped(session: Session, rows: Any, keys: list[str], *aggregates) -> list[tuple]:
    """(keys…, count, aggregates…) per distinct keys of the subquery `rows`."""
    columns = [rows.c[k] for k in keys]
    query = select(*columns, func.count(), *aggregates).group_by(*columns)
    return [tuple(row) for row in session.execute(query)]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
