"""PF002 flow_definition: `with Flow(...)` / functional API -> @flow functions."""

import pytest

from meta_flows.core.codemod.analysis.flows import FlowPlan, plan_flow_functions
from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.flow_definition import FlowDefinitionRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

TASKS = """\
from prefect import Flow, task

@task
def extract():
    return [1, 2]

@task
def load(x):
    return x

"""
TASKS_AFTER = TASKS.replace("from prefect import Flow, task", "from prefect import flow, task")

# The TODO comments PF002 writes, in full.
FACTORY_TODO = todo_text(
    "PF002",
    "this Flow is built inside a function with arguments or other code (or together with other "
    "context managers): rewrite it by hand as a module-level @flow function (arguments become "
    "flow parameters)",
)
NOT_STATIC_TODO = todo_text(
    "PF002",
    "Flow built with the functional API but its edges are not static (or it uses edges=, or the "
    "flow object is handed to other code): rewrite it by hand as an @flow function calling the "
    "tasks in order",
)


def left_for_human_note(variable: str) -> str:
    """The line above statements commented out with a flow left for a human: no TODO of their
    own, the flow's TODO covers them (one TODO per root cause)."""
    return (
        f"# prefect2-migration: uses the Prefect 1 flow `{variable}`, commented out with it (see "
        "the PF002 TODO on its definition)"
    )


def with_uses(todo: str, variable: str) -> str:
    """A left-for-a-human flow's TODO, saying its uses go with it."""
    return f"{todo}; the statements using `{variable}` outside functions are commented out with it"


def io_todo(what: str) -> str:
    return todo_text(
        "PF002",
        "this statement ran once when the flow was built; it now runs at every flow run and does "
        f"I/O ({what}): move it out of the flow if it must run once",
    )


def renamed_note(old: str, new: str) -> str:
    return (
        f'# prefect2-migration: flow renamed from "{old}" to "{new}" (Prefect 2 rejects / % & > < '
        "in flow names)"
    )


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            'with Flow("ETL Flow") as flow:\n    data = extract()\n    load(data)\n',
            '@flow(name="ETL Flow")\ndef etl_flow():\n    data = extract()\n'
            "    return load(data)\n",
            id="single-terminal-returned",
        ),
        pytest.param(
            'with Flow("ETL Flow") as flow:\n    data = extract()\n    out = load(data)\n',
            '@flow(name="ETL Flow")\ndef etl_flow():\n    data = extract()\n'
            "    out = load(data)\n    return out\n",
            id="terminal-assigned",
        ),
        pytest.param(
            'with Flow("two") as flow:\n    load(1)\n    load(2)\n',
            '@flow(name="two")\ndef two():\n    load(1, return_state=True)\n    load(2)\n',
            id="two-terminals-no-return",
        ),
        pytest.param(
            'with Flow("m") as flow:\n    out = load.map(extract())\n',
            '@flow(name="m")\ndef m():\n    out = load.map(extract())\n'
            "    return [future.result() for future in out]\n",
            id="map-terminal",
        ),
        pytest.param(
            'with Flow("up") as flow:\n    a = extract()\n    load(1, upstream_tasks=[a])\n',
            '@flow(name="up")\ndef up():\n    a = extract()\n'
            "    return load(1, upstream_tasks=[a])\n",
            id="upstream-counts-as-use",
        ),
        pytest.param(
            'with Flow("loop") as flow:\n    for i in range(2):\n        load(i)\n',
            '@flow(name="loop")\ndef loop():\n    for i in range(2):\n        load(i)\n',
            id="terminal-in-loop-no-return",
        ),
        pytest.param(
            'with Flow(name="kw", executor=E, state_handlers=[h], validate=True) as f:\n'
            "    x = 1\n",
            '@flow(name="kw", executor=E, state_handlers=[h])\ndef kw():\n    x = 1\n',
            id="kwargs-pass-through-validate-dropped",
        ),
        pytest.param(
            '# the flow\nwith Flow("c") as f:  # inline\n    # inside\n    x = 1  # keep\n',
            '# the flow\n@flow(name="c")\ndef c():  # inline\n    # inside\n    x = 1  # keep\n',
            id="comments-preserved",
        ),
        pytest.param(
            'with Flow("d", storage=S, schedule=s) as f:\n    pass\n',
            "# prefect2-migration: storage and schedule moved to prefect.yaml\n"
            '@flow(name="d")\ndef d():\n    pass\n',
            id="deployment-kwargs-dropped",
        ),
    ],
)
def test_with_flow_becomes_function(body, after):
    assert_rewrite(FlowDefinitionRule, TASKS + body, TASKS_AFTER + after)


def test_alias_kept_when_variable_still_used():
    before = TASKS + 'with Flow("a b") as f:\n    load(1)\n\nprint(f.name)\n'
    after = (
        TASKS_AFTER
        + '@flow(name="a b")\ndef a_b():\n    return load(1)\nf = a_b\n\nprint(f.name)\n'
    )
    assert_rewrite(FlowDefinitionRule, before, after)


def test_alias_named_flow_goes_to_end_of_module():
    before = (
        TASKS
        + 'with Flow("x") as flow:\n    load(1)\n\nprint(flow.name)\n\n@task\ndef z():\n    pass\n'
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert got.endswith("def z():\n    pass\nflow = x\n")
    assert '@flow(name="x")\ndef x():' in got


def test_alias_when_imported_elsewhere(monkeypatch):
    from meta_flows.core.codemod import project as project_mod

    src = TASKS + 'with Flow("x") as f:\n    load(1)\n'
    original = project_mod.scan_sources

    def fake(sources):
        index = original(sources)
        index.imported.setdefault(sources[0][0], set()).add("f")
        return index

    monkeypatch.setattr("meta_flows.core.codemod.testing.scan_sources", fake)
    assert apply_rule(FlowDefinitionRule, src).endswith("return load(1)\nf = x\n")
    assert apply_rule(FlowDefinitionRule, src) == (
        TASKS_AFTER + '@flow(name="x")\ndef x():\n    return load(1)\nf = x\n'
    )


@pytest.mark.parametrize(
    ("header", "after_header"),
    [
        pytest.param(
            "import prefect\n",
            "import prefect\nfrom prefect import flow\n\n\n",
            id="import prefect\n",
        ),
        pytest.param(
            "import prefect as p\n",
            "import prefect as p\nfrom prefect import flow\n\n\n",
            id="import prefect as p\n",
        ),
        pytest.param(
            "from prefect import Flow as PFlow\n",
            "from prefect import Flow as PFlow\nfrom prefect import flow\n\n\n",
            id="from prefect import Flow as PFlow\n",
        ),
        pytest.param(
            "from prefect.core.flow import Flow\n",
            "from prefect import flow\n\n\n",
            id="from prefect.core.flow import Flow\n",
        ),
        pytest.param(
            "from prefect import *\n",
            "from prefect import *\n",
            id="from prefect import *\n",
        ),
    ],
)
def test_import_forms(header, after_header):
    call = {"import prefect as p\n": "p.Flow", "from prefect import Flow as PFlow\n": "PFlow"}.get(
        header, "prefect.Flow" if header == "import prefect\n" else "Flow"
    )
    got = apply_rule(FlowDefinitionRule, header + f'with {call}("My Flow") as f:\n    x = 1\n')
    assert '@flow(name="My Flow")\ndef my_flow():\n    x = 1\n' in got
    compile(got, "x", "exec")
    assert got == after_header + '@flow(name="My Flow")\ndef my_flow():\n    x = 1\n'


def test_several_flows_unique_names_and_taken_names():
    before = (
        "from prefect import Flow\n\ndef etl():\n    pass\n\n"
        'with Flow("etl") as a:\n    pass\n\nwith Flow("etl") as b:\n    pass\n'
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert "def etl_flow():" in got and "def etl_flow_2():" in got
    assert got == (
        "from prefect import flow\n\ndef etl():\n    pass\n\n"
        '@flow(name="etl")\ndef etl_flow():\n    pass\n\n'
        '@flow(name="etl")\ndef etl_flow_2():\n    pass\n'
    )
    plans = plan_flow_functions(before)
    assert [p.function_name for p in plans] == ["etl_flow", "etl_flow_2"]
    assert plans[0] == FlowPlan("a", "etl", "etl_flow", 6)


def test_plan_matches_what_the_rule_writes_on_original_source():
    src = (
        "from prefect import Flow\nimport daily\n\n"
        'with Flow("daily") as flow:\n    pass\n\n'
        'def create():\n    with Flow("Made Here") as f:\n        pass\n    return f\n'
    )
    plans = plan_flow_functions(src, module_name="flows.example")
    got = apply_rule(FlowDefinitionRule, src)
    for plan in plans:
        assert f"def {plan.function_name}():" in got
    assert plans[0].function_name == "daily_flow"
    assert plans[1].factory == "create"
    assert got == (
        "from prefect import flow\nimport daily\n\n"
        '@flow(name="daily")\ndef daily_flow():\n    pass\n\n'
        '@flow(name="Made Here")\ndef made_here():\n    pass\n\n\n'
        "def create():\n    return made_here\n"
    )


def test_non_literal_name_uses_variable():
    got = apply_rule(
        FlowDefinitionRule, "from prefect import Flow\nwith Flow(NAME) as sales:\n    pass\n"
    )
    assert "@flow(name=NAME)\ndef sales():\n" in got
    assert got == "from prefect import flow\n@flow(name=NAME)\ndef sales():\n    pass\n"


def test_zero_argument_factory_moves_to_module_level():
    before = (
        TASKS
        + 'def create_flow():\n    """Doc."""\n    with Flow("made") as f:\n        load(1)\n    return f\n'
    )
    after = (
        TASKS_AFTER
        + '@flow(name="made")\ndef made():\n    return load(1)\n\n\n'
        + 'def create_flow():\n    """Doc."""\n    return made\n'
    )
    assert_rewrite(FlowDefinitionRule, before, after)


def test_factory_with_arguments_is_flagged():
    src = "from prefect import Flow\ndef build(name):\n    with Flow(name) as f:\n        pass\n    return f\n"
    got = apply_rule(FlowDefinitionRule, src)
    assert "    " + todo_text(
        "PF002", "this Flow is built inside a function with arguments or"
    ) in (got.split(" or other code")[0] + " or")
    assert "with Flow(name) as f:" in got
    assert apply_rule(FlowDefinitionRule, got) == got
    assert got == (
        f"from prefect import Flow\ndef build(name):\n    {FACTORY_TODO}; `f` is used at line 6\n"
        "    with Flow(name) as f:\n        pass\n    return f\n"
    )


def test_factory_todo_names_the_lines_using_the_flow_it_returns():
    # one root cause (the flow is built by a function), one TODO listing its consequences:
    # the registration of the flow the factory returns is one of them
    src = (
        "from prefect import Flow\ndef build(name):\n    with Flow(name) as f:\n        pass\n"
        "    return f\n\nflow = build('x')\nflow.register(project_name='p')\n"
    )
    got = apply_rule(FlowDefinitionRule, src)
    assert "; `f` is used at line 6, the flow build() returns at line 8, line 9\n" in got
    assert apply_rule(FlowDefinitionRule, got) == got


def test_h_kwargs_and_result():
    src = (
        "from prefect import Flow\nfrom prefect.engine.results import LocalResult, S3Result\n"
        'with Flow("a", reference_tasks=[t], terminal_state_handler=h, result=LocalResult()) as f:\n'
        "    pass\n"
        'with Flow("b", result=LocalResult(dir="/r")) as g:\n    pass\n'
        'with Flow("c", result=S3Result(bucket="x")) as h2:\n    pass\n'
    )
    got = apply_rule(FlowDefinitionRule, src)
    assert "PF002 Flow(reference_tasks=[t]) has no Prefect 2 equivalent" in got
    assert "PF002 Flow(terminal_state_handler=h)" in got
    assert '@flow(name="a", persist_result=True)' in got
    assert (
        '@flow(name="b", persist_result=True, result_storage=LocalFileSystem(basepath="/r"))' in got
    )
    assert "from prefect.filesystems import LocalFileSystem" in got
    assert 'PF002 Flow(result=S3Result(bucket="x")) was removed' in got
    assert '@flow(name="c")\n' in got
    reference_todo = todo_text(
        "PF002",
        "Flow(reference_tasks=[t]) has no Prefect 2 equivalent and was removed: the flow's final "
        "state now comes from its return value / first unhandled exception; return or raise "
        "accordingly",
    )
    handler_todo = todo_text(
        "PF002",
        "Flow(terminal_state_handler=h) has no Prefect 2 equivalent and was removed: move its "
        "logic into on_completion/on_failure hooks",
    )
    result_todo = todo_text(
        "PF002",
        'Flow(result=S3Result(bucket="x")) was removed: configure persist_result=True and '
        "result_storage= (a storage block) on @flow",
    )
    assert got == (
        "from prefect import flow\nfrom prefect.engine.results import S3Result\n"
        "from prefect.filesystems import LocalFileSystem\n\n\n"
        f"{reference_todo}\n{handler_todo}\n"
        '@flow(name="a", persist_result=True)\ndef a():\n    pass\n'
        '@flow(name="b", persist_result=True, result_storage=LocalFileSystem(basepath="/r"))\n'
        "def b():\n    pass\n"
        f'{result_todo}\n@flow(name="c")\ndef c():\n    pass\n'
    )


def test_wrapper_flagged():
    src = 'from prefect import Flow\nclass MyFlow(Flow):\n    pass\nwith MyFlow("w", team="t") as f:\n    pass\n'
    got = apply_rule(FlowDefinitionRule, src)
    assert "PF002 built with MyFlow, a wrapper of Prefect 1's Flow" in got
    assert '@flow(name="w")\ndef w():' in got
    wrapper_todo = todo_text(
        "PF002",
        'built with MyFlow, a wrapper of Prefect 1\'s Flow: its own options (team="t") and '
        "behaviour (constructor defaults, overridden methods) are not carried over to @flow; "
        "re-apply them by hand",
    )
    class_todo = todo_text(
        "PF002",
        "class MyFlow subclasses Prefect 1's Flow: meta-flows migrates the flows built with it to "
        "@flow functions (each with a TODO naming the options it drops); port what MyFlow adds "
        "(constructor defaults, state handlers, overridden methods) to @flow options or hooks "
        "(on_completion, on_failure...), or delete it once no flow uses it",
    )
    assert got == (
        f"from prefect import Flow, flow\n{class_todo}\nclass MyFlow(Flow):\n    pass\n"
        f'{wrapper_todo}\n@flow(name="w")\ndef w():\n    pass\n'
    )


def test_build_time_io_and_flow_object_use_flagged():
    src = (
        "import os\nimport requests\nfrom prefect import Flow\n"
        'with Flow("io") as flow:\n    cfg = open("c.json").read()\n'
        '    os.environ["X"] = "1"\n    r = requests.get("u")\n    print("ok")\n'
        "    flow.set_dependencies(a)\n"
    )
    got = apply_rule(FlowDefinitionRule, src)
    assert got.count("does I/O") == 3
    assert "(open())" in got and "(os.environ writes)" in got and "(requests)" in got
    assert "PF002 `flow` was the Prefect 1 Flow object" in got
    assert (
        '    print("ok")\n' in got and 'print("ok")' not in got.split("# TODO")[-1].split("\n")[0]
    )
    assert apply_rule(FlowDefinitionRule, got) == got
    flow_object_todo = todo_text(
        "PF002",
        "`flow` was the Prefect 1 Flow object, which does not exist inside the @flow function: "
        "rewrite this statement (task calls, prefect.runtime.flow_run)",
    )
    assert got == (
        "import os\nimport requests\nfrom prefect import flow\n"
        '@flow(name="io")\ndef io():\n'
        f"    {io_todo('open()')}\n"
        '    cfg = open("c.json").read()\n'
        f"    {io_todo('os.environ writes')}\n"
        '    os.environ["X"] = "1"\n'
        f"    {io_todo('requests')}\n"
        '    r = requests.get("u")\n'
        '    print("ok")\n'
        f"    {flow_object_todo}\n"
        "    flow.set_dependencies(a)\n"
    )


def test_functional_api_static_edges():
    before = (
        "from prefect import Flow, Parameter, task\n\n@task\ndef a():\n    return 1\n\n"
        "@task\ndef b(x):\n    return x\n\n@task\ndef c(y):\n    return y\n\n"
        'p = Parameter("p", default=1)\nf = Flow("functional")\nf.add_task(a)\n'
        'f.add_edge(b, c, key="y")\nf.set_dependencies(task=b, upstream_tasks=[a], keyword_tasks={"x": p})\n'
    )
    after = (
        "from prefect import Parameter, flow, task\n\n@task\ndef a():\n    return 1\n\n"
        "@task\ndef b(x):\n    return x\n\n@task\ndef c(y):\n    return y\n\n"
        'p = Parameter("p", default=1)\n@flow(name="functional")\ndef functional():\n'
        "    a_result = a()\n    b_result = b(x=p, upstream_tasks=[a_result])\n"
        "    return c(y=b_result)\n"
    )
    assert_rewrite(FlowDefinitionRule, before, after)


def test_functional_api_dynamic_is_flagged():
    src = 'from prefect import Flow\nf = Flow("x")\nfor t in ts:\n    f.add_task(t)\n'
    got = apply_rule(FlowDefinitionRule, src)
    assert "PF002 Flow built with the functional API but its edges are not static" in got
    assert 'f = Flow("x")' in got
    assert got == (
        f'from prefect import Flow\n{with_uses(NOT_STATIC_TODO, "f")}\n# f = Flow("x")\n'
        f"for t in ts:\n    {left_for_human_note('f')}\n    # f.add_task(t)\n    pass\n"
    )


@pytest.mark.parametrize(
    "src",
    [
        "from metaflow import Flow\nwith Flow('x') as f:\n    pass\n",
        "class Flow:\n    pass\nwith Flow('x') as f:\n    pass\n",
        "from prefect import flow\n@flow(name='x')\ndef x():\n    pass\n",
        "from prefect import Flow\nf = Flow\n",
        "import contextlib\nwith contextlib.suppress(Exception):\n    pass\n",
    ],
)
def test_noop(src):
    assert_noop(FlowDefinitionRule, src)


# ------------------------------------------------------------------ whole pipeline under Prefect 2

PIPELINE_SOURCE = """\
from datetime import timedelta

from prefect import Flow, Parameter, task
from prefect.schedules import IntervalSchedule
from prefect.storage import Local

schedule = IntervalSchedule(interval=timedelta(hours=1))


@task
def numbers(n, offset):
    return list(range(offset, offset + n))


@task
def scale(x, factor):
    return x * factor


offset = Parameter("offset", default=0)

with Flow("Map Flow", schedule=schedule) as flow:
    n = Parameter("n", default=3)
    factor = Parameter("factor", default=2)
    cfg = Parameter("cfg", default={"extra": 1})
    nums = numbers(n, offset)
    scaled = scale.map(nums, factor=factor)

flow.storage = Local()
flow.register(project_name="demo")

if __name__ == "__main__":
    flow.run(parameters={"n": 4})
"""


def test_whole_pipeline_runs_under_prefect2(tmp_path, prefect_env):
    import json
    import subprocess
    import sys

    from meta_flows.core.codemod.testing import migrate

    result = migrate(PIPELINE_SOURCE)
    code = result.code
    assert "Flow(" not in code and "Parameter(" not in code and ".register(" not in code
    assert '@flow(name="Map Flow")' in code
    assert (
        'def map_flow(offset: int = 0, n: int = 3, factor: int = 2, cfg: Mapping = {"extra": 1}):'
        in code
    )
    assert 'if __name__ == "__main__":\n    map_flow(**{"n": 4})' in code
    assert "# schedule = IntervalSchedule(" in code
    assert not [t for t in result.todos if t.rule in ("PF002", "PF003", "PF015", "PF016")]
    (tmp_path / "migrated.py").write_text(code)
    runner = (
        "import json, migrated\n"
        "print(json.dumps([migrated.map_flow(), migrated.map_flow(n=4, factor=10, offset=1)]))\n"
    )
    env = {**prefect_env, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[0, 2, 4], [10, 20, 30, 40]]


# ------------------------------------------------------------------ functional API (§2.1)

FUNC_TASKS = """\
from prefect import Flow, task

@task
def a():
    return 1

@task
def b(x):
    return x

"""
FUNC_TASKS_AFTER = FUNC_TASKS.replace("import Flow, task", "import flow, task")


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            'f = Flow("x")\nf.add_task(a)\nf.add_edge(a, b, key="x")\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n    return b(x=a_result)\n',
            id="add-task-add-edge",
        ),
        pytest.param(
            'f = Flow("x")\nf.set_dependencies(task=b, upstream_tasks=[a], keyword_tasks={"x": a})\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n'
            "    return b(x=a_result, upstream_tasks=[a_result])\n",
            id="set-dependencies",
        ),
        pytest.param(
            'f = Flow("x", tasks=[a, b])\n',
            '@flow(name="x")\ndef x():\n    a(return_state=True)\n    b()\n',
            id="tasks-kwarg",
        ),
        pytest.param(
            'f = Flow("x")\nf.chain(a, b)\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n'
            "    return b(upstream_tasks=[a_result])\n",
            id="chain",
        ),
        pytest.param(
            'f = Flow("x")\nb.set_upstream(a, key="x", flow=f)\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n    return b(x=a_result)\n',
            id="task-set-upstream",
        ),
        pytest.param(
            'f = Flow("x")\na.set_downstream(b, key="x", mapped=True, flow=f)\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n'
            "    return [future.result() for future in b.map(x=a_result)]\n",
            id="task-set-downstream-mapped",
        ),
        pytest.param(
            'f = Flow("x")\nb.bind(x=[a, a], flow=f)\n',
            '@flow(name="x")\ndef x():\n    a_result = a()\n    return b(x=[a_result, a_result])\n',
            id="task-bind-list",
        ),
        pytest.param(
            'f = Flow("local-flow")\n',
            '@flow(name="local-flow")\ndef local_flow():\n    pass\n',
            id="empty-flow",
        ),
    ],
)
def test_functional_api(body, after):
    assert_rewrite(FlowDefinitionRule, FUNC_TASKS + body, FUNC_TASKS_AFTER + after)


def test_functional_api_bind_mapped_with_an_unmapped_input():
    src = FUNC_TASKS.replace("import Flow, task", "import Flow, task, unmapped") + (
        'f = Flow("x")\nb.bind(mapped=True, x=a, y=unmapped(a), flow=f)\n'
    )
    after = FUNC_TASKS_AFTER.replace("import flow, task", "import flow, task, unmapped") + (
        '@flow(name="x")\ndef x():\n    a_result = a()\n'
        "    return [future.result() for future in b.map(x=a_result, y=unmapped(a_result))]\n"
    )
    assert_rewrite(FlowDefinitionRule, src, after)


def test_functional_api_storage_only_flow():
    before = (
        "from prefect import Flow\nfrom prefect.storage import Local\n\n"
        'flow = Flow("local-flow", storage=Local())\n'
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert '@flow(name="local-flow")\ndef local_flow():\n    pass\n' in got
    assert "storage moved to prefect.yaml" in got
    assert "Flow(" not in got
    assert got == (
        "from prefect import flow\nfrom prefect.storage import Local\n\n"
        "# prefect2-migration: storage moved to prefect.yaml\n"
        '@flow(name="local-flow")\ndef local_flow():\n    pass\n'
    )


def test_functional_api_run_in_main_guard_keeps_alias_for_pf015():
    before = (
        FUNC_TASKS + 'f = Flow("x")\nf.add_task(a)\n\nif __name__ == "__main__":\n    f.run()\n'
    )
    after = (
        FUNC_TASKS_AFTER
        + '@flow(name="x")\ndef x():\n    return a()\n\nf = x\n\nif __name__ == "__main__":\n'
        "    f.run()\n"
    )
    assert_rewrite(FlowDefinitionRule, before, after)


def test_reference_tasks_and_task_graph_reads_are_commented_out():
    before = (
        FUNC_TASKS + 'with Flow("r") as flow:\n    x = a()\n    b(x)\n'
        "flow.set_reference_tasks([x])\nprint(flow.tasks)\n\n"
        "def check():\n    assert len(flow.edges) == 1\n"
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert (
        "# TODO(prefect2-migration): PF002 `flow.set_reference_tasks(...)`: Prefect 2 has no "
        "reference tasks" in got
    )
    assert "# flow.set_reference_tasks([x])\n" in got
    assert "# print(flow.tasks)\n" in got
    assert "    # assert len(flow.edges) == 1\n    pass\n" in got  # the only statement: kept
    assert "\npass\n" not in got  # a placeholder pass only where Python needs a statement
    assert "flow = r" not in got  # nothing live uses the variable any more
    assert apply_rule(FlowDefinitionRule, got) == got
    reference_todo = todo_text(
        "PF002",
        "`flow.set_reference_tasks(...)`: Prefect 2 has no reference tasks; the flow's final state "
        "comes from its return value (return the results of those tasks from the flow) or from "
        "its first unhandled exception",
    )

    def graph_todo(attribute: str) -> str:
        return todo_text(
            "PF002",
            f"`flow.{attribute}`: a Prefect 2 flow has no static task graph (tasks run as the "
            "function calls them): rewrite this check, e.g. against the flow's return value",
        )

    assert got == (
        FUNC_TASKS_AFTER + '@flow(name="r")\ndef r():\n    x = a()\n    return b(x)\n'
        f"{reference_todo}\n# flow.set_reference_tasks([x])\n"
        f"{graph_todo('tasks')}\n# print(flow.tasks)\n\n"
        f"def check():\n    {graph_todo('edges')}\n"
        "    # assert len(flow.edges) == 1\n    pass\n"
    )


def test_functional_api_not_static_is_commented_out_with_its_uses():
    before = (
        'from prefect import Flow\nf = Flow("x")\nfor t in ts:\n    f.add_task(t)\n'
        'helper(f)\n\ndef later():\n    f.run()\n\nif __name__ == "__main__":\n    f.run()\n'
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert "PF002 Flow built with the functional API but its edges are not static" in got
    assert '# f = Flow("x")\n' in got
    assert "for t in ts:\n" in got and "    # f.add_task(t)\n    pass\n" in got
    assert "# helper(f)\n" in got
    assert "def later():\n    f.run()\n" in got  # inside a function: fails only if called
    assert 'if __name__ == "__main__":\n' in got and "    # f.run()\n    pass\n" in got
    assert apply_rule(FlowDefinitionRule, got) == got
    uses_f = left_for_human_note("f")
    assert got == (
        f'from prefect import Flow\n{with_uses(NOT_STATIC_TODO, "f")}\n# f = Flow("x")\n'
        f"for t in ts:\n    {uses_f}\n    # f.add_task(t)\n    pass\n"
        f"{uses_f}\n# helper(f)\n\n"
        "def later():\n    f.run()\n\n"
        f'if __name__ == "__main__":\n    {uses_f}\n    # f.run()\n    pass\n'
    )


def test_flow_handed_to_other_code_is_not_static():
    got = apply_rule(
        FlowDefinitionRule, FUNC_TASKS + 'f = Flow("x")\nf.add_task(a)\nregister_all(f)\n'
    )
    assert "edges are not static" in got and '# f = Flow("x")' in got
    uses_f = left_for_human_note("f")
    assert got == (
        FUNC_TASKS + f'{with_uses(NOT_STATIC_TODO, "f")}\n# f = Flow("x")\n'
        f"{uses_f}\n# f.add_task(a)\n"
        "# register_all(f)\n"  # right after: under the same note
    )
    assert got.count("TODO(prefect2-migration)") == 1


def test_module_level_with_other_context_managers_is_commented_out():
    before = 'from prefect import Flow\nwith Flow("y") as g, other():\n    pass\ng.run()\n'
    got = apply_rule(FlowDefinitionRule, before)
    assert "PF002 this Flow is entered together with other context managers" in got
    assert '# with Flow("y") as g, other():\n#     pass\n' in got
    assert "# g.run()\n" in got
    together_todo = todo_text(
        "PF002",
        "this Flow is entered together with other context managers: rewrite it by hand as a "
        "module-level @flow function (the Prefect 1 code is kept below as comments)",
    )
    assert got == (
        f"from prefect import Flow\n{with_uses(together_todo, 'g')}\n"
        '# with Flow("y") as g, other():\n'
        "#     pass\n"
        f"{left_for_human_note('g')}\n# g.run()\n"
    )


@pytest.mark.parametrize(
    ("src", "after"),
    [
        # a function building a flow with arguments: no import-time failure, TODO only
        pytest.param(
            "from prefect import Flow\ndef build(n):\n    f = Flow(n)\n    f.add_task(t)\n",
            f"from prefect import Flow\ndef build(n):\n    {NOT_STATIC_TODO}\n"
            "    f = Flow(n)\n    f.add_task(t)\n",
            id="from prefect import Flow\ndef build(n):\n    f = Flow(n)\n    f.add_task(t)\n",
        ),
        # `.tasks` of something that is not a flow
        pytest.param(
            "from prefect import Flow\nclass Q:\n    tasks = []\nq = Q()\nprint(q.tasks)\n",
            "from prefect import Flow\nclass Q:\n    tasks = []\nq = Q()\nprint(q.tasks)\n",
            id="from prefect import Flow\nclass Q:\n    tasks = []\nq = Q()\nprint(q.tasks)\n",
        ),
        # the task methods without flow= belong to the flow in context, not to a variable
        pytest.param(
            "x = 1\nb.set_upstream(a, key='x')\n",
            "x = 1\nb.set_upstream(a, key='x')\n",
            id="x = 1\nb.set_upstream(a, key='x')\n",
        ),
    ],
)
def test_functional_noop(src, after):
    got = apply_rule(FlowDefinitionRule, src)
    assert got == src or ("# TODO(prefect2-migration): PF002" in got and "f = Flow(n)" in got)
    assert got == after


# ------------------------------------------------------------------ flows built inside functions


def test_flow_built_in_main_moves_out_without_alias():
    before = (
        FUNC_TASKS + 'def main():\n    """Run."""\n    with Flow("etl") as flow:\n        a()\n'
        "    etl()\n"
    )
    after = (
        FUNC_TASKS_AFTER + '@flow(name="etl")\ndef etl():\n    return a()\n\n\n'
        'def main():\n    """Run."""\n    etl()\n'
    )
    assert_rewrite(FlowDefinitionRule, before, after)


def test_flow_built_in_function_keeps_alias_when_used():
    before = FUNC_TASKS + 'def main():\n    with Flow("etl") as f:\n        a()\n    show(f.name)\n'
    got = apply_rule(FlowDefinitionRule, before)
    assert "def main():\n    f = etl\n    show(f.name)\n" in got
    assert got == (
        FUNC_TASKS_AFTER + '@flow(name="etl")\ndef etl():\n    return a()\n\n\n'
        "def main():\n    f = etl\n    show(f.name)\n"
    )


@pytest.mark.parametrize(
    ("body", "after"),
    [
        # the flow body needs a local of the function
        pytest.param(
            '    n = 3\n    with Flow("etl") as f:\n        b(n)\n',
            f'    n = 3\n    {FACTORY_TODO}\n    with Flow("etl") as f:\n        b(n)\n',
            id='    n = 3\n    with Flow("etl") as f:\n        b(n)\n',
        ),
        # the function needs a name the flow body binds
        pytest.param(
            '    with Flow("etl") as f:\n        r = a()\n    print(r)\n',
            f'    {FACTORY_TODO}\n    with Flow("etl") as f:\n        r = a()\n    print(r)\n',
            id='    with Flow("etl") as f:\n        r = a()\n    print(r)\n',
        ),
        # the flow object is handed to other code
        pytest.param(
            '    with Flow("etl") as f:\n        a()\n    deploy(f)\n',
            f'    {FACTORY_TODO}; `f` is used at line 15\n    with Flow("etl") as f:\n'
            "        a()\n    deploy(f)\n",
            id='    with Flow("etl") as f:\n        a()\n    deploy(f)\n',
        ),
    ],
)
def test_flow_built_in_function_that_cannot_move_is_flagged(body, after):
    got = apply_rule(FlowDefinitionRule, FUNC_TASKS + "def main():\n" + body)
    assert "PF002 this Flow is built inside a function with arguments or other code" in got
    assert 'with Flow("etl") as f:' in got
    assert apply_rule(FlowDefinitionRule, got) == got
    assert got == FUNC_TASKS + "def main():\n" + after


def test_whole_pipeline_flow_run_inside_main():
    from meta_flows.core.codemod.testing import migrate

    code = migrate(
        FUNC_TASKS + 'def main():\n    with Flow("etl") as flow:\n        a()\n    flow.run()\n\n'
        'if __name__ == "__main__":\n    main()\n'
    ).code
    assert "def main():\n    etl()\n" in code
    assert "flow = " not in code and ".run(" not in code
    assert code == (
        FUNC_TASKS_AFTER + '@flow(name="etl")\ndef etl():\n    return a()\n\n\n'
        'def main():\n    etl()\n\nif __name__ == "__main__":\n    main()\n'
    )


# ------------------------------------------------------------------ names Prefect 2 rejects


@pytest.mark.parametrize(
    ("name", "new", "function"),
    [
        ('"Map / Reduce"', '"Map - Reduce"', "map_reduce"),
        ("'R&D <nightly>'", "'R-D -nightly-'", "r_d_nightly"),
        ('"100% done"', '"100- done"', "flow_100_done"),
    ],
)
def test_invalid_flow_names_are_renamed(name, new, function):
    src = f"from prefect import Flow\nwith Flow({name}) as flow:\n    pass\n"
    got = apply_rule(FlowDefinitionRule, src)
    assert f"@flow(name={new})\ndef {function}():\n" in got
    old_text = name[1:-1]
    assert "TODO" not in got
    assert apply_rule(FlowDefinitionRule, got) == got
    assert got == (
        f"from prefect import flow\n{renamed_note(old_text, new[1:-1])}\n"
        f"@flow(name={new})\ndef {function}():\n    pass\n"
    )
    plan = plan_flow_functions(src)[0]
    assert plan.function_name == function
    assert plan.prefect2_name == new[1:-1]


def test_invalid_name_as_keyword_in_functional_flow():
    got = apply_rule(FlowDefinitionRule, 'from prefect import Flow\nf = Flow(name="a/b")\n')
    assert '@flow(name="a-b")\ndef a_b():\n    pass\n' in got
    assert got == (
        f"from prefect import flow\n{renamed_note('a/b', 'a-b')}\n"
        '@flow(name="a-b")\ndef a_b():\n    pass\n'
    )


def test_prefect2_flow_name_agrees_with_prefect():
    from prefect import flow as prefect_flow

    from meta_flows.core.naming import flow_function_name, prefect2_flow_name

    for name in ["Map / Reduce 🤓", "a%b&c<d>e", "plain name"]:
        new = prefect2_flow_name(name)
        prefect_flow(name=new)(lambda: None)  # raises InvalidNameError if still invalid
        assert flow_function_name(new) == flow_function_name(name)
    assert prefect2_flow_name("plain name") == "plain name"


def test_valid_names_untouched():
    assert_noop(
        FlowDefinitionRule, 'from prefect import flow\n@flow(name="a/b")\ndef x():\n    pass\n'
    )
    got = apply_rule(
        FlowDefinitionRule, 'from prefect import Flow\nwith Flow("a-b: c") as f:\n    pass\n'
    )
    assert '@flow(name="a-b: c")' in got and "renamed" not in got
    assert got == 'from prefect import flow\n@flow(name="a-b: c")\ndef a_b_c():\n    pass\n'


# ------------------------------------------------------------------ Flow kwargs Prefect 2 rejects


def test_rejected_flow_kwargs_never_reach_the_decorator():
    from prefect import flow as prefect_flow

    src = (
        "from prefect import Flow\n"
        'with Flow("w", tasks=[a], edges=[], reference_tasks=[a], validate=False) as f:\n'
        "    pass\n"
    )
    got = apply_rule(FlowDefinitionRule, src)
    assert '@flow(name="w")\n' in got
    assert "PF002 Flow(tasks=[a]) has no Prefect 2 equivalent" in got
    assert prefect_flow(name="w")  # the kept kwargs are accepted
    call_tasks = (
        "has no Prefect 2 equivalent and was removed: call the tasks inside the flow function"
    )
    reference_todo = todo_text(
        "PF002",
        "Flow(reference_tasks=[a]) has no Prefect 2 equivalent and was removed: the flow's final "
        "state now comes from its return value / first unhandled exception; return or raise "
        "accordingly",
    )
    assert got == (
        "from prefect import flow\n"
        f"{todo_text('PF002', 'Flow(tasks=[a]) ' + call_tasks)}\n"
        f"{todo_text('PF002', 'Flow(edges=[]) ' + call_tasks)}\n"
        f"{reference_todo}\n"
        '@flow(name="w")\ndef w():\n    pass\n'
    )


FUNCTIONAL_SOURCE = """\
from prefect import Flow, Parameter, task


@task
def numbers(n):
    return list(range(n))


@task
def total(xs):
    return sum(xs)


@task
def combine(parts):
    return parts


n = Parameter("n", default=3)
flow = Flow("functional / run")
flow.set_dependencies(task=numbers, keyword_tasks={"n": n})
total.set_upstream(numbers, key="xs", flow=flow)
combine.bind(parts=[numbers, total], flow=flow)
flow.set_reference_tasks([combine])

if __name__ == "__main__":
    flow.run(n=4)
"""


def test_functional_flow_runs_under_prefect2(tmp_path, prefect_env):
    import json
    import subprocess
    import sys

    from meta_flows.core.codemod.testing import migrate

    code = migrate(FUNCTIONAL_SOURCE).code
    assert "Flow(" not in code and "set_upstream" not in code and ".bind(" not in code
    assert '@flow(name="functional - run")\ndef functional_run(n: int = 3):' in code
    assert 'if __name__ == "__main__":\n    functional_run(n=4)' in code
    (tmp_path / "migrated.py").write_text(code)
    runner = "import json, migrated\nprint(json.dumps(migrated.functional_run(n=4)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        env={**prefect_env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[0, 1, 2, 3], 6]


# ---------------------------------------------------------------- issue #14: silent defects


def test_local_named_like_a_module_task_is_renamed():
    """``documents = documents()`` in a with-block rebinds the module-level name; in a function
    it would make ``documents`` local everywhere (UnboundLocalError): the local is renamed."""
    before = (
        "from prefect import Flow, task\n\n"
        "@task\ndef documents():\n    return ['a']\n\n"
        "@task\ndef count(docs):\n    return len(docs)\n\n"
        'with Flow("docs") as flow:\n'
        "    documents = documents()\n"
        "    total = count(documents)\n"
        "    count(total)\n"
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert (
        '@flow(name="docs")\ndef docs():\n'
        "    documents_result = documents()\n"
        "    total = count(documents_result)\n"
        "    return count(total)\n"
    ) in got


def test_shadowing_rename_avoids_taken_names_and_leaves_plain_locals():
    before = (
        "from prefect import Flow, task\n\n"
        "@task\ndef rows():\n    return [1]\n\n"
        "@task\ndef load(x):\n    return x\n\n"
        "rows_result = 1\n\n"
        'with Flow("etl") as flow:\n'
        "    data = load(1)\n"
        "    rows = rows()\n"
        "    load([rows, data])\n"
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert "    data = load(1)\n    rows_result_2 = rows()\n" in got
    assert "return load([rows_result_2, data])" in got


SHARED_FLOW = """\
from prefect import Flow, task
@task
def one():
    return 1
with Flow("shared") as flow:
    one()
shared_flow = flow
"""


def test_module_level_reads_of_flow_variable_name_the_function():
    """Issue #14: ``shared_flow = flow`` after the block ran before the ``flow = shared`` line
    at the end of the module, so it silently bound Prefect 2's ``flow`` decorator."""
    got = apply_rule(FlowDefinitionRule, SHARED_FLOW)
    assert got.endswith(
        '@flow(name="shared")\ndef shared():\n    return one()\nshared_flow = shared\nflow = shared\n'
    )


def test_reads_of_flow_in_functions_and_after_a_rebinding_stay():
    before = SHARED_FLOW + (
        "REGISTRY = {'shared': flow}\ndef get():\n    return flow\nflow = 3\nlater = flow\n"
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert "REGISTRY = {'shared': shared}\n" in got
    assert "def get():\n    return flow\n" in got
    assert "flow = 3\nlater = flow\n" in got


def test_shared_flow_alias_is_the_flow_under_prefect2(tmp_path, prefect_env):
    import subprocess
    import sys

    from meta_flows.core.codemod.testing import migrate

    (tmp_path / "migrated.py").write_text(migrate(SHARED_FLOW).code)
    runner = (
        "import migrated\n"
        "from prefect import Flow\n"
        "assert isinstance(migrated.shared_flow, Flow), migrated.shared_flow\n"
        "assert migrated.shared_flow is migrated.flow is migrated.shared\n"
        "print(migrated.shared_flow())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        env={**prefect_env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "1"


def test_a_module_binding_flow_itself_imports_the_decorator_under_another_name():
    """Issue #14: ``flow = "nightly"`` of the user's own would shadow Prefect 2's decorator
    (``@flow`` then calls the string): the decorator is imported as ``prefect_flow``."""
    assert_rewrite(
        FlowDefinitionRule,
        """\
        from prefect import Flow, task
        flow = "nightly"
        @task
        def one():
            return flow
        with Flow("named") as f:
            one()
        """,
        """\
        from prefect import task
        from prefect import flow as prefect_flow

        flow = "nightly"
        @task
        def one():
            return flow
        @prefect_flow(name="named")
        def named():
            return one()
        """,
    )


@pytest.mark.parametrize(
    "own",
    [
        "def describe(flow):\n    return flow.name\n",  # a parameter: not the module's name
        "def build():\n    with Flow('inner') as flow:\n        pass\n    return flow\n",
    ],
)
def test_flow_bound_only_locally_or_as_the_flow_object_keeps_the_decorator_name(own):
    got = apply_rule(
        FlowDefinitionRule,
        "from prefect import Flow, task\n" + own + "@task\ndef one():\n    return 1\n"
        "with Flow('named') as flow:\n    one()\n",
    )
    assert "@flow(name='named')" in got and "prefect_flow" not in got


# ------------------------------------- issue #14: the imperative API inside and after `with Flow`

IMPERATIVE = TASKS + "@task\ndef report():\n    return 3\n\n"
IMPERATIVE_AFTER = IMPERATIVE.replace(
    "from prefect import Flow, task", "from prefect import flow, task"
)


@pytest.mark.parametrize(
    ("body", "after"),
    [
        # edges the call order already satisfies: removed
        ("r = extract()\nl = load(1)\nflow.add_edge(r, l)\n", "r = extract()\nl = load(1)\n"),
        (
            "r = extract()\nl = load(1)\n# after r\nflow.set_dependencies(task=l, upstream_tasks=[r])\n",
            "r = extract()\nl = load(1)\n",
        ),
        ("r = extract()\nl = load(1)\nflow.chain(r, l)\n", "r = extract()\nl = load(1)\n"),
        # chain of direct calls (demo.py) and of tasks given uncalled: calls in the chain's order
        (
            "# in order\nflow.chain(extract(), load(1), extract())\n",
            "# in order\nextract()\nload(1)\nextract()\n",
        ),
        ("flow.chain(extract, report)\n", "extract()\nreport()\n"),
        # results called in another order: put in the chain's (comments go with them)
        (
            "# load first\nl = load(1)\nx = 5\nr = extract()\nflow.chain(r, l)\n",
            "r = extract()\nx = 5\n# load first\nl = load(1)\n",
        ),
        ("r = extract()\nflow.chain(r, load(r), report)\n", "r = extract()\nload(r)\nreport()\n"),
        ("r = extract()\nflow.add_task(r)\n", "r = extract()\nreturn r\n"),
        # a task given uncalled: Prefect 1 bound it into the flow and ran it
        ("flow.add_task(report)\n", "return report()\n"),
        (
            "r = extract()\nflow.set_dependencies(task=report, upstream_tasks=[r])\n",
            "r = extract()\nreturn report(upstream_tasks=[r])\n",
        ),
        # a data edge from a result to a task given uncalled: the result is its argument
        (
            "r = extract()\nflow.set_dependencies(task=report, keyword_tasks={'x': r})\n",
            "r = extract()\nreturn report(x=r)\n",
        ),
    ],
)
def test_imperative_api_in_the_with_body(body, after):
    src = (
        IMPERATIVE
        + 'with Flow("f") as flow:\n'
        + "".join(f"    {ln}\n" for ln in body.splitlines())
    )
    out = apply_rule(FlowDefinitionRule, src)
    expected = (
        IMPERATIVE_AFTER
        + '@flow(name="f")\ndef f():\n'
        + "".join(f"    {ln}\n" for ln in after.splitlines())
    )
    assert out == expected, out


@pytest.mark.parametrize(
    "body",
    [
        "l = load(1)\nr = extract()\nflow.add_edge(r, l)\n",  # the upstream is called later
        "r = extract()\nl = load(1)\nflow.add_edge(r, l, key='x')\n",  # a data edge
        "r = extract()\nl = load(1)\nr = extract()\nflow.add_edge(r, l)\n",  # assigned twice
        "r = extract()\nflow.chain(load(1), r)\n",  # a result after a new call
        "flow.chain(report, load(1))\nreport.name\n",  # the task is named elsewhere
        "flow.chain(extract(), *more)\n",
        "flow.chain(report)\n",  # no edge, and it would run report
        "flow.chain(extract(), report.map([1]))\n",
        # reordering would change data flow, or the results are used elsewhere
        "l = load(1)\nr = extract(l)\nflow.chain(r, l)\n",
        "l = load(1)\nx = l\nr = extract()\nflow.chain(r, l)\n",
        "l = load(1)\nr = extract()\nflow.add_edge(l, r)\nflow.chain(r, l)\n",
    ],
)
def test_imperative_api_not_provable_keeps_its_todo(body):
    src = (
        IMPERATIVE
        + 'with Flow("f") as flow:\n'
        + "".join(f"    {ln}\n" for ln in body.splitlines())
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert out.count("`flow` was the Prefect 1 Flow object") == 1
    assert "    flow." in out


def test_imperative_api_after_the_with_block_is_commented_out():
    """It used to become ``f.chain(...)`` on the @flow function: an AttributeError at import."""
    src = IMPERATIVE + 'with Flow("f") as flow:\n    extract()\n\nflow.chain(extract, report)\n'
    out = apply_rule(FlowDefinitionRule, src)
    todo = todo_text(
        "PF002",
        "`flow.chain(...)` on a flow built with `with Flow(...)`: a Prefect 2 flow has no task "
        "graph to edit; call the tasks in the @flow function in dependency order (an upstream "
        "task's call before its downstream's, or wait_for=[...])",
    )
    assert out == IMPERATIVE_AFTER + (
        f'@flow(name="f")\ndef f():\n    return extract()\n\n{todo}\n# flow.chain(extract, report)\n'
    )


def test_chain_of_calls_migrates_and_imports():
    """demo.py: ``f.chain(t(), t(), t())`` ran the copies one after the other."""
    from meta_flows.core.codemod.testing import migrate

    src = IMPERATIVE + 'with Flow("demo") as f:\n    f.chain(extract(), extract(), report())\n'
    result = migrate(src)
    assert result.code.endswith(
        '@flow(name="demo")\ndef demo():\n    extract()\n    extract()\n    report()\n'
    )
    assert "TODO" not in result.code and "_Prefect1Stub" not in result.code
    assert migrate(result.code).code == result.code
    namespace: dict = {"__name__": "migrated"}
    exec(compile(result.code, "migrated.py", "exec"), namespace)  # imports under Prefect 2
    assert callable(namespace["demo"])


def test_chain_onto_a_task_with_a_trigger_is_kept():
    src = IMPERATIVE.replace("@task\ndef load", "@task(trigger=all_finished)\ndef load") + (
        'with Flow("f") as flow:\n    flow.chain(extract(), load(1))\n'
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert "    flow.chain(extract(), load(1))\n" in out
    assert out.count("`flow` was the Prefect 1 Flow object") == 1


TRIGGERED = IMPERATIVE.replace("@task\ndef load", "@task(trigger=any_failed)\ndef load").replace(
    "@task\ndef report", "@task(trigger=all_finished)\ndef report"
)


def test_chain_of_results_onto_tasks_with_a_trigger_becomes_their_upstream_tasks():
    """The chain's edges are what the triggers read: they become ``upstream_tasks=`` (PF009
    makes the triggers explicit from them), and the chain goes."""
    body = "r = extract()\nl = load(1)\np = report()\n# edges\nflow.chain(r, l, p)\n"
    src = (
        TRIGGERED + 'with Flow("f") as flow:\n' + "".join(f"    {ln}\n" for ln in body.splitlines())
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert out.endswith(
        '@flow(name="f")\ndef f():\n    r = extract()\n    l = load(1, upstream_tasks=[r])\n'
        "    p = report(upstream_tasks=[l])\n    return p\n"
    ), out


@pytest.mark.parametrize(
    "body",
    [
        "l = load(1)\nr = extract()\nflow.chain(r, l)\n",  # called in another order
        "r = extract()\nflow.chain(r, load(1))\n",  # a call in the chain
        "r = extract()\nl = load(1, upstream_tasks=[r])\nflow.chain(r, l)\n",  # has upstreams
        "r = extract()\nl = load(1)\nflow.chain(r, l, r)\n",  # a result twice
    ],
)
def test_chain_onto_tasks_with_a_trigger_not_provable_keeps_its_todo(body):
    src = (
        TRIGGERED + 'with Flow("f") as flow:\n' + "".join(f"    {ln}\n" for ln in body.splitlines())
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert out.count("`flow` was the Prefect 1 Flow object") == 1
    assert "    flow.chain(" in out


def test_terminal_map_of_a_task_with_a_trigger_returns_its_futures():
    """PF009 makes the trigger explicit around the call; the futures give the run its state."""
    src = TRIGGERED + 'with Flow("f") as flow:\n    r = extract()\n    load.map(r)\n'
    out = apply_rule(FlowDefinitionRule, src)
    assert out.endswith("    r = extract()\n    return load.map(r)\n"), out
    plain = IMPERATIVE + 'with Flow("f") as flow:\n    r = extract()\n    load.map(r)\n'
    assert "return [future.result() for future in load.map(r)]" in apply_rule(
        FlowDefinitionRule, plain
    )


def test_imperative_api_on_a_downstream_with_a_trigger_is_kept():
    src = (
        IMPERATIVE.replace("@task\ndef load", "@task(trigger=all_finished)\ndef load")
        + 'with Flow("f") as flow:\n    r = extract()\n    l = load(1)\n    flow.add_edge(r, l)\n'
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert "    flow.add_edge(r, l)\n" in out


def test_prefect1_flow_api_a_prefect2_flow_lacks_gets_a_todo_after_the_block():
    """``f.copy()``, ``f.parameters()``, ``f.file_name``... fail with AttributeError on a Prefect
    2 flow: never left as if they worked (the import would fail, with no TODO)."""
    from meta_flows.core.codemod.engine import migrate_source

    src = (
        "from prefect import Flow, task\n\n@task\ndef one():\n    return 1\n\n"
        'with Flow("base") as base:\n    one()\n\n'
        'eu = base.copy()\neu.name = "base-eu"\nprint(base.parameters(), base.file_name)\n\n\n'
        'def deploy():\n    eu.register("europe")\n'  # not a use a Prefect 2 flow has
    )
    result = migrate_source(src, "copies.py")
    out = result.code
    assert "PF002 `base.copy`: Prefect 1 Flow API that a Prefect 2 flow does not have" in out
    assert "`base.with_options(name=...)`" in out
    assert "PF002 `base.file_name`, `base.parameters`: Prefect 1 Flow API" in out
    assert "inspect.getsourcefile(base.fn)" in out
    assert "\neu = base.copy()" not in out and "\nprint(base.parameters()" not in out
    namespace: dict = {}
    exec(compile(out, "copies.py", "exec"), namespace)  # imports under Prefect 2
    assert migrate_source(out, "copies.py").code == out


def test_prefect2_flow_api_is_left_alone():
    from meta_flows.core.codemod.engine import UNCHANGED, migrate_source

    src = (
        "from prefect import flow\n\n@flow\ndef base():\n    return 1\n\n"
        'eu = base.with_options(name="base-eu")\nprint(base.parameters, base.fn)\n'
    )
    result = migrate_source(src, "p2.py")
    assert result.code == src and result.status != "migrated"
    assert result.status in (UNCHANGED, "not-prefect1")


# -------------------------------------------------------------- copies of a flow (issue #14)

COPY_HEAD = (
    "import copy\n\nfrom prefect import Flow, task\n\n\n@task\ndef one():\n    return 1\n\n\n"
    'with Flow("base") as base:\n    one()\n\n'
)
COPY_HEAD_AFTER = (
    "\nfrom prefect import flow, task\n\n\n@task\ndef one():\n    return 1\n\n\n"
    '@flow(name="base")\ndef base():\n    return one()\n\n'
)
COPY_HEAD_WITH_IMPORT = "import copy\n" + COPY_HEAD_AFTER


@pytest.mark.parametrize(
    "copy_call", ["base.copy()", "copy.copy(base)", "copy.deepcopy(base)"], ids=str
)
def test_a_flow_copy_with_a_new_name_becomes_with_options(copy_call):
    """Prefect 1 made a variant of a flow by copying it and setting attributes; Prefect 2 flows
    have ``with_options``, which takes the name and description as keywords. ``import copy``
    goes once the rewrite left it unused."""
    head = COPY_HEAD_AFTER if copy_call.startswith("copy.") else COPY_HEAD_WITH_IMPORT
    assert_rewrite(
        FlowDefinitionRule,
        COPY_HEAD + f'eu = {copy_call}\neu.name = "base-eu"\neu.description = "Europe"\n'
        "print(eu.name)\n",
        head + 'eu = base.with_options(name="base-eu", description="Europe")\nprint(eu.name)\n',
    )


def test_a_copy_of_a_flow_named_flow_names_its_function():
    src = COPY_HEAD.replace("as base:", "as flow:") + 'eu = flow.copy()\neu.name = "eu"\n'
    assert apply_rule(FlowDefinitionRule, src) == (
        COPY_HEAD_WITH_IMPORT + 'eu = base.with_options(name="eu")\nflow = base\n'
    )


def copy_todo(variable: str, source: str, attrs: str, settings: str, it: str = "them") -> str:
    return todo_text(
        "PF002",
        f"`{variable}` is a copy of the flow `{source}` with its own {attrs} (kept below; a "
        f"Prefect 2 flow ignores {it}): give `{variable}` its own deployment in prefect.yaml "
        f"(entrypoint `<this file>:{variable}`, so its runs carry its name) with that "
        f"{settings}; meta-flows deployments writes one for `{source}` only; then delete the "
        f"`{variable}.<setting> = ...` lines",
    )


def test_a_flow_copy_with_its_own_schedule_and_run_config_gets_one_todo(tmp_path):
    """Schedules and run configs set on a copy are deployment settings: the copy stays a Prefect
    2 flow (with_options) under ONE TODO asking for its own deployment; the assignments stay code
    and the module imports under Prefect 2."""
    import importlib.util
    import subprocess

    from ruff.__main__ import find_ruff_bin

    from meta_flows.core.codemod.engine import migrate_source

    src = (
        "from prefect import Flow, task\n"
        "from prefect.run_configs import DockerRun\n"
        "from prefect.schedules import CronSchedule\n\n\n"
        "@task\ndef one():\n    return 1\n\n\n"
        'with Flow("base") as base:\n    one()\n\n'
        'eu = base.copy()\neu.name = "base-eu"\neu.schedule = CronSchedule("0 1 * * *")\n'
        'eu.run_config = DockerRun(image="etl:eu")\n\n'
        'if __name__ == "__main__":\n    eu.run()\n'
    )
    out = migrate_source(src, "copies.py").code
    todo = copy_todo(
        "eu",
        "base",
        "`eu.schedule`, `eu.run_config`",
        "schedule, work pool and job variables (run config)",
    )
    assert (
        f'{todo}\neu = base.with_options(name="base-eu")\n'
        'eu.schedule = CronSchedule("0 1 * * *")\neu.run_config = DockerRun(image="etl:eu")\n\n'
        'if __name__ == "__main__":\n    eu()\n'
    ) in out
    assert out.count("PF002") == 1
    path = tmp_path / "copies.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("copies", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports under Prefect 2
    assert module.eu.name == "base-eu" and module.base.name == "base"
    assert migrate_source(out, "copies.py").code == out
    ruff = subprocess.run(
        [
            find_ruff_bin(),
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "B,E,F,I,UP",
            "--ignore",
            "E501",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_an_executor_set_on_a_copy_is_named_in_its_todo():
    out = apply_rule(
        FlowDefinitionRule, COPY_HEAD + "eu = copy.deepcopy(base)\neu.executor = executor\n"
    )
    assert out == COPY_HEAD_AFTER + (
        todo_text(
            "PF002",
            "`eu` is a copy of the flow `base` with its own `eu.executor` (kept below; a Prefect "
            "2 flow ignores it): pass the executor's Prefect 2 task runner as "
            "`base.with_options(task_runner=...)` (§13); then delete the `eu.<setting> = ...` "
            "lines",
        )
        + "\neu = base.with_options()\neu.executor = executor\n"
    )


@pytest.mark.parametrize(
    "rest",
    [
        pytest.param('eu.name = "eu/west"\n', id="name-prefect2-rejects"),
        pytest.param("eu.name = make_name()\n", id="value-runs-code"),
        pytest.param('eu.name = "eu"\neu.result = result\n', id="attribute-not-mapped"),
        pytest.param('eu.name = "eu"\n\n\ndef deploy():\n    eu.register("p")\n', id="register"),
        pytest.param('# the EU variant\neu.name = "eu"\n', id="comment-above"),
    ],
)
def test_a_copy_used_in_ways_not_understood_keeps_its_todo(rest):
    out = apply_rule(FlowDefinitionRule, COPY_HEAD + "eu = base.copy()\n" + rest)
    assert "PF002 `base.copy`: Prefect 1 Flow API that a Prefect 2 flow does not have" in out
    assert "# eu = base.copy()\n" in out and "eu = base.with_options" not in out


def test_a_deepcopy_used_in_ways_not_understood_stays_with_a_todo():
    """``copy.deepcopy`` of a Prefect 2 flow works: the statement stays, with a TODO."""
    out = apply_rule(FlowDefinitionRule, COPY_HEAD + "eu = copy.deepcopy(base)\npublish(eu)\n")
    assert out == COPY_HEAD_WITH_IMPORT + (
        todo_text(
            "PF002",
            "`eu` is a copy of the flow `base` used in ways meta-flows cannot follow: a variant "
            "of the flow is `base.with_options(name=...)`; a copy with another schedule or run "
            "config is another deployment of the same flow in prefect.yaml; set its options "
            "there, not as attributes",
        )
        + "\neu = copy.deepcopy(base)\npublish(eu)\n"
    )


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(
            "import copy\n\nfrom prefect import flow\n\n\n@flow\ndef base():\n    return 1\n\n\n"
            'eu = copy.deepcopy(base)\neu.name = "eu"\nus = base.with_options(name="us")\n',
            id="prefect2-flow",
        ),
        pytest.param(
            "import copy\n\nrows = {'a': 1}\nmore = rows.copy()\nmore.name = 'x'\n"
            "other = copy.deepcopy(rows)\n",
            id="not-a-flow",
        ),
    ],
)
def test_copies_of_other_objects_are_left_alone(src):
    assert_noop(FlowDefinitionRule, src)


# ------------------- the imperative API wiring tasks given uncalled in a `with Flow(...)` body

WIRED = """\
from prefect import Flow, Parameter, task

@task
def fetch():
    return [1, 2]

@task
def ping():
    return None

@task
def scale(rows, factor=1):
    return rows

@task
def audit(x=None):
    return 3

"""
WIRED_AFTER = WIRED.replace(
    "from prefect import Flow, Parameter, task", "from prefect import Parameter, flow, task"
)


def _wired(body: str, head: str = 'with Flow("w") as flow:') -> str:
    return WIRED + head + "\n" + "".join(f"    {ln}\n" for ln in body.splitlines())


@pytest.mark.parametrize(
    ("body", "after"),
    [
        # key= binds the upstream's result, mapped=True maps over it, a keyless edge waits
        (
            '# wiring\nscale.set_upstream(fetch, key="rows", mapped=True)\nscale.set_upstream(ping)\n',
            "# wiring\nfetch_result = fetch()\nping_result = ping()\n"
            "return [future.result() for future in scale.map(rows=fetch_result, "
            "upstream_tasks=[unmapped(ping_result)])]\n",
        ),
        # a Parameter upstream is the value itself (PF003 makes it the flow's argument)
        (
            'n = Parameter("n")\nscale.set_upstream(n, key="rows", mapped=True)\n',
            'n = Parameter("n")\nreturn [future.result() for future in scale.map(rows=n)]\n',
        ),
        # set_downstream is the mirror; the flow's own methods too; the order is the graph's
        (
            'audit.set_upstream(scale)\nfetch.set_downstream(scale, key="rows")\n',
            "fetch_result = fetch()\nscale_result = scale(rows=fetch_result)\n"
            "return audit(upstream_tasks=[scale_result])\n",
        ),
        (
            'flow.add_edge(fetch, scale, key="rows")\n'
            'flow.set_dependencies(task=audit, keyword_tasks={"x": scale}, mapped=True)\n',
            "fetch_result = fetch()\nscale_result = scale(rows=fetch_result)\n"
            "return [future.result() for future in audit.map(x=scale_result)]\n",
        ),
        # a mapped node's non-mapped keyword input is unmapped(...)
        (
            'scale.set_upstream(fetch, key="rows", mapped=True)\n'
            'scale.set_upstream(audit, key="factor")\n',
            "fetch_result = fetch()\naudit_result = audit()\n"
            "return [future.result() for future in scale.map(rows=fetch_result, "
            "factor=unmapped(audit_result))]\n",
        ),
        # a result of a direct call is an input; independent groups each take their last place
        (
            'r = fetch()\nscale.set_upstream(r, key="rows")\nx = 1\naudit.set_upstream(ping)\n',
            "r = fetch()\nscale(rows=r)\nx = 1\nping_result = ping()\n"
            "audit(upstream_tasks=[ping_result])\n",
        ),
    ],
)
def test_imperative_api_wiring_uncalled_tasks_becomes_calls(body, after):
    """Prefect 1 bound the tasks named by set_upstream/set_downstream/add_edge... into the flow
    and ran them in dependency order: the statements become the calls, as the functional API."""
    head = WIRED_AFTER
    if "unmapped" in after:
        head = head.replace(
            "import Parameter, flow, task", "import Parameter, flow, task, unmapped"
        )
    expected = (
        head + '@flow(name="w")\ndef w():\n' + "".join(f"    {ln}\n" for ln in after.splitlines())
    )
    assert_rewrite(FlowDefinitionRule, _wired(body), expected)


def test_imperative_api_wiring_in_a_with_block_without_a_variable():
    assert_rewrite(
        FlowDefinitionRule,
        _wired('scale.set_upstream(fetch, key="rows")\n', head='with Flow("w"):'),
        WIRED_AFTER + '@flow(name="w")\ndef w():\n'
        "    fetch_result = fetch()\n    return scale(rows=fetch_result)\n",
    )


@pytest.mark.parametrize(
    "body",
    [
        'scale.set_upstream(fetch, key="rows")\nfetch()\n',  # the task is called elsewhere too
        "audit.set_upstream(ping)\nping.set_upstream(audit)\n",  # a cycle
        'scale.set_upstream(r, key="rows")\nr = fetch()\n',  # the input comes later
        "r = fetch()\nr.set_upstream(ping)\n",  # downstream is a result: PF005's
        "scale.set_upstream(rows, key='rows')\n",  # an input that is neither result nor Parameter
        'scale.set_upstream(fetch, key="rows", mapped=flag)\n',  # not static
    ],
)
def test_imperative_api_wiring_not_provable_is_left_as_it_is(body):
    out = apply_rule(FlowDefinitionRule, _wired(body))
    for line in body.splitlines():
        if "set_upstream" in line:
            assert f"    {line}\n" in out, out


def test_imperative_api_wiring_a_task_with_a_trigger_is_left_as_it_is():
    src = _wired("audit.set_upstream(ping)\n").replace(
        "@task\ndef audit", "@task(trigger=all_finished)\ndef audit"
    )
    assert "    audit.set_upstream(ping)\n" in apply_rule(FlowDefinitionRule, src)


def test_set_upstream_on_an_object_that_is_no_task_is_left_alone():
    assert_noop(
        FlowDefinitionRule,
        "import registry\n\nconn = registry.connect()\nconn.set_upstream(conn, key='x')\n",
    )


def test_imperative_api_wiring_migrates_to_calls_without_todo():
    """The whole pipeline: key= edges become arguments, keyless ones wait_for=, the Parameter a
    flow argument; no TODO, no set_upstream left, idempotent, importable under Prefect 2."""
    src = _wired(
        'n = Parameter("n")\nscale.set_upstream(fetch, key="rows", mapped=True)\n'
        "scale.set_upstream(ping)\naudit.set_upstream(scale)\n"
        'audit.set_upstream(n, key="x", mapped=True)\n'
    )
    result = migrate(src)
    assert result.code.endswith(
        '@flow(name="w")\ndef w(n):\n    fetch_result = fetch()\n    ping_result = ping()\n'
        "    scale_result = scale.map(rows=fetch_result, wait_for=[ping_result])\n"
        "    return [future.result() for future in audit.map(x=n, wait_for=[scale_result])]\n"
    ), result.code
    assert "TODO" not in result.code and "set_upstream" not in result.code
    assert "unmapped" not in result.code
    assert migrate(result.code).code == result.code
    namespace: dict = {"__name__": "migrated"}
    exec(compile(result.code, "migrated.py", "exec"), namespace)
    assert callable(namespace["w"])


def test_functional_api_mapped_node_passes_its_other_inputs_unmapped():
    src = (
        "from prefect import Flow, task\n\n@task\ndef a():\n    return [1]\n\n"
        "@task\ndef c():\n    return 2\n\n@task\ndef b(x, y):\n    return x\n\n"
        'f = Flow("x")\nb.set_upstream(a, key="x", mapped=True, flow=f)\n'
        'b.set_upstream(c, key="y", flow=f)\n'
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert "from prefect import flow, task, unmapped\n" in out
    assert "b.map(x=a_result, y=unmapped(c_result))" in out


# ------------------------- a task defined again after a flow using it (the flow keeps the first)

REDEFINED = """\
from prefect import Flow, task

@task{options}
def emit(x):
    return x

with Flow("first") as first:
    emit(1)

print(emit.name)

def helper():
    return emit

@task
def emit(x, y):
    return x + y

with Flow("second") as second:
    emit(1, 2)
"""


@pytest.mark.parametrize(
    ("options", "after"),
    [("", '(name="emit")'), ("(max_retries=2)", '(max_retries=2, name="emit")')],
)
def test_a_task_defined_again_after_a_flow_keeps_the_first_in_that_flow(options, after):
    """Prefect 1 bound the task object when the with-block ran; the @flow function reads the
    global when it runs. The earlier definition is renamed (its task name kept) and so are the
    module-level reads up to the next definition; a function body reads the global later, as
    before."""
    assert_rewrite(
        FlowDefinitionRule,
        REDEFINED.format(options=options),
        "from prefect import flow, task\n\n"
        f"@task{after}\ndef emit_v1(x):\n    return x\n\n"
        '@flow(name="first")\ndef first():\n    return emit_v1(1)\n\n'
        "print(emit_v1.name)\n\ndef helper():\n    return emit\n\n"
        "@task\ndef emit(x, y):\n    return x + y\n\n"
        '@flow(name="second")\ndef second():\n    return emit(1, 2)\n',
    )


def test_a_task_defined_again_with_no_flow_between_is_not_renamed():
    src = REDEFINED.format(options="").replace('with Flow("first") as first:\n    emit(1)\n\n', "")
    out = apply_rule(FlowDefinitionRule, src)
    assert "emit_v1" not in out and "print(emit.name)" in out


def test_a_task_bound_otherwise_and_defined_again_after_a_flow_gets_one_todo():
    src = REDEFINED.format(options="").replace(
        "@task\ndef emit(x):\n    return x\n", "emit = task(lambda x: x)\n"
    )
    out = apply_rule(FlowDefinitionRule, src)
    assert "emit_v1" not in out
    assert out.count("`emit` is defined again below (line 14)") == 1
    assert out.index("`emit` is defined again") < out.index('@flow(name="first")')


def _with_body(head: str, body: str) -> str:
    return head + 'with Flow("f") as flow:\n' + "".join(f"    {ln}\n" for ln in body.splitlines())


@pytest.mark.parametrize(
    ("body", "after"),
    [
        # onto a task with a trigger (report: all_finished): the edges are what it reads
        (
            "r = extract()\np = report()\np.set_upstream(r)\nr.set_downstream(p)\n",
            "r = extract()\n    p = report(upstream_tasks=[r])\n    return p\n",
        ),
        # a .map involved: futures, which nothing waits for without the edge
        (
            "m = load.map([1, 2])\nn = load.map([3])\nn.set_upstream(m)\n",
            "m = load.map([1, 2])\n    n = load.map([3], upstream_tasks=[unmapped(m)])\n"
            "    return [future.result() for future in n]\n",
        ),
        (
            "m = load.map([1, 2])\nr = extract()\nr.set_upstream(m)\n",
            "m = load.map([1, 2])\n    r = extract(upstream_tasks=[m])\n    return r\n",
        ),
    ],
)
def test_result_edges_the_call_order_lacks_become_upstream_tasks(body, after):
    head = TRIGGERED if "report" in body else IMPERATIVE  # the maps: load without a trigger
    src = _with_body(head, body)
    out = apply_rule(FlowDefinitionRule, src)
    assert out.endswith('@flow(name="f")\ndef f():\n    ' + after), out
    assert ".set_upstream(" not in out and ".set_downstream(" not in out
    assert apply_rule(FlowDefinitionRule, out) == out


@pytest.mark.parametrize(
    "body",
    [
        # direct calls of tasks without a trigger: the call order has the edge (PF005 removes it)
        "r = extract()\nq = extract()\nq.set_upstream(r)\n",
        "p = report()\nr = extract()\np.set_upstream(r)\n",  # the upstream is called later
        "r = extract()\np = report()\np.set_upstream(r, key='x')\n",  # a data edge
        "r = extract()\np = report(upstream_tasks=[r])\np.set_upstream(r)\n",  # has upstreams
    ],
)
def test_result_edges_left_to_pf005(body):
    out = apply_rule(FlowDefinitionRule, _with_body(TRIGGERED, body))
    assert ".set_upstream(r" in out


# --- a task called for its effect alone does not stop the tasks after it ------------------------


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            'with Flow("f") as flow:\n    load(0)\n    load(extract())\n',
            '@flow(name="f")\ndef f():\n    load(0, return_state=True)\n    load(extract())\n',
            id="effect-then-branch",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    load(0)\n    x = 1\n    if x:\n        load(x)\n',
            '@flow(name="f")\ndef f():\n    load(0, return_state=True)\n    x = 1\n'
            "    if x:\n        load(x)\n",
            id="a-task-later-in-a-block",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    sent = load(0)\n    load(extract())\n',
            '@flow(name="f")\ndef f():\n    sent = load(0, return_state=True)\n'
            "    load(extract())\n",
            id="bound-never-read",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    load(\n        0,  # first\n    )\n    load(1,)\n'
            "    load(2)\n",
            '@flow(name="f")\ndef f():\n    load(\n        0,  # first\n        return_state=True,\n'
            "    )\n    load(1, return_state=True)\n    load(2)\n",
            id="laid-out-like-the-other-arguments",
        ),
    ],
)
def test_a_call_for_its_effect_before_other_tasks_returns_its_state(body, after):
    assert_rewrite(FlowDefinitionRule, TASKS + body, TASKS_AFTER + after)


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            'with Flow("f") as flow:\n    load(extract())\n    load(0)\n',
            '@flow(name="f")\ndef f():\n    load(extract(), return_state=True)\n    load(0)\n',
            id="the-last-call",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    r = extract()\n    load(r)\n',
            '@flow(name="f")\ndef f():\n    r = extract()\n    return load(r)\n',
            id="a-result-read-later",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    r = extract()\n    load(0)\n    print(r)\n',
            '@flow(name="f")\ndef f():\n    r = extract()\n    load(0)\n    print(r)\n',
            id="a-result-read-by-other-code",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    load.map([1, 2])\n    load(0)\n',
            '@flow(name="f")\ndef f():\n    load.map([1, 2])\n    load(0)\n',
            id="a-map-raises-nothing",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    load(0)\n    print("done")\n',
            '@flow(name="f")\ndef f():\n    load(0)\n    print("done")\n',
            id="no-task-after-it",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    load(0, return_state=True)\n    load(1)\n',
            '@flow(name="f")\ndef f():\n    load(0, return_state=True)\n    load(1)\n',
            id="already-a-state",
        ),
        pytest.param(
            'with Flow("f") as flow:\n    flow.chain(extract, load)\n',
            '@flow(name="f")\ndef f():\n    extract()\n    load()\n',
            id="an-imperative-edge-orders-the-calls",
        ),
    ],
)
def test_a_call_whose_failure_must_stop_the_flow_still_raises(body, after):
    assert_rewrite(FlowDefinitionRule, TASKS + body, TASKS_AFTER + after)
