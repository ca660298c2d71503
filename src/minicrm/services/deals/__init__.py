"""Deals: what moves through the funnel (SPEC §1a), their lines and products.

records.py is the bottom layer (opening a deal, booking a stage move, the
contact's copy of its current deal), used by contacts as well; reading.py
turns rows into DealRead and resolves a deal REF.
"""

from minicrm.services.deals.reading import (
    deals_of_contact,
    get_deal,
    lines_of,
    parse_deal_ref,
    read_deal,
    read_deals,
    resolve_deal,
)
from minicrm.services.deals.records import (
    CLOSED,
    current_deal,
    deal_to_move,
    mirror_current_deal,
    mirror_current_deals,
    open_deal,
    open_deals_of,
    record_deal_move,
)

__all__ = [
    "CLOSED", "current_deal", "deal_to_move", "deals_of_contact", "get_deal", "lines_of",
    "mirror_current_deal", "mirror_current_deals", "open_deal", "open_deals_of", "parse_deal_ref",
    "read_deal", "read_deals", "record_deal_move", "resolve_deal",
]  # fmt: skip

# Deal, line, product and listing services load on first use: contacts and
# stages import records.py (through this package), and those modules import
# contacts and stages back.
_LAZY = {
    "minicrm.services.deals.deals": (
        "DealChanges", "DealDetail", "DealInput", "add_deal", "add_deal_lines", "close_date",
        "deal_detail", "edit_deal", "live_deal_for", "lose_deal", "remove_deal_line",
        "restore_deal", "stage_deal", "trash_deal", "win_deal",
    ),
    "minicrm.services.deals.lines": (
        "LineSpec", "line_total_cents", "parse_line_spec", "recompute_value",
    ),
    "minicrm.services.deals.listing": ("DealFilter", "count_deals", "list_deals"),
    "minicrm.services.deals.products": (
        "add_product", "closest_product_names", "edit_product", "find_product", "list_products",
        "name_key", "remove_product", "resolve_product",
    ),
}  # fmt: skip
__all__ += [name for names in _LAZY.values() for name in names]


def __getattr__(name: str):
    import importlib

    for module, names in _LAZY.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
