"""`crm export deals --format csv|json`: the live deals as SPEC §1a deal
objects, by id, streamed a batch at a time (one query per batch for their
names and lines). CSV has the deal keys as header, `extra` and `lines` as
JSON text, and is formula-safe like the contact export."""

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlmodel import Session

from minicrm.models import Deal, DealRead
from minicrm.services.scoring.freshness import ensure_fresh_scores
from minicrm.services.transfer.exporting import _write_array, csv_cell, neutralize_formula

DEAL_COLUMNS = (
    "id", "title", "contact_id", "contact_name", "company_id", "company", "stage", "value",
    "expected_close", "closed_at", "lost_reason", "lost_at_stage", "owner", "source", "score",
    "notes", "extra", "lines", "created_at", "updated_at",
)  # fmt: skip
BATCH = 1000


def live_deals(
    session: Session, *, owner: str | None = None, now: datetime | None = None
) -> Iterator[DealRead]:
    from minicrm.services.deals.reading import read_deals

    ensure_fresh_scores(session, now=now)
    query = select(Deal).where(Deal.deleted_at.is_(None)).order_by(Deal.id)
    if owner:
        query = query.where(Deal.owner == owner)
    for batch in session.execute(query.execution_options(yield_per=BATCH)).scalars().partitions():
        yield from read_deals(session, list(batch))


def write_deals_json(deals, out: TextIO) -> int:
    count = _write_array((d.to_json() for d in deals), out, indent="")
    out.write("\n")
    return count


def write_deals_csv(deals, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DEAL_COLUMNS)
    count = 0
    for deal in deals:
        data = deal.to_json()
        cells = []
        for column in DEAL_COLUMNS:
            value = data[column]
            if column == "lines":
                text = json.dumps(value, ensure_ascii=False) if value else ""
                cells.append(neutralize_formula(text))
            else:
                cells.append(csv_cell(value))
        writer.writerow(cells)
        count += 1
    return count
