"""The Maven CRM files (`crm import DIR`): companies, catalogue, owners and
deals in one undoable batch, checked against sums worked out from the CSV.

The files are the copy in tests/data/maven-crm/ (see tests/data/SOURCES.md)."""

import csv
import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from minicrm.db import session_scope
from minicrm.errors import UserError
from minicrm.services.contacts.editing import ContactInput, add_contact
from minicrm.services.records.config import set_setting
from minicrm.services.transfer.batches import undo_batch
from minicrm.services.transfer.maven import FILES, import_maven, maven_files, product_key

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "maven-crm"  # in the repository, see tests/data/SOURCES.md
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def run(engine, files=None):
    with session_scope(engine) as session:
        return import_maven(session, files or maven_files([DATA]), now=NOW)


def scalar(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def pairs(engine, sql: str) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(text(sql)).all())


@pytest.fixture
def imported(engine):
    return run(engine)


def test_every_deal_company_and_product_arrives_and_nothing_else(engine, imported):
    pipeline = rows("sales_pipeline.csv")
    assert imported.created == len(pipeline) == 8800
    assert scalar(engine, "SELECT count(*) FROM contact") == 0  # Maven has no people
    stages = pairs(engine, "SELECT stage, count(*) FROM deal GROUP BY stage")
    assert stages == {s.lower(): n for s, n in Counter(r["deal_stage"] for r in pipeline).items()}
    stages_setting = scalar(engine, "SELECT value FROM setting WHERE key = 'stages'")
    assert stages_setting == "prospecting,engaging"
    assert scalar(engine, "SELECT count(*) FROM company") == len(rows("accounts.csv")) == 85
    # "GTXPro" in the pipeline is the catalogue's "GTX Pro": 7 products, not 8.
    assert scalar(engine, "SELECT count(*) FROM product") == 7
    assert scalar(engine, "SELECT count(*) FROM product WHERE name = 'GTX Pro'") == 1
    assert scalar(engine, "SELECT count(*) FROM deal_line") == 8800
    assert scalar(engine, "SELECT count(*) FROM deal WHERE company_id IS NULL") == sum(
        not r["account"] for r in pipeline) == 1425  # fmt: skip


def test_fields_land_where_the_readme_says(engine, imported):
    with engine.connect() as connection:
        deal = connection.execute(text(
            "SELECT d.title, d.owner, d.value_cents, d.stage, d.extra, c.name, c.industry, "
            "c.country, c.extra, d.closed_at, d.created_at FROM deal d "
            "JOIN company c ON c.id = d.company_id WHERE d.title = '1C1I7A6R'"
        )).one()  # fmt: skip
        line = connection.execute(text(
            "SELECT p.name, l.quantity, l.unit_price_cents, l.total_cents FROM deal_line l "
            "JOIN product p ON p.id = l.product_id JOIN deal d ON d.id = l.deal_id "
            "WHERE d.title = '1C1I7A6R'"
        )).one()  # fmt: skip
        product = connection.execute(
            text("SELECT code, price_cents FROM product WHERE name = 'GTX Plus Basic'")
        ).one()
    assert deal[:4] == ("1C1I7A6R", "Moses Frase", 105400, "won")
    assert json.loads(deal[4]) == {
        "opportunity_id": "1C1I7A6R", "manager": "Dustin Brinkmann", "regional_office": "Central"
    }  # fmt: skip
    assert deal[5:8] == ("Cancity", "retail", "United States")
    account = next(r for r in rows("accounts.csv") if r["account"] == "Cancity")
    assert json.loads(deal[8]) == {
        "employees": int(account["employees"]), "office_location": "United States",
        "revenue": float(account["revenue"]), "year_established": int(account["year_established"]),
    }  # fmt: skip
    assert str(deal[9]).startswith("2017-03-01") and str(deal[10]).startswith("2016-10-20")
    assert tuple(line) == ("GTX Plus Basic", 1, 105400, 105400)
    assert tuple(product) == ("GTX", 109600)


def test_revenue_by_product_and_account_equals_the_csv(engine, imported):
    won = [r for r in rows("sales_pipeline.csv") if r["deal_stage"] == "Won"]
    names = {product_key(r["product"]): r["product"] for r in rows("products.csv")}
    by_product, by_account = Counter(), Counter()
    for r in won:
        by_product[names[product_key(r["product"])]] += int(r["close_value"]) * 100
        by_account[r["account"]] += int(r["close_value"]) * 100
    assert pairs(engine, """
        SELECT p.name, sum(l.total_cents) FROM deal d JOIN deal_line l ON l.deal_id = d.id
        JOIN product p ON p.id = l.product_id WHERE d.stage = 'won' GROUP BY p.name
    """) == dict(by_product)  # fmt: skip
    assert pairs(engine, """
        SELECT c.name, sum(d.value_cents) FROM deal d JOIN company c ON c.id = d.company_id
        WHERE d.stage = 'won' GROUP BY c.name
    """) == dict(by_account)  # fmt: skip


def test_funnel_figures_equal_the_csv(engine, imported):
    won = scalar(engine, "SELECT count(*) FROM deal WHERE stage = 'won' AND deleted_at IS NULL")
    lost = scalar(engine, "SELECT count(*) FROM deal WHERE stage = 'lost' AND deleted_at IS NULL")
    assert (won, lost, round(won / (won + lost), 4)) == (4238, 2473, 0.6315)
    assert scalar(engine, "SELECT count(*) FROM deal WHERE stage = 'lost' "
                          "AND lost_at_stage = 'engaging'") == 2473  # fmt: skip
    from minicrm.services.funnel.funnel import funnel_report

    with session_scope(engine, write=False) as session:
        report = funnel_report(session, now=NOW).to_json()
    current = {s["stage"]: s["current"] for s in report["stages"]}
    assert (current["won"], current["lost"]) == (4238, 2473)


def test_undo_takes_everything_back_and_restores_the_stages(engine, imported):
    result = undo_batch_now(engine, imported.batch_id)
    assert result.batch.undone_at is not None
    for table in ("deal", "deal_line", "stage_change", "company", "product"):
        assert scalar(engine, f"SELECT count(*) FROM {table}") == 0, table
    assert scalar(engine, "SELECT count(*) FROM setting WHERE key = 'stages'") == 0


def undo_batch_now(engine, batch_id: int):
    with session_scope(engine) as session:
        return undo_batch(session, batch_id, now=NOW)


def test_undo_keeps_a_company_someone_else_uses_and_refuses_edited_deals(engine, imported):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Ann", company="Cancity", stage="engaging"), now=NOW)
    with engine.begin() as connection:
        connection.execute(text("UPDATE deal SET version = 2 WHERE title = '1C1I7A6R'"))
    with pytest.raises(UserError, match="changed since"):
        undo_batch_now(engine, imported.batch_id)
    with session_scope(engine) as session:
        undo_batch(session, imported.batch_id, force=True, now=NOW)
    assert scalar(engine, "SELECT name FROM company") == "Cancity"
    assert scalar(engine, "SELECT count(*) FROM deal") == 1  # Ann's own


def test_a_database_with_other_stages_in_use_is_refused_and_untouched(engine):
    with session_scope(engine) as session:
        add_contact(session, ContactInput(name="Ann"), now=NOW)
    with pytest.raises(UserError, match="needs the open stages prospecting,engaging"):
        run(engine)
    assert scalar(engine, "SELECT count(*) FROM company") == 0


def test_a_database_already_on_maven_stages_is_welcome(engine):
    with session_scope(engine) as session:
        set_setting(session, "stages", "prospecting,engaging", now=NOW)
        add_contact(session, ContactInput(name="Ann", company="Cancity"), now=NOW)
    report = run(engine)
    assert report.created == 8800
    assert scalar(engine, "SELECT count(*) FROM company") == 85  # Ann's Cancity reused


def test_the_four_files_are_recognised_together_only(tmp_path):
    for name in FILES:
        (tmp_path / name).write_text("x\n")
    named = maven_files([tmp_path / n for n in reversed(FILES)])
    assert list(named) == list(FILES)
    assert maven_files([tmp_path]) == {n: tmp_path / n for n in FILES}
    assert maven_files([tmp_path / "contacts.csv"]) is None
    with pytest.raises(UserError, match="missing: sales_pipeline.csv"):
        maven_files([tmp_path / n for n in FILES[:3]])
    (tmp_path / "accounts.csv").unlink()
    with pytest.raises(UserError, match="accounts.csv missing"):
        maven_files([tmp_path])


SMALL = {
    "accounts.csv": "account,sector,year_established,revenue,employees,office_location,"
    "subsidiary_of\nAcme,software,1990,10.5,20,Norway,\n",
    "products.csv": "product,series,sales_price\nGTX Pro,GTX,4821\n",
    "sales_teams.csv": "sales_agent,manager,regional_office\nAnn Agent,Max Boss,West\n",
    "sales_pipeline.csv": "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
    "close_date,close_value\nA1,Ann Agent,GTXPro,Acme,Won,2017-01-02,2017-02-03,4500\n"
    "A2,Ann Agent,gtx pro,,Engaging,2017-01-05,,\nA3,Ann Agent,GTX Pro,Acme,Lost,"
    "2017-01-05,2017-01-09,0\n",
}


def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "maven"
    folder.mkdir()
    for name, content in SMALL.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def test_cli_imports_the_folder_and_undoes_it(cli, tmp_path):
    folder = small_folder(tmp_path)
    result = cli.ok("import", str(folder))
    assert "3 deals, 1 new companies, 1 new products, 1 sales agents" in result.stderr
    deals = {d["title"]: d for d in json.loads(cli.ok("export", "deals", "-f", "json").stdout)}
    assert deals["A1"]["lines"][0]["unit_price"] == 4500 and deals["A1"]["company"] == "Acme"
    assert deals["A2"]["lines"][0]["unit_price"] == 4821 and deals["A2"]["company"] is None
    assert deals["A3"]["stage"] == "lost" and deals["A3"]["lost_at_stage"] == "engaging"
    assert cli.count("product") == 1
    cli.ok("import", "--undo", "1")
    assert cli.table_counts(["deal", "company", "product"]) == {
        "deal": 0, "company": 0, "product": 0}  # fmt: skip


def test_cli_takes_the_four_files_named_and_refuses_a_bad_product(cli, tmp_path):
    folder = small_folder(tmp_path)
    cli.ok("import", *(str(folder / n) for n in FILES))
    assert cli.count("deal") == 3
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    (other / "sales_pipeline.csv").write_text(
        SMALL["sales_pipeline.csv"].replace("GTXPro", "GTX Ultra"), encoding="utf-8"
    )
    cli.assert_user_error(
        cli("import", str(other)),
        "line 2: product 'GTX Ultra' is not in products.csv",
    )
    assert cli.count("deal") == 3  # nothing of the refused import stayed
