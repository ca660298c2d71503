"""Moving data in and out in bulk (SPEC §5).

Import: files.py detects the format and runs the import (decoding.py
makes its bytes text); csv_import.py, vcard.py and json_import.py read each
format into rows; headers.py maps column headers to fields; cleaning.py,
dates.py and decimals.py clean values;
duplicates.py matches rows to existing contacts; importing.py plans the
rows (phones_ahead.py normalises a big file's phones in a second process);
writing.py writes them in bulk (through bulk_load.py and bulk.py, scoring
them with new_scores.py), deal_updates.py and undo.py keep deals and the
undo manifest right;
batches.py lists and undoes import batches; maven.py reads the Maven CRM
files. Export: exporting.py (CSV, JSON, and vCard through vcard_writing.py),
calendar_export.py (follow-ups as iCalendar, with vtimezone.py building the
VTIMEZONE from tzdata), deal_export.py, backup.py (the whole-database JSON
shape).
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "files": ("ImportOptions", "detect_format", "import_file"),
    "batches": ("list_batches", "undo_batch"),
    "maven": ("import_maven",),
    "exporting": (
        "export_all_json", "write_contacts_csv", "write_contacts_json", "write_contacts_vcf",
    ),
    "calendar_export": ("followups_to_ics", "open_followups_for_export"),
    "deal_export": ("write_deals_csv", "write_deals_json"),
    "json_import": ("restore_export",),
})  # fmt: skip
