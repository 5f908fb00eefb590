"""PF013: Prefect 1's PostgreSQL and MySQL library tasks become @task defs over the same driver
(docs/spec.md §12). Their behaviour against real servers: tests/validate/test_database_tasks.py."""

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from meta_flows.core.codemod.base import SCRATCH_REQUIREMENTS, todo_text
from meta_flows.core.codemod.library_databases import MYSQL_HELPER, POSTGRES_HELPER
from meta_flows.core.codemod.rules.task_library import RULE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate


def _not_hoisted(why: str) -> str:
    return f"could not be rewritten: {why}, while built at module level it would become a @task def"


def _indented(code: str) -> str:
    return code.rstrip("\n").replace("\n", "\n" + " " * 8)


def test_postgres_fetch_becomes_a_task_over_psycopg2():
    assert_rewrite(
        RULE,
        """\
        from prefect import flow
        from prefect.tasks.postgres import PostgresFetch

        rows = PostgresFetch("analytics", "etl", "db.internal", fetch="all", name="rows", max_retries=2)

        @flow(name="report")
        def report(day):
            return rows(query="SELECT * FROM sales WHERE day = %s", data=(day,), password="pw")
        """,
        f"""\
        import psycopg2
        from prefect import flow, task


        {_indented(POSTGRES_HELPER)}


        @task(name="rows", retries=2)
        def rows(
            db_name="analytics",
            user="etl",
            host="db.internal",
            port=5432,
            fetch="all",
            fetch_count=10,
            query=None,
            data=None,
            commit=False,
            password=None,
            col_names=False,
        ):
            return _prefect1_postgres(
                "fetch",
                query,
                data,
                fetch=fetch,
                fetch_count=fetch_count,
                col_names=col_names,
                commit=commit,
                dbname=db_name,
                user=user,
                password=password,
                host=host,
                port=port,
            )


        @flow(name="report")
        def report(day):
            return rows(query="SELECT * FROM sales WHERE day = %s", data=(day,), password="pw")
        """,
    )


def test_mysql_tasks_share_one_helper_and_keep_module_constants():
    out = apply_rule(
        RULE,
        """\
        from prefect import flow
        from prefect.tasks.mysql.mysql import MySQLExecute, MySQLFetch

        HOST, PORT = "db", 3307

        run_sql = MySQLExecute(db_name="ext", user="u", password="p", host=HOST, port=PORT)
        fetch_sql = MySQLFetch(db_name="ext", user="u", password="p", host=HOST, cursor_type="dictcursor")

        @flow(name="sync")
        def sync():
            run_sql(query="DELETE FROM t", commit=True, upstream_tasks=[])
            return fetch_sql.map(query=["SELECT 1", "SELECT 2"])
        """,
    )
    assert out.count("def _prefect1_mysql(") == 1
    assert MYSQL_HELPER.rstrip("\n") in out
    assert out.startswith("import pymysql.cursors\nfrom prefect import flow, task\n")
    assert (
        '@task(name="MySQLExecute")\ndef run_sql(\n    db_name="ext",\n    user="u",\n'
        '    password="p",\n    host=HOST,\n    port=PORT,\n    query=None,\n    commit=False,\n'
        '    charset="utf8mb4",\n    ssl=None,\n):\n    return _prefect1_mysql(\n        "execute",\n'
    ) in out
    assert '    port=3306,\n    fetch="one",' in out  # Prefect 1's defaults where none was given
    assert '    cursor_type="dictcursor",\n' in out
    assert '    run_sql(query="DELETE FROM t", commit=True, wait_for=[])\n' in out
    assert '    return fetch_sql.map(query=["SELECT 1", "SELECT 2"])\n' in out
    assert "prefect.tasks" not in out and "TODO" not in out
    compile(out, "x.py", "exec")


@pytest.mark.parametrize(
    ("module", "cls", "package"),
    [
        ("postgres", "PostgresExecute", "psycopg2-binary"),
        ("postgres", "PostgresExecuteMany", "psycopg2-binary"),
        ("mysql", "MySQLFetch", "pymysql"),
    ],
)
def test_the_driver_is_recorded_as_a_requirement(module, cls, package):
    context = CodemodContext(filename="x.py", full_module_name="x")
    source = f"from prefect.tasks.{module} import {cls}\nq = {cls}(db_name='d')\n"
    RULE(context).transform_module(cst.parse_module(source))
    assert context.scratch[SCRATCH_REQUIREMENTS] == {package}


def test_an_inline_task_is_hoisted_when_its_arguments_exist_at_module_level():
    source = """\
        from datetime import timedelta
        from prefect import flow
        from prefect.tasks.postgres import PostgresExecute

        HOST = "db"

        @flow(name="clean")
        def clean(table):
            PostgresExecute("d", "u", HOST, retry_delay=timedelta(minutes=1), max_retries=1)(query="VACUUM", commit=True)
            PostgresExecute("d", "u", table)(query="VACUUM")
        """
    out = apply_rule(RULE, source)
    assert (
        '@task(name="PostgresExecute", retry_delay_seconds=60, retries=1)\n'
        'def postgres_execute(\n    db_name="d",\n    user="u",\n    host=HOST,\n'
    ) in out
    assert '    postgres_execute(query="VACUUM", commit=True)\n' in out
    assert out.count("def postgres_execute") == 1
    # the other stays code; the whole pipeline gives it one TODO above the stand-in
    result = migrate(source)
    assert '    PostgresExecute("d", "u", table)(query="VACUUM")\n' in result.code
    assert len(result.todos) == 1
    message = result.todos[0].message
    assert message.startswith(
        "`PostgresExecute` (Prefect 1 `prefect.tasks.postgres.PostgresExecute`"
    )
    why = _not_hoisted("its argument `table` is a flow parameter or a local")
    assert f"{why}. Else use prefect-sqlalchemy: " in message
    assert '\nPostgresExecute = _Prefect1Stub("prefect.tasks.postgres.PostgresExecute")\n' in (
        result.code
    )


def test_arguments_it_cannot_read_leave_one_todo_and_the_code():
    source = """\
    from prefect import Flow
    from prefect.tasks.postgres import PostgresFetch

    CONN = dict(db_name="d", user="u", host="h")
    rows = PostgresFetch(**CONN, fetch="all")

    with Flow("a") as flow:
        rows(query="select 1")
    """
    result = migrate(source)
    assert len(result.todos) == result.root_causes == 1
    message = result.todos[0].message
    assert message.startswith(
        "`PostgresFetch` (Prefect 1 `prefect.tasks.postgres.PostgresFetch`, used at line "
    )
    assert (
        "could not be rewritten: its arguments could not be read (`*`, `**`, or more positional "
        "arguments than Prefect 1 took), and passed by name or position it would become a @task "
        "def. Else use prefect-sqlalchemy: "
    ) in message
    assert 'rows = PostgresFetch(**CONN, fetch="all")\n' in result.code
    assert '    return rows(query="select 1")\n' in result.code
    compile(result.code, "x.py", "exec")


def test_an_option_prefect2_lacks_is_dropped_with_a_todo():
    out = apply_rule(
        RULE,
        "from prefect.tasks.mysql import MySQLFetch\n"
        "from prefect import triggers\n"
        "f = MySQLFetch(db_name='d', trigger=triggers.all_finished)\n",
    )
    assert (
        todo_text(
            "PF013",
            "task options trigger=triggers.all_finished were dropped: set their Prefect 2 form "
            "on @task",
        )
        + '\n@task(name="MySQLFetch")\ndef f(\n'
    ) in out


def test_the_whole_pipeline_leaves_no_todo():
    result = migrate(
        """\
        from prefect import Flow, task
        from prefect.tasks.mysql.mysql import MySQLExecute, MySQLFetch

        fetch = MySQLFetch(host="localhost", port=3306, db_name="ext", user="admin", password="admin")
        execute = MySQLExecute(host="localhost", port=3306, db_name="ext", user="admin", password="admin")

        @task
        def show(x):
            print(x)

        with Flow("MySQL Example") as flow:
            show(fetch(query="SELECT * FROM user", fetch="many", fetch_count=3))
            show(execute(query="SELECT * FROM user LIMIT 3"))

        flow.run()
        """
    )
    assert result.status == "migrated" and result.todos == []
    assert "prefect.tasks" not in result.code
    compile(result.code, "x.py", "exec")


def test_a_module_of_its_own_helper_name_is_left_alone():
    assert_noop(
        RULE,
        """\
        import psycopg2
        from prefect import task


        def _prefect1_postgres(mode, query, data=None, **connect):
            return None


        @task(name="PostgresFetch")
        def rows(query=None):
            return _prefect1_postgres("fetch", query)
        """,
    )


NOT_HOISTED_CASES = {
    "called in a task with .run": (
        """\
        from prefect import Flow, task
        from prefect.tasks.postgres import PostgresFetch

        @task
        def inside(q):
            return PostgresFetch("db", "u", "h").run(query=q)

        with Flow("a") as flow:
            inside("select 1")
        """,
        "it is built outside a flow body, when the code around it runs",
    ),
    "task_args": (
        """\
        from prefect import Flow
        from prefect.tasks.postgres import PostgresExecute

        with Flow("a") as flow:
            PostgresExecute("d", "u", "h")(query="V", task_args=dict(name="vac"))
        """,
        "it is not simply called or mapped (`.run()`, `task_args=`, `**options`)",
    ),
    "a call among the arguments": (
        """\
        import os
        from prefect import Flow
        from prefect.tasks.mysql import MySQLFetch

        with Flow("a") as flow:
            MySQLFetch("db", "u", os.environ.get("PW"), "h")(query="select 1")
        """,
        'its argument `os.environ.get("PW")` is computed when the flow runs',
    ),
    "a subscript among the arguments": (
        """\
        import os
        from prefect import Flow
        from prefect.tasks.mysql import MySQLFetch

        with Flow("a") as flow:
            MySQLFetch("db", "u", "pw", os.environ["DBHOST"])(query="select 1")
        """,
        'its argument `os.environ["DBHOST"]` is computed when the flow runs',
    ),
    "an attribute the flow may change": (
        """\
        from prefect import Flow
        from prefect.tasks.postgres import PostgresFetch
        import settings

        with Flow("etl") as flow:
            settings.load("prod")
            PostgresFetch("app", "etl", settings.DB_HOST)(query="select 1")
        """,
        "its argument `settings.DB_HOST` reads an attribute the flow may change first",
    ),
    "a local import shadowing a module name": (
        """\
        from prefect import flow
        from prefect.tasks.postgres import PostgresExecute

        HOST = "localhost"

        @flow
        def f():
            from config import HOST
            PostgresExecute("d", "u", HOST)(query="V")
        """,
        "its argument `HOST` is a flow parameter or a local",
    ),
    "a name set by global in a function": (
        """\
        from prefect import Flow, task
        from prefect.tasks.postgres import PostgresExecute

        HOST = "a"

        def switch():
            global HOST
            HOST = "b"

        with Flow("a") as flow:
            switch()
            PostgresExecute("d", "u", HOST)(query="V")
        """,
        "its argument `HOST` is rebound by the flow itself or by a function using `global`",
    ),
    "a name rebound in the flow": (
        """\
        from prefect import Flow
        from prefect.tasks.postgres import PostgresExecute

        HOST = "a"

        with Flow("a") as flow:
            def set_host():
                global HOST
                HOST = "b"
            set_host()
            PostgresExecute("d", "u", HOST)(query="V")
        """,
        "its argument `HOST` is rebound by the flow itself or by a function using `global`",
    ),
    "a name bound only after the flow": (
        """\
        from prefect import flow
        from prefect.tasks.postgres import PostgresExecute

        @flow(name="clean")
        def clean():
            PostgresExecute("d", "u", LATER)(query="VACUUM")

        LATER = "x"
        """,
        "its argument `LATER` is bound only after the flow",
    ),
}


@pytest.mark.parametrize(
    ("source", "why"), NOT_HOISTED_CASES.values(), ids=NOT_HOISTED_CASES.keys()
)
def test_an_inline_task_that_cannot_move_to_module_level_keeps_its_code(source, why):
    result = migrate(source)
    assert "def postgres_" not in result.code and "def mysql_" not in result.code
    assert len(result.todos) == 1, result.todos
    assert f"{_not_hoisted(why)}. Else use prefect-sqlalchemy" in result.todos[0].message
    compile(result.code, "x.py", "exec")
    assert migrate(result.code).code == result.code  # idempotent


def test_names_bound_before_the_flow_by_any_statement_are_read_as_prefect1_read_them():
    out = apply_rule(
        RULE,
        """\
        import os
        from prefect import flow
        from prefect.tasks.postgres import PostgresFetch

        try:
            from settings import DB_HOST
        except ImportError:
            DB_HOST = "localhost"
        if os.environ.get("ENV") == "prod":
            DB_HOST = "prod-db"

        @flow(name="a")
        def a():
            postgres_fetch = 1
            return PostgresFetch("d", "u", DB_HOST)(query="select 1")
        """,
    )
    assert '@task(name="PostgresFetch")\ndef postgres_fetch_2(\n' in out  # a free name
    assert "    host=DB_HOST,\n" in out
    assert out.index("def postgres_fetch_2(") > out.index('DB_HOST = "prod-db"')
    assert '    return postgres_fetch_2(query="select 1")\n' in out


def test_a_name_bound_again_after_the_flow_keeps_the_value_prefect1_built_with():
    out = apply_rule(
        RULE,
        """\
        from prefect import flow
        from prefect.tasks.postgres import PostgresExecute

        HOST = "a"

        @flow(name="f")
        def f():
            PostgresExecute("d", "u", HOST, port=int("5433"))(query="V")

        HOST = "b"
        """,
    )
    assert '    host=HOST,\n    port=int("5433"),\n' in out
    assert out.index("def postgres_execute(") < out.index('@flow(name="f")')
    assert out.index('HOST = "a"') < out.index("def postgres_execute(")


def test_a_module_defining_the_helper_name_itself_keeps_the_task_under_a_todo():
    result = migrate(
        """\
        from prefect import Flow
        from prefect.tasks.postgres import PostgresFetch

        def _prefect1_postgres(x):
            return x

        rows = PostgresFetch("d", "u", "h")

        with Flow("a") as flow:
            rows(query="select 1")
        """
    )
    assert len(result.todos) == 1
    assert (
        "could not be rewritten: the module defines its own _prefect1_postgres, the name of the "
        "helper it needs. Else use"
    ) in result.todos[0].message
    assert 'rows = PostgresFetch("d", "u", "h")\n' in result.code
