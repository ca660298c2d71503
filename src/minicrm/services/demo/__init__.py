"""Demo data for `crm demo`: a year of a small shop's customers, companies,
deals and products.

Rows are generated a chunk of contacts at a time and written with SQLAlchemy
Core bulk inserts, never ORM objects, so 100,000 contacts with a million
interactions take seconds and little memory. Everything is drawn from one
random.Random(seed) against a fixed `now`: a seed reproduces the database.
"""

from minicrm.services.demo.generate import CHUNK_CONTACTS, DemoSummary, generate_demo
from minicrm.services.demo.loading import (
    FTS_INSERT_TRIGGERS,
    RowWriter,
    sqlite_bulk_load,
)
from minicrm.services.demo_data import CATALOGUE, LOST_REASONS

__all__ = [
    "CATALOGUE",
    "CHUNK_CONTACTS",
    "FTS_INSERT_TRIGGERS",
    "LOST_REASONS",
    "DemoSummary",
    "RowWriter",
    "generate_demo",
    "sqlite_bulk_load",
]
