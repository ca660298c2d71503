"""The service layer: the only place with business rules and queries.

One subpackage per capability, layered one way (each may use those below it,
never one above; import-linter checks it, see pyproject.toml):

    demo        the demo shop
    transfer    import, export, backups, the Maven files
    dedupe | funnel | profiles    merging · reports · what `show` assembles
    followups   follow-ups, interactions, cadences, the digest, mail out
    deals       deals, lines, products, stages, the pipeline
    companies   the organisations people work for
    contacts    people: add, edit, list, search, trash
    scoring     the rule grammar, the rulebook, figures, the history model
    records     rows and settings every layer shares: REF lookup, read shapes,
                validation, a contact's copy of its current deal

Services are plain functions taking a session first. They return read models
(never live ORM rows), raise CrmError subclasses, and never print or prompt.
Each subpackage's __init__ names its public functions and loads the module
holding one on first use, so a command pays only for what it needs.
"""

from importlib import import_module


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]):
    """A module `__getattr__` and `__all__` for a subpackage's public names.

    `modules` maps each submodule to the names it exports; a name's module is
    imported when the name is first asked for, not when the package is. A
    module named in full (`minicrm.…`) may lend a name from a lower layer."""
    home = {
        name: module if module.startswith("minicrm.") else f"{package}.{module}"
        for module, names in modules.items()
        for name in names
    }

    def __getattr__(name: str):
        if name in home:
            return getattr(import_module(home[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(home)
