"""`crm dedupe --companies`: companies that look like one, and merging them."""

from datetime import UTC, datetime

import typer

from minicrm.commands._store import unit_of_work

LABELS = {"people": ("person", "people"), "deals": ("deal", "deals"), "tags": ("tag", "tags")}
GROUP_HEADER = ["Group", "ID", "Name", "Domain", "People", "Open deals", "Reason", "Similarity"]


def _group_rows(number: int, group) -> list[list[str]]:
    reason = ", ".join(group.reasons)
    return [
        [
            str(number), str(c.id), c.name, c.domain or "", str(c.people_count),
            str(c.open_deals), reason if i == 0 else "", str(group.similarity) if i == 0 else "",
        ]
        for i, c in enumerate(group.companies)
    ]  # fmt: skip


def dedupe_companies(
    ctx: typer.Context, threshold: int, *, merge_: bool, ask: bool, json_: bool
) -> None:
    from minicrm.commands import _output as out
    from minicrm.commands._prompts import ask_yes_no_quit
    from minicrm.services.dedupe.companies import find_duplicate_companies, merge_companies

    with unit_of_work(ctx, write=False) as session:
        groups = find_duplicate_companies(session, threshold=threshold)
    if not merge_:
        if json_:
            out.print_json_array(g.to_json() for g in groups)
            return
        if not groups:
            out.info("no likely duplicate companies")
            return
        out.print_table(
            GROUP_HEADER, (row for n, g in enumerate(groups, 1) for row in _group_rows(n, g))
        )
        out.info(f"{len(groups)} group(s)")
        out.info("merge every group into its oldest company with --merge")
        return
    chosen: list[list[int]] = []
    for number, group in enumerate(groups, 1):
        if ask:
            out.print_table(GROUP_HEADER, _group_rows(number, group))
            keep = group.companies[0]
            answer = ask_yes_no_quit(f"Merge group {number} into #{keep.id} {keep.name}? [y/n/q]")
            if answer == "q":
                break
            if answer == "n":
                continue
        chosen.append([c.id for c in group.companies])
    now = datetime.now(UTC)
    with unit_of_work(ctx) as session:
        results = [merge_companies(session, ids[0], ids[1:], now=now) for ids in chosen]
    if json_:
        out.print_json([r.to_json() for r in results])
        return
    for result in results:
        out.info(_summary(result))
    if not chosen:
        out.info("nothing merged" if groups else "no likely duplicate companies")


def _summary(result) -> str:
    kept = result.company
    merged = ", ".join(f"#{c.id}" for c in result.merged)
    moved = ", ".join(
        f"{count} {LABELS[kind][count != 1]}" for kind, count in result.moved.items() if count
    )
    filled = f"; filled {', '.join(result.filled)}" if result.filled else ""
    return f"merged {merged} into #{kept.id} {kept.name}: moved {moved or 'nothing'}{filled}"
