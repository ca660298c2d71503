"""Full-text search over contacts and interaction summaries.

One function decides how: SQLite's FTS5 index when the database has it, a
portable LIKE scan over the same folded `search_text` columns otherwise (and
on PostgreSQL until it gets its own index). Both see text.fold() output, so
Persian, Greek and accented names are found however they are typed.
"""

from dataclasses import dataclass

from sqlalchemy import Integer, and_, column, or_, select, text
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact, ContactRead, Interaction
from minicrm.text import tokens

_FTS_FLAG = "minicrm.has_fts5"


@dataclass
class SearchHit:
    contact: ContactRead
    matched_in: str  # "contact" or "interaction"


def search_contacts(session: Session, query: str, *, limit: int = 20) -> list[SearchHit]:
    """Live contacts matching every word of `query` (as word prefixes), best first:
    matches on the contact itself before matches only in its interactions."""
    from minicrm.services.records.contacts import read_contacts

    ranked = _ranked_ids(session, _query_tokens(query), limit)
    rows = {
        c.id: c
        for c in session.execute(
            select(Contact).where(Contact.id.in_([i for i, _ in ranked]))
        ).scalars()
    }
    reads = {c.id: c for c in read_contacts(session, list(rows.values()))}
    return [SearchHit(reads[i], where) for i, where in ranked if i in reads]


def matching_contact_ids(session: Session, query: str):
    """A subquery of the ids of live contacts matching `query` (for filters)."""
    words = _query_tokens(query)
    if _has_fts5(session):
        return (
            text(
                "SELECT rowid AS id FROM contact_fts WHERE contact_fts MATCH :q "
                "UNION SELECT i.contact_id FROM interaction_fts f "
                "JOIN interaction i ON i.id = f.rowid WHERE interaction_fts MATCH :q"
            )
            .bindparams(q=_fts_match(words))
            .columns(column("id", Integer))
        )
    return (
        select(Contact.id)
        .where(_like_all(Contact.search_text, words))
        .union(select(Interaction.contact_id).where(_like_all(Interaction.search_text, words)))
    )


def _query_tokens(query: str) -> list[str]:
    words = tokens(query)
    if not words:
        raise UserError(f"nothing to search for in {query!r}; give a word or part of a name")
    return words


def _ranked_ids(session: Session, words: list[str], limit: int) -> list[tuple[int, str]]:
    if _has_fts5(session):
        match = _fts_match(words)
        direct = (
            session.execute(
                text(
                    "SELECT c.id FROM contact_fts JOIN contact c ON c.id = contact_fts.rowid "
                    "WHERE contact_fts MATCH :q AND c.deleted_at IS NULL "
                    "ORDER BY bm25(contact_fts), c.id LIMIT :n"
                ),
                {"q": match, "n": limit},
            )
            .scalars()
            .all()
        )
        indirect = (
            session.execute(
                text(
                    "SELECT i.contact_id FROM (SELECT rowid AS id, rank FROM interaction_fts "
                    "WHERE interaction_fts MATCH :q) f "
                    "JOIN interaction i ON i.id = f.id JOIN contact c ON c.id = i.contact_id "
                    "WHERE c.deleted_at IS NULL "
                    "GROUP BY i.contact_id ORDER BY min(f.rank), i.contact_id LIMIT :n"
                ),
                {"q": match, "n": limit},
            )
            .scalars()
            .all()
        )
    else:
        alive = Contact.deleted_at.is_(None)
        direct = (
            session.execute(
                select(Contact.id)
                .where(alive, _like_all(Contact.search_text, words))
                .order_by(Contact.name_folded)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        indirect = (
            session.execute(
                select(Interaction.contact_id)
                .join(Contact, Contact.id == Interaction.contact_id)
                .where(alive, _like_all(Interaction.search_text, words))
                .group_by(Interaction.contact_id)
                .order_by(Interaction.contact_id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    ranked = [(i, "contact") for i in direct]
    seen = set(direct)
    ranked += [(i, "interaction") for i in indirect if i not in seen]
    return ranked[:limit]


def _fts_match(words: list[str]) -> str:
    # Each word quoted (so FTS5 operators typed by a user stay plain text)
    # and made a prefix query: "mar" finds "maria".
    return " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)


def _like_all(column, words: list[str]):
    # search_text is folded words joined by single spaces (text.search_text),
    # so "starts a word" is: at the very start, or right after a space.
    return and_(
        *(
            or_(column.startswith(w, autoescape=True), column.contains(" " + w, autoescape=True))
            for w in words
        )
    )


def _has_fts5(session: Session) -> bool:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    # Cached on the pool: shared by an engine and its execution-option copies.
    cache = bind.pool.__dict__
    if _FTS_FLAG not in cache:
        found = session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='contact_fts'")
        ).scalar()
        cache[_FTS_FLAG] = bool(found)
    return cache[_FTS_FLAG]
