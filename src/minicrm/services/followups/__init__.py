"""What happens after first contact: the log and what is due next.

followups.py schedules, completes, snoozes and lists follow-ups (with
recurrence); interactions.py logs calls, mail, meetings and purchases;
cadence.py says how often to get in touch and who is due; remind.py builds
the digest `crm remind` prints or sends, ledger.py remembers what
`--only-new` already announced, mailer.py sends it (SMTP or sendmail).
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "followups": (
        "add_followup", "complete_followup", "list_followups", "remove_followup",
        "snooze_followup",
    ),
    "interactions": ("log_interaction", "last_interaction_at"),
    "cadence": ("due_to_get_in_touch", "list_cadences", "remove_cadence", "set_cadence"),
    "remind": ("build_digest", "digest_to_json", "mark_sent"),
    "mailer": ("mail_settings", "send_digest"),
})  # fmt: skip
