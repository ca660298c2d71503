"""Deals: what moves through the funnel (SPEC §1a), their lines and products.

deals.py adds, edits, wins, loses and trashes deals; lines.py prices their
lines; products.py is the catalogue; listing.py filters and sorts;
reading.py turns rows into DealRead and resolves a deal REF; stages.py moves
deals between stages and builds the pipeline board. Opening a deal and
booking a stage move, which contacts need too, are in records/deals.py.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "deals": (
        "DealChanges", "DealInput", "add_deal", "deal_detail", "edit_deal", "lose_deal",
        "restore_deal", "stage_deal", "trash_deal", "win_deal",
    ),
    "lines": ("LineSpec", "parse_line_spec", "recompute_value"),
    "listing": ("DealFilter", "count_deals", "list_deals"),
    "products": ("add_product", "edit_product", "list_products", "remove_product"),
    "reading": ("deals_of_contact", "get_deal", "read_deals", "resolve_deal"),
    "stages": ("move_deal", "move_stage", "pipeline"),
})  # fmt: skip
