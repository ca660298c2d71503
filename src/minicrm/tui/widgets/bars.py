"""A horizontal bar chart of stage counts, scaled to the widget's width."""

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

FULL_BLOCK, EIGHTHS = "█", " ▏▎▍▌▋▊▉"


def bar(count: int, biggest: int, room: int) -> str:
    """`count` as a bar of up to `room` cells, to an eighth of a cell; a
    non-zero count always shows at least a sliver."""
    if count <= 0 or biggest <= 0 or room <= 0:
        return ""
    eighths = max(1, round(count * room * 8 / biggest))
    return FULL_BLOCK * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")


class StageBars(Widget):
    """One line per stage: name, bar, count. Won and lost get their own
    colours, from the theme, so the chart reads in light and dark themes."""

    COMPONENT_CLASSES = {"bars--label", "bars--bar", "bars--won", "bars--lost", "bars--count"}
    DEFAULT_CSS = """
    StageBars { height: auto; }
    StageBars > .bars--label { color: $foreground; }
    StageBars > .bars--bar { color: $accent; }
    StageBars > .bars--won { color: $success; }
    StageBars > .bars--lost { color: $error; }
    StageBars > .bars--count { color: $foreground; text-style: bold; }
    """

    counts: reactive[tuple[tuple[str, int], ...]] = reactive((), layout=True)

    def __init__(self, counts=(), *, name=None, id=None, classes=None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(StageBars.counts, tuple(counts))

    def render(self) -> Text:
        if not self.counts:
            return Text("no contacts yet", style="italic")
        label_width = max(len(label) for label, _ in self.counts)
        count_width = max(len(f"{n:,}") for _, n in self.counts)
        room = max(1, self.size.width - label_width - count_width - 4)
        biggest = max(n for _, n in self.counts)
        style = self.get_component_rich_style
        lines = Text()
        for number, (label, count) in enumerate(self.counts):
            if number:
                lines.append("\n")
            lines.append(f"{label:<{label_width}} ", style("bars--label"))
            colour = {"won": "bars--won", "lost": "bars--lost"}.get(label, "bars--bar")
            lines.append(f"{bar(count, biggest, room):<{room}}", style(colour))
            lines.append(f"  {count:>{count_width},}", style("bars--count"))
        return lines
