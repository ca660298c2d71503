"""generate_demo: draws the rows chunk by chunk and bulk-loads them."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, text
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    Company,
    Contact,
    ContactTag,
    Deal,
    DealLine,
    FollowUp,
    Interaction,
    Product,
    StageChange,
    Tag,
)
from minicrm.services.demo.batches import high_water, record_batch
from minicrm.services.demo.catalogue import CATALOGUE, TAGS
from minicrm.services.demo.maker import Maker
from minicrm.services.records import config
from minicrm.services.transfer.bulk_load import PEOPLE_TABLES, RowWriter, sqlite_bulk_load
from minicrm.text import fold

CHUNK_CONTACTS = 1_000  # ~10,000 interaction rows per insert
# Parents first: a deal names its company and contact, a line its deal.
TABLES = (Company, Contact, ContactTag, Deal, DealLine, StageChange, Interaction, FollowUp)
SALES_TABLES = ("company", "deal", "deal_line")


@dataclass(frozen=True)
class DemoSummary:
    """How many rows generate_demo wrote; `tags` counts contact-tag links,
    `products` the catalogue entries it added (0 when they were there)."""

    contacts: int = 0
    interactions: int = 0
    followups: int = 0
    stage_changes: int = 0
    tags: int = 0
    companies: int = 0
    deals: int = 0
    deal_lines: int = 0
    products: int = 0


def generate_demo(
    session: Session, *, contacts: int = 200, seed: int = 1, now: datetime | None = None
) -> DemoSummary:
    """Add `contacts` demo contacts, their companies and deals, with a year of
    history before `now`, and the product catalogue if it is missing.

    Existing data stays (new ids follow the highest one) and the run's id
    ranges are recorded (demo/batches.py); the caller's session_scope commits."""
    if contacts < 0:
        raise UserError("--contacts must be 0 or more")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if contacts == 0:
        return DemoSummary()
    session.flush()
    writer = RowWriter(session.connection())
    connection = writer.connection
    before = high_water(connection)  # what this run adds lies above, for `crm demo --remove`
    stages = config.open_stages(session)
    added_products, products = _catalogue(connection, now)

    def next_id(model) -> int:
        from minicrm.db import highest_id_used

        return highest_id_used(connection, model.__tablename__) + 1

    first_id = next_id(Contact)
    end_id = first_id + contacts
    maker = Maker(
        random.Random(seed), stages, now, writer, tag_ids(connection), products,
        first_ids={Company: next_id(Company), Deal: next_id(Deal), DealLine: next_id(DealLine)},
        known_companies=dict(
            connection.execute(
                select(Company.name_folded, Company.id).where(Company.deleted_at.is_(None))
            ).all()
        ),
    )  # fmt: skip
    counts = dict.fromkeys(TABLES, 0)
    # Rebuilding an index beats inserting into it once the new rows outnumber the old.
    with sqlite_bulk_load(
        connection, indexes=contacts >= first_id - 1, tables=PEOPLE_TABLES + SALES_TABLES
    ):
        for start in range(first_id, end_id, CHUNK_CONTACTS):
            rows = maker.chunk(range(start, min(start + CHUNK_CONTACTS, end_id)))
            for model in TABLES:
                writer.insert(model, rows[model])
                counts[model] += len(rows[model])
    if connection.dialect.name == "postgresql":  # ids given, not drawn
        for table in ("contact", "company", "deal", "deal_line"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"GREATEST((SELECT max(id) FROM {table}), 1), "
                     f"(SELECT count(*) > 0 FROM {table}))")
            )  # fmt: skip
    record_batch(session, before, high_water(connection), seed=seed, now=now)
    _score(session, None if first_id == 1 else list(range(first_id, end_id)), now)
    return DemoSummary(
        contacts=counts[Contact],
        interactions=counts[Interaction],
        followups=counts[FollowUp],
        stage_changes=counts[StageChange],
        tags=counts[ContactTag],
        companies=counts[Company],
        deals=counts[Deal],
        deal_lines=counts[DealLine],
        products=added_products,
    )


def _catalogue(connection, now: datetime) -> tuple[int, list[tuple[int, int]]]:
    """The demo products (id, price), adding those missing by folded name."""

    def key(name: str) -> str:
        return "".join(fold(name).split())

    wanted = {key(name): (name, code, price) for name, code, price in CATALOGUE}
    query = select(Product.name_key, Product.id, Product.price_cents).where(
        Product.name_key.in_(list(wanted))
    )
    have = {k: (i, p) for k, i, p in connection.execute(query).all()}
    missing = [
        {"name": name, "name_key": k, "code": code, "price_cents": price, "active": True,
         "created_at": now, "updated_at": now}
        for k, (name, code, price) in wanted.items() if k not in have
    ]  # fmt: skip
    if missing:
        connection.execute(insert(Product.__table__), missing)
        have = {k: (i, p) for k, i, p in connection.execute(query).all()}
    return len(missing), [have[k] for k in wanted]


def _score(session: Session, ids: list[int] | None, now: datetime) -> None:
    """Scores by the rules, as of `now`: recompute_scores scores the contacts'
    deals and brings each contact's copy of its current deal's in step. Into
    an empty database (ids None) every deal is new: the whole-table pass is
    faster, and it records the day the scores are fresh for."""
    from minicrm.services.scoring.scores import recompute_scores

    recompute_scores(session, ids, now=now)


def tag_ids(connection: Connection) -> dict[str, int]:
    """Ids of the demo tags, creating those the database lacks."""
    query = select(Tag.name, Tag.id).where(Tag.name.in_(TAGS))
    have = dict(connection.execute(query).all())
    missing = [{"name": name} for name in TAGS if name not in have]
    if missing:
        connection.execute(insert(Tag.__table__), missing)
        have = dict(connection.execute(query).all())
    return have
