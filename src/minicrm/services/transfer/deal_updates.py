"""An import's update of a contact carried to the contact's current deal."""

from datetime import datetime

from minicrm.models import LOST, WON, Deal

DEAL_FIELDS = ("stage", "value_cents", "lost_reason")


def sync_deals(session, changed, original, states, moves, now) -> dict[int, dict]:
    """Carry a changed stage, value or lost reason to each contact's current
    deal (one is opened if it has none); the moves get the deal's id.
    Returns, per contact, what undo needs: the deal's state before, or the
    id of the deal opened."""
    from minicrm.services.records.deals import current_deal, open_deal

    moved = {m["contact_id"]: m for m in moves}
    kept: dict[int, dict] = {}
    for cid in changed:
        state, old = states[cid], original[cid]
        if all(state[n] == old[n] for n in DEAL_FIELDS) and cid not in moved:
            continue
        deal = current_deal(session, cid)
        if deal is None:
            deal = open_deal(
                session, title=state["name"], stage=state["stage"], now=now, contact_id=cid,
                company_id=state["company_id"], value_cents=state["value_cents"],
                lost_reason=state["lost_reason"], owner=state["owner"], source=state["source"],
            )  # fmt: skip
            kept[cid] = {"deal_created": deal.id}
            moved.pop(cid, None)
            moves[:] = [m for m in moves if m["contact_id"] != cid]
            continue
        kept[cid] = {"deal": {c.name: _plain(getattr(deal, c.name))
                              for c in Deal.__table__.columns}}  # fmt: skip
        deal.value_cents = state["value_cents"]
        if cid in moved:
            move = moved[cid]
            move["deal_id"] = deal.id
            old_stage, deal.stage = deal.stage, state["stage"]
            deal.stage_entered_at = move["at"]
            deal.closed_at = move["at"] if deal.stage in (WON, LOST) else None
            deal.lost_at_stage = old_stage if deal.stage == LOST and old_stage not in (
                WON, LOST) else None  # fmt: skip
        deal.lost_reason = state["lost_reason"] if deal.stage == LOST else None
        deal.updated_at, deal.version = now, deal.version + 1
    session.flush()
    return kept


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
