"""Which imported rows are duplicates, and of what.

A row of a file minicrm exported carries its contact's id (the CSV's `id`
column, the vCard's UID:contact-N@minicrm): it is that live contact's first
of all, while the contact's name is still about the row's (same_person), so
a row whose name and email were edited in the file makes no copy. The
database has no identity of its own to compare, so the name is what tells a
file exported from another minicrm database, whose #12 is someone else:
such a row is matched as any other, and a note says so. A trashed
contact's id matches nothing, as trashed contacts are no duplicates.

Else a row is a duplicate when its normalised email (compared as the
database's lower() compares) or its phone (E.164 when valid) is already a
live contact's, or an earlier row's of the same file; a row with neither,
when a live contact (or an earlier row) has its name and company, folded as
`crm add` compares them (so importing your own export again makes no copies
of the contacts that have no email and no phone). The contact matched
first by id, then by email, then by phone, wins. `skip` drops the row,
`update` makes it an update of that contact (or of the earlier row's
contact), `create` adds it anyway.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from minicrm.models import Contact, StageChange
from minicrm.services.transfer.cleaning import email_key

LOOKUP_CHUNK = 500
Key = str  # "email:" + the email as lower() sees it, "phone:" + the phone, or
# "name:" + folded name + US + folded company, for a row with neither; "id:" + our id
_PARTS = "\x1f"
# rapidfuzz WRatio of two folded names at or above which they are one
# person's: Ann Lee and Anne Lee-Smith (86), Ann Leigh (75) or Lee, Ann (95)
# yes; Ann Lee and Ann Smith (57), Maria Lopez and Maria Garcia (59) no.
SAME_PERSON_SCORE = 70


class Duplicates:
    """Remembers the keys of every row created so far and finds each new
    chunk's matches among live contacts, indexed lookups per chunk (or, when
    the import is bigger than the database, everything read once up front,
    since the bulk load then drops the indexes)."""

    def __init__(self, session: Session, on_duplicate: str, *, preload: bool):
        self.session, self.on_duplicate = session, on_duplicate
        self.dialect = session.get_bind().dialect.name
        self.seen: dict[Key, tuple[int, int | None, datetime]] = {}  # line, id, last move
        self.redirect: dict[Key, tuple[int, str]] = {}  # keys of rows turned updates
        self.created: set[int] = set()
        # Ids above this are this import's own contacts: never matched by a file's id.
        self.top_id = session.execute(select(func.max(Contact.id))).scalar() or 0
        self.strangers = 0  # rows whose id is a different person here
        self.everyone = self._lookup(None) if preload else None
        # Read up front too when the bulk load will drop the indexes: a
        # lookup by folded name would then scan the growing table per chunk.
        self.everyone_by_name = self._names(None) if preload else None

    def classify(self, planned: list, report, *, ids: Callable[[], int] | None) -> None:
        """Set each row's action (and its contact_id when created); rows whose
        stage time is before the matched contact's last move are rejected."""
        keys = [self._keys(p) for p in planned]
        wanted = {k for own in keys for k in own}
        hits = self._existing(wanted)
        hits.update((k, self.redirect[k]) for k in wanted if k in self.redirect and k not in hits)
        by_id = self._by_own_id(planned)
        hits.update(by_id)
        last_moves = _last_moves(self.session, {cid for cid, _n in hits.values()})
        seen, creating = self.seen, self.on_duplicate == "create"
        remember = self.everyone is None
        for p, own in zip(planned, keys, strict=True):
            hit = earlier = None
            if p.own_id is not None:
                hit = self._id_hit(p, by_id)
            if hit is None:
                for key in own:  # (plain loops: at 100,000 rows a generator each costs)
                    if key in hits:
                        hit = key
                        break
            if hit is None:
                for key in own:
                    if key in seen:
                        earlier = key
                        break
            if (hit is None and earlier is None) or creating:
                p.contact_id = ids() if ids else None
                if p.contact_id is not None and remember:
                    self.created.add(p.contact_id)
                first = (p.line, p.contact_id, p.entered_at)
                for key in own:
                    seen.setdefault(key, first)
                continue
            if hit:
                contact_id, name = hits[hit]
                what, last = f"#{contact_id} {name} (same {_kind(hit)})", last_moves.get(contact_id)
            else:
                line, contact_id, last = self.seen[earlier]
                what = f"line {line} (same {_kind(earlier)})"
            if self.on_duplicate == "skip":
                p.action, p.target_text = "skip", what
                report.skipped.append((p.line, f"duplicate of {what}"))
                continue
            late = p.stage_at is not None and last is not None and p.stage_at < last
            if late and "stage" in p.given:
                p.action = "reject"
                why = (f"its stage change ({p.stage_at:%Y-%m-%d}) is before the last one of "
                       f"{what} ({last:%Y-%m-%d})")  # fmt: skip
                report.rejected.append((p.line, why))
                continue
            p.action, p.target, p.target_text = "update", contact_id, what
            for key in own:  # a later row with this row's other email or phone: the same one
                if hit:
                    self.redirect.setdefault(key, (contact_id, name))
                    hits.setdefault(key, (contact_id, name))
                else:
                    self.seen.setdefault(key, self.seen[earlier])
        planned[:] = [p for p in planned if p.action != "reject"]

    def _by_own_id(self, planned: list) -> dict[Key, tuple[int, str]]:
        """The live contacts (older than this import) with the ids rows carry."""
        ids = sorted({p.own_id for p in planned
                      if p.own_id is not None and 0 < p.own_id <= self.top_id})  # fmt: skip
        found: dict[Key, tuple[int, str]] = {}
        alive = Contact.deleted_at.is_(None)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            query = select(Contact.id, Contact.name).where(alive, Contact.id.in_(chunk))
            found.update((f"id:{cid}", (cid, name)) for cid, name in self.session.execute(query))
        return found

    def _id_hit(self, p, by_id: dict[Key, tuple[int, str]]) -> Key | None:
        key = f"id:{p.own_id}"
        if key not in by_id or "name" not in p.given:
            return None
        if same_person(p.values["name"], by_id[key][1]):
            return key
        self.strangers += 1
        return None

    def strangers_note(self) -> str:
        count = self.strangers
        rows = ("1 row's id is a different person" if count == 1
                else f"{count} rows' ids are different people")  # fmt: skip
        return (f"{rows} here (a file from another minicrm database?): matched by email, "
                "phone or name instead")  # fmt: skip

    def _keys(self, p) -> list[Key]:
        keys = []
        if "email" in p.values:
            keys.append("email:" + email_key(p.values["email"], self.dialect))
        if "phone" in p.values:
            keys.append("phone:" + p.values["phone"])
        if not keys and p.values.get("name"):
            keys.append(name_key(p.values["name"], p.values.get("company")))
        return keys

    def _existing(self, keys: set[Key]) -> dict[Key, tuple[int, str]]:
        """Live contacts (not made by this import) holding these keys."""
        names = {k for k in keys if k.startswith("name:")}
        if self.everyone_by_name is not None:
            found = {k: self.everyone_by_name[k] for k in names if k in self.everyone_by_name}
        else:
            found = self._names(names) if names else {}
        if self.everyone is not None:
            found.update((k, self.everyone[k]) for k in keys if k in self.everyone)
            return found
        found.update(self._lookup(keys - names))
        return {k: hit for k, hit in found.items() if hit[0] not in self.created}

    def _names(self, keys: set[Key] | None) -> dict[Key, tuple[int, str]]:
        """Live contacts with these folded names and companies (the lowest id
        first), by the indexed folded name; every live contact's when `keys`
        is None."""
        from minicrm.text import fold

        alive = Contact.deleted_at.is_(None)
        columns = select(Contact.id, Contact.name, Contact.name_folded, Contact.company)
        if keys is None:
            queries = [columns.where(alive)]
        else:
            folded = sorted({k[5:].partition(_PARTS)[0] for k in keys})
            queries = [
                columns.where(alive, Contact.name_folded.in_(folded[i : i + LOOKUP_CHUNK]))
                for i in range(0, len(folded), LOOKUP_CHUNK)
            ]
        found: dict[Key, tuple[int, str]] = {}
        for query in queries:
            for contact_id, name, name_folded, company in self.session.execute(
                query.order_by(Contact.id)
            ):
                key = f"name:{name_folded}{_PARTS}{fold(company) if company else ''}"
                if (keys is None or key in keys) and contact_id not in self.created:
                    found.setdefault(key, (contact_id, name))
        return found

    def _lookup(self, keys: set[Key] | None) -> dict[Key, tuple[int, str]]:
        alive = Contact.deleted_at.is_(None)
        email_column = func.lower(Contact.email)
        queries = []
        if keys is None:
            queries.append(select(Contact.id, Contact.name, Contact.email, Contact.phone).where(
                alive, (Contact.email.is_not(None)) | (Contact.phone.is_not(None))))  # fmt: skip
        else:
            emails = sorted(k[6:] for k in keys if k.startswith("email:"))
            phones = sorted(k[6:] for k in keys if k.startswith("phone:"))
            for values, condition in ((emails, email_column.in_), (phones, Contact.phone.in_)):
                for start in range(0, len(values), LOOKUP_CHUNK):
                    chunk = values[start : start + LOOKUP_CHUNK]
                    queries.append(
                        select(Contact.id, Contact.name, Contact.email, Contact.phone).where(
                            alive, condition(chunk)
                        )
                    )
        found: dict[Key, tuple[int, str]] = {}
        for query in queries:
            for contact_id, name, email, phone in self.session.execute(query.order_by(Contact.id)):
                if email:
                    found.setdefault("email:" + email_key(email, self.dialect), (contact_id, name))
                if phone:
                    found.setdefault("phone:" + phone, (contact_id, name))
        if keys is not None:
            found = {k: v for k, v in found.items() if k in keys}
        return found


def same_person(name: str, other: str) -> bool:
    """Whether two names are loosely one person's: folded, punctuation
    aside, in any order, one inside the other (Jan Berg, Jan van der Berg)
    or nearly the same (Ann Lee, Ann Leigh)."""
    from rapidfuzz import fuzz, utils

    from minicrm.text import fold

    score = fuzz.WRatio(fold(name), fold(other), processor=utils.default_process)
    return score >= SAME_PERSON_SCORE


def name_key(name: str, company: str | None) -> Key:
    from minicrm.text import fold

    return f"name:{fold(name)}{_PARTS}{fold(company) if company else ''}"


def _kind(key: Key) -> str:
    kind = key.partition(":")[0]
    return "name and company" if kind == "name" else kind


def _last_moves(session: Session, contact_ids: set[int]) -> dict[int, datetime]:
    ids = sorted(contact_ids)
    last: dict[int, datetime] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        query = (
            select(StageChange.contact_id, func.max(StageChange.at))
            .where(StageChange.contact_id.in_(ids[start : start + LOOKUP_CHUNK]))
            .group_by(StageChange.contact_id)
        )
        last.update(dict(session.execute(query).all()))
    return last
