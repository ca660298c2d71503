"""Widgets of `crm tui`: they show read models and post messages; none queries."""
