"""Finding a company by name, or creating it: what `--company NAME` means.

A company's name is unique among live companies when folded (case, accents,
Arabic/Persian variants), so "lopez bakery" and "Lopez Bakery" are one.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from minicrm.models import Company
from minicrm.text import fold


def find_company_by_name(session: Session, name: str) -> Company | None:
    """The live company whose folded name equals `name` folded, if any."""
    key = fold(name)
    if not key:
        return None
    return session.execute(
        select(Company)
        .where(Company.name_folded == key, Company.deleted_at.is_(None))
        .order_by(Company.id)
        .limit(1)
    ).scalar()


def company_for_name(
    session: Session, name: str | None, *, now: datetime | None = None
) -> Company | None:
    """The live company called `name`, created when there is none; None for
    an empty name."""
    name = (name or "").strip()
    if not name:
        return None
    company = find_company_by_name(session, name)
    if company is None:
        now = now or datetime.now(UTC)
        company = Company(name=name, name_folded=fold(name), created_at=now, updated_at=now)
        session.add(company)
        session.flush()
    return company
