"""Companies: the organisations people work for and that buy (SPEC §1a).

companies.py is what a user does with companies (add, edit, trash); reading.py
reads them (REF, list). Finding or creating one by name, all the contacts
layer needs, is in records/companies.py; `crm company show` is
profiles/company.py and merging is dedupe/companies.py.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "companies": (
        "CompanyChanges", "CompanyInput", "add_company", "restore_company", "trash_company",
        "update_company",
    ),
    "reading": (
        "CompanyFilter", "get_company", "list_companies", "read_companies", "resolve_company",
    ),
})  # fmt: skip
