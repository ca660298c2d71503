"""A phone number that cannot exist (phonenumbers: too short, too long, no
such country code) is refused by add and edit unless --force; an import
keeps it as typed, since one odd cell is no reason to refuse a row."""

from cli_support import assert_user_error


def test_edit_refuses_a_phone_that_cannot_exist_and_changes_nothing(cli):
    cli.ok("add", "Ann Lee", "--phone", "+49 30 1234567")
    result = cli("edit", "1", "--phone", "12")
    assert_user_error(result, "impossible phone '12'", "--force")
    assert cli.json("show", "1")["phone"] == "+49301234567"


def test_edit_with_force_keeps_the_number_as_typed(cli):
    cli.ok("add", "Ann Lee")
    cli.ok("edit", "1", "--phone", "12", "--force")
    assert cli.json("show", "1")["phone"] == "12"


def test_add_refuses_it_and_force_adds_it(cli):
    assert_user_error(cli("add", "Bob", "--phone", "+999 12345"), "no country has that code")
    assert cli.count("contact") == 0
    cli.ok("add", "Bob", "--phone", "+999 12345", "--force")
    assert cli.json("show", "Bob")["phone"] == "+999 12345"


def test_a_possible_number_phonenumbers_cannot_place_is_kept_as_typed(cli):
    cli.ok("config", "set", "default_region", "US")
    cli.ok("add", "Local Joe", "--phone", "555-0100")
    assert cli.json("show", "1")["phone"] == "555-0100"


def test_company_add_and_edit_follow_the_same_rule(cli):
    assert_user_error(cli("company", "add", "Acme", "--phone", "12"), "impossible phone")
    cli.ok("company", "add", "Acme", "--phone", "12", "--force")
    assert_user_error(cli("company", "edit", "Acme", "--phone", "1" * 17), "too long")
    cli.ok("company", "edit", "Acme", "--phone", "+30 210 123 4567")
    assert cli.json("company", "show", "Acme")["phone"] == "+302101234567"


def test_an_import_keeps_an_impossible_number_as_typed(cli, tmp_path):
    sheet = tmp_path / "people.csv"
    sheet.write_text("name,phone\nAnn Lee,12\n", encoding="utf-8")
    cli.ok("import", str(sheet))
    assert cli.json("show", "Ann")["phone"] == "12"

