"""Flows built with a company's own Flow/Task wrappers are migrated like plain Prefect 1 flows.

Wrappers are learned from the repository's modules (namespace packages included), declared
(``--flow-class``/``--task-class``/``--task-factory``, ``[tool.meta-flows]`` in pyproject.toml, the
``declared=`` parameter of the runner), or taken for one from their use alone (probable); each flow
built with one carries exactly one TODO naming the wrapper and the options of its own.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.core.codemod import runner
from meta_flows.core.codemod.analysis.wrapper_class import metadata_options
from meta_flows.core.codemod.audit import prefect1_leftovers
from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.engine import MIGRATED, NOT_PREFECT1, UNCHANGED, migrate_source
from meta_flows.core.codemod.project import (
    WrapperDeclarationError,
    WrapperDeclarations,
    module_names_for,
    read_pyproject_declarations,
    scan_sources,
)
from meta_flows.core.codemod.rules.flow_definition import wrapper_class_todo, wrapper_todo
from meta_flows.core.codemod.testing import migrate
from meta_flows.core.errors import MetaFlowsError

WRAPPER = dedent(
    """\
    from prefect import Flow as _Flow


    class Flow(_Flow):
        def __init__(self, name, code_owners=None, **kw):
            self.code_owners = code_owners
            super().__init__(name, **kw)
    """
)
WRAPPER_AFTER = dedent(
    f"""\
    from prefect import Flow as _Flow


    {todo_text("PF002", wrapper_class_todo("Flow"))}
    class Flow(_Flow):
        def __init__(self, name, code_owners=None, **kw):
            self.code_owners = code_owners
            super().__init__(name, **kw)
    """
)
ETL = dedent(
    """\
    from prefect import Parameter, task

    from acme_platform.custom import Flow


    @task
    def extract(n):
        return list(range(n))


    with Flow("etl", code_owners=["data"]) as flow:
        n = Parameter("n", default=5)
        extract(n)
    """
)
OWNERS_TODO = todo_text(
    "PF002",
    "built with acme_platform.custom.Flow, a wrapper of Prefect 1's Flow: its own options "
    '(code_owners=["data"]) and behaviour (constructor defaults, overridden methods) are not '
    "carried over to @flow; re-apply them by hand",
)
ETL_AFTER = dedent(
    f"""\
    from prefect import flow, task


    @task
    def extract(n):
        return list(range(n))


    {OWNERS_TODO}
    @flow(name="etl")
    def etl(n: int = 5):
        return extract(n)
    """
)
PROBABLE_TODO = todo_text(
    "PF002",
    "built with acme_platform.custom.Flow, taken for a wrapper of Prefect 1's Flow (its source "
    'is not among the files rewritten): its own options (code_owners=["data"]) and behaviour '
    "(constructor defaults, overridden methods) are not carried over to @flow; re-apply them by "
    "hand; confirm it is one and declare it (meta-flows rewrite --flow-class "
    "acme_platform.custom.Flow, or flow-classes in [tool.meta-flows] of pyproject.toml)",
)
FLOW_CLASS = "acme_platform.custom.Flow"


def _tree(tmp_path: Path, *, wrapper: bool = True) -> Path:
    """A repository whose ``acme_platform`` is a namespace package (no ``__init__.py``)."""
    (tmp_path / ".git").mkdir()  # the project root
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "etl.py").write_text(ETL)
    if wrapper:
        (tmp_path / "acme_platform").mkdir()
        (tmp_path / "acme_platform" / "custom.py").write_text(WRAPPER)
    return tmp_path


def _codes(summary) -> dict[str, tuple[str, str]]:
    return {Path(r.path).name: (r.status, r.code) for r in summary.results}


def _assert_fixed_point(code: str, module: str = "flows.etl", **kw) -> None:
    again = migrate_source(code, "flows/etl.py", module_name=module, **kw)
    assert again.code == code, f"not idempotent:\n{again.code}"


def _todo_lines(code: str) -> list[str]:
    return [line.strip() for line in code.splitlines() if "TODO(prefect2-migration)" in line]


# ------------------------------------------------------------------------ namespace packages


def test_a_module_is_known_by_its_path_from_the_root_and_the_project_root(tmp_path: Path):
    tree = _tree(tmp_path)
    module = tree / "acme_platform" / "custom.py"
    assert module_names_for(module, [tree]) == ["custom", "acme_platform.custom"]
    assert module_names_for(module, [tree / "flows", tree]) == ["custom", "acme_platform.custom"]
    (tree / "1bad").mkdir()
    (tree / "1bad" / "m.py").write_text("")
    assert module_names_for(tree / "1bad" / "m.py", [tree]) == ["m"]  # not an identifier


def test_namespace_package_wrapper_is_followed(tmp_path: Path):
    tree = _tree(tmp_path)
    files, index = runner.index([tree])
    assert index.wrappers[FLOW_CLASS] == "prefect.Flow"
    assert index.wrappers["custom.Flow"] == "prefect.Flow"  # the existing name is kept
    assert not index.probable
    codes = _codes(runner.run([tree], jobs=1))
    assert codes["etl.py"] == (MIGRATED, ETL_AFTER)
    assert codes["custom.py"] == (MIGRATED, WRAPPER_AFTER)
    again = _codes(runner.run([tree], jobs=1))
    assert again == codes  # nothing written: the same results
    for name, (_, code) in codes.items():
        (tree / ("flows" if name == "etl.py" else "acme_platform") / name).write_text(code)
    assert {s for s, _ in _codes(runner.run([tree], jobs=1)).values()} == {UNCHANGED}


def test_a_flow_module_known_under_its_namespace_name_keeps_its_alias(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "etl.py").write_text(
        'from prefect import Flow, task\n\n\n@task\ndef t():\n    return 1\n\n\nwith Flow("x") as f:\n'
        "    t()\n"
    )
    (tmp_path / "run.py").write_text("from flows.etl import f\n\nprint(f)\n")
    codes = _codes(runner.run([tmp_path], jobs=1))
    assert codes["etl.py"][1].endswith("    return t()\nf = x\n")  # `f` is imported elsewhere


# ------------------------------------------------------------------------ declared wrappers


def test_declarations_merge_in_order_without_duplicates():
    a = WrapperDeclarations(flow_classes=("a.F",), task_classes=("a.T",))
    b = WrapperDeclarations(flow_classes=("b.F", "a.F"), task_factories=("b.t",))
    assert a.merged(b) == WrapperDeclarations(("a.F", "b.F"), ("a.T",), ("b.t",))
    assert a.merged(None) == a
    assert not WrapperDeclarations() and a
    assert WrapperDeclarations(flow_classes=("Flow", "a.b.C", "a.1")).invalid() == ["Flow", "a.1"]


def test_declared_flow_class_via_the_runner(tmp_path: Path):
    tree = _tree(tmp_path, wrapper=False)
    declared = WrapperDeclarations(flow_classes=(FLOW_CLASS,))
    files, index = runner.index([tree / "flows"], declared)
    assert index.wrappers[FLOW_CLASS] == "prefect.Flow" and not index.probable
    codes = _codes(runner.run([tree / "flows"], jobs=1, declared=declared))
    assert codes["etl.py"] == (MIGRATED, ETL_AFTER)
    index = scan_sources([("flows.etl", ETL_AFTER)], declared=declared)
    _assert_fixed_point(ETL_AFTER, project=index)


def test_declared_flow_class_via_pyproject(tmp_path: Path):
    tree = _tree(tmp_path, wrapper=False)
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.meta-flows]\nflow-classes = ["acme_platform.custom.Flow"]\n'
        'task-classes = ["acme_platform.tasks.SQLTask"]\nother-key = 1\n'
    )
    assert read_pyproject_declarations(tree / "flows") == WrapperDeclarations(
        flow_classes=(FLOW_CLASS,), task_classes=("acme_platform.tasks.SQLTask",)
    )
    codes = _codes(runner.run([tree / "flows"], jobs=1))
    assert codes["etl.py"] == (MIGRATED, ETL_AFTER)


def test_no_pyproject_or_no_table_declares_nothing(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    assert read_pyproject_declarations(tmp_path) == WrapperDeclarations()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert read_pyproject_declarations(tmp_path) == WrapperDeclarations()
    (tmp_path / "pyproject.toml").write_text("not [ toml")  # not ours to judge
    assert read_pyproject_declarations(tmp_path) == WrapperDeclarations()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('flow-classes = "acme.Flow"', "flow-classes"),
        ("task-classes = [1]", "task-classes"),
        ('task-factories = ["task"]', "task-factories"),
    ],
)
def test_a_malformed_table_names_the_file_and_key(tmp_path: Path, table: str, key: str):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(f"[tool.meta-flows]\n{table}\n")
    with pytest.raises(WrapperDeclarationError) as caught:
        read_pyproject_declarations(tmp_path)
    assert isinstance(caught.value, MetaFlowsError)
    assert str(tmp_path / "pyproject.toml") in str(caught.value)
    assert f"[tool.meta-flows] {key}" in str(caught.value)
    (tmp_path / "pyproject.toml").write_text('tool = "meta-flows"\n[tool.meta-flows\n')
    with pytest.raises(WrapperDeclarationError, match="not valid TOML"):
        read_pyproject_declarations(tmp_path)


def test_cli_flow_class(tmp_path: Path):
    tree = _tree(tmp_path, wrapper=False)
    result = CliRunner().invoke(
        app, ["rewrite", "--write", "--jobs", "1", "--flow-class", FLOW_CLASS, str(tree / "flows")]
    )
    assert result.exit_code == 0, result.output
    assert (tree / "flows" / "etl.py").read_text() == ETL_AFTER


def test_cli_rejects_a_name_that_is_not_dotted_and_a_malformed_pyproject(tmp_path: Path):
    tree = _tree(tmp_path, wrapper=False)
    result = CliRunner().invoke(app, ["rewrite", "--flow-class", "Flow", str(tree)])
    assert result.exit_code == 2 and "not a dotted name" in result.stderr
    (tree / "pyproject.toml").write_text('[tool.meta-flows]\nflow-classes = "x.Flow"\n')
    result = CliRunner().invoke(app, ["rewrite", str(tree)])
    assert result.exit_code == 2
    assert "[tool.meta-flows] flow-classes" in result.stderr
    assert (tree / "flows" / "etl.py").read_text() == ETL


def test_a_declared_wrapper_without_flow_in_its_name_and_no_prefect_import():
    src = dedent(
        """\
        from acme_platform.custom import Pipeline, acme_task


        @acme_task
        def extract():
            return 1


        with Pipeline("etl") as flow:
            extract()
        """
    )
    declared = WrapperDeclarations(
        flow_classes=("acme_platform.custom.Pipeline",),
        task_factories=("acme_platform.custom.acme_task",),
    )
    index = scan_sources([("flows.etl", src)], declared=declared)
    result = migrate_source(src, "flows/etl.py", module_name="flows.etl", project=index)
    todo = todo_text(
        "PF002",
        "built with acme_platform.custom.Pipeline, a wrapper of Prefect 1's Flow: its own "
        "behaviour (constructor defaults, overridden methods) is not carried over to @flow; "
        "re-apply it by hand",
    )
    assert result.code == dedent(
        f"""\
        from prefect import flow, task


        @task
        def extract():
            return 1


        {todo}
        @flow(name="etl")
        def etl():
            return extract()
        """
    )
    _assert_fixed_point(result.code, project=index)


# ------------------------------------------------------------------------ probable wrappers


def test_probable_wrapper_gets_one_todo_asking_to_declare_it():
    result = migrate(ETL, "flows.etl")
    assert result.code == ETL_AFTER.replace(OWNERS_TODO, PROBABLE_TODO)
    assert [t.rule for t in result.todos] == ["PF002"]
    assert prefect1_leftovers(result.code) == []
    _assert_fixed_point(result.code)


def test_probable_wrapper_in_a_project_whose_wrapper_module_is_not_rewritten(tmp_path: Path):
    tree = _tree(tmp_path)
    codes = _codes(runner.run([tree / "flows"], jobs=1))
    assert codes == {"etl.py": (MIGRATED, ETL_AFTER.replace(OWNERS_TODO, PROBABLE_TODO))}


def test_probable_wrapper_functional_api_and_subclass():
    src = dedent(
        """\
        import prefect
        from acme_platform import custom


        class MyFlow(custom.Flow):
            pass


        @prefect.task
        def extract():
            return 1


        one = custom.Flow("one", tasks=[extract])
        with MyFlow("two") as two:
            extract()
        """
    )
    index = scan_sources([("flows.etl", src)])
    assert index.probable == {FLOW_CLASS}
    assert index.wrappers["flows.etl.MyFlow"] == FLOW_CLASS
    result = migrate(src, "flows.etl")
    todos = _todo_lines(result.code)
    assert len(todos) == 3, todos
    assert "PF002 class MyFlow subclasses Prefect 1's Flow" in todos[0]
    assert "built with acme_platform.custom.Flow, taken for a wrapper" in todos[1]
    assert "built with MyFlow, taken for a wrapper" in todos[2]
    assert "--flow-class acme_platform.custom.Flow" in todos[2]
    assert '@flow(name="one")\ndef one():\n    return extract()\n' in result.code
    assert '@flow(name="two")\ndef two():\n    return extract()\n' in result.code
    _assert_fixed_point(result.code)


def test_a_flow_built_with_a_wrapper_with_options_has_exactly_one_todo():
    src = dedent(
        """\
        from acme_platform.custom import Flow
        from prefect import task
        from prefect.schedules import IntervalSchedule


        @task
        def extract():
            return 1


        with Flow(
            "etl",
            "positional",
            schedule=IntervalSchedule(interval=60),
            code_owners=["data"],
            skip_if_running=True,
            **defaults,
        ) as flow:
            extract()
        """
    )
    result = migrate(src, "flows.etl")
    todo = wrapper_todo(
        FLOW_CLASS,
        ['"positional"', 'code_owners=["data"]', "skip_if_running=True", "**defaults"],
        probable=FLOW_CLASS,
    )
    assert _todo_lines(result.code) == [todo_text("PF002", todo)]
    assert '@flow(\n    name="etl",\n)\ndef etl():\n    return extract()\n' in result.code
    assert "# prefect2-migration: schedule moved to prefect.yaml" in result.code
    _assert_fixed_point(result.code)


# ------------------------------------------------------------------------ tasks


SQL = dedent(
    """\
    from prefect import Flow, task

    from acme_platform.tasks import SQLTask

    run_query = SQLTask(query="select 1", max_retries=2)
    count = SQLTask(name="count")


    @task
    def show(x):
        print(x)


    with Flow("etl") as flow:
        show(run_query())
        show(count())
    """
)


def test_task_class_from_an_installed_package_declared_on_the_command_line(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "etl.py").write_text(SQL)
    result = CliRunner().invoke(
        app,
        ["rewrite", "--write", "--task-class", "acme_platform.tasks.SQLTask", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    todo = todo_text(
        "PF006",
        "run_query was an instance of acme_platform.tasks.SQLTask, a Task subclass whose source "
        "is not in the repository: it is now a @task calling SQLTask(...).run(); its own options "
        '(query="select 1") go to SQLTask, which must work under Prefect 2 (port it to a plain '
        "class, without Prefect 1's Task base)",
    )
    code = (tmp_path / "etl.py").read_text()
    assert code == dedent(
        f"""\
        from prefect import flow, task

        from acme_platform.tasks import SQLTask


        {todo}
        @task(name="SQLTask", retries=2)
        def run_query(*args, **kwargs):
            return SQLTask(query="select 1").run(*args, **kwargs)


        @task(name="count")
        def count(*args, **kwargs):
            return SQLTask().run(*args, **kwargs)


        @task
        def show(x):
            print(x)


        @flow(name="etl")
        def etl():
            show(run_query(), return_state=True)
            show(count())
        """
    )
    declared = WrapperDeclarations(task_classes=("acme_platform.tasks.SQLTask",))
    _assert_fixed_point(code, "etl", project=scan_sources([("etl", code)], declared=declared))


def test_an_installed_task_class_used_inside_a_flow_is_flagged():
    src = 'from prefect import Flow\nfrom acme.tasks import SQLTask\n\nwith Flow("x") as f:\n    SQLTask(query="q")()\n'
    index = scan_sources(
        [("etl", src)], declared=WrapperDeclarations(task_classes=("acme.tasks.SQLTask",))
    )
    result = migrate_source(src, "etl.py", module_name="etl", project=index)
    assert _todo_lines(result.code) == [
        todo_text(
            "PF006",
            "SQLTask(...) makes an instance of acme.tasks.SQLTask, a Task subclass whose source is "
            "not in the repository: make it a task by hand (a module-level @task function "
            "returning SQLTask(...).run(...))",
        )
    ]


def test_task_factory_declared():
    src = dedent(
        """\
        from prefect import Flow

        from acme_platform.tasks import acme_task


        @acme_task(max_retries=3, owner="data")
        def extract():
            return 1


        @acme_task
        def load(x):
            print(x)


        @acme_task(log_stdout=True,)
        def report(x):
            print(x)


        double = acme_task(lambda x: 2 * x, name="double")

        with Flow("etl") as flow:
            report(load(double(extract())))
        """
    )
    declared = WrapperDeclarations(task_factories=("acme_platform.tasks.acme_task",))
    index = scan_sources([("etl", src)], declared=declared)
    result = migrate_source(src, "etl.py", module_name="etl", project=index)
    todo = todo_text(
        "PF004",
        "built with acme_platform.tasks.acme_task, a task decorator standing for Prefect 1's "
        'task: its own options (owner="data") are not carried over to @task; re-apply them by '
        "hand",
    )
    assert result.code == dedent(
        f"""\
        from prefect import flow, task


        {todo}
        @task(retries=3)
        def extract():
            return 1


        @task
        def load(x):
            print(x)


        @task(log_prints=True,)
        def report(x):
            print(x)


        double = task(lambda x: 2 * x, name="double")

        @flow(name="etl")
        def etl():
            return report(load(double(extract())))
        """
    )
    _assert_fixed_point(
        result.code, "etl", project=scan_sources([("etl", result.code)], declared=declared)
    )


# ------------------------------------------------------------------------ wrapper-defining modules


def test_wrapper_defining_module_gets_one_todo_and_stays_importable():
    result = migrate(WRAPPER, "acme_platform.custom")
    assert (result.status, result.code) == (MIGRATED, WRAPPER_AFTER)
    assert len(result.todos) == 1
    assert prefect1_leftovers(WRAPPER)[0].what == "class Flow(Flow) (subclass of Prefect 1's Flow)"
    assert prefect1_leftovers(result.code) == []
    _assert_fixed_point(result.code, "acme_platform.custom")


def test_a_package_reexporting_prefect_flow_is_plain_prefect(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "__init__.py").write_text("from prefect import Flow, task\n")
    (tmp_path / "etl.py").write_text(
        'from acme import Flow, task\n\n\n@task\ndef t():\n    return 1\n\n\nwith Flow("x") as f:\n    t()\n'
    )
    codes = _codes(runner.run([tmp_path], jobs=1))
    assert codes["etl.py"] == (
        MIGRATED,
        "from prefect import flow\n\nfrom acme import task\n\n\n@task\ndef t():\n    return 1\n\n\n"
        '@flow(name="x")\ndef x():\n    return t()\n',
    )
    assert codes["__init__.py"][0] == UNCHANGED


# ------------------------------------------------------------------------ left alone


@pytest.mark.parametrize(
    "src",
    [
        # another library's Flow, no Prefect import
        'from metaflow import Flow\n\nrun = Flow("HelloFlow").latest_run\nf = Flow("HelloFlow")\n',
        # a module importing Prefect 2 only
        'from prefect import flow, task\nfrom metaflow import Flow\n\nf = Flow("HelloFlow")\n\n\n'
        '@flow\ndef hello():\n    with Flow("HelloFlow") as g:\n        print(g)\n',
        "import prefect\nfrom prefect.blocks.system import Secret\nfrom metaflow import Flow\n\n"
        'with Flow("x") as f:\n    pass\n',
    ],
)
def test_other_flows_are_left_alone(src: str):
    index = scan_sources([("flows.x", src)])
    assert not index.probable
    result = migrate_source(src, "flows/x.py", module_name="flows.x")
    assert result.status in (NOT_PREFECT1, UNCHANGED)
    assert result.code == src


def test_a_wrapper_flow_left_for_a_human_drops_the_wrapper_import():
    src = dedent(
        """\
        from prefect import task
        from acme_platform.custom import Flow


        @task
        def extract():
            return 1


        with Flow("etl", code_owners=["x"]) as flow, open("x") as fh:
            extract()
        """
    )
    result = migrate(src, "flows.etl")
    assert result.code.startswith("from prefect import task\n\n\n@task\n")
    assert len(result.todos) == 1 and "rewrite it by hand" in result.todos[0].message
    _assert_fixed_point(result.code)


def test_task_class_defining_module_keeps_its_classes_with_one_todo_each():
    src = dedent(
        """\
        import prefect


        class AddTen(prefect.Task):
            def run(self, x):
                return x + 10


        class Owned(prefect.Task):
            def __init__(self, owner=None, **kwargs):
                self.owner = owner
                super().__init__(**kwargs)
        """
    )
    result = migrate(src, "acme.tasks")
    add_ten = todo_text(
        "PF006",
        "class AddTen subclassed Prefect 1's Task: it is kept as a plain class (without the Task "
        "base) for the tasks built with it in other modules, which meta-flows migrates to @task "
        "functions calling its run(); port what it adds through Prefect 1 (options passed to "
        "super().__init__, state handlers) to @task options, or delete it once no task uses it",
    )
    owned = todo_text(
        "PF006",
        "class Owned subclassed Prefect 1's Task and has no run(): it is kept as a plain base "
        "class (without the Task base) for the task classes built on it, whose instances "
        "meta-flows migrates to @task functions calling their run(); port what it adds through "
        "Prefect 1 (options passed to super().__init__, state handlers) to @task options, or "
        "delete it once no task class uses it",
    )
    assert result.code == dedent(
        f"""\
        {add_ten}
        class AddTen:
            def run(self, x):
                return x + 10


        {owned}
        class Owned:
            def __init__(self, owner=None, **kwargs):
                self.owner = owner
        """
    )
    assert prefect1_leftovers(src) and not prefect1_leftovers(result.code)
    _assert_fixed_point(result.code, "acme.tasks")


def test_a_task_class_of_the_repository_used_in_another_module(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tasks.py").write_text(
        "from prefect import Task\n\n\nclass Query(Task):\n    def __init__(self, sql=None, "
        "**kwargs):\n        self.sql = sql\n        super().__init__(**kwargs)\n\n"
        "    def run(self):\n        return self.sql\n"
    )
    (tmp_path / "pkg" / "etl.py").write_text(
        'from prefect import Flow\n\nfrom pkg.tasks import Query\n\nq = Query(sql="select 1", '
        'max_retries=1)\n\nwith Flow("etl") as flow:\n    q()\n'
    )
    codes = _codes(runner.run([tmp_path], jobs=1))
    assert codes["etl.py"] == (
        MIGRATED,
        "from prefect import flow, task\n\nfrom pkg.tasks import Query\n\n\n"
        '@task(name="Query", retries=1)\ndef q(*args, **kwargs):\n'
        '    return Query(sql="select 1").run(*args, **kwargs)\n\n'
        '@flow(name="etl")\ndef etl():\n    return q()\n',
    )
    tasks = codes["tasks.py"][1]
    assert tasks.startswith("# TODO(prefect2-migration): PF006 class Query subclassed")
    assert "class Query:\n" in tasks and "super().__init__(**kwargs)" not in tasks
    assert len(_todo_lines(tasks)) == 1


# ------------------------------------------------------------------------ wrapper source read


ACME_FLOW = dedent(
    """\
    class Flow(prefect.Flow):
        \"\"\"The company's options.\"\"\"

        def __init__(self, name, *args, code_owners=None, skip_if_running=False, **kwargs):
            self.code_owners = list(code_owners or [])
            self.skip_if_running = skip_if_running
            super().__init__(name, *args, **kwargs)
    """
)


def test_options_only_stored_on_the_flow_object_are_metadata():
    assert metadata_options([ACME_FLOW]) == {"code_owners", "skip_if_running"}
    # a subclass of it adding one more, an indented (nested) class, a class adding nothing
    child = dedent(
        """\
            class TeamFlow(Flow):
                def __init__(self, name, team="data", **kwargs):
                    self.team = team
                    super().__init__(name, **kwargs)
        """
    )
    assert metadata_options([child, ACME_FLOW]) == {"team", "code_owners", "skip_if_running"}
    assert metadata_options(["class F(prefect.Flow):\n    pass\n"]) == frozenset()
    # an option taken and ignored is metadata too; Prefect 1's own handed on unchanged
    ignored = dedent(
        """\
        class F(prefect.Flow):
            def __init__(self, name, owner=None, schedule=None, **kw):
                super().__init__(name, schedule=schedule, **kw)
        """
    )
    assert metadata_options([ignored]) == {"owner"}


@pytest.mark.parametrize(
    "source",
    [
        # an overridden method
        "class F(prefect.Flow):\n    def run(self, **kw):\n        return super().run(**kw)\n",
        # a class attribute
        "class F(prefect.Flow):\n    executor = LocalDaskExecutor()\n",
        # a default of its own for one of Prefect 1's options
        "class F(prefect.Flow):\n    def __init__(self, name, executor=LocalDaskExecutor(), **kw):"
        "\n        super().__init__(name, executor=executor, **kw)\n",
        # a changed value handed on
        "class F(prefect.Flow):\n    def __init__(self, name, **kw):\n"
        "        super().__init__(name.upper(), **kw)\n",
        # an injected option
        "class F(prefect.Flow):\n    def __init__(self, name, **kw):\n"
        "        kw.setdefault('state_handlers', [notify])\n        super().__init__(name, **kw)\n",
        "class F(prefect.Flow):\n    def __init__(self, name, **kw):\n"
        "        super().__init__(name, state_handlers=[notify], **kw)\n",
        # one of Prefect 1's attributes assigned
        "class F(prefect.Flow):\n    def __init__(self, name, s=None, **kw):\n"
        "        super().__init__(name, **kw)\n        self.schedule = s\n",
        # a stored value computed by a call of the company's own
        "class F(prefect.Flow):\n    def __init__(self, name, owners=None, **kw):\n"
        "        self.owners = lookup(owners)\n        super().__init__(name, **kw)\n",
        # Prefect 1's options swallowed, super() not called, called twice
        "class F(prefect.Flow):\n    def __init__(self, name, **kw):\n        super().__init__(name)\n",
        "class F(prefect.Flow):\n    def __init__(self, name):\n        self.x = name\n",
        "class F(prefect.Flow):\n    def __init__(self, name):\n        super().__init__(name)\n"
        "        super().__init__(name)\n",
        # not readable
        "class F(prefect.Flow:\n",
    ],
)
def test_a_wrapper_that_may_change_behaviour_has_no_metadata(source: str):
    assert metadata_options([source]) is None
    assert metadata_options([ACME_FLOW, source]) is None  # anywhere in its classes
    assert metadata_options([]) is None


def test_declarations_carry_the_metadata_options():
    a = WrapperDeclarations(flow_classes=("a.F",), flow_metadata=(("a.F", ("owner",)),))
    b = WrapperDeclarations(flow_classes=("b.F",), flow_metadata=(("b.F", ()),))
    merged = a.merged(b)
    assert merged.metadata_of(["x.F", "b.F", "a.F"]) == frozenset()
    assert merged.metadata_of(["a.F"]) == {"owner"} and merged.metadata_of(["c.F"]) is None


def test_options_the_wrapper_only_stores_leave_a_note_not_a_todo():
    declared = WrapperDeclarations(
        flow_classes=(FLOW_CLASS,), flow_metadata=((FLOW_CLASS, ("code_owners",)),)
    )
    index = scan_sources([("flows.etl", ETL)], declared=declared)
    result = migrate_source(ETL, "flows/etl.py", module_name="flows.etl", project=index)
    note = (
        '# prefect2-migration: code_owners=["data"] dropped: acme_platform.custom.Flow only '
        "stored it on the flow object (its source adds no behaviour to Prefect 1's Flow)"
    )
    assert result.status == MIGRATED and result.todos == []
    assert result.code == ETL_AFTER.replace(OWNERS_TODO, note)
    _assert_fixed_point(result.code, project=index)
    # an option the wrapper does more with: the one TODO, as for a wrapper not read
    busy = ETL.replace('code_owners=["data"]', 'code_owners=["data"], notify="ops"')
    result = migrate_source(busy, "flows/etl.py", module_name="flows.etl", project=index)
    assert _todo_lines(result.code) == [
        todo_text("PF002", wrapper_todo(FLOW_CLASS, ['code_owners=["data"]', 'notify="ops"']))
    ]
    assert "only stored" not in result.code
