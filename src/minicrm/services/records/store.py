"""Health of the store: integrity, schema version and row counts (`crm db check`)."""

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlmodel import Session

from minicrm.models import Contact, FollowUp, Interaction, StageChange


@dataclass
class StoreReport:
    backend: str
    server_version: str
    schema_revision: str | None
    schema_head: str
    integrity: str
    foreign_key_problems: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.integrity == "ok"
            and self.foreign_key_problems == 0
            and self.schema_revision == self.schema_head
        )

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "backend": self.backend,
            "server_version": self.server_version,
            "schema_revision": self.schema_revision,
            "schema_head": self.schema_head,
            "integrity": self.integrity,
            "foreign_key_problems": self.foreign_key_problems,
            "counts": self.counts,
        }


def check_store(session: Session) -> StoreReport:
    from minicrm.db import SCHEMA_HEAD

    bind = session.get_bind()
    backend = bind.dialect.name
    integrity, fk_problems = "ok", 0
    if backend == "sqlite":
        problems = session.execute(text("PRAGMA integrity_check")).scalars().all()
        integrity = "; ".join(problems)
        fk_problems = len(session.execute(text("PRAGMA foreign_key_check")).all())
        if session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'contact_fts'")).scalar():
            # FTS5's own check: the index matches the rows it was built from.
            try:
                session.execute(
                    text("INSERT INTO contact_fts(contact_fts) VALUES('integrity-check')")
                )
                session.execute(
                    text("INSERT INTO interaction_fts(interaction_fts) VALUES('integrity-check')")
                )
            except Exception as exc:  # reported, not raised: this is a check
                integrity = f"full-text index damaged: {exc}"
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    version_query = "SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version"
    server_version = str(session.execute(text(version_query)).scalar())
    counts = {
        "contacts": _count(session, Contact, Contact.deleted_at.is_(None)),
        "trashed_contacts": _count(session, Contact, Contact.deleted_at.is_not(None)),
        "interactions": _count(session, Interaction),
        "followups": _count(session, FollowUp),
        "open_followups": _count(session, FollowUp, FollowUp.done_at.is_(None)),
        "stage_changes": _count(session, StageChange),
    }
    return StoreReport(
        backend, server_version, revision, SCHEMA_HEAD, integrity, fk_problems, counts
    )


def _count(session: Session, model, *where) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
