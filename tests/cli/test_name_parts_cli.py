"""`crm add/edit --given … --family …`: the name's parts as typed, which the
vCard export writes in N."""


def n_line(cli) -> str:
    vcf = cli.ok("export", "contacts", "--format", "vcf").stdout
    return next(line for line in vcf.splitlines() if line.startswith("N:"))


def test_add_with_given_and_family_exports_them_as_typed(cli):
    cli.ok("add", "María Rodríguez Moreno", "--given", "María", "--family", "Rodríguez Moreno")
    assert n_line(cli) == "N:Rodríguez Moreno;María;;;"


def test_edit_sets_the_pair_and_empty_values_clear_it(cli):
    cli.ok("add", "María Rodríguez Moreno")
    assert n_line(cli) == "N:Moreno;María;Rodríguez;;"
    cli.ok("edit", "1", "--given", "María", "--family", "Rodríguez Moreno")
    assert n_line(cli) == "N:Rodríguez Moreno;María;;;"
    assert cli.json("show", "1")["extra"] == {
        "name_family": "Rodríguez Moreno", "name_given": "María",
    }  # fmt: skip
    cli.ok("edit", "1", "--given", "", "--family", "")
    assert n_line(cli) == "N:Moreno;María;Rodríguez;;"


def test_a_lone_part_or_one_not_in_the_name_is_a_user_error(cli):
    cli.assert_user_error(cli("add", "Ann Lee", "--given", "Ann"), "--given and --family together")
    cli.assert_user_error(
        cli("add", "Ann Lee", "--given", "Ann", "--family", "Li"),
        "--family 'Li' is not part of the name 'Ann Lee'",
    )
    assert cli.count("contact") == 0
