"""Reports from the command line: funnel, forecast, activity, segments, sales.

Each command parses its options, calls one report service in one read-only
session, and renders the result as a table (rich on a TTY, plain text when
piped), JSON, Markdown or, for the funnel, CSV. A report is drawn as a list
of sections (title, columns, typed cells), so every format shows the same
figures; the funnel adds a bar chart of the stage counts.
"""

from typing import Annotated

import typer

from minicrm.commands._report_render import Section, print_bars, render, show_value
from minicrm.commands._store import unit_of_work

app = typer.Typer(
    help="Reports: the sales funnel, a weighted forecast, activity per week, value segments, "
    "won sales.",
    no_args_is_help=True,
)

FormatOption = Annotated[
    str, typer.Option("--format", "-f", metavar="FORMAT", help="table, json or md.")
]
RowsFormatOption = Annotated[
    str,
    typer.Option(
        "--format", "-f", metavar="FORMAT", help="table, json, md, or csv (one row per item)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


@app.command()
def funnel(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", metavar="WHEN", help="Deals created from then on.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", metavar="WHEN", help="Deals created before then (a day counts whole)."
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="FIELD",
            help="One funnel per owner, source, industry, region, product or company.",
        ),
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table, json, csv or md.")
    ] = "table",
    json_: JsonOption = False,
) -> None:
    """The sales funnel: deals and value per stage, how many reached each stage and
    went on, days in stage, win rate, sales cycle, lost reasons, weighted forecast."""
    from datetime import UTC, datetime

    from minicrm.services.funnel.funnel import funnel_report
    from minicrm.services.records.config import local_zone_of

    fmt = _check_format(format_, json_, ("table", "json", "csv", "md"))
    by = by.strip().lower() if by is not None else None
    now = datetime.now(UTC)
    with unit_of_work(ctx, write=False) as session:
        zone = local_zone_of(session)
        start, end = _since_until(since, until, now, zone)
        report = funnel_report(session, since=start, until=end, by=by, now=now)
    if fmt == "json":
        _json(report)
    elif fmt == "csv":
        _funnel_csv(report)
    else:
        for number, (key, figures) in enumerate(report.groups.items()):
            title = f"{report.by}: {key}" if report.by else "Funnel"
            sections = _funnel_sections(figures, title + _period(report, zone), report.currency)
            render(sections, fmt, first=number == 0)
            print_bars([(s.stage, s.current) for s in figures.stages], fmt)
        if report.by and not report.groups:
            _note("no deals in this period")


@app.command()
def forecast(ctx: typer.Context, format_: RowsFormatOption = "table", json_: JsonOption = False):
    """Open deals' value weighted by the win probability of each deal's stage;
    CSV has one row per open deal, to pivot in a spreadsheet."""
    from minicrm.services.funnel.reports import forecast_report

    fmt = _check_format(format_, json_, ("table", "json", "csv", "md"))
    if fmt == "csv":
        return _forecast_csv(ctx)
    with unit_of_work(ctx, write=False) as session:
        report = forecast_report(session)
    if fmt == "json":
        return _json(report)
    money = f"Value ({report.currency})"
    fallback = set(report.fallback_stages)
    stages = Section(
        "Win probability by stage (* = too few closed deals: the overall win rate)",
        ["Stage", "P(win)", "Days to win"],
        ["text", "rate", "days"],
        [
            [s + (" *" if s in fallback else ""), p, report.days_to_win[s]]
            for s, p in report.win_probability.items()
        ],
    )
    columns, kinds = ["Open", money, "Weighted"], ["int", "money", "money"]

    def lines(title: str, key: str, items) -> "Section":
        rows = [[x.label, x.open, x.value_cents, x.weighted_cents] for x in items]
        total = report.total
        rows.append(["Total", total.open, total.value_cents, total.weighted_cents])
        return Section(title, [key, *columns], ["text", *kinds], rows)

    render(
        [
            stages,
            lines("By owner", "Owner", report.owners),
            lines("By expected month", "Month", report.months),
        ],
        fmt,
    )


@app.command()
def activity(
    ctx: typer.Context,
    weeks: Annotated[
        int, typer.Option("--weeks", "-w", help="How many weeks, this one included.")
    ] = 8,
    format_: FormatOption = "table",
    json_: JsonOption = False,
):
    """Interactions per owner and kind in each ISO week."""
    from minicrm.services.funnel.reports import activity_report

    fmt = _check_format(format_, json_, ("table", "json", "md"))
    with unit_of_work(ctx, write=False) as session:
        report = activity_report(session, weeks=weeks)
    if fmt == "json":
        return _json(report)
    short = [w.split("-")[-1] for w in report.weeks]
    rows = [[r.owner, r.kind, *r.counts, r.total] for r in report.rows]
    rows.append(["Total", "", *report.totals, sum(report.totals)])
    title = f"Interactions per week, {report.weeks[0]} to {report.weeks[-1]}"
    kinds = ["text", "text", *(["int"] * (len(short) + 1))]
    render([Section(title, ["Owner", "Kind", *short, "Total"], kinds, rows)], fmt)


@app.command()
def segments(ctx: typer.Context, format_: RowsFormatOption = "table", json_: JsonOption = False):
    """Value tiers (ABC by revenue share) and RFM segments, from purchases;
    CSV has one row per customer with its tier, RFM scores and segment."""
    from minicrm.services.funnel.reports import segments_report

    fmt = _check_format(format_, json_, ("table", "json", "csv", "md"))
    if fmt == "csv":
        return _segments_csv(ctx)
    from minicrm.dates import format_local
    from minicrm.services.records.config import local_zone_of

    with unit_of_work(ctx, write=False) as session:
        report = segments_report(session)
        zone = local_zone_of(session)
    if fmt == "json":
        return _json(report)
    money = f"Revenue ({report.currency})"
    tiers = Section(
        f"Value tiers: {report.customers} customers",
        ["Tier", "Customers", "Share", money, "Share of revenue"],
        ["text", "int", "rate", "money", "rate"],
        [
            [t.tier, t.customers, t.customer_share, t.revenue_cents, t.revenue_share]
            for t in report.tiers
        ],
    )
    rfm = Section(
        "RFM segments (mean scores 1-5)",
        ["Segment", "Customers", money, "R", "F", "M"],
        ["text", "int", "money", "score", "score", "score"],
        [
            [s.segment, s.customers, s.revenue_cents, s.recency, s.frequency, s.monetary]
            for s in report.segments
        ],
    )
    top = Section(
        "Top customers",
        ["ID", "Name", money, "Purchases", "Last purchase", "Tier", "RFM", "Segment"],
        ["int", "text", "money", "int", "text", "text", "text", "text"],
        [
            [c.id, c.name, c.revenue_cents, c.purchases,
             format_local(c.last_purchase_at, zone, with_time=False), c.tier,
             c.rfm, c.segment]
            for c in report.top_customers
        ],
    )  # fmt: skip
    render([tiers, rfm, top], fmt)


@app.command()
def sales(
    ctx: typer.Context,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="FIELD", help="Per product, company, owner or month."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="WHEN", help="Deals won from then on.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="WHEN", help="Deals won before then (a day counts whole)."),
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table, json, csv or md.")
    ] = "table",
    json_: JsonOption = False,
):
    """Won sales: deals won, revenue and average deal size, counted when each deal
    closed; by product from the deals' lines."""
    from datetime import UTC, datetime

    from minicrm.services.funnel.sales import sales_report
    from minicrm.services.records.config import local_zone_of

    fmt = _check_format(format_, json_, ("table", "json", "csv", "md"))
    by = by.strip().lower() if by is not None else None
    now = datetime.now(UTC)
    with unit_of_work(ctx, write=False) as session:
        zone = local_zone_of(session)
        start, end = _since_until(since, until, now, zone)
        report = sales_report(session, by=by, since=start, until=end)
    if fmt == "json":
        return _json(report)
    money = f"Revenue ({report.currency})"
    average = f"Average deal ({report.currency})"
    rows = [[g.key, g.won, g.revenue_cents, g.avg_deal_cents] for g in report.groups]
    if fmt == "csv":
        from minicrm.commands._output import print_csv
        from minicrm.models import cents_to_major

        total = [["(total)", report.won, report.revenue_cents, report.avg_deal_cents]]
        print_csv(
            [report.by or "key", "won", "revenue", "avg_deal"],
            [[k, n, cents_to_major(r), cents_to_major(a)] for k, n, r, a in rows + total],
        )
        return
    rows.append(["Total", report.won, report.revenue_cents, report.avg_deal_cents])
    title = f"Sales by {report.by}" if report.by else "Sales"
    section = Section(
        title, [(report.by or "").capitalize() or "Deals", "Won", money, average],
        ["text", "int", "money", "money"], rows,
    )  # fmt: skip
    render([section], fmt)


# ----------------------------------------------------------------- helpers


def _check_format(fmt: str, json_: bool, allowed: tuple[str, ...]) -> str:
    from minicrm.errors import UserError

    fmt = "json" if json_ else fmt.strip().lower()
    if fmt not in allowed:
        raise UserError(f"unknown --format {fmt!r}; use {', '.join(allowed)}")
    return fmt


def _json(report) -> None:
    from minicrm.commands._output import print_json

    print_json(report.to_json())


def _since_until(since: str | None, until: str | None, now, zone):
    """--since and --until as instants. A report looks at the past: a day
    without a year in --since is the latest one (jan 1 in December is this
    year's), and in --until the latest one not before --since, else the next."""
    start = _parse_day_or_time(since, now, zone, end=False, looking_back=True)
    if until is None:
        return start, None
    end = _parse_day_or_time(until, now, zone, end=True, looking_back=start is not None)
    if start is not None and end <= start:
        end = _parse_day_or_time(until, now, zone, end=True)
    return start, end


def _parse_day_or_time(text: str | None, now, zone, *, end: bool, looking_back: bool = False):
    """WHEN as an instant; a day alone starts at local midnight, and as the
    end of a period it takes the whole day (`--until 2026-03-31` includes it)."""
    if text is None:
        return None
    from datetime import time, timedelta

    from minicrm.dates import parse_when, wall_clock

    instant = parse_when(
        text, now=now, zone=zone, default_time=time(0, 0), looking_back=looking_back
    )
    local = instant.astimezone(zone)
    if end and local.time() == time(0, 0):
        next_day = local.replace(tzinfo=None) + timedelta(days=1)
        return wall_clock(next_day, zone).astimezone(instant.tzinfo)
    return instant


def _period(report, zone) -> str:
    from minicrm.dates import format_local

    parts = []
    if report.since:
        parts.append(f"from {format_local(report.since, zone)}")
    if report.until:
        parts.append(f"before {format_local(report.until, zone)}")
    return f", created {' '.join(parts)}" if parts else ""


def _funnel_sections(figures, title: str, currency: str) -> list[Section]:
    stages = Section(
        title,
        ["Stage", "Now", f"Value ({currency})", "Reached", "To next", "Avg days", "Median days"],
        ["text", "int", "money", "int", "rate", "days", "days"],
        [
            [s.stage, s.current, s.value_cents, s.reached, s.conversion_to_next,
             s.avg_days_in_stage, s.median_days_in_stage]
            for s in figures.stages
        ],
    )  # fmt: skip
    summary = Section(
        "Summary",
        ["Figure", "Value"],
        ["text", "text"],
        [
            ["Won", show_value(figures.won, "int")],
            ["Lost", show_value(figures.lost, "int")],
            ["Win rate", show_value(figures.win_rate, "rate")],
            ["Sales cycle, average (days)", show_value(figures.avg_cycle_days, "days")],
            ["Sales cycle, median (days)", show_value(figures.median_cycle_days, "days")],
            [f"Forecast ({currency})", show_value(figures.forecast_cents, "money")],
        ],
    )
    total_lost = sum(figures.lost_reasons.values())
    reasons = Section(
        "Lost reasons",
        ["Reason", "Count", "Share"],
        ["text", "int", "rate"],
        [[r, n, n / total_lost] for r, n in figures.lost_reasons.items()],
    )
    lost_from = Section(
        "Lost from stage",
        ["Stage", "Count", "Share"],
        ["text", "int", "rate"],
        [[s, n, n / total_lost] for s, n in figures.lost_at_stage.items()],
    )
    return [stages, summary, *(s for s in (reasons, lost_from) if s.rows)]


def _funnel_csv(report) -> None:
    from minicrm.commands._output import print_csv
    from minicrm.models import cents_to_major

    keys = ["stage", "current", "value", "reached", "conversion_to_next"]
    keys += ["avg_days_in_stage", "median_days_in_stage"]
    rows = []
    for group, figures in report.groups.items():
        for stage in figures.stages:
            row = [getattr(stage, k) for k in keys if k != "value"]
            row.insert(2, cents_to_major(stage.value_cents))
            rows.append([group, *row] if report.by else row)
    print_csv([report.by, *keys] if report.by else keys, rows)


def _forecast_csv(ctx: typer.Context) -> None:
    from minicrm.commands._output import print_csv
    from minicrm.models import cents_to_major
    from minicrm.services.funnel.reports import forecast_deals

    header = ["deal_id", "title", "contact", "owner", "stage", "value", "win_probability",
              "weighted", "expected_month"]  # fmt: skip
    with unit_of_work(ctx, write=False) as session:
        print_csv(header, (
            [d.id, d.title, d.contact_name, d.owner, d.stage, cents_to_major(d.value_cents),
             d.win_probability, cents_to_major(d.weighted_cents), d.expected_month]
            for d in forecast_deals(session)
        ))  # fmt: skip


def _segments_csv(ctx: typer.Context) -> None:
    from minicrm.commands._output import print_csv
    from minicrm.models import cents_to_major
    from minicrm.services.funnel.segments import every_customer

    header = ["id", "name", "revenue", "purchases", "last_purchase_at", "tier", "recency",
              "frequency", "monetary", "rfm", "segment"]  # fmt: skip
    with unit_of_work(ctx, write=False) as session:
        print_csv(header, (
            [c.id, c.name, cents_to_major(c.revenue_cents), c.purchases,
             c.last_purchase_at.isoformat(), c.tier, c.recency, c.frequency, c.monetary,
             c.rfm, c.segment]
            for c in every_customer(session)
        ))  # fmt: skip


def _note(text: str) -> None:
    from minicrm.commands._output import info

    info(text)
