"""How a report looks: titled tables of raw values shown by kind (as a table,
plain text or Markdown), and the funnel's bars."""

from dataclasses import dataclass, field
from typing import Any

FULL_BLOCK, EIGHTHS = "█", " ▏▎▍▌▋▊▉"
BAR_STYLES = {"won": "green", "lost": "red"}


@dataclass
class Section:
    """A titled table whose cells keep their raw values; `kinds` says how to
    show each column (text, int, money in cents, rate, days, score)."""

    title: str
    header: list[str]
    kinds: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def show_value(value: Any, kind: str) -> str:
    """A report cell as text: '–' for no value, money in major units, rates as %."""
    if value is None:
        return "–"
    if kind == "money":
        return f"{value / 100:,.2f}"
    if kind == "int":
        return f"{value:,}"
    if kind == "rate":
        return f"{value:.1%}"
    if kind in ("days", "score"):
        return f"{value:.1f}"
    return str(value)


def render(sections: list[Section], fmt: str, *, first: bool = True) -> None:
    from minicrm.commands._output import print_table, stdout_is_tty

    for number, section in enumerate(sections):
        gap = "" if first and number == 0 else "\n"
        rows = [
            [show_value(v, k) for v, k in zip(row, section.kinds, strict=True)]
            for row in section.rows
        ]
        if fmt == "md":
            print(f"{gap}### {md_cell(section.title)}\n")
            print("| " + " | ".join(md_cell(h) for h in section.header) + " |")
            print("|" + "|".join("---:" if k != "text" else "---" for k in section.kinds) + "|")
            for row in rows:
                print("| " + " | ".join(md_cell(v) for v in row) + " |")
            continue
        if not stdout_is_tty():
            print(gap + section.title)
        print_table(section.header, rows, title=section.title)


def md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def print_bars(items: list[tuple[str, int]], fmt: str) -> None:
    """A horizontal bar per stage, scaled to the terminal width."""
    import shutil

    from minicrm.commands._output import stdout_is_tty

    width = shutil.get_terminal_size((80, 24)).columns
    label_width = max(len(label) for label, _ in items)
    count_width = max(len(f"{n:,}") for _, n in items)
    room = max(10, min(width, 120) - label_width - count_width - 4)
    biggest = max((n for _, n in items), default=0) or 1
    lines = []
    for label, n in items:
        eighths = round(n * room * 8 / biggest)
        bar = FULL_BLOCK * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")
        lines.append((label, bar, f"{label:<{label_width}}  {bar:<{room}}  {n:>{count_width},}"))
    if fmt == "md":
        print("\n```")
        print("\n".join(line.rstrip() for *_, line in lines))
        print("```")
    elif stdout_is_tty():
        from rich.console import Console
        from rich.text import Text

        console = Console(highlight=False)
        console.print()
        for label, bar, line in lines:
            text = Text(f"{label:<{label_width}}  ")
            text.append(f"{bar:<{room}}", style=BAR_STYLES.get(label, "cyan"))
            text.append(line[label_width + 2 + room :])
            console.print(text)
    else:
        print()
        print("\n".join(line.rstrip() for *_, line in lines))
