"""Finding and merging records that are one (`crm dedupe`, `crm merge`).

contacts.py groups likely duplicate people (union-find over candidate pairs),
merging.py merges them into one, moving deals, interactions and follow-ups;
companies.py does the same for companies.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "contacts": ("find_duplicate_groups", "iter_duplicate_groups"),
    "merging": ("merge_contacts",),
    "companies": ("find_duplicate_companies", "merge_companies"),
})  # fmt: skip
