"""Draws demo people, their interactions, follow-ups and tags as plain row
dicts for Core; the companies and deals come from the SalesMaker mixin."""

import json
import random
from datetime import date, datetime, timedelta

from minicrm.models import (
    LOST,
    WON,
    Company,
    Contact,
    ContactTag,
    Deal,
    DealLine,
    FollowUp,
    Interaction,
    StageChange,
)
from minicrm.services.demo.catalogue import (
    ARABIC_KEYS,
    CUSTOMER_KINDS,
    ES,
    EXTRA_KEYS,
    FOLLOWUP_NOTES,
    FOLLOWUPS_PER_CONTACT,
    INDUSTRIES,
    LOCALE_DRAW,
    MAIL_DOMAINS,
    OWNERS,
    PLACES,
    PRODUCTS,
    PROSPECT_KINDS,
    RECURRENCES,
    REPEAT_DEALS,
    SCRIPTS,
    SOURCES,
    SUMMARIES,
    Locale,
    Script,
)
from minicrm.services.demo.sales import Drawn, SalesMaker, current_of
from minicrm.services.transfer.bulk_load import DAY, RowWriter
from minicrm.text import fold, search_text

MODELS = (Company, Contact, ContactTag, Deal, DealLine, StageChange, Interaction, FollowUp)
COMPANY_SUFFIXES = {
    "latin": ("& Co", "Group", "Partners", "& Sons", "Express", "Studio"),
    "persian": ("و شرکا", "گروه", "نوین"),
    "greek": ("& ΣΙΑ", "Ο.Ε.", "Α.Ε."),
}
COMPANY_POOL = 40  # recent companies per script a new person may join


class Maker(SalesMaker):
    """Draws contacts, their companies, deals and histories."""

    def __init__(
        self,
        rng: random.Random,
        stages: list[str],
        now: datetime,
        writer: RowWriter,
        tag_ids: dict[str, int],
        products: list[tuple[int, int]],
        *,
        first_ids: dict[type, int],
        known_companies: dict[str, int],
    ):
        self.rng, self.stages, self.writer, self.tag_ids = rng, stages, writer, tag_ids
        self.stamp = writer.stamp  # epoch seconds -> a datetime value to store
        self.products, self.next_ids = products, dict(first_ids)
        self.known_companies = dict(known_companies)
        self.company_names: dict[str, int] = {}
        self.industries: dict[int, str] = {}
        self.places = PLACES
        self.pools: dict[str, list[str]] = {name: [] for name in SCRIPTS}
        self.now = int(now.timestamp())
        self.today = self.now - self.now % DAY
        self.summaries = {name: self._summary_pool(s) for name, s in SCRIPTS.items()}
        self.emails: set[str] = set()

    def _summary_pool(self, script: Script) -> dict[str, list[tuple[str, str]]]:
        pool = {}
        for kind, templates in SUMMARIES.items():
            texts = [t.format(p=p) for t in templates for p in PRODUCTS]
            native = [
                t.format(p=p) for t in script.summaries.get(kind, ()) for p in script.products
            ]
            texts += native * (len(texts) // len(native)) if native else []  # about half
            pool[kind] = [(s, search_text(s)) for s in texts]
        return pool

    def chunk(self, ids: range) -> dict[type, list[dict]]:
        rows: dict[type, list[dict]] = {m: [] for m in MODELS}
        for contact_id in ids:
            self.contact(contact_id, rows)
        return rows

    def contact(self, contact_id: int, rows: dict[type, list[dict]]) -> None:
        rng, stamp = self.rng, self.stamp
        locale = LOCALE_DRAW[int(rng.random() * len(LOCALE_DRAW))]
        created = self.now - rng.randrange(3600, 365 * DAY)
        row = self.profile(contact_id, locale)
        row["company_id"] = None
        if row["company"]:
            company_id, industry = self.company(row["company"], created, locale, rows)
            row["company_id"] = company_id
            row["industry"] = self.industries.get(company_id, row["industry"])
        deals = [self.deal(rows, title=row["name"], contact_id=contact_id,
                           company_id=row["company_id"], created=created, owner=row["owner"],
                           source=row["source"])]  # fmt: skip
        won_at = deals[0].entered if deals[0].row["stage"] == WON else None
        if won_at is not None:  # a customer comes back for more
            for number in range(2, 2 + REPEAT_DEALS[int(rng.random() * len(REPEAT_DEALS))]):
                opened = won_at + int(rng.random() * (self.now - won_at))
                title = f"{row['company'] or row['name']}: order {number}"
                deals.append(self.deal(rows, title=title, contact_id=contact_id,
                                       company_id=row["company_id"], created=opened,
                                       owner=row["owner"], source="repeat",
                                       start_index=rng.choice((1, 2, 2, 3))))  # fmt: skip
        current = current_of(deals)
        row.update(
            {k: current.row[k] for k in ("stage", "stage_entered_at", "lost_reason")},
            value_cents=current.row["value_cents"],
            created_at=stamp(created),
            updated_at=max((d.row["updated_at"] for d in deals), key=str),  # text or aware
        )
        rows[Contact].append(row)
        lost_alone = len(deals) == 1 and row["stage"] == LOST  # the lost are left alone
        span = (created, deals[0].entered if lost_alone else self.now)
        pool = self.summaries[locale.script]
        purchases = self.interactions(row, pool, span, won_at, deals, rows[Interaction])
        open_id = current.row["id"] if current.row["stage"] not in (WON, LOST) else None
        self.followups(row, created, open_id, rows[FollowUp])
        for tag in self.tags(row, purchases):
            rows[ContactTag].append({"contact_id": contact_id, "tag_id": self.tag_ids[tag]})

    def profile(self, contact_id: int, locale: Locale) -> dict:
        rng = self.rng
        script = SCRIPTS[locale.script]
        first, last = rng.choice(locale.names[0]), rng.choice(locale.names[1])
        surname, handle = last[1] if first[3] else last[0], f"{first[2]}.{last[2]}"
        if locale.names is ES and rng.random() < 0.7:  # both parents' surnames
            second = rng.choice(ES[1])
            if second != last:
                surname, handle = f"{surname} {second[0]}", handle + second[2][0]
        name = f"{first[0]} {surname}"
        if locale.script == "persian" and rng.random() < 0.05:
            name = name.translate(ARABIC_KEYS)
        has_company = rng.random() < 0.67  # a third of the people work for no company
        company = None
        if has_company:  # often a colleague of someone already in the CRM
            pool = self.pools[locale.script]
            if pool and rng.random() < 0.55:
                company = pool[int(rng.random() * len(pool))]
            else:
                company = self.new_company_name(
                    rng.choice(script.companies).format(last=last[0]), locale
                )
                pool.append(company)
                del pool[:-COMPANY_POOL]
        email = self.email(contact_id, handle) if rng.random() < 0.75 else None
        phone = None
        if rng.random() < 0.85:
            digits = rng.randrange(2 * 10 ** (locale.digits - 1), 10**locale.digits)
            phone = f"{rng.choice(locale.phones)}{digits}"
        city, region = rng.choice(PLACES[locale]) if rng.random() < 0.9 else (None, None)
        value = rng.lognormvariate(7.2, 0.9) if rng.random() < 0.9 else None
        notes = rng.choice(script.notes) if rng.random() < 0.2 else None
        return {
            "id": contact_id, "name": name, "name_folded": fold(name), "email": email,
            "phone": phone, "company": company,
            "title": rng.choice(script.titles) if has_company and rng.random() < 0.8 else None,
            "city": city, "region": region,
            "country": locale.country if rng.random() < 0.95 else None,
            "industry": rng.choice(INDUSTRIES) if has_company else None,
            "source": rng.choice(SOURCES), "owner": rng.choice(OWNERS),
            "value_cents": int(value / 10) * 1000 if value else None,
            "notes": notes, "extra": self.extra(first[2]) if rng.random() < 0.15 else None,
            "score": 0, "search_text": search_text(name, email, phone, company, notes),
            "deleted_at": None, "version": 1,
        }  # fmt: skip

    def new_company_name(self, name: str, locale: Locale) -> str:
        """A name no company has yet if one comes easily: a second "López
        Bakery" is a branch in another city or a sister firm; when those are
        taken too, the person works at one of them."""
        if name not in self.company_names:
            return name
        rng = self.rng
        city = rng.choice(PLACES[locale])[0]
        suffix = rng.choice(COMPANY_SUFFIXES.get(locale.script, COMPANY_SUFFIXES["latin"]))
        for variant in (f"{name} {city}", f"{name} {suffix}", f"{name} {suffix} {city}"):
            if variant not in self.company_names:
                return variant
        return variant

    def email(self, contact_id: int, handle: str) -> str:
        address = f"{handle.replace(' ', '')}@{self.rng.choice(MAIL_DOMAINS)}"
        if address in self.emails:  # the same name again: people add a number
            address = address.replace("@", f"{contact_id}@", 1)
        self.emails.add(address)
        return address

    def extra(self, handle: str) -> str:
        rng = self.rng
        key = rng.choice(EXTRA_KEYS)
        if key == "birthday":
            value = (date(1950, 1, 1) + timedelta(days=rng.randrange(52 * 365))).isoformat()
        else:
            value = f"@{handle}{rng.randrange(100)}" if key == "instagram" else "whatsapp"
        return json.dumps({key: value}, ensure_ascii=False, sort_keys=True)

    def interactions(
        self, row: dict, pool: dict, span, won_at: int | None, deals: list[Drawn], out: list
    ) -> int:
        """About ten within `span`, more for customers; returns the purchases.
        A purchase names the won deal it pays for (the last won before it), a
        quote the deal open at the time."""
        rng, stamp, contact_id, owner = self.rng, self.stamp, row["id"], row["owner"]
        start, end = span
        base = row["value_cents"] or 50_000
        count = rng.randint(1, 15) + (rng.randint(2, 8) if won_at else 0)
        purchases = 0
        for ts in sorted([start + int(rng.random() * (end - start)) for _ in range(count)]):
            kinds = CUSTOMER_KINDS if won_at and ts >= won_at else PROSPECT_KINDS
            kind = kinds[int(rng.random() * len(kinds))]
            summaries = pool[kind]
            summary, words = summaries[int(rng.random() * len(summaries))]
            amount, deal_id = None, None
            if kind == "purchase":
                deal_id = _won_before(deals, ts)
                amount, purchases = int(base * (0.05 + 0.45 * rng.random())), purchases + 1
            elif kind == "quote":
                amount = int(base * (0.5 + rng.random())) // 100 * 100
                deal_id = _open_at(deals, ts)
            at = stamp(ts)
            out.append({
                "contact_id": contact_id, "kind": kind, "at": at, "summary": summary,
                "search_text": words, "amount_cents": amount, "created_at": at, "deal_id": deal_id,
                "owner": owner if rng.random() < 0.85 else OWNERS[int(rng.random() * len(OWNERS))],
            })  # fmt: skip
        return purchases

    def followups(self, row: dict, created: int, open_id: int | None, out: list) -> None:
        """About two each: done ones, and open ones overdue, due today or later."""
        rng, now, stamp, contact_id, owner = self.rng, self.now, self.stamp, row["id"], row["owner"]
        closed = row["stage"] in (WON, LOST)
        for _ in range(FOLLOWUPS_PER_CONTACT[int(rng.random() * len(FOLLOWUPS_PER_CONTACT))]):
            is_done, r = rng.random() < (0.85 if closed else 0.45), rng.random()
            if is_done:
                due = rng.randint(created, now)
            elif r < 0.35:  # overdue
                due = rng.randint(max(created, now - 45 * DAY), now - 60)
            elif r < 0.5:  # today, in office hours
                due = max(created, self.today + rng.randrange(16, 36) * 1800)
            else:  # later, on the hour
                due = now - now % 3600 + rng.randint(1, 60 * 24) * 3600
            made = rng.randint(created, min(due, now))
            done = min(now, max(made, due + rng.randint(-2 * DAY, 3 * DAY))) if is_done else None
            snoozed = 0 if rng.random() < 0.75 else rng.randint(1, 3)
            recurring = not is_done and rng.random() < 0.1
            out.append({
                "contact_id": contact_id, "due_at": stamp(due), "note": rng.choice(FOLLOWUP_NOTES),
                "done_at": stamp(done) if done else None,
                "recurrence": rng.choice(RECURRENCES) if recurring else None,
                "snoozed": snoozed, "owner": owner, "created_at": stamp(made),
                "deal_id": open_id if not is_done and open_id and rng.random() < 0.6 else None,
                "updated_at": stamp(done or (rng.randint(made, now) if snoozed else made)),
                "version": 1,
            })  # fmt: skip

    def tags(self, row: dict, purchases: int) -> list[str]:
        rng, stage = self.rng, row["stage"]
        chosen = [tag for tag, share in (("newsletter", 0.3), ("local", 0.15),
                  ("price-sensitive", 0.08)) if rng.random() < share]  # fmt: skip
        if row["company"] and rng.random() < 0.15:
            chosen.append("wholesale")
        if rng.random() < (0.25 if stage == WON else 0.02):
            chosen.append("vip")
        if stage == WON and purchases >= 3:
            chosen.append("repeat")
        if row["lost_reason"] == "no budget" or rng.random() < 0.03:
            chosen.append("no-budget")
        return chosen


def _won_before(deals: list[Drawn], ts: int) -> int | None:
    won = [d for d in deals if d.row["stage"] == WON and d.entered <= ts]
    return max(won, key=lambda d: d.entered).row["id"] if won else None


def _open_at(deals: list[Drawn], ts: int) -> int | None:
    for drawn in reversed(deals):
        closed = drawn.row["stage"] in (WON, LOST)
        if drawn.created <= ts and (not closed or ts < drawn.entered):
            return drawn.row["id"]
    return None
