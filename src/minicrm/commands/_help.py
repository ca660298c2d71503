"""Help that reads like a shell tool's, not like Python: `NAME`, `TEXT`,
`N`, no type for a flag (Typer 0.29 writes `{name}`, `<str>`, `<list[str]>`,
`<bool>`), and a group's list of commands joins each one-line summary whose
docstring wraps (Typer keeps those line breaks, mid-sentence, in that list).

Typer builds help from two methods of its parameter classes; we give them
our words. Only the words change: a Typer without those methods keeps its
own help (tests/cli/test_help.py reads every command's help).
"""

import re

# How a value is named in help, by the Python type Typer would print.
_WORDS = {"str": "TEXT", "int": "N", "float": "NUMBER", "path": "PATH", "Path": "PATH",
          "datetime": "WHEN"}  # fmt: skip
_TYPE = re.compile(r"^<(?:list\[)?([A-Za-z]+)\]?>$")


def tidy_help_types() -> None:
    from typer import core

    parameter = getattr(core, "_TyperParameter", None)
    argument = getattr(core, "TyperArgument", None)
    if parameter is None or not hasattr(parameter, "display_type"):
        return
    typer_display_type = parameter.display_type

    def display_type(self, ctx):
        if getattr(self, "is_flag", False):
            return None  # --force takes no value: nothing to show
        shown = typer_display_type(self, ctx)
        match = _TYPE.match(shown or "")
        if match:
            return _WORDS.get(match.group(1), match.group(1).upper())
        return shown.strip("<>") if shown else shown

    parameter.display_type = display_type
    _unwrap_summaries(core.TyperGroup)
    if argument is not None and hasattr(argument, "_usage_display_name"):

        def usage_name(self) -> str:
            name = (self.metavar or self.name or "").upper()
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 and not self.metavar else "")

        argument._usage_display_name = usage_name


def _unwrap_summaries(group_class) -> None:
    typer_format_help = group_class.format_help

    def format_help(self, ctx, formatter):
        for command in self.commands.values():
            if command.help:
                command.help = _one_line_first_paragraph(command.help)
        return typer_format_help(self, ctx, formatter)

    group_class.format_help = format_help


def _one_line_first_paragraph(text: str) -> str:
    import inspect

    first, sep, rest = inspect.cleandoc(text).partition("\n\n")
    return " ".join(first.split("\n")) + sep + rest
