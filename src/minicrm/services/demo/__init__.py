"""Demo data for `crm demo`: a year of a small shop's customers, companies,
deals and products.

Rows are generated a chunk of contacts at a time (maker.py people and their
history, sales.py deals and lines, catalogue.py the names and products drawn
from) and written through transfer/bulk_load.py, never ORM objects, so
100,000 contacts with a million interactions take seconds and little memory.
Everything is drawn from one random.Random(seed) against a fixed `now`: a
seed reproduces the database.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "generate": ("CHUNK_CONTACTS", "DemoSummary", "generate_demo"),
    "catalogue": ("CATALOGUE", "LOST_REASONS"),
})  # fmt: skip
