def test_stage_command_moves_and_lost_without_reason_is_refused_off_a_tty(cli):
    cli.ok("add", "Maria Lopez")
    cli.ok("stage", "maria", "decision")
    before = cli.table_counts()
    cli.assert_user_error(cli("stage", "maria", "lost"), "needs a reason")
    cli.assert_user_error(cli("stage", "maria", "nowhere"), "unknown stage")
    cli.assert_user_error(cli("stage", "maria", "won", "--at", "whenever"), "cannot read the date")
    assert cli.table_counts() == before
    moved = cli.json("stage", "maria", "lost", "--reason", "no budget")
    assert (moved["stage"], moved["lost_reason"]) == ("lost", "no budget")


def test_pipeline_plain_and_json(cli):
    cli.ok("add", "Maria Lopez", "--value", "100")
    cli.ok("add", "Nikos Papadakis", "--stage", "won", "--value", "250")
    board = cli.json("pipeline")
    assert [(c["stage"], c["count"], c["value"]) for c in board] == [
        ("awareness", 1, 100), ("interest", 0, 0), ("decision", 0, 0), ("action", 0, 0),
        ("won", 1, 250), ("lost", 0, 0),
    ]  # fmt: skip
    out = cli.ok("pipeline").stdout
    assert "awareness: 1 deal · 100" in out and "#1 Maria Lopez" in out  # deal #1's card
    assert board[0]["top"] == [
        {"id": 1, "title": "Maria Lopez", "company": None, "contact_id": 1,
         "contact_name": "Maria Lopez", "score": board[0]["top"][0]["score"], "value": 100,
         "expected_close": None},
    ]  # fmt: skip
    assert "\x1b[" not in out


def test_config_set_stages_with_move_to(cli):
    cli.ok("add", "Maria Lopez")
    cli.assert_user_error(cli("config", "set", "stages", "lead,won"), "won and lost always exist")
    cli.assert_user_error(cli("config", "set", "stages", "lead,deal"), "awareness (1 deals)")
    cli.ok("config", "set", "stages", "lead,deal", "--move-to", "lead", "--yes")
    assert cli.json("show", "maria")["stage"] == "lead"
    cli.assert_user_error(cli("config", "set", "currency", "EUR", "--move-to", "x"), "--move-to")
