"""Contacts: the people a shop keeps (SPEC §1, §2).

editing.py adds and edits (rescoring what changed), listing.py filters and
sorts, trash.py trashes, restores and purges, search.py is the folded
full-text search, likely_duplicates.py the check `crm add` makes, paging.py
the keyset pages of the TUI's table, deal_shortcut.py the one-deal shortcut
(`crm edit --stage` moves the contact's only open deal). Finding one contact
by REF and reading rows live one layer down, in records/contacts.py.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "editing": ("ContactChanges", "ContactInput", "add_contact", "update_contact"),
    "listing": ("ContactFilter", "count_contacts", "list_contacts"),
    "trash": ("list_trash", "purge_contact", "restore_contact", "trash_contact"),
    "search": ("search_contacts",),
    "likely_duplicates": ("find_likely_duplicates",),
    "paging": ("contacts_page",),
    "minicrm.services.records.contacts": ("get_contact", "resolve_ref"),
})  # fmt: skip
