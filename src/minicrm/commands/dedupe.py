"""`crm dedupe` and `crm merge`: find likely duplicates and fold them together."""

import itertools
from datetime import UTC, datetime
from typing import Annotated

import typer

from minicrm.commands._store import unit_of_work

TTY_GROUP_LIMIT = 100
GROUP_HEADER = ["Group", "ID", "Name", "Company", "Email", "Phone", "Reason", "Similarity"]
Json = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]


def register(app: typer.Typer) -> None:
    app.command("dedupe")(dedupe)
    app.command("merge")(merge)


def dedupe(
    ctx: typer.Context,
    threshold: Annotated[
        int,
        typer.Option(
            "--threshold", metavar="N", help="Name similarity (1-100) that counts as a match."
        ),
    ] = 90,
    merge_: Annotated[
        bool,
        typer.Option(
            "--merge",
            help="Merge each group into its oldest contact (lowest id); on a terminal, "
            "asks per group (y/n, q stops asking and merges what you said yes to).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="With --merge: merge every group without asking.")
    ] = False,
    companies: Annotated[
        bool,
        typer.Option(
            "--companies",
            help="Companies instead of contacts: same domain, or similar names once legal "
            "forms (S.L., Ltd, Inc, GmbH…) and punctuation are dropped.",
        ),
    ] = False,
    json_: Json = False,
) -> None:
    """Groups of contacts that look like one person: same email, same phone,
    or a very similar name at a similar company (or both without one).
    With --companies, groups of companies that look like one."""
    from minicrm.commands import _output as out
    from minicrm.services.dedupe.contacts import iter_duplicate_groups

    if merge_ and not yes and not out.interactive():
        out.fail("--merge asks before each group; without a terminal add --yes to merge them all")
    if merge_ and not yes and json_:
        out.fail("--merge with --json cannot ask questions; add --yes to merge every group")
    if companies:
        from minicrm.commands.dedupe_companies import dedupe_companies

        dedupe_companies(ctx, threshold, merge_=merge_, ask=not yes, json_=json_)
        return
    if merge_:
        _merge_groups(ctx, threshold, ask=not yes, json_=json_)
        return
    with unit_of_work(ctx, write=False) as session:
        groups = iter_duplicate_groups(session, threshold=threshold)
        if json_:
            out.print_json_array(g.to_json() for g in groups)
            return
        first = next(groups, None)
        if first is None:
            out.info("no likely duplicates")
            return
        # A screen shows the first groups (like `crm list`); a pipe gets all.
        shown = itertools.chain([first], groups)
        if out.stdout_is_tty():
            shown = itertools.islice(shown, TTY_GROUP_LIMIT)
        count = 0

        def rows():
            nonlocal count
            for count, group in enumerate(shown, start=1):
                yield from _group_rows(count, group)

        out.print_table(GROUP_HEADER, rows())
        more = next(groups, None) is not None
    if more:
        out.info(f"showing the first {count} groups; use --json or a pipe for all")
    else:
        out.info(f"{count} group(s)")
    out.info("merge one with `crm merge KEEP OTHER…`, or every group with --merge")


def _group_rows(number: int, group) -> list[list[str]]:
    """One row per contact; the group's reason and similarity on its first."""
    reason = ", ".join(group.reasons)
    return [
        [
            str(number), str(c.id), c.name, c.company or "", c.email or "", c.phone or "",
            reason if first else "", str(group.similarity) if first else "",
        ]
        for first, c in ((i == 0, c) for i, c in enumerate(group.contacts))
    ]  # fmt: skip


def _merge_groups(ctx: typer.Context, threshold: int, *, ask: bool, json_: bool) -> None:
    """Decide first (reading), then merge every chosen group in one write
    transaction: nothing holds the write lock while a person thinks. Only ids
    are kept in between, and JSON is spooled until the commit, so merging
    thousands of groups stays small and prints nothing that did not happen."""
    import shutil
    import sys
    from contextlib import redirect_stdout
    from tempfile import SpooledTemporaryFile

    from minicrm.commands import _output as out
    from minicrm.commands._prompts import ask_yes_no_quit
    from minicrm.services.dedupe.contacts import iter_duplicate_groups
    from minicrm.services.dedupe.merging import merge_contacts

    chosen: list[list[int]] = []
    found = 0
    with unit_of_work(ctx, write=False) as session:
        for found, group in enumerate(iter_duplicate_groups(session, threshold=threshold), 1):
            if ask:
                out.print_table(GROUP_HEADER, _group_rows(found, group))
                keep = group.contacts[0]
                question = f"Merge group {found} into #{keep.id} {keep.name}? [y/n/q]"
                answer = ask_yes_no_quit(question)
                if answer == "q":
                    break
                if answer == "n":
                    continue
            chosen.append([c.id for c in group.contacts])
    now = datetime.now(UTC)
    summaries = []
    with SpooledTemporaryFile(mode="w+", max_size=1 << 20, encoding="utf-8") as spool:
        with unit_of_work(ctx) as session, redirect_stdout(spool):
            results = (merge_contacts(session, ids[0], ids[1:], now=now) for ids in chosen)
            if json_:
                out.print_json_array(r.to_json() for r in results)
            else:
                summaries = [_merge_summary(r) for r in results]
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout)
    for summary in summaries:
        out.info(summary)
    if not chosen and not json_:
        out.info("nothing merged" if found else "no likely duplicates")


def merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(metavar="KEEP", help="The contact that stays (REF).")],
    others: Annotated[
        list[str], typer.Argument(metavar="OTHER", help="Contacts merged into KEEP, then deleted.")
    ],
    json_: Json = False,
) -> None:
    """Merge OTHER contacts into KEEP: their interactions, follow-ups, stage
    history and tags move to KEEP, KEEP's empty fields are filled from them,
    and they are deleted for good. All in one transaction."""
    from minicrm.commands import _output as out
    from minicrm.services.dedupe.merging import merge_contacts

    with unit_of_work(ctx) as session:
        result = merge_contacts(session, keep, others, now=datetime.now(UTC))
    if json_:
        out.print_json(result.to_json())
    else:
        out.info(_merge_summary(result))


MOVED_LABELS = {
    "deals": ("deal", "deals"), "interactions": ("interaction", "interactions"),
    "followups": ("follow-up", "follow-ups"),
    "stage_changes": ("stage change", "stage changes"), "tags": ("tag", "tags"),
    "cadence": ("cadence", "cadences"),
}  # fmt: skip


def _merge_summary(result) -> str:
    kept = result.contact
    merged = ", ".join(f"#{c.id}" for c in result.merged)
    moved = ", ".join(
        f"{count} {MOVED_LABELS[kind][count != 1]}" for kind, count in result.moved.items() if count
    )
    filled = f"; filled {', '.join(result.filled)}" if result.filled else ""
    return f"merged {merged} into #{kept.id} {kept.name}: moved {moved or 'nothing'}{filled}"
