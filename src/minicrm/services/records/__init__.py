"""The bottom layer: rows and settings every capability shares.

contacts.py resolves a contact REF and reads rows into ContactRead; deals.py
opens a deal, books a stage move and keeps the contact's copy of its current
deal; companies.py finds or creates a company by name; config.py holds the
settings stored in the database (stages, zone); validation.py cleans what a
user typed; store.py checks the database's health. Nothing here imports
another service package.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "contacts": ("get_contact", "read_contact", "read_contacts", "resolve_ref", "tags_of"),
    "deals": (
        "current_deal", "mirror_current_deal", "mirror_current_deals", "open_deal",
        "open_deals_of", "record_deal_move",
    ),
    "companies": ("company_for_name", "find_company_by_name"),
    "config": ("get_setting", "list_settings", "set_setting", "normalize_stage", "local_zone_of"),
    "validation": ("clean_text", "money_to_cents", "normalize_email", "normalize_phone"),
    "store": ("check_store",),
})  # fmt: skip
