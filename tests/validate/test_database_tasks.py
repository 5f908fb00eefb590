"""Prefect 1's PostgreSQL and MySQL library tasks, migrated by PF013 with no TODO, behave the same:
each flow runs under Prefect 1.4.1 (psycopg2 and pymysql in its environment, as its ``postgres``
and ``mysql`` extras installed them) and under Prefect 2 against a real server started here
(PostgreSQL, MariaDB), and the validation finds them ``equal``. The two sides run at once, so
each writes its own table (named after the Prefect major version). A twin whose migration was edited
to insert another value is found ``different``: the rows each task returned are compared."""

from __future__ import annotations

import os
import subprocess

import pytest

from meta_flows.adapters.prefect2.postgres import find_bindir, start_postgres
from meta_flows.core.codemod.engine import migrate_source
from meta_flows.orchestration.validation import validate_repo
from tests.validate.databases import mariadb, mariadb_server

POSTGRES_FLOW = """
import prefect
from prefect import Flow, unmapped
from prefect.tasks.postgres import PostgresExecute, PostgresExecuteMany, PostgresFetch

HOST = "127.0.0.1"
PORT = @PORT@
TABLE = "@NAME@_" + prefect.__version__.split(".")[0]

setup = PostgresExecute(
    db_name="prefect", user="prefect", host=HOST, port=PORT, commit=True, name="setup"
)
insert = PostgresExecuteMany(
    "prefect", "prefect", HOST, PORT, query=f"INSERT INTO {TABLE} VALUES (%s, %s)", commit=True
)
discard = PostgresExecute(
    db_name="prefect", user="prefect", host=HOST, port=PORT, query=f"DELETE FROM {TABLE}"
)
rows = PostgresFetch(
    db_name="prefect",
    user="prefect",
    host=HOST,
    port=PORT,
    fetch="all",
    query=f"SELECT name, count FROM {TABLE} ORDER BY name",
)

with Flow("@NAME@") as flow:
    created = setup(query=f"DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (name text, count int)")
    filled = insert(data=[("apple", 3), ("pear", 5), ("fig", 1)], upstream_tasks=[created])
    kept = discard(upstream_tasks=[filled])  # not committed: rolled back
    everything = rows(upstream_tasks=[kept])
    first = rows(
        fetch="one",
        col_names=True,
        query=f"SELECT name, count FROM {TABLE} WHERE count > %s ORDER BY count",
        data=(2,),
        upstream_tasks=[kept],
    )
    pages = rows.map(fetch=unmapped("many"), fetch_count=[1, 2], upstream_tasks=[unmapped(kept)])
"""

MYSQL_FLOW = """
import prefect
from prefect import Flow
from prefect.tasks.mysql import MySQLExecute, MySQLFetch

HOST = "127.0.0.1"
PORT = @PORT@
TABLE = "@NAME@_" + prefect.__version__.split(".")[0]

execute = MySQLExecute(
    db_name="ext", user="admin", password="admin", host=HOST, port=PORT, commit=True
)
fetch_rows = MySQLFetch("ext", "admin", "admin", HOST, PORT, fetch="all", cursor_type="dictcursor")

with Flow("@NAME@") as flow:
    dropped = execute(query=f"DROP TABLE IF EXISTS {TABLE}")
    made = execute(query=f"CREATE TABLE {TABLE} (name VARCHAR(20), count INT)", upstream_tasks=[dropped])
    added = execute(query=f"INSERT INTO {TABLE} VALUES ('apple', 3), ('pear', 5)", upstream_tasks=[made])
    not_kept = execute(query=f"INSERT INTO {TABLE} VALUES ('fig', 1)", commit=False, upstream_tasks=[added])
    everything = fetch_rows(query=f"SELECT name, count FROM {TABLE} ORDER BY name", upstream_tasks=[not_kept])
    counted = fetch_rows(
        query=f"SELECT COUNT(*) FROM {TABLE}",
        fetch="one",
        cursor_type="cursor",
        upstream_tasks=[not_kept],
    )
    two = fetch_rows(query=f"SELECT name FROM {TABLE}", fetch="many", fetch_count=1, upstream_tasks=[added])
"""

# The twin's migration inserts another value: its rows differ from Prefect 1's.
EDITS = {"postgres": ('("pear", 5)', '("pear", 6)'), "mysql": ("('pear', 5)", "('pear', 6)")}


@pytest.fixture(scope="module")
def ports():
    if (find_bindir() is None or mariadb_server() is None) and not os.environ.get("CI"):
        pytest.skip("PostgreSQL or MariaDB is not installed here (.ci/run installs both)")
    database = start_postgres()
    try:
        with mariadb("ext") as mysql_port:
            yield {"postgres": database.url.rsplit(":", 1)[1].split("/")[0], "mysql": mysql_port}
    finally:
        database.stop()


@pytest.fixture(scope="module")
def verdicts(ports, prefect_api, prefect_server, legacy_root, tmp_path_factory):
    legacy = tmp_path_factory.mktemp("database-legacy")
    migrated = tmp_path_factory.mktemp("database-migrated")
    for directory in (legacy, migrated):
        (directory / "requirements.txt").write_text("psycopg2-binary\npymysql\n")
    for kind, template in (("postgres", POSTGRES_FLOW), ("mysql", MYSQL_FLOW)):
        for table in (f"{kind}_fruit", f"{kind}_twin"):
            source = template.replace("@PORT@", str(ports[kind])).replace("@NAME@", table)
            (legacy / f"{table}.py").write_text(source)
            result = migrate_source(source, f"{table}.py", module_name=table)
            assert result.status == "migrated", result.error
            assert "TODO" not in result.code and "prefect.tasks" not in result.code, result.code
            code = result.code
            if table.endswith("twin"):
                old, new = EDITS[kind]
                assert old in code
                code = code.replace(old, new)
            (migrated / f"{table}.py").write_text(code)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        found = validate_repo(legacy, migrated, timeout=180, env_root=legacy_root)
    return {v.flow_name: v for v in found}, ports


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_database_tasks_behave_the_same(verdicts, kind):
    found, _ = verdicts
    fruit = found[f"{kind}_fruit"]
    assert (fruit.verdict, fruit.reason, fruit.diff) == ("equal", None, [])


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_the_rows_are_compared(verdicts, kind):
    found, _ = verdicts
    twin = found[f"{kind}_twin"]
    assert twin.verdict == "different", twin.notes
    assert twin.diff and all("task" in line for line in twin.diff), twin.diff


@pytest.mark.parametrize("side", ["1", "2"])
def test_an_uncommitted_execute_is_rolled_back_on_both_sides(verdicts, side):
    # each side's table holds what that side committed (named after the Prefect major version)
    _, ports = verdicts
    out = subprocess.run(
        [
            str(find_bindir() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(ports["postgres"]),
            "-U",
            "prefect",
            "-d",
            "prefect",
            "-Atc",
            f"SELECT name, count FROM postgres_fruit_{side} ORDER BY name",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["apple|3", "fig|1", "pear|5"]
