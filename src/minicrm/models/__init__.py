"""The schema (SQLModel tables) and the read models services hand out.

people.py holds contacts and what happens with them, sales.py companies,
products and deals, reads.py the plain objects that leave a session.
"""

from minicrm.models.columns import UTCDateTime
from minicrm.models.people import (
    EVENT_KINDS,
    LOST,
    OPEN_STAGES_DEFAULT,
    WON,
    Cadence,
    Contact,
    ContactTag,
    FollowUp,
    ImportBatch,
    ImportChange,
    Interaction,
    ReminderLedger,
    Setting,
    StageChange,
    Tag,
    is_contact_with_customer,
)
from minicrm.models.reads import (
    CompanyRead,
    ContactRead,
    DealLineRead,
    DealRead,
    FollowUpRead,
    InteractionRead,
    ProductRead,
    StageChangeRead,
    cents_to_major,
)
from minicrm.models.sales import Company, CompanyTag, Deal, DealLine, Product

CLOSED_STAGES = (WON, LOST)

__all__ = [
    "CLOSED_STAGES", "EVENT_KINDS", "LOST", "OPEN_STAGES_DEFAULT", "WON", "Cadence", "Company",
    "CompanyRead",
    "CompanyTag", "Contact", "ContactRead", "ContactTag", "Deal", "DealLine", "DealLineRead",
    "DealRead", "FollowUp", "FollowUpRead", "ImportBatch", "ImportChange", "Interaction",
    "InteractionRead", "Product", "ProductRead", "ReminderLedger", "Setting", "StageChange",
    "StageChangeRead", "Tag", "UTCDateTime", "cents_to_major",
    "is_contact_with_customer",
]  # fmt: skip
