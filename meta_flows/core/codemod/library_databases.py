"""Prefect 1's PostgreSQL and MySQL library tasks as Prefect 2 code (PF013, docs/spec.md §12).

``prefect.tasks.postgres`` (``PostgresExecute``, ``PostgresExecuteMany``, ``PostgresFetch``) and
``prefect.tasks.mysql`` (``MySQLExecute``, ``MySQLFetch``) were thin tasks over a database driver:
connect, run one query, fetch, commit when asked, close. Every constructor argument was also a
``run()`` argument (``defaults_from_attrs``: a call's keyword wins, the constructor's value
otherwise). PF013 turns ``name = PostgresFetch(...)`` into a ``@task`` def whose parameters are
Prefect 1's ``run()`` parameters in the same order, with the constructor's values as defaults, and
whose body calls one helper written once into the module. The helper uses the driver Prefect 1
used (psycopg2, pymysql), so placeholders (``%s``, ``%(name)s``), rows (tuples, or dicts with
``cursor_type="dictcursor"``), return values (``None`` for a PostgreSQL execute, the number of
affected rows for a MySQL one), transactions and errors stay as they were. prefect-sqlalchemy's
``SqlAlchemyConnector`` would change the placeholder style and the row type; a project that wants
its credentials in a block can move to it later, by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseTask:
    """One Prefect 1 database task class and how its @task def calls the helper."""

    helper: str  # the helper function's name
    init: tuple[tuple[str, str], ...]  # constructor (parameter, Prefect 1 default code), in order
    run: tuple[tuple[str, str], ...]  # run() parameters only run() has (name, default code)
    arguments: tuple[str, ...]  # the helper call's arguments, from the def's parameters
    requirement: str  # the driver's distribution
    driver: str  # the module the helper imports

    @property
    def parameters(self) -> tuple[str, ...]:
        """The def's parameters (Prefect 1's ``run()`` order)."""
        return tuple(name for name, _ in self.init) + tuple(name for name, _ in self.run)


POSTGRES_HELPER_NAME = "_prefect1_postgres"
POSTGRES_HELPER = f'''\
def {POSTGRES_HELPER_NAME}(
    mode, query, data=None, *, fetch="one", fetch_count=10, commit=False, col_names=False, **connect
):
    """Prefect 1's PostgresExecute ("execute"), PostgresExecuteMany ("many") and PostgresFetch
    ("fetch") on psycopg2, the driver they used: same placeholders, rows as tuples; an execute
    commits only with commit=True and returns None."""
    if not query:
        raise ValueError("A query string must be provided")
    if mode == "many" and not data:
        raise ValueError("A data list must be provided")
    if mode == "fetch" and fetch not in ("one", "many", "all"):
        raise ValueError(
            "The 'fetch' parameter must be one of the following - ('one', 'many', 'all')"
        )
    connection = psycopg2.connect(**connect)
    try:
        with connection, connection.cursor() as cursor:
            if mode == "many":
                cursor.executemany(query, data)
            else:
                cursor.execute(query, data)
            if mode != "fetch":
                if commit:
                    connection.commit()
                else:
                    connection.rollback()
                return None
            if fetch == "all":
                rows = cursor.fetchall()
            elif fetch == "many":
                rows = cursor.fetchmany(fetch_count)
            else:
                rows = cursor.fetchone()
            if commit:
                connection.commit()
            if col_names:
                header = [tuple(column[0] for column in cursor.description)]
                rows = header + ([rows] if isinstance(rows, tuple) else rows)
            return rows
    finally:
        connection.close()
'''

MYSQL_HELPER_NAME = "_prefect1_mysql"
MYSQL_HELPER = f'''\
def {MYSQL_HELPER_NAME}(
    mode, query, *, fetch="one", fetch_count=10, commit=False, cursor_type="cursor", **connect
):
    """Prefect 1's MySQLExecute ("execute": the number of affected rows) and MySQLFetch ("fetch":
    the rows) on pymysql, the driver they used."""
    if not query:
        raise ValueError("A query string must be provided")
    if mode == "fetch":
        if fetch not in ("one", "many", "all"):
            raise ValueError(
                "The 'fetch' parameter must be one of the following - ('one', 'many', 'all')"
            )
        cursor_classes = {{
            "cursor": pymysql.cursors.Cursor,
            "dictcursor": pymysql.cursors.DictCursor,
            "sscursor": pymysql.cursors.SSCursor,
            "ssdictcursor": pymysql.cursors.SSDictCursor,
        }}
        if callable(cursor_type):
            connect["cursorclass"] = cursor_type
        elif isinstance(cursor_type, str) and cursor_type.lower() in cursor_classes:
            connect["cursorclass"] = cursor_classes[cursor_type.lower()]
        else:
            raise TypeError(
                f"'cursor_type' should be one of {{list(cursor_classes)}} or a full cursor class, "
                f"got {{cursor_type}}"
            )
    connection = pymysql.connect(**connect)
    try:
        with connection.cursor() as cursor:
            result = cursor.execute(query)
            if mode == "fetch":
                if fetch == "all":
                    result = cursor.fetchall()
                elif fetch == "many":
                    result = cursor.fetchmany(fetch_count)
                else:
                    result = cursor.fetchone()
            if commit:
                connection.commit()
        return result
    finally:
        connection.close()
'''

HELPERS = {POSTGRES_HELPER_NAME: POSTGRES_HELPER, MYSQL_HELPER_NAME: MYSQL_HELPER}

_PG_CONNECT = ("dbname=db_name", "user=user", "password=password", "host=host", "port=port")
_PG_INIT = (("db_name", "None"), ("user", "None"), ("host", "None"), ("port", "5432"))
_MYSQL_CONNECT = (
    "host=host",
    "user=user",
    "password=password",
    "db=db_name",
    "charset=charset",
    "port=port",
    "ssl=ssl",
)
_MYSQL_INIT = (
    ("db_name", "None"),
    ("user", "None"),
    ("password", "None"),
    ("host", "None"),
    ("port", "3306"),
)


def _postgres(mode: str, init: tuple[tuple[str, str], ...], run, extra=()) -> DatabaseTask:
    return DatabaseTask(
        helper=POSTGRES_HELPER_NAME,
        init=(*_PG_INIT, *init),
        run=run,
        arguments=(f'"{mode}"', "query", "data", *extra, "commit=commit", *_PG_CONNECT),
        requirement="psycopg2-binary",
        driver="psycopg2",
    )


def _mysql(mode: str, init: tuple[tuple[str, str], ...], extra=()) -> DatabaseTask:
    return DatabaseTask(
        helper=MYSQL_HELPER_NAME,
        init=(*_MYSQL_INIT, *init),
        run=(),
        arguments=(f'"{mode}"', "query", *extra, "commit=commit", *_MYSQL_CONNECT),
        requirement="pymysql",
        driver="pymysql.cursors",
    )


_QUERY_DATA_COMMIT = (("query", "None"), ("data", "None"), ("commit", "False"))
_FETCH = (("fetch", '"one"'), ("fetch_count", "10"))

DATABASE_TASKS: dict[tuple[str, str], DatabaseTask] = {
    ("postgres", "PostgresExecute"): _postgres(
        "execute", _QUERY_DATA_COMMIT, (("password", "None"),)
    ),
    ("postgres", "PostgresExecuteMany"): _postgres(
        "many", _QUERY_DATA_COMMIT, (("password", "None"),)
    ),
    ("postgres", "PostgresFetch"): _postgres(
        "fetch",
        (*_FETCH, *_QUERY_DATA_COMMIT),
        (("password", "None"), ("col_names", "False")),
        ("fetch=fetch", "fetch_count=fetch_count", "col_names=col_names"),
    ),
    ("mysql", "MySQLExecute"): _mysql(
        "execute",
        (("query", "None"), ("commit", "False"), ("charset", '"utf8mb4"'), ("ssl", "None")),
    ),
    ("mysql", "MySQLFetch"): _mysql(
        "fetch",
        (
            *_FETCH,
            ("query", "None"),
            ("commit", "False"),
            ("charset", '"utf8mb4"'),
            ("cursor_type", '"cursor"'),
            ("ssl", "None"),
        ),
        ("fetch=fetch", "fetch_count=fetch_count", "cursor_type=cursor_type"),
    ),
}
