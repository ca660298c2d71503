"""Reports over deals (SPEC §4): every figure by its definition, in SQL.

funnel.py is the funnel (conversion, cycle times, win probabilities);
reports.py the weighted forecast and activity per week; sales.py won
revenue by period, owner, product or company; segments.py the ABC tiers and
RFM segments; activity.py the latest interactions; sql.py the SQL pieces
they share (day arithmetic, medians, grouping).
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "funnel": ("funnel_report", "forecast_cents", "win_probabilities"),
    "reports": ("activity_report", "forecast_report"),
    "sales": ("sales_report",),
    "segments": ("segments_report",),
    "activity": ("recent_interactions",),
})  # fmt: skip
