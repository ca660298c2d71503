"""The sales side of the demo: companies, deals with their stage history,
and deal lines drawn from the catalogue. A mixin of demo.maker.Maker (it
shares its random stream, clock and row writer)."""

from datetime import UTC, datetime
from typing import NamedTuple

from minicrm.models import LOST, WON, Company, Deal, DealLine, StageChange
from minicrm.services.demo.catalogue import (
    DISCOUNTS,
    INDUSTRIES,
    LINES_PER_DEAL,
    LOST_REASONS,
    MAIL_DOMAINS,
    OWNERS,
    QUANTITIES,
    START_INDEX,
)
from minicrm.services.transfer.bulk_load import DAY
from minicrm.text import fold

History = list[tuple[str | None, str, int, str | None]]  # (from, to, epoch s, reason)


class SalesMaker:
    rng: object
    stages: list[str]
    now: int
    writer: object
    products: list[tuple[int, int]]  # (id, price in cents)
    next_ids: dict[type, int]
    known_companies: dict[str, int]  # folded name -> id
    company_names: dict[str, int]  # as spelt -> id

    def take_id(self, model: type) -> int:
        self.next_ids[model] += 1
        return self.next_ids[model] - 1

    def company(self, name: str, created: int, locale, rows: dict) -> tuple[int, str | None]:
        """The id of the company with this folded name (made if new) and,
        for a new one, its industry; a new company sometimes has a deal of
        its own that no contact is on yet."""
        known = self.company_names.get(name)
        if known is not None:  # the same spelling again: no need to fold it
            return known, None
        key = fold(name)
        if key in self.known_companies:
            self.company_names[name] = self.known_companies[key]
            return self.known_companies[key], None
        rng, stamp = self.rng, self.writer.stamp
        company_id = self.known_companies[key] = self.company_names[name] = self.take_id(Company)
        industry = rng.choice(INDUSTRIES)
        slug = "".join(ch for ch in key if ch.isascii() and ch.isalnum())
        city, region = rng.choice(self.places[locale]) if rng.random() < 0.8 else (None, None)
        owner = rng.choice(OWNERS)
        rows[Company].append({
            "id": company_id, "name": name, "name_folded": key,
            "domain": f"{slug}.{rng.choice(MAIL_DOMAINS)}" if slug and rng.random() < 0.6 else None,
            "email": None, "phone": None, "industry": industry, "city": city, "region": region,
            "country": locale.country, "owner": owner, "notes": None, "extra": None,
            "created_at": stamp(created), "updated_at": stamp(created), "deleted_at": None,
            "version": 1,
        })  # fmt: skip
        if rng.random() < 0.12:  # an early deal with the company alone
            opened = created + int(rng.random() * (self.now - created))
            self.deal(rows, title=f"{name}: first order", contact_id=None,
                      company_id=company_id, created=opened, owner=owner, source=None)  # fmt: skip
        self.industries[company_id] = industry
        return company_id, industry

    def deal(
        self, rows: dict, *, title: str, contact_id: int | None, company_id: int | None,
        created: int, owner: str, source: str | None, start_index: int | None = None,
    ) -> "Drawn":  # fmt: skip
        """One deal with its stage history and lines."""
        rng, stamp = self.rng, self.writer.stamp
        deal_id = self.take_id(Deal)
        changes = self.history(created, start_index)
        rows[StageChange] += [
            {"contact_id": contact_id, "deal_id": deal_id, "from_stage": f, "to_stage": t,
             "at": stamp(ts), "reason": r}
            for f, t, ts, r in changes
        ]  # fmt: skip
        last_from, stage, entered, reason = changes[-1]
        closed = stage in (WON, LOST)
        value = self.lines(deal_id, rows[DealLine]) if rng.random() < 0.85 else None
        if value is None and rng.random() < 0.9:
            value = int(rng.lognormvariate(7.2, 0.9) / 10) * 1000
        expected = None
        if not closed and rng.random() < 0.8:  # some already overdue
            expected = datetime.fromtimestamp(self.now + rng.randint(-15, 120) * DAY, UTC).date()
        row = {
            "id": deal_id, "title": title, "contact_id": contact_id, "company_id": company_id,
            "stage": stage, "stage_entered_at": stamp(entered), "value_cents": value,
            "expected_close": self.writer.day(expected),
            "closed_at": stamp(entered) if closed else None,
            "lost_reason": reason if stage == LOST else None,
            "lost_at_stage": last_from if stage == LOST and last_from not in (None, WON) else None,
            "owner": owner, "source": source, "score": 0, "notes": None, "extra": None,
            "created_at": stamp(created),
            "updated_at": stamp(entered + int(rng.random() * (self.now - entered) / 2)),
            "deleted_at": None, "version": 1,
        }  # fmt: skip
        rows[Deal].append(row)
        return Drawn(row, created, entered)

    def lines(self, deal_id: int, out: list) -> int:
        """1-4 catalogue lines, a quarter with a discount; returns their total."""
        rng, total = self.rng, 0
        for _ in range(LINES_PER_DEAL[int(rng.random() * len(LINES_PER_DEAL))]):
            product_id, price = self.products[int(rng.random() * len(self.products))]
            quantity = QUANTITIES[int(rng.random() * len(QUANTITIES))]
            discount = DISCOUNTS[int(rng.random() * len(DISCOUNTS))] if rng.random() < 0.25 else 0.0
            line_total = round(quantity * price * (1 - discount / 100))
            total += line_total
            out.append({
                "id": self.take_id(DealLine), "deal_id": deal_id, "product_id": product_id,
                "description": None, "quantity": float(quantity), "unit_price_cents": price,
                "discount": discount, "total_cents": line_total,
            })  # fmt: skip
        return total

    def history(self, created: int, index: int | None = None) -> History:
        """The funnel path from the creation stage (a change from None): mostly
        forward, sometimes skipping or going back, ending won, lost or open."""
        rng, stages = self.rng, self.stages
        if index is None:
            index = rng.choice(START_INDEX)
        index = min(index, len(stages) - 1)
        path: list[tuple[str | None, str, str | None]] = [(None, stages[index], None)]
        stay = 0.08 + 0.5 * max(0.0, 1 - (self.now - created) / (60 * DAY))  # new: move less
        while len(path) < 10:
            r, here = rng.random(), path[-1][1]
            if r < stay:
                break
            if r < stay + 0.08:
                path.append((here, LOST, rng.choice(LOST_REASONS)))
                break
            index += -1 if r > 0.85 and index > 0 else 2 if r > 0.81 else 1
            if index >= len(stages):
                path.append((here, WON, None))
                break
            path.append((here, stages[index], None))
        times = [created, *sorted(rng.sample(range(created + 1, self.now + 1), len(path) - 1))]
        return [(f, t, ts, r) for (f, t, r), ts in zip(path, times, strict=True)]


class Drawn(NamedTuple):
    """A deal's row and, as epoch seconds, when it was made and entered its stage."""

    row: dict
    created: int
    entered: int


def current_of(deals: list[Drawn]) -> Drawn | None:
    """The deal a contact mirrors: its newest open one, else its most recent
    (the order services.records.deals.mirror_current_deals uses)."""
    if not deals:
        return None
    return min(deals, key=lambda d: (d.row["stage"] in (WON, LOST), -d.created, -d.row["id"]))
