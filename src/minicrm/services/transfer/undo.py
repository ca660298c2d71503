"""Taking back what an import's manifest lists: deals without a contact,
companies and products it created, settings it changed."""

from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlmodel import Session

from minicrm.models import Company, Contact, Deal, DealLine, FollowUp, Interaction, Product, Setting

CHUNK = 500


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def changed_deals(session: Session, ids: list[int], since: datetime) -> list[tuple[int, str]]:
    """Deals of the manifest edited, moved or given activity since the import."""
    touched: dict[int, str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Deal.id, Deal.title).where(Deal.id.in_(chunk), Deal.version != 1)
        ).all()
        touched.update((i, f"deal {t}") for i, t in rows)
        for model in (Interaction, FollowUp):
            rows = session.execute(
                select(Deal.id, Deal.title)
                .join(model, model.deal_id == Deal.id)
                .where(Deal.id.in_(chunk), model.created_at > since)
                .distinct()
            ).all()
            touched.update((i, f"deal {t}") for i, t in rows)
    return sorted(touched.items())


def undo_manifest(session: Session, manifest: dict) -> None:
    for chunk in _chunks(manifest.get("deals", [])):
        session.execute(delete(Deal).where(Deal.id.in_(chunk)))
    for chunk in _chunks(manifest.get("products", [])):
        used = exists().where(DealLine.product_id == Product.id)
        session.execute(delete(Product).where(Product.id.in_(chunk), ~used))
    for chunk in _chunks(manifest.get("companies", [])):
        used = exists().where(Contact.company_id == Company.id)
        dealt = exists().where(Deal.company_id == Company.id)
        session.execute(
            delete(Company).where(Company.id.in_(chunk), ~used, ~dealt),
            execution_options={"synchronize_session": False},
        )
    for key, value in manifest.get("settings", {}).items():
        setting = session.get(Setting, key)
        if value is None:
            if setting is not None:
                session.delete(setting)
        elif setting is None:
            session.add(Setting(key=key, value=value, updated_at=datetime.now(UTC)))
        else:
            setting.value = value
    session.flush()
