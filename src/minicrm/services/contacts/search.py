"""Full-text search over contacts and interaction summaries.

One function decides how: SQLite's FTS5 index when the database has it, a
portable LIKE scan over the same folded `search_text` columns otherwise (and
on PostgreSQL until it gets its own index). Both see text.fold() output, so
Persian, Greek and accented names are found however they are typed.

Each hit carries a snippet of the text it matched, cut from the original
text in Python (FTS5's snippet() would show the folded words, and the
server has none): the same folding and word split as the index, so the
words marked are the words the search matched, prefixes included.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from sqlalchemy import Integer, and_, column, func, or_, select, text
from sqlmodel import Session

from minicrm.errors import UserError
from minicrm.models import Contact, ContactRead, Interaction
from minicrm.text import fold, tokens

_FTS_FLAG = "minicrm.has_fts5"
SNIPPET_WIDTH = 60  # characters of text around the first match
_SNIPPET_LEAD = SNIPPET_WIDTH // 3  # of them, before it
ELLIPSIS = "\u2026"
# The contact's searched fields (editing.search_text_of), in the order a tie
# between them is settled.
CONTACT_FIELDS = ("name", "email", "phone", "company", "notes")
_WORD = re.compile(r"\w+")  # a word as text.tokens() splits them


@dataclass(frozen=True)
class Snippet:
    """A short, one-line piece of the text a hit matched."""

    text: str  # plain, "…" where it was cut
    marks: tuple[tuple[int, int], ...]  # [start, end) of each matched word in `text`
    field: str  # a contact field (CONTACT_FIELDS), or "summary" of an interaction
    kind: str | None = None  # the interaction's kind (call, email…)
    at: datetime | None = None  # when the interaction happened

    def parts(self) -> list[tuple[str, bool]]:
        """`text` cut into (piece, is a matched word), in order."""
        pieces, done = [], 0
        for start, end in self.marks:
            if start > done:
                pieces.append((self.text[done:start], False))
            pieces.append((self.text[start:end], True))
            done = end
        if done < len(self.text):
            pieces.append((self.text[done:], False))
        return pieces


@dataclass
class SearchHit:
    contact: ContactRead
    matched_in: str  # "contact" or "interaction"
    snippet: Snippet | None = None  # None when no single field shows the match

    @property
    def matched_text(self) -> str:
        return self.snippet.text if self.snippet else ""


def search_contacts(session: Session, query: str, *, limit: int = 20) -> list[SearchHit]:
    """Live contacts matching every word of `query` (as word prefixes), best first:
    matches on the contact itself before matches only in its interactions.
    Each hit has the snippet of what matched: the contact's best field, or
    its latest interaction that matched."""
    from minicrm.services.records.contacts import read_contacts

    words = _query_tokens(query)
    ranked = _ranked_ids(session, words, limit)
    rows = {
        c.id: c
        for c in session.execute(
            select(Contact).where(Contact.id.in_([i for i, _ in ranked]))
        ).scalars()
    }
    reads = {c.id: c for c in read_contacts(session, list(rows.values()))}
    by_interaction = [i for i, where in ranked if where == "interaction"]
    interaction_snippets = _matching_interactions(session, by_interaction, words)
    return [
        SearchHit(
            reads[i],
            where,
            contact_snippet(reads[i], words) if where == "contact" else interaction_snippets.get(i),
        )
        for i, where in ranked
        if i in reads
    ]


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


def _matching_interactions(
    session: Session, contact_ids: list[int], words: list[str]
) -> dict[int, Snippet]:
    """The snippet of each contact's latest matching interaction: one query
    for all of them, over those contacts' rows only (their index), so it
    costs the same on FTS5 and on the LIKE path."""
    if not contact_ids:
        return {}
    newest_first = (Interaction.at.desc(), Interaction.id.desc())
    matching = (
        select(
            Interaction.contact_id,
            Interaction.kind,
            Interaction.at,
            Interaction.summary,
            func.row_number()
            .over(partition_by=Interaction.contact_id, order_by=newest_first)
            .label("newness"),
        )
        .where(
            Interaction.contact_id.in_(contact_ids),
            _like_all(Interaction.search_text, words),
        )
        .subquery()
    )
    latest = session.execute(select(matching).where(matching.c.newness == 1)).all()
    snippets = {}
    for row in latest:
        found = snippet_of(row.summary or "", words, field="summary", kind=row.kind, at=row.at)
        if found:
            snippets[row.contact_id] = found
    return snippets


def contact_snippet(contact, words: list[str]) -> Snippet | None:
    """The snippet of the contact field that matched most of `words` (the
    first such field on a tie: a name before an email before the notes)."""
    found = []
    for field in CONTACT_FIELDS:
        value = getattr(contact, field) or ""
        snippet = snippet_of(value, words, field=field)
        if snippet:
            found.append((len(_words_found(value, words)), snippet))
    return max(found, key=itemgetter(0), default=(0, None))[1]


def snippet_of(text: str, words: list[str], *, field: str, **where) -> Snippet | None:
    """About SNIPPET_WIDTH characters of `text` on one line, from a little
    before its first word that starts with one of `words` (folded query
    words), with every such word in it marked; None when none is there."""
    flat = " ".join(text.split())
    spans = _matched_spans(flat, words)
    if not spans:
        return None
    start, end = _window(flat, spans[0])
    lead = ELLIPSIS if start > 0 else ""
    shift = len(lead) - start
    marks = tuple(
        (max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start
    )
    tail = ELLIPSIS if end < len(flat) else ""
    return Snippet(lead + flat[start:end] + tail, marks, field, **where)


def _words_found(text: str, words: list[str]) -> set[str]:
    found = tokens(text)
    return {w for w in words if any(t.startswith(w) for t in found)}


def _matched_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """[start, end) in `text` of each of its words that a query word is a
    prefix of, found in the folded text and mapped back to the original."""
    folded, origin = _folded_with_origins(text)
    spans = []
    for word in _WORD.finditer(folded):
        if any(word.group().startswith(w) for w in words):
            end = origin[word.end() - 1] + 1
            # A mark or joiner that folds to nothing belongs to its word.
            while end < len(text) and not text[end].isspace() and not _fold_char(text[end]):
                end += 1
            spans.append((origin[word.start()], end))
    return spans


def _folded_with_origins(text: str) -> tuple[str, list[int]]:
    """fold(text) a character at a time, with the index in `text` that each
    folded character came from (folding can drop a character or make two)."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    pieces, origin = [], []
    for index, char in enumerate(text):
        piece = _fold_char(char)
        pieces.append(piece)
        origin.extend([index] * len(piece))
    return "".join(pieces), origin


def _fold_char(char: str) -> str:
    # fold() trims whitespace; here a space must stay to keep words apart.
    return " " if char.isspace() else fold(char)


def _window(text: str, first: tuple[int, int]) -> tuple[int, int]:
    """[start, end) of about SNIPPET_WIDTH characters of `text` showing the
    match `first`, cut at spaces rather than inside words where it can."""
    if len(text) <= SNIPPET_WIDTH:
        return 0, len(text)
    match_start, match_end = first
    start = max(0, min(match_start - _SNIPPET_LEAD, len(text) - SNIPPET_WIDTH))
    end = min(len(text), max(start + SNIPPET_WIDTH, match_end))
    if start > 0 and text[start - 1] != " ":
        space = text.find(" ", start, match_start)
        start = space + 1 if space != -1 else start
    if end < len(text) and text[end] != " ":
        space = text.rfind(" ", match_end, end)
        end = space if space != -1 else end
    return start, end


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
