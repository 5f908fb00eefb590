"""Tests of the Prefect 1 leftover audit (meta_flows.core.codemod.audit)."""

from textwrap import dedent

import pytest

from meta_flows.core.codemod.audit import Leftover, prefect1_leftovers


def leftovers(code: str) -> list[Leftover]:
    return prefect1_leftovers(dedent(code))


# (code, line of the finding, a substring of its description)
FLAGGED = [
    pytest.param(
        "from prefect.engine import signals\n",
        1,
        "prefect.engine.signals",
        id="import-signals",
    ),
    pytest.param(
        "from prefect.engine.signals import FAIL\n",
        1,
        "Prefect 1-only module prefect.engine.signals",
        id="import-from-signals-module",
    ),
    pytest.param(
        "import prefect.engine.signals\n", 1, "prefect.engine.signals", id="import-dotted"
    ),
    pytest.param("from prefect.engine import state\n", 1, "prefect.engine", id="engine-state"),
    pytest.param(
        "from prefect.engine import FlowRunner\n", 1, "prefect.engine", id="engine-flowrunner"
    ),
    pytest.param(
        "import prefect\nx = prefect.engine.TaskRunner\n", 2, "prefect.engine", id="engine-attr"
    ),
    pytest.param(
        "from prefect.tasks.secrets import PrefectSecret\n",
        1,
        "prefect.tasks.secrets",
        id="secrets",
    ),
    pytest.param(
        "from prefect.utilities.tasks import defaults_from_attrs\n",
        1,
        "prefect.utilities.tasks",
        id="defaults-from-attrs",
    ),
    pytest.param(
        "from prefect.executors import LocalDaskExecutor\n", 1, "prefect.executors", id="executors"
    ),
    pytest.param("from prefect import Parameter\n", 1, "import Parameter", id="import-parameter"),
    pytest.param("from prefect import case\n", 1, "import case", id="import-case"),
    pytest.param(
        "from prefect import flow, triggers\n", 1, "import triggers", id="import-triggers"
    ),
    pytest.param(
        """\
        from prefect import Flow

        with Flow("x") as f:
            pass
        """,
        3,
        "Flow(...)",
        id="with-flow",
    ),
    pytest.param(
        """\
        from prefect import Flow as PFlow

        f = PFlow("x")
        """,
        3,
        "Flow(...)",
        id="flow-call-alias",
    ),
    pytest.param(
        """\
        import prefect

        with prefect.Flow("x") as f:
            n = prefect.Parameter("n", default=1)
        """,
        4,
        "prefect.Parameter",
        id="module-style-parameter",
    ),
    pytest.param(
        """\
        import prefect

        @prefect.task
        def t():
            logger = prefect.context.get("logger")
        """,
        5,
        "prefect.context.get",
        id="context-get",
    ),
    pytest.param(
        """\
        from prefect import context

        def t():
            return context.today
        """,
        4,
        "prefect.context.today",
        id="context-attr",
    ),
    pytest.param(
        """\
        import prefect

        def t():
            return prefect.context["today"]
        """,
        4,
        "prefect.context[...]",
        id="context-subscript",
    ),
    pytest.param(
        """\
        import prefect

        def t():
            with prefect.context(a=1):
                pass
        """,
        4,
        "prefect.context(...)",
        id="context-call",
    ),
    pytest.param(
        """\
        from prefect.engine import signals

        def t():
            raise signals.FAIL("no")
        """,
        4,
        "prefect.engine.signals.FAIL",
        id="signals-use",
    ),
    pytest.param(
        """\
        import prefect

        def t(c):
            with prefect.case(c, True):
                pass
        """,
        4,
        "prefect.tasks.control_flow.case",
        id="case-use",
    ),
    pytest.param(
        """\
        from prefect import task

        @task(max_retries=3)
        def t():
            pass
        """,
        3,
        "max_retries",
        id="task-max-retries",
    ),
    pytest.param(
        """\
        from prefect import task
        from foo import cleanup_trigger

        @task(trigger=cleanup_trigger)
        def t():
            pass
        """,
        4,
        "trigger",
        id="task-trigger",
    ),
    pytest.param(
        """\
        import prefect

        @prefect.task(checkpoint=False)
        def t():
            pass
        """,
        3,
        "checkpoint",
        id="task-checkpoint-module-style",
    ),
    pytest.param(
        """\
        from prefect import flow

        @flow(name="x", executor=None)
        def f():
            pass
        """,
        3,
        "executor",
        id="flow-executor",
    ),
    pytest.param(
        """\
        from prefect import Flow

        with Flow("x") as flow:
            pass

        if __name__ == "__main__":
            flow.run()
        """,
        7,
        "flow.run(...)",
        id="flow-run",
    ),
    pytest.param(
        """\
        from prefect import flow

        @flow
        def etl():
            pass

        legacy = etl

        legacy.register(project_name="p")
        """,
        9,
        "legacy.register(...)",
        id="flow-alias-register",
    ),
    pytest.param(
        """\
        from prefect import flow

        @flow
        def etl():
            pass

        etl.storage = None
        """,
        7,
        "etl.storage",
        id="flow-storage-assignment",
    ),
    pytest.param(
        """\
        from prefect import flow, task

        @task
        def a():
            pass

        @task
        def b():
            pass

        @flow
        def f():
            x = a()
            b(upstream_tasks=[x])
        """,
        14,
        "upstream_tasks=",
        id="upstream-tasks",
    ),
    pytest.param(
        """\
        from prefect import flow, task

        @task
        def a():
            pass

        @flow
        def f():
            x = a()
            x.set_upstream(a)
        """,
        10,
        "set_upstream",
        id="set-upstream",
    ),
    pytest.param(
        """\
        from prefect import Task

        class Add(Task):
            def run(self, x):
                return x + 1
        """,
        3,
        "Prefect 1 task class",
        id="task-subclass",
    ),
    pytest.param(
        """\
        from prefect import *

        with Flow("x") as f:
            n = Parameter("n")
        """,
        4,
        "Parameter",
        id="star-parameter",
    ),
    pytest.param(
        """\
        from prefect.client import Secret

        def t():
            return Secret("X").get()
        """,
        1,
        "prefect.client.Secret",
        id="client-secret",
    ),
    pytest.param(
        "from prefect.artifacts import create_link\n",
        1,
        "prefect.artifacts.create_link (Prefect 1 only; Prefect 2: create_link_artifact",
        id="artifacts-create-link",
    ),
    pytest.param(
        "import prefect.artifacts\n\nprefect.artifacts.create_markdown('# x')\n",
        3,
        "prefect.artifacts.create_markdown (Prefect 1 only",
        id="artifacts-create-markdown-attribute",
    ),
    pytest.param(
        "from prefect.client import Client\n", 1, "prefect.client.Client", id="client-client"
    ),
    pytest.param(
        "import prefect\n\nc = prefect.Client()\n", 3, "prefect.Client", id="prefect-client"
    ),
    pytest.param(
        "from prefect.utilities.collections import DotDict\n",
        1,
        "prefect.utilities.collections.DotDict",
        id="utilities-collections-dotdict",
    ),
    pytest.param(
        "from prefect.utilities.configuration import set_temporary_config\n",
        1,
        "Prefect 1-only module prefect.utilities.configuration",
        id="utilities-configuration",
    ),
    pytest.param(
        """\
        from prefect import task

        @task
        def t():
            return 1

        t2 = t.copy(name="t2")
        """,
        7,
        "t.copy(...) (Prefect 1 Task.copy; Prefect 2: with_options)",
        id="task-copy",
    ),
    pytest.param(
        """\
        from prefect import flow

        @flow
        def f():
            return 1

        state = f(return_state=True)
        assert state.is_successful()
        """,
        8,
        "state.is_successful() (Prefect 1 State; Prefect 2: is_completed)",
        id="is-successful",
    ),
    pytest.param(
        """\
        import os
        # TODO(prefect2-migration): PF999 about the import above

        from prefect import Parameter
        """,
        4,
        "import Parameter",
        id="todo-separated-by-blank-line",
    ),
]


@pytest.mark.parametrize(("code", "line", "what"), FLAGGED)
def test_flags_prefect1_code(code, line, what):
    found = leftovers(code)
    assert any(f.line == line and what in f.what for f in found), found


def test_leftover_fields():
    code = "import os\nfrom prefect import Parameter  # keep\n"
    assert prefect1_leftovers(code) == [
        Leftover(
            2,
            "from prefect import Parameter  # keep",
            "from prefect import Parameter (not in Prefect 2)",
        )
    ]


PREFECT2 = [
    pytest.param(
        """\
        import datetime

        from prefect import flow, get_run_logger, task, unmapped
        from prefect.blocks.system import Secret
        from prefect.runtime import flow_run
        from prefect.states import Completed
        from prefect.task_runners import ConcurrentTaskRunner

        @task(retries=2, retry_delay_seconds=1, timeout_seconds=10, log_prints=True, tags=["a"])
        def add(x, y):
            get_run_logger().info("adding")
            return x + y

        @flow(name="etl", task_runner=ConcurrentTaskRunner())
        def etl(n: int = 3, start: datetime.datetime | None = None):
            token = Secret.load("api-token").get()
            futures = add.map([1, 2], y=unmapped(n))
            total = sum(f.result() for f in futures)
            today = flow_run.scheduled_start_time.strftime("%Y-%m-%d")
            if total > 3:
                return Completed(message=today)
            return add.with_options(name="x")(total, 1, wait_for=futures)

        if __name__ == "__main__":
            etl()
        """,
        id="typical-p2",
    ),
    pytest.param(
        """\
        import prefect
        from prefect.context import get_run_context

        @prefect.flow
        def f():
            ctx = prefect.context.get_run_context()
            return get_run_context().flow_run.name, ctx

        f.visualize()
        """,
        id="p2-context-api",
    ),
    pytest.param(
        """\
        from prefect.utilities.annotations import quote
        from prefect import tags, pause_flow_run, allow_failure
        from prefect.deployments import run_deployment
        """,
        id="p2-imports",
    ),
    pytest.param(
        """\
        from other_lib import Flow, Parameter, case, context, signals

        with Flow("x") as f:
            n = Parameter("n")
            with case(n, True):
                pass
        context.get("x")
        signals.FAIL("no")
        f.run()
        """,
        id="other-library-same-names",
    ),
    pytest.param(
        """\
        from prefect import flow

        def case(x, y):
            return x == y

        class Parameter:
            pass

        @flow
        def f():
            return case(1, 1), Parameter()
        """,
        id="local-names",
    ),
    pytest.param(
        """\
        from prefect import flow, task

        @task
        def t():
            pass

        class Runner:
            def run(self):
                pass

        runner = Runner()
        runner.run()
        """,
        id="run-on-other-object",
    ),
    pytest.param(
        """\
        # from prefect import Parameter
        # with Flow("x") as flow:
        #     flow.run()
        from prefect import flow
        """,
        id="commented-out",
    ),
]


@pytest.mark.parametrize("code", PREFECT2)
def test_accepts_prefect2_code(code):
    assert leftovers(code) == []


UNDER_TODO = [
    pytest.param(
        """\
        # TODO(prefect2-migration): PF011 signals have no Prefect 2 equivalent here
        from prefect.engine import signals
        """,
        id="first-statement-module-header",
    ),
    pytest.param(
        """\
        import os

        # TODO(prefect2-migration): PF011 signals have no Prefect 2 equivalent here
        from prefect.engine import signals
        """,
        id="import",
    ),
    pytest.param(
        """\
        from prefect import flow, task

        # TODO(prefect2-migration): PF004 retry_on has no equivalent
        # (more explanation on a second line)
        @task(retry_on=ValueError)
        def t():
            pass
        """,
        id="decorator-block-of-comments",
    ),
    pytest.param(
        """\
        import prefect
        from prefect import flow

        @flow
        def f():
            # TODO(prefect2-migration): PF007 context secrets need a human
            value = prefect.context.get("secrets")["X"]
            return value
        """,
        id="statement-in-body",
    ),
    pytest.param(
        """\
        from prefect import flow

        @flow
        def f():
            # TODO(prefect2-migration): PF008 merge of non-exclusive branches
            # from prefect import case
            # with case(x, True):
            #     y = 1
            pass
        """,
        id="commented-out-code-under-todo",
    ),
    pytest.param(
        """\
        import prefect

        # TODO(prefect2-migration): PF002 reference_tasks need a human
        with prefect.Flow("x") as flow:
            # TODO(prefect2-migration): PF003 parameter name is not an identifier
            n = prefect.Parameter("n-1")
        """,
        id="nested-statements-each-under-todo",
    ),
]


@pytest.mark.parametrize("code", UNDER_TODO)
def test_accepts_flagged_code(code):
    assert leftovers(code) == []


def test_todo_on_compound_statement_does_not_cover_its_body():
    code = """\
        import prefect

        # TODO(prefect2-migration): PF002 reference_tasks need a human
        with prefect.Flow("x") as flow:
            n = prefect.Parameter("n")
        """
    found = leftovers(code)
    assert [f.line for f in found] == [5]


def test_unparsable_code_is_reported():
    found = prefect1_leftovers("def (:\n")
    assert len(found) == 1 and found[0].what.startswith("cannot parse")


def test_results_sorted_and_deduplicated():
    code = """\
        from prefect import Flow, Parameter

        with Flow("x") as flow:
            a = Parameter("a")
            b = Parameter("b")
        flow.run()
        """
    found = leftovers(code)
    assert [f.line for f in found] == sorted(f.line for f in found)
    assert len({(f.line, f.what) for f in found}) == len(found)
    assert {f.line for f in found} == {1, 3, 4, 5, 6}


def test_a_todo_covers_the_lines_it_names_and_no_others():
    # one TODO per root cause lists where its consequences are: those lines are covered
    code = """\
        from prefect import Flow


        def build():
            # TODO(prefect2-migration): PF002 rewrite by hand; `flow` is used at line 9
            flow = Flow("x")
            return flow

        flow.run()
        flow.register(project_name="p")
        """
    assert [f.line for f in leftovers(code)] == [10]  # line 10 is not named by the TODO
    # the same lines without the TODO's list are leftovers
    bare = code.replace("; `flow` is used at line 9", "")
    assert [f.line for f in leftovers(bare)] == [9, 10]


@pytest.mark.parametrize(
    "code",
    [
        "from prefect.tasks import task_input_hash, exponential_backoff\n",
        "import prefect\nkey = prefect.tasks.task_input_hash\n",
        "from prefect.artifacts import create_link_artifact, create_markdown_artifact\n",
    ],
)
def test_prefect2_names_under_prefect1_module_paths_are_not_leftovers(code):
    assert leftovers(code) == []


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("from prefect.tasks.shell import ShellTask\n", "prefect.tasks.shell"),
        ("from prefect.runtimes import FlowCLI\n", "prefect.runtimes"),
        ("from prefect.client import Secret\n", "prefect.client.Secret"),
        ("from prefect import artifacts\nartifacts.update_link('i', 'u')\n", "update_link"),
    ],
)
def test_prefect1_names_next_to_prefect2_ones_are_leftovers(code, what):
    assert any(what in f.what for f in leftovers(code))


def test_a_todo_for_a_run_of_statements_covers_that_run_only():
    code = """\
        from prefect import task
        a = task(len)
        b = task(len)
        c = task(len)
        # TODO(prefect2-migration): PF005 set_upstream()/set_downstream() do not exist (this and the 1 statement below) in Prefect 2
        b.set_upstream(a)

        c.set_upstream(b)
        c.set_upstream(a)
        """
    assert [f.line for f in leftovers(code)] == [9]  # the third is not in the run
    assert [
        f.line
        for f in leftovers(code.replace("this and the 1 statement", "this and the 2 statements"))
    ] == []
