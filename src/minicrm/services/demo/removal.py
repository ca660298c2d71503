"""remove_demo: takes out the rows `crm demo` recorded (demo/batches.py).

What goes: the demo contacts with everything on them (deals, lines,
interactions, follow-ups, stage history, tag links, cadences) - also what
someone added to a demo contact since, which is that contact's history as
`crm rm --purge` sees it - and the demo's deals no contact is on. The
companies, products and tags a run created go unless a row that stays uses
them (your contact at a demo company keeps it, as `crm import --undo` does);
a demo deal moved onto one of your contacts stays with it. Nothing else is
touched.

Every rule is an SQL condition over the recorded id ranges, so the same
condition counts the rows first and deletes them after, children first.
"""

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, not_, or_, select
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import (
    Cadence,
    Company,
    CompanyTag,
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
from minicrm.services.demo.batches import Batch, forget_batches, id_ranges, read_batches
from minicrm.services.demo.catalogue import TAGS

# A database demo'd before runs were recorded has most of the demo's tags.
OLD_DEMO_TAGS = 5


@dataclass(frozen=True)
class DemoRemoval:
    """Rows per kind `remove_demo` takes out (tag_links: contacts' tags).
    `later` counts those of them added to demo records after the demo (they
    go with their contact or deal); `kept` the demo's own rows left because
    rows that stay use them. Both are keyed by the field names above them."""

    runs: int = 0
    contacts: int = 0
    companies: int = 0
    deals: int = 0
    deal_lines: int = 0
    products: int = 0
    tags: int = 0
    interactions: int = 0
    followups: int = 0
    stage_changes: int = 0
    tag_links: int = 0
    cadences: int = 0
    later: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)


def plan_demo_removal(session: Session) -> DemoRemoval:
    """What remove_demo would take out now; changes nothing."""
    batches = _recorded_batches(session)
    return _count(_DemoRows(batches), session, runs=len(batches))


def remove_demo(session: Session) -> DemoRemoval:
    """Delete the recorded demo rows (see the module's docstring) and the
    record of them; returns what went. The caller's session_scope commits."""
    batches = _recorded_batches(session)
    rows = _DemoRows(batches)
    removal = _count(rows, session, runs=len(batches))
    for model, condition, _table in rows.kinds().values():
        session.execute(
            delete(model).where(condition), execution_options={"synchronize_session": False}
        )
    forget_batches(session)
    session.expire_all()  # rows deleted behind the ORM's back
    return removal


def _recorded_batches(session: Session) -> list[Batch]:
    batches = read_batches(session)
    if batches:
        return batches
    old_tags = select(func.count()).select_from(Tag).where(Tag.name.in_(TAGS))
    if batches is None and session.execute(old_tags).scalar_one() >= OLD_DEMO_TAGS:
        raise UserError(
            "this database looks like it holds demo data from before `crm demo` marked its "
            "rows; those rows cannot be told apart from yours, so nothing was removed"
        )
    raise UserError("no demo data here; nothing removed")


def _count(rows: "_DemoRows", session: Session, *, runs: int) -> DemoRemoval:
    def count(model, condition) -> int:
        query = select(func.count()).select_from(model).where(condition)
        return session.execute(query).scalar_one()

    kinds = rows.kinds()
    removed = {name: count(model, condition) for name, (model, condition, _t) in kinds.items()}
    later, kept = {}, {}
    for name, (model, condition, table) in kinds.items():
        ours = rows.in_batches(model.id, table) if table else false()
        if name in ("deals", "deal_lines", "interactions", "followups", "stage_changes"):
            later[name] = count(model, and_(condition, not_(ours)))
        elif name == "cadences":  # the demo makes none
            later[name] = removed[name]
        if name in ("companies", "deals", "products"):
            kept[name] = count(model, ours) - (removed[name] - later.get(name, 0))
    return DemoRemoval(
        runs=runs,
        **removed,
        later={k: v for k, v in later.items() if v},
        kept={k: v for k, v in kept.items() if v},
    )


class _DemoRows:
    """SQL conditions picking out, table by table, the rows that go."""

    def __init__(self, batches: list[Batch]):
        self.batches = batches

    def kinds(self) -> dict[str, tuple[type, ColumnElement[bool], str | None]]:
        """Field name -> (table, condition, table whose id ranges were recorded),
        in the order they are deleted: children before the rows they name."""
        return {
            "deal_lines": (DealLine, self.deal_id(DealLine.deal_id), "deal_line"),
            "stage_changes": (
                StageChange,
                or_(self.contact(StageChange.contact_id), self.deal_id(StageChange.deal_id)),
                "stage_change",
            ),
            "interactions": (Interaction, self.contact(Interaction.contact_id), "interaction"),
            "followups": (FollowUp, self.contact(FollowUp.contact_id), "followup"),
            "tag_links": (ContactTag, self.contact(ContactTag.contact_id), None),
            "cadences": (Cadence, self.contact(Cadence.contact_id), None),
            "deals": (Deal, self.deal(), "deal"),
            "contacts": (Contact, self.contact(Contact.id), "contact"),
            "companies": (Company, self.company(), "company"),
            "products": (Product, self.product(), "product"),
            "tags": (Tag, self.tag(), "tag"),
        }

    def in_batches(self, column, table: str) -> ColumnElement[bool]:
        """`column` is an id one of the runs gave `table` (never NULL: a NULL
        would make NOT of this unknown, and a row that stays look gone)."""
        ranges = id_ranges(self.batches, table)
        if not ranges:
            return false()
        return and_(column.is_not(None), or_(*(column.between(lo, hi) for lo, hi in ranges)))

    def contact(self, column) -> ColumnElement[bool]:
        return self.in_batches(column, "contact")

    def deal(self) -> ColumnElement[bool]:
        """Every deal of a demo contact, and the demo's deals that no contact is on."""
        alone = and_(Deal.contact_id.is_(None), self.in_batches(Deal.id, "deal"))
        return or_(self.contact(Deal.contact_id), alone)

    def deal_id(self, column) -> ColumnElement[bool]:
        return column.in_(select(Deal.id).where(self.deal()))

    def company(self) -> ColumnElement[bool]:
        staying_contact = exists().where(
            Contact.company_id == Company.id, not_(self.contact(Contact.id))
        )
        staying_deal = exists().where(Deal.company_id == Company.id, not_(self.deal()))
        return and_(self.in_batches(Company.id, "company"), ~staying_contact, ~staying_deal)

    def product(self) -> ColumnElement[bool]:
        staying_line = exists().where(
            DealLine.product_id == Product.id, not_(self.deal_id(DealLine.deal_id))
        )
        return and_(self.in_batches(Product.id, "product"), ~staying_line)

    def tag(self) -> ColumnElement[bool]:
        on_contact = exists().where(
            ContactTag.tag_id == Tag.id, not_(self.contact(ContactTag.contact_id))
        )
        on_company = exists().where(
            CompanyTag.tag_id == Tag.id,
            CompanyTag.company_id.not_in(select(Company.id).where(self.company())),
        )
        in_cadence = exists().where(Cadence.tag == Tag.name)
        return and_(self.in_batches(Tag.id, "tag"), ~on_contact, ~on_company, ~in_cadence)
