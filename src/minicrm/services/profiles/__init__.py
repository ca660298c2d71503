"""What `crm show` and `crm company show` assemble from every capability:
the record, its deals, open follow-ups and a timeline (contact.py,
company.py)."""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "contact": ("contact_profile", "contact_timeline"),
    "company": ("company_profile",),
})  # fmt: skip
