"""Companies: the organisations people work for and that buy (SPEC §1a).

records.py finds or creates a company by its folded name, the one thing the
contacts layer needs; companies.py is what a user does with companies (add,
edit, trash); reading.py reads them (REF, list); profile.py is `crm company
show`; dedupe.py finds and merges companies that are one.

Only records.py is imported here: contacts import it, and the other modules
use contacts, so they are loaded on first use (see __getattr__).
"""

from minicrm.services.companies.records import company_for_name, find_company_by_name

_LAZY = {
    "CompanyChanges": "companies", "CompanyFilter": "reading", "CompanyInput": "companies",
    "add_company": "companies", "get_company": "reading", "list_companies": "reading",
    "read_companies": "reading", "resolve_company": "reading", "restore_company": "companies",
    "trash_company": "companies", "update_company": "companies", "company_profile": "profile",
    "find_duplicate_companies": "dedupe", "merge_companies": "dedupe",
}  # fmt: skip

__all__ = ["company_for_name", "find_company_by_name", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"minicrm.services.companies.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
