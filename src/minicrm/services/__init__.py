"""The service layer: the only place with business rules and queries.

Services are plain functions taking a session first. They return read models
(never live ORM rows), raise CrmError subclasses, and never print or prompt.
Submodules are imported where used so a command pays only for what it needs.
"""
