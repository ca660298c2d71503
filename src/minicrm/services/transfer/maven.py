"""Importing the Maven Analytics "CRM + Sales + Opportunities" files.

Four files, read together as one batch in the caller's one transaction:

  accounts.csv        → companies: sector → industry, office_location →
                        country; revenue, employees, year_established,
                        subsidiary_of, office_location → extra
  products.csv        → the catalogue: series → code, sales_price → price
  sales_teams.csv     → per agent, manager and regional_office, kept in
                        each of the agent's deals' extra
  sales_pipeline.csv  → deals: opportunity_id → title and
                        extra.opportunity_id, account → company, sales_agent
                        → owner, product → one line (quantity 1, unit price =
                        close_value when won, else the product's price),
                        engage_date → created_at, close_date → closed_at,
                        close_value → value

Stages Prospecting/Engaging/Won/Lost become `prospecting,engaging` plus
won/lost. A deal is created at its engage date in its stage (Engaging, or
Prospecting with no engage date: created now), and a closed one moves from
engaging into won or lost at its close date (so lost_at_stage = engaging).
No contacts are made: Maven has none. A product spelled differently in the
pipeline by case or spacing ("GTXPro") is the catalogue's product ("GTX Pro").
Everything created is listed in the batch's manifest for `crm import --undo`.
"""

import csv
import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import LOST, WON, Contact, Deal, DealLine, ImportBatch, Product, Setting
from minicrm.services.records import config
from minicrm.services.records.validation import money_to_cents
from minicrm.services.transfer.bulk import Companies, deal_ids, write_manifest
from minicrm.services.transfer.importing import ImportReport
from minicrm.text import fold

FILES = ("accounts.csv", "products.csv", "sales_teams.csv", "sales_pipeline.csv")
OPEN_STAGES = ("prospecting", "engaging")
STAGES = {"prospecting": "prospecting", "engaging": "engaging", "won": WON, "lost": LOST}
CHUNK = 2_000


def maven_files(paths: list[Path]) -> dict[str, Path] | None:
    """The four Maven files when `paths` is their folder or the four files
    themselves; None when this is not a Maven import."""
    if len(paths) == 1 and paths[0].is_dir():
        found = {name: paths[0] / name for name in FILES}
        missing = [n for n, p in found.items() if not p.is_file()]
        if missing:
            raise UserError(
                f"{paths[0]} is a folder but not the Maven CRM files: {', '.join(missing)} missing"
            )
        return found
    names = {p.name.lower(): p for p in paths}
    if len(paths) == 1 and paths[0].name.lower() not in FILES:
        return None
    missing = [n for n in FILES if n not in names]
    if missing or len(paths) != len(FILES):
        raise UserError(
            "several files import together only as the four Maven CRM files "
            f"({', '.join(FILES)}); missing: {', '.join(missing) or 'none'}"
        )
    return {name: names[name] for name in FILES}


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in
                    csv.DictReader(handle)]  # fmt: skip
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _need(rows: list[dict], name: str, columns: tuple[str, ...]) -> None:
    have = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in have]
    if missing:
        raise UserError(f"{name}: column(s) {', '.join(missing)} missing")


def product_key(name: str) -> str:
    return "".join(fold(name).split())


def _number(value: str) -> Any:
    if not value:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def import_maven(
    session: Session, files: dict[str, Path], *, now: datetime | None = None
) -> ImportReport:
    """Read the four files and write them as one import batch."""
    from minicrm.services.transfer.bulk_load import RowWriter

    now = (now or datetime.now(UTC)).replace(microsecond=0)
    data = {name: _read(path) for name, path in files.items()}
    _need(data["accounts.csv"], "accounts.csv", ("account", "sector", "office_location"))
    _need(data["products.csv"], "products.csv", ("product", "series", "sales_price"))
    _need(data["sales_teams.csv"], "sales_teams.csv", ("sales_agent", "manager"))
    _need(data["sales_pipeline.csv"], "sales_pipeline.csv", (
        "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
        "close_date", "close_value"))  # fmt: skip
    folder = files["sales_pipeline.csv"].parent
    report = ImportReport(f"{folder.name or folder}/ (Maven CRM)", "maven", dry_run=False)
    settings = _settle_stages(session, now)
    batch = ImportBatch(file_name=report.file_name, format="maven", created_at=now, counts="{}")
    session.add(batch)
    session.flush()
    report.batch_id = batch.id
    writer = RowWriter(session.connection())
    stamp = writer.stamp
    companies = Companies(session, writer)
    names, extra = {}, {}
    for row in data["accounts.csv"]:
        key = fold(row["account"])
        if not key:
            continue
        names.setdefault(key, row["account"])
        details = {k: _number(row.get(k, "")) for k in ("revenue", "employees", "year_established")}
        details["office_location"] = row.get("office_location") or None
        details["subsidiary_of"] = row.get("subsidiary_of") or None
        details = {k: v for k, v in details.items() if v is not None}
        extra[key] = {
            "industry": row.get("sector") or None, "country": row.get("office_location") or None,
            "extra": json.dumps(details, sort_keys=True) if details else None,
        }  # fmt: skip
    for row in data["sales_pipeline.csv"]:  # an account the accounts file lacks
        if row["account"]:
            names.setdefault(fold(row["account"]), row["account"])
    companies.resolve(names, now, extra)
    products, created_products = _products(session, data["products.csv"], stamp, now)
    teams = {r["sales_agent"]: r for r in data["sales_teams.csv"]}
    deals, changes, lines = [], [], []
    ids = deal_ids(session.connection())
    zone = config.local_zone_of(session)
    for line, row in enumerate(data["sales_pipeline.csv"], start=2):
        deal, steps, deal_line = _deal(row, line, next(ids), companies, products, teams, zone, now)
        deals.append({k: stamp(int(v.timestamp())) if isinstance(v, datetime) else v
                      for k, v in deal.items()})  # fmt: skip
        changes += [
            {
                "deal_id": deal["id"],
                "contact_id": None,
                "from_stage": f,
                "to_stage": t,
                "at": stamp(int(at.timestamp())),
                "reason": None,
            }
            for f, t, at in steps
        ]
        lines.append(deal_line)
    for model, rows in ((Deal, deals), (DealLine, lines)):
        for start in range(0, len(rows), CHUNK):
            writer.insert(model, rows[start : start + CHUNK])
    from minicrm.models import StageChange

    for start in range(0, len(changes), CHUNK):
        writer.insert(StageChange, changes[start : start + CHUNK])
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('deal', 'id'), "
                             "coalesce(max(id), 1)) FROM deal"))  # fmt: skip
    write_manifest(session, batch.id, {
        "deals": [d["id"] for d in deals], "companies": companies.created,
        "products": created_products, "settings": settings,
    })  # fmt: skip
    report.created = len(deals)
    report.notes.append(
        f"{len(deals)} deals, {len(companies.created)} new companies, "
        f"{len(created_products)} new products, {len(teams)} sales agents"
    )
    batch.counts = json.dumps(report.counts())
    session.flush()
    return report


def _settle_stages(session: Session, now: datetime) -> dict[str, str | None]:
    """The open stages must be prospecting,engaging. An empty database gets
    them (the old setting goes in the manifest); one using others is refused."""
    stages = config.open_stages(session)
    if tuple(stages) == OPEN_STAGES:
        return {}
    in_use = session.execute(select(func.count()).select_from(Deal)).scalar()
    people = session.execute(select(func.count()).select_from(Contact)).scalar()
    if in_use or people:
        raise UserError(
            f"the Maven pipeline needs the open stages {','.join(OPEN_STAGES)}, but this "
            f"database uses {','.join(stages)} ({in_use} deals, {people} contacts); import it "
            "into a new database (crm --db NEW.db import DIR) or set them first: "
            f"crm config set stages {','.join(OPEN_STAGES)}"
        )
    old = session.get(Setting, "stages")
    before = old.value if old else None
    config.set_setting(session, "stages", ",".join(OPEN_STAGES), now=now)
    return {"stages": before} if before is not None else {"stages": None}


def _products(session: Session, rows: list[dict], stamp, now: datetime):
    """name key → (id, price_cents); the catalogue's own products are reused."""
    table = Product.__table__
    known = {key: (pid, price) for key, pid, price in session.execute(
        select(table.c.name_key, table.c.id, table.c.price_cents))}  # fmt: skip
    created = []
    at = now
    for row in rows:
        key = product_key(row["product"])
        if not key or key in known:
            continue
        price = money_to_cents(row["sales_price"], field="sales_price") or 0
        product = Product(name=row["product"], name_key=key, code=row.get("series") or None,
                          price_cents=price, created_at=at, updated_at=at)  # fmt: skip
        session.add(product)
        session.flush()
        known[key] = (product.id, price)
        created.append(product.id)
    return known, created


def _date(value: str, zone, line: int, what: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserError(f"sales_pipeline.csv line {line}: {what} {value!r} is not a date") from None
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


def _deal(row, line, deal_id, companies, products, teams, zone, now):
    stage = STAGES.get(row["deal_stage"].strip().lower())
    if stage is None:
        raise UserError(
            f"sales_pipeline.csv line {line}: unknown deal_stage {row['deal_stage']!r} "
            "(expected Prospecting, Engaging, Won or Lost)"
        )
    product = products.get(product_key(row["product"]))
    if product is None:
        raise UserError(f"sales_pipeline.csv line {line}: product {row['product']!r} is not in "
                        "products.csv")  # fmt: skip
    engaged = _date(row["engage_date"], zone, line, "engage_date")
    closed = _date(row["close_date"], zone, line, "close_date")
    if stage in (WON, LOST) and closed is None:
        raise UserError(f"sales_pipeline.csv line {line}: a {stage} deal needs a close_date")
    created = engaged or closed or now
    if closed is not None and closed < created:
        raise UserError(f"sales_pipeline.csv line {line}: closed before it was engaged")
    value = money_to_cents(row["close_value"], field="close_value")
    if stage in (WON, LOST):
        steps = [(None, "engaging", created), ("engaging", stage, closed)]
    else:
        steps = [(None, stage, created)]
    company = companies.of(row["account"])
    team = teams.get(row["sales_agent"], {})
    extra = {"opportunity_id": row["opportunity_id"], "manager": team.get("manager") or None,
             "regional_office": team.get("regional_office") or None}  # fmt: skip
    extra = {k: v for k, v in extra.items() if v}
    unit = value if stage == WON and value is not None else product[1]
    deal = {
        "id": deal_id, "title": row["opportunity_id"] or f"line {line}", "contact_id": None,
        "company_id": company[0] if company else None, "stage": stage,
        "stage_entered_at": steps[-1][2], "value_cents": value, "expected_close": None,
        "closed_at": closed if stage in (WON, LOST) else None,
        "lost_reason": "unknown" if stage == LOST else None,
        "lost_at_stage": "engaging" if stage == LOST else None,
        "owner": row["sales_agent"] or None, "source": None, "score": 0, "notes": None,
        "extra": json.dumps(extra, sort_keys=True), "created_at": created, "updated_at": now,
        "deleted_at": None, "version": 1,
    }  # fmt: skip
    deal_line = {"deal_id": deal_id, "product_id": product[0], "description": None,
                 "quantity": 1.0, "unit_price_cents": unit, "discount": 0.0,
                 "total_cents": unit}  # fmt: skip
    return deal, steps, deal_line
