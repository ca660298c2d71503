"""Sales figures from deals: the won-revenue report and the SQL helpers the
reports share."""

from minicrm.services.sales.report import SALES_BY, SalesGroup, SalesReport, sales_report

__all__ = ["SALES_BY", "SalesGroup", "SalesReport", "sales_report"]
