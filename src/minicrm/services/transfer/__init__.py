"""Moving data in and out in bulk: companies and deals for imports, the
Maven CRM files, deal exports."""
