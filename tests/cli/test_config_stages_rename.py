"""`crm config set stages … --rename OLD=NEW` keeps a stage under a new name;
`--move-to` merges dropped stages, and asks first. `config get/set --json`."""

import json

import pytest

from minicrm.commands import _output

DEFAULT = "awareness,interest,decision,action"
RENAMES = {"awareness": "lead", "interest": "qualified", "decision": "negotiation"}


def renamed_text(data) -> str:
    """`data` as JSON text with every old stage name written as its new one."""
    text = json.dumps(data, sort_keys=True)
    for old, new in RENAMES.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return text


def stage_names_in_history(cli) -> set:
    exported = cli.ok("export", "all", "--format", "json").stdout
    changes = json.loads(exported)["stage_changes"]
    return {c["from_stage"] for c in changes} | {c["to_stage"] for c in changes}


@pytest.fixture
def demo(cli):
    """A year of funnel history: moves through every stage, won and lost deals."""
    cli.ok("demo", "--contacts", "30", "--seed", "3")
    return cli


def test_rename_keeps_deals_history_and_every_report_figure_under_the_new_name(demo):
    cli = demo
    funnel = cli.json("report", "funnel")
    forecast = cli.json("report", "forecast")
    scores = cli.json("score", "--recompute")
    deals = cli.json("deal", "list", "--all")
    contacts = cli.json("list")
    assert {"awareness", "interest", "decision"} <= stage_names_in_history(cli)
    assert any(d["lost_at_stage"] in RENAMES for d in deals)
    stage_changes = cli.count("stage_change")

    new_list = "lead,qualified,negotiation,action"
    options = [f"--rename={old}={new}" for old, new in RENAMES.items()]
    result = cli.ok("config", "set", "stages", new_list, *options)
    assert result.stdout == ""
    assert f"stages = {new_list}" in result.stderr
    assert "scoring rules now name the new stages: 'close to deciding'" in result.stderr

    assert cli.json("config", "get", "stages") == {"key": "stages", "value": new_list}
    assert cli.count("stage_change") == stage_changes  # renamed, not moved: no new rows
    assert not stage_names_in_history(cli) & set(RENAMES)
    assert renamed_text(cli.json("report", "funnel")) == renamed_text(funnel)
    assert renamed_text(cli.json("report", "forecast")) == renamed_text(forecast)
    assert renamed_text(cli.json("deal", "list", "--all")) == renamed_text(deals)
    after = cli.json("list")
    assert [(c["id"], c["stage"]) for c in after] == [
        (c["id"], RENAMES.get(c["stage"], c["stage"])) for c in contacts
    ]
    # The default rule "close to deciding" follows decision to its new name,
    # so no score moves when they are all computed again.
    assert "stage in ('negotiation', 'action')" in cli.ok("score", "rules", "--show").stdout
    assert cli.json("score", "--recompute") == scores


def test_rename_json_counts_and_a_swap_of_two_names(cli):
    cli.ok("add", "Maria Lopez", "--stage", "interest")
    cli.ok("add", "Nikos Papadakis", "--stage", "decision")
    cli.ok("add", "Ana Silva", "--stage", "decision")
    swapped = cli.json(
        "config", "set", "stages", DEFAULT,
        "--rename", "interest=decision", "--rename", "Decision=Interest",
    )  # fmt: skip
    assert swapped == {
        "key": "stages",
        "value": DEFAULT,
        "renamed": {
            "interest": {"to": "decision", "deals": 1},
            "decision": {"to": "interest", "deals": 2},
        },
        "moved": {},
    }
    stages = {c["name"]: c["stage"] for c in cli.json("list")}
    assert stages == {
        "Maria Lopez": "decision", "Nikos Papadakis": "interest", "Ana Silva": "interest",
    }  # fmt: skip
    history = cli.json("show", "maria")["timeline"]
    assert [e.get("to_stage") for e in history if e.get("to_stage")] == ["decision"]


@pytest.mark.parametrize(
    ("stages", "renames", "fragment"),
    [
        ("lead,interest,decision,action", ["nowhere=lead"], "'nowhere' is not a current stage"),
        ("lead,interest,decision,action", ["awareness=leed"], "'leed' is not in the new"),
        ("awareness,interest,decision", ["action=decision"], "decision is a stage already kept"),
        ("awareness,interest,decision,action", ["won=closed"], "won and lost keep their names"),
        ("lead,interest,decision,action", ["awareness"], "--rename takes OLD=NEW"),
        ("lead,interest,action", ["awareness=lead", "decision=lead"], "two stages renamed to lead"),
        ("lead,won", ["awareness=lead"], "won and lost always exist"),
    ],
)
def test_a_wrong_rename_is_refused_and_changes_nothing(cli, stages, renames, fragment):
    cli.ok("add", "Maria Lopez")
    cli.ok("add", "Nikos Papadakis", "--stage", "decision")
    before = cli.table_counts()
    options = [f"--rename={rename}" for rename in renames]
    cli.assert_user_error(cli("config", "set", "stages", stages, *options), fragment)
    assert cli.table_counts() == before
    assert cli.json("config", "get", "stages")["value"] == DEFAULT
    assert [c["stage"] for c in cli.json("list")] == ["awareness", "decision"]


def test_rename_goes_only_with_stages(cli):
    result = cli("config", "set", "currency", "EUR", "--rename", "a=b")
    cli.assert_user_error(result, "--rename only goes with `crm config set stages")


@pytest.fixture
def two_stages_to_merge(cli):
    cli.ok("add", "Maria Lopez")
    cli.ok("add", "Nikos Papadakis", "--stage", "interest")
    cli.ok("add", "Ana Silva", "--stage", "interest")
    cli.ok("add", "Omid Rahimi", "--stage", "decision")
    return ("config", "set", "stages", "qualified,decision,action", "--move-to", "qualified")


def test_merging_stages_without_a_terminal_needs_yes(cli, two_stages_to_merge):
    before = cli.table_counts()
    result = cli(*two_stages_to_merge)
    cli.assert_user_error(
        result, "would move 3 deals in awareness, interest into qualified", "add --yes"
    )
    assert cli.table_counts() == before
    assert cli.json("config", "get", "stages")["value"] == DEFAULT

    merged = cli.json(*two_stages_to_merge, "--yes")
    assert merged["moved"] == {
        "awareness": {"to": "qualified", "deals": 1},
        "interest": {"to": "qualified", "deals": 2},
    }
    assert merged["value"] == "qualified,decision,action"
    stages = [c["stage"] for c in cli.json("list")]
    assert stages == ["qualified", "qualified", "qualified", "decision"]
    timeline = cli.json("show", "nikos")["timeline"]
    moves = [(e.get("from_stage"), e.get("to_stage"), e.get("reason")) for e in timeline]
    assert ("interest", "qualified", "stage list changed") in moves


def test_merging_stages_asks_on_a_terminal_and_enter_changes_nothing(
    cli, two_stages_to_merge, monkeypatch
):
    monkeypatch.setattr(_output, "interactive", lambda: True)
    before = cli.table_counts()
    result = cli(*two_stages_to_merge, input="\n")
    assert result.exit_code == 1
    assert "move 3 deals in awareness, interest into qualified? [y/N]" in result.stdout
    assert result.stderr.strip() == "crm: error: nothing changed"
    assert cli.table_counts() == before
    assert cli.json("config", "get", "stages")["value"] == DEFAULT

    result = cli.ok(*two_stages_to_merge, input="y\n")
    assert "moved 3 deals in awareness, interest into qualified" in result.stderr
    assert [c["stage"] for c in cli.json("list")] == ["qualified"] * 3 + ["decision"]


def test_a_rename_alone_asks_nothing_and_a_drop_without_move_to_is_refused(cli, monkeypatch):
    cli.ok("add", "Maria Lopez")
    cli.ok("add", "Nikos Papadakis", "--stage", "interest")
    monkeypatch.setattr(_output, "interactive", lambda: True)
    result = cli("config", "set", "stages", "lead,decision,action", "--rename", "awareness=lead")
    cli.assert_user_error(result, "cannot drop stages that deals are in: interest (1 deals)")
    result = cli.ok(
        "config", "set", "stages", "lead,qualified,decision,action",
        "--rename", "awareness=lead", "--rename", "interest=qualified",
    )  # fmt: skip
    assert "[y/N]" not in result.stdout
    assert [c["stage"] for c in cli.json("list")] == ["lead", "qualified"]


def test_config_get_and_set_json(cli):
    assert cli.json("config", "get", "currency") == {"key": "currency", "value": "USD"}
    assert cli.json("config", "get", "timezone") == {"key": "timezone", "value": None}
    assert cli.json("config", "set", "currency", "eur") == {"key": "currency", "value": "EUR"}
    assert cli.json("config", "get", "currency") == {"key": "currency", "value": "EUR"}
    assert cli.ok("config", "get", "currency").stdout == "EUR\n"
    added = cli.json("config", "set", "stages", "awareness, interest,demo,decision,action")
    assert added == {
        "key": "stages",
        "value": "awareness,interest,demo,decision,action",
        "renamed": {},
        "moved": {},
    }
    cli.assert_user_error(cli("config", "get", "colour", "--json"), "unknown setting 'colour'")
