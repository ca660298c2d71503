"""What the deal and company screens run in their thread workers: each
function opens its own session, calls the services and returns read models.

No Textual here (like data.py and workers.py): plain functions, testable
without an app.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from minicrm.db import session_scope
from minicrm.models import CompanyRead, ContactRead, DealRead, StageChangeRead

# ------------------------------------------------------------------- deals


@dataclass(frozen=True)
class DealView:
    deal: DealRead
    history: list[StageChangeRead]
    stages: list[str] = field(default_factory=list)
    currency: str = "USD"


def load_deal(engine: Engine, deal_id: int, *, now: datetime | None = None) -> DealView:
    from minicrm.services.deals.deals import deal_detail
    from minicrm.services.records.config import all_stages, get_setting

    with session_scope(engine, write=False) as session:
        detail = deal_detail(session, deal_id, now=now)
        return DealView(
            deal=detail.deal,
            history=detail.history,
            stages=all_stages(session),
            currency=get_setting(session, "currency") or "USD",
        )


def deals_of_contact(engine: Engine, contact_id: int) -> list[DealRead]:
    from minicrm.services.deals.reading import deals_of_contact as of_contact

    with session_scope(engine, write=False) as session:
        return of_contact(session, contact_id)


def move_deal(
    engine: Engine, deal_id: int, *, stage: str, reason: str = "", now: datetime
) -> DealRead:
    """Move one deal, as `crm deal stage` does: its contact's copy of the
    current deal and its score follow."""
    from minicrm.services.deals.deals import stage_deal

    with session_scope(engine) as session:
        return stage_deal(session, deal_id, stage, reason=reason or None, now=now)


def add_deal_line(engine: Engine, deal_id: int, *, spec: str, now: datetime) -> DealRead:
    """A line from "PRODUCT x QTY [@ PRICE] [-D%]", as `crm deal line add`
    takes it; a spec refused is explained under the form's field."""
    from minicrm.errors import UserError, ValidationError
    from minicrm.services.deals.deals import add_deal_lines

    if not spec.strip():
        raise ValidationError("type a line, e.g. Widget x 3 @ 12.50 -10%", field="spec")
    with session_scope(engine) as session:
        try:
            return add_deal_lines(session, deal_id, [spec], now=now)
        except ValidationError:
            raise
        except UserError as exc:  # unknown product, bad quantity…: under the field
            raise ValidationError(exc.message, field="spec") from exc


# --------------------------------------------------------------- companies


@dataclass(frozen=True)
class CompanyView:
    company: CompanyRead
    people: list[ContactRead]
    deals: list[DealRead]  # the open ones, soonest close first
    won_revenue_cents: int = 0


def list_companies(engine: Engine, filter_text: str = "", *, limit: int = 200) -> list[CompanyRead]:
    """Companies by name; `filter_text` matches name, domain or email, folded
    as `crm company list --search` does."""
    from minicrm.services.companies.reading import CompanyFilter
    from minicrm.services.companies.reading import list_companies as listed

    with session_scope(engine, write=False) as session:
        return listed(session, CompanyFilter(search=filter_text or None), limit=limit)


def load_company(engine: Engine, company_id: int, *, now: datetime | None = None) -> CompanyView:
    from minicrm.services.profiles.company import company_profile

    with session_scope(engine, write=False) as session:
        shown = company_profile(session, company_id, timeline_limit=0, now=now)
    return CompanyView(
        company=shown.company,
        people=list(shown.people),
        deals=list(shown.deals),
        won_revenue_cents=shown.won_revenue_cents,
    )
