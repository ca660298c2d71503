"""The Textual front end (`crm tui`). Imported only by that command, so the
rest of the CLI never pays for Textual."""
