"""PF014 executors: Prefect 1 executors become Prefect 2 task runners (§13)."""

import subprocess
import sys
import textwrap

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.executors import RULE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

REWRITES = [
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalExecutor

        @flow(name="etl", executor=LocalExecutor())
        def etl():
            pass
        """,
        """\
        from prefect import flow

        @flow(name="etl")
        def etl():
            pass
        """,
        id="local-executor-dropped",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        @flow(name="etl", executor=LocalDaskExecutor())
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        @flow(name="etl", task_runner=ConcurrentTaskRunner())
        def etl():
            pass
        """,
        id="local-dask-default-threads",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        @flow(name="etl", executor=LocalDaskExecutor(scheduler="threads", num_workers=8), log_prints=True)
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        @flow(name="etl", task_runner=ConcurrentTaskRunner(), log_prints=True)
        def etl():
            pass
        """,
        id="local-dask-threads-num-workers",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.engine.executors import LocalDaskExecutor

        @flow(name="etl", executor=LocalDaskExecutor("synchronous"))
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect.task_runners import SequentialTaskRunner

        @flow(name="etl", task_runner=SequentialTaskRunner())
        def etl():
            pass
        """,
        id="prefect0-path-synchronous",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        @flow(name="etl", executor=LocalDaskExecutor(scheduler="processes", num_workers=4))
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect_dask import DaskTaskRunner

        @flow(name="etl", task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 4}))
        def etl():
            pass
        """,
        id="local-dask-processes",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import DaskExecutor

        @flow(
            name="etl",
            executor=DaskExecutor(
                cluster_class="dask_cloudprovider.aws.FargateCluster",
                cluster_kwargs={"image": "prefecthq/prefect"},
                adapt_kwargs={"maximum": 10},
            ),
        )
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect_dask import DaskTaskRunner

        @flow(
            name="etl",
            task_runner=DaskTaskRunner(
                cluster_class="dask_cloudprovider.aws.FargateCluster",
                cluster_kwargs={"image": "prefecthq/prefect"},
                adapt_kwargs={"maximum": 10},
            ),
        )
        def etl():
            pass
        """,
        id="dask-executor-cluster-class-string",
    ),
    pytest.param(
        """\
        from dask_kubernetes import KubeCluster
        from prefect import flow
        from prefect.executors import DaskExecutor

        @flow(name="etl", executor=DaskExecutor(cluster_class=KubeCluster, cluster_kwargs={"n_workers": 3}))
        def etl():
            pass
        """,
        """\
        from dask_kubernetes import KubeCluster
        from prefect import flow
        from prefect_dask import DaskTaskRunner

        @flow(name="etl", task_runner=DaskTaskRunner(cluster_class=KubeCluster, cluster_kwargs={"n_workers": 3}))
        def etl():
            pass
        """,
        id="dask-executor-cluster-class-object",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import DaskExecutor

        @flow(name="etl", executor=DaskExecutor("tcp://scheduler:8786"))
        def etl():
            pass
        """,
        """\
        from prefect import flow
        from prefect_dask import DaskTaskRunner

        @flow(name="etl", task_runner=DaskTaskRunner(address="tcp://scheduler:8786"))
        def etl():
            pass
        """,
        id="dask-executor-positional-address",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import DaskExecutor

        @flow(
            name="etl",
            executor=DaskExecutor(
                address="tcp://scheduler:8786",
                debug=True,
            ),
        )
        def etl():
            pass
        """,
        f"""\
        from prefect import flow
        from prefect_dask import DaskTaskRunner

        {todo_text("PF014", "DaskExecutor options debug=True have no DaskTaskRunner equivalent and were dropped")}
        @flow(
            name="etl",
            task_runner=DaskTaskRunner(
                address="tcp://scheduler:8786",
            ),
        )
        def etl():
            pass
        """,
        id="dask-executor-unsupported-option",
    ),
    pytest.param(
        """\
        import prefect
        from prefect import flow

        @flow(name="etl", executor=prefect.executors.LocalDaskExecutor())
        def etl():
            pass
        """,
        """\
        import prefect
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        @flow(name="etl", task_runner=ConcurrentTaskRunner())
        def etl():
            pass
        """,
        id="attribute-access",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        executor = LocalDaskExecutor(num_workers=4)

        @flow(name="a", executor=executor)
        def a():
            pass

        @flow(name="b", executor=executor)
        def b():
            pass
        """,
        """\
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        executor = ConcurrentTaskRunner()

        @flow(name="a", task_runner=executor)
        def a():
            pass

        @flow(name="b", task_runner=executor)
        def b():
            pass
        """,
        id="module-variable-followed",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalExecutor

        EXECUTOR = LocalExecutor()

        @flow(name="a", executor=EXECUTOR)
        def a():
            pass
        """,
        """\
        from prefect import flow

        @flow(name="a")
        def a():
            pass
        """,
        id="local-executor-variable-removed",
    ),
    pytest.param(
        """\
        from prefect import flow
        from myproject.infra import make_executor

        @flow(name="etl", executor=make_executor())
        def etl():
            pass
        """,
        f"""\
        from prefect import flow
        from myproject.infra import make_executor

        {todo_text("PF014", "executor=make_executor() removed: pick the matching Prefect 2 task runner (task_runner=ConcurrentTaskRunner() or prefect_dask.DaskTaskRunner(...))")}
        @flow(name="etl")
        def etl():
            pass
        """,
        id="unknown-executor-removed-with-todo",
    ),
    pytest.param(
        """\
        from prefect import Flow
        from prefect.executors import LocalDaskExecutor

        f = Flow("etl", executor=LocalDaskExecutor())
        """,
        """\
        from prefect import Flow
        from prefect.task_runners import ConcurrentTaskRunner

        f = Flow("etl", task_runner=ConcurrentTaskRunner())
        """,
        id="functional-api-flow-call",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        @flow(name="etl", executor=LocalDaskExecutor(scheduler=SCHEDULER))
        def etl():
            pass
        """,
        f"""\
        from prefect import flow

        {todo_text("PF014", "executor LocalDaskExecutor(scheduler=SCHEDULER) removed: choose a Prefect 2 task runner for its scheduler (ConcurrentTaskRunner for threads, prefect_dask.DaskTaskRunner for processes)")}
        @flow(name="etl")
        def etl():
            pass
        """,
        id="non-literal-scheduler",
    ),
]


@pytest.mark.parametrize(("before", "after"), REWRITES)
def test_rewrite(before, after):
    assert_rewrite(RULE, before, after)


NOOPS = [
    pytest.param(
        """\
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        @flow(name="etl", task_runner=ConcurrentTaskRunner())
        def etl():
            pass
        """,
        id="already-prefect2",
    ),
    pytest.param(
        """\
        from concurrent.futures import ThreadPoolExecutor

        executor = ThreadPoolExecutor(4)
        def flow(**kw):
            return lambda f: f

        @flow(executor=executor)
        def etl():
            pass
        """,
        id="not-prefect",
    ),
    pytest.param(
        """\
        from prefect import flow

        class LocalDaskExecutor:
            pass

        def run(executor=LocalDaskExecutor()):
            pass
        """,
        id="shadowed-executor-name",
    ),
    pytest.param(
        """\
        from mylib import flow
        from prefect.executors import LocalDaskExecutor

        @flow(executor=LocalDaskExecutor())
        def etl():
            pass
        """,
        id="other-librarys-flow-decorator",
    ),
]


@pytest.mark.parametrize("source", NOOPS)
def test_noop(source):
    assert_noop(RULE, source)


def test_requires_prefect_dask():
    import libcst as cst
    from libcst.codemod import CodemodContext

    from meta_flows.core.codemod.base import SCRATCH_REQUIREMENTS

    context = CodemodContext(filename="x.py", full_module_name="x")
    source = (
        "from prefect import flow\nfrom prefect.executors import DaskExecutor\n"
        "@flow(executor=DaskExecutor())\ndef f():\n    pass\n"
    )
    RULE(context).transform_module(cst.parse_module(source))
    assert context.scratch[SCRATCH_REQUIREMENTS] == {"prefect-dask"}


def test_variable_used_elsewhere_is_rewritten_not_removed():
    out = apply_rule(
        RULE,
        """\
        from prefect import flow
        from prefect.executors import LocalDaskExecutor

        executor = LocalDaskExecutor()
        print(executor)
        """,
    )
    assert "executor = ConcurrentTaskRunner()\nprint(executor)\n" in out
    assert "LocalDaskExecutor" not in out
    assert out == textwrap.dedent(
        """\
        from prefect import flow
        from prefect.task_runners import ConcurrentTaskRunner

        executor = ConcurrentTaskRunner()
        print(executor)
        """
    )
    assert apply_rule(RULE, out) == out


PIPELINE_SOURCE = """\
from prefect import Flow, task
from prefect.executors import LocalDaskExecutor


@task
def double(x):
    return 2 * x


@task
def add(a, b):
    return a + b


with Flow("parallel sums", executor=LocalDaskExecutor(scheduler="threads", num_workers=4)) as flow:
    a = double(1)
    b = double(2)
    total = add(a, b)
"""

RUNNER = """\
from prefect.task_runners import ConcurrentTaskRunner
from flows_example import {function}
state = {function}(return_state=True)
assert state.is_completed(), state
flow_obj = {function}
assert isinstance(flow_obj.task_runner, ConcurrentTaskRunner), flow_obj.task_runner
print("RESULT", state.result())
"""


def _run(tmp_path, script: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``script`` next to the migrated module against the test's Prefect server."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_local_dask_flow_still_gives_same_results_under_prefect2(tmp_path, prefect_env):
    """A LocalDaskExecutor flow migrated to ConcurrentTaskRunner computes what it did in Prefect 1.

    Prefect 1's result of the terminal task `add` is 2*1 + 2*2 = 6.
    """
    source = PIPELINE_SOURCE
    result = migrate(source)
    code = result.code
    if "@flow" not in code:
        pytest.skip("PF002 (flow_definition) is not implemented yet")
    assert "task_runner=ConcurrentTaskRunner()" in code and "Executor" not in code
    function = code.split("def ", 3)[-1].split("(")[0]
    (tmp_path / "flows_example.py").write_text(code)
    run = _run(tmp_path, RUNNER.format(function=function), prefect_env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RESULT 6" in run.stdout


def test_concurrent_task_runner_flow_runs_under_prefect2(tmp_path, prefect_env):
    """The rule's own output (from the post-PF002 shape) runs and gives the Prefect 1 results."""
    source = textwrap.dedent(
        """\
        from prefect import flow, task
        from prefect.executors import LocalDaskExecutor


        @task
        def double(x):
            return 2 * x


        @task
        def add(a, b):
            return a + b


        @flow(name="parallel sums", executor=LocalDaskExecutor(scheduler="threads", num_workers=4))
        def parallel_sums():
            a = double(1)
            b = double(2)
            mapped = double.map([1, 2, 3])
            return add(a, b), [f.result() for f in mapped]
        """
    )
    code = apply_rule(RULE, source)
    assert "from prefect.executors" not in code
    (tmp_path / "flows_example.py").write_text(code)
    runner = RUNNER.format(function="parallel_sums")
    run = _run(tmp_path, runner, prefect_env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RESULT (6, [2, 4, 6])" in run.stdout


RUN_WITH_EXECUTOR = """\
from prefect import Flow, task
from prefect.engine.executors.dask import {cls}


@task
def one():
    return 1


with Flow("etl") as flow:
    one()

{run}
"""


@pytest.mark.parametrize(
    ("cls", "run", "call"),
    [
        pytest.param(
            "LocalDaskExecutor",
            'executor = LocalDaskExecutor(scheduler="processes", num_workers=3)\n'
            "flow.run(executor=executor)",
            'executor = DaskTaskRunner(cluster_kwargs={"n_workers": 3})\n'
            'if __name__ == "__main__":\n    etl.with_options(task_runner=executor)()\n',
            id="variable",
        ),
        pytest.param(
            "DaskExecutor",
            'flow.run(parameters={"n": 1}, executor=DaskExecutor(address="tcp://x:8786"))',
            'if __name__ == "__main__":\n'
            '    etl.with_options(task_runner=DaskTaskRunner(address="tcp://x:8786"))'
            '(**{"n": 1})\n',
            id="inline",
        ),
    ],
)
def test_flow_run_with_an_executor_runs_on_its_task_runner(cls, run, call):
    """``flow.run(executor=X)``: the flow call runs on X's Prefect 2 task runner, no TODO."""
    result = migrate(RUN_WITH_EXECUTOR.format(cls=cls, run=run), "flows.etl")
    assert result.todos == [] and call in result.code, result.code
    assert "from prefect_dask import DaskTaskRunner\n" in result.code
    assert "prefect-dask" in result.requirements
    again = migrate(result.code, "flows.etl")
    assert again.code == result.code


def test_flow_run_with_a_local_executor_is_a_plain_call():
    src = RUN_WITH_EXECUTOR.format(cls="LocalExecutor", run="flow.run(executor=LocalExecutor())")
    result = migrate(src.replace(".dask import", ".local import"), "flows.etl")
    assert result.todos == [], result.code
    assert result.code.endswith('if __name__ == "__main__":\n    etl()\n'), result.code
    assert "Executor" not in result.code and "with_options" not in result.code
