"""Every command's help reads like a shell tool's at 80 columns: no Python
types (`<str>`, `<bool>`, `list[str]`, `{name}`) and no line wider than the
terminal."""

import re

import pytest
import typer
from typer.testing import CliRunner

from minicrm.commands import app


def command_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]

    def walk(command, prefix):
        for name, sub in getattr(command, "commands", {}).items():
            if sub.hidden:
                continue
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(root, ())
    return paths


PYTHON_TYPES = re.compile(r"<(?:str|int|float|bool|list\[[a-z]+\]|Path|path)>|\{[a-z_]+\}")


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "crm")
def test_help_names_values_in_words_and_fits_80_columns(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    assert not PYTHON_TYPES.search(result.output), PYTHON_TYPES.search(result.output).group(0)
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_a_flag_shows_no_type_and_an_argument_is_named_in_capitals():
    result = CliRunner().invoke(app, ["add", "--help"], env={"COLUMNS": "80"})
    assert "Usage: crm add [OPTIONS] NAME" in result.output
    force = next(line for line in result.output.splitlines() if "--force" in line)
    assert "bool" not in force.lower() and "Add even if" in force


def test_the_command_lists_break_lines_only_at_the_panel_edge():
    """A summary wraps where the terminal ends, never mid-sentence at a
    docstring's own line break (`and the` / `best-scored deals`)."""
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    pipeline = next(i for i, line in enumerate(lines) if "│ pipeline" in line)
    assert "and the best-scored deals" in " ".join(
        line.strip("│ ") for line in lines[pipeline : pipeline + 2]
    )


def test_score_help_lists_the_options_crm_score_ref_takes():
    result = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    for option in ("--explain", "--deal", "--top", "--recompute", "--model", "--json"):
        assert f"│ {option}" in result.output
