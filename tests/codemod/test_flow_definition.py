"""PF002 flow_definition: `with Flow(...)` / functional API -> @flow functions."""

import pytest

from meta_flows.codemod.base import todo_text
from meta_flows.codemod.rules.flow_definition import (
    FlowDefinitionRule,
    FlowPlan,
    plan_flow_functions,
)
from meta_flows.codemod.testing import apply_rule, assert_noop, assert_rewrite

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
            '@flow(name="two")\ndef two():\n    load(1)\n    load(2)\n',
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
            "# prefect2-migration: storage moved to prefect.yaml (meta-flows deployments)\n"
            "# prefect2-migration: schedule moved to prefect.yaml (meta-flows deployments)\n"
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
    from meta_flows.codemod import project as project_mod

    src = TASKS + 'with Flow("x") as f:\n    load(1)\n'
    original = project_mod.scan_sources

    def fake(sources):
        index = original(sources)
        index.imported.setdefault(sources[0][0], set()).add("f")
        return index

    monkeypatch.setattr("meta_flows.codemod.testing.scan_sources", fake)
    assert apply_rule(FlowDefinitionRule, src).endswith("return load(1)\nf = x\n")


@pytest.mark.parametrize(
    "header",
    [
        "import prefect\n",
        "import prefect as p\n",
        "from prefect import Flow as PFlow\n",
        "from prefect.core.flow import Flow\n",
        "from prefect import *\n",
    ],
)
def test_import_forms(header):
    call = {"import prefect as p\n": "p.Flow", "from prefect import Flow as PFlow\n": "PFlow"}.get(
        header, "prefect.Flow" if header == "import prefect\n" else "Flow"
    )
    got = apply_rule(FlowDefinitionRule, header + f'with {call}("My Flow") as f:\n    x = 1\n')
    assert '@flow(name="My Flow")\ndef my_flow():\n    x = 1\n' in got
    compile(got, "x", "exec")


def test_several_flows_unique_names_and_taken_names():
    before = (
        "from prefect import Flow\n\ndef etl():\n    pass\n\n"
        'with Flow("etl") as a:\n    pass\n\nwith Flow("etl") as b:\n    pass\n'
    )
    got = apply_rule(FlowDefinitionRule, before)
    assert "def etl_flow():" in got and "def etl_flow_2():" in got
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


def test_non_literal_name_uses_variable():
    got = apply_rule(
        FlowDefinitionRule, "from prefect import Flow\nwith Flow(NAME) as sales:\n    pass\n"
    )
    assert "@flow(name=NAME)\ndef sales():\n" in got


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


def test_wrapper_flagged():
    src = 'from prefect import Flow\nclass MyFlow(Flow):\n    pass\nwith MyFlow("w") as f:\n    pass\n'
    got = apply_rule(FlowDefinitionRule, src)
    assert "PF002 `MyFlow` is a project wrapper of Prefect 1's Flow" in got
    assert '@flow(name="w")\ndef w():' in got


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


def test_functional_api_static_edges():
    before = (
        "from prefect import Flow, Parameter, task\n\n@task\ndef a():\n    return 1\n\n"
        "@task\ndef b(x):\n    return x\n\n@task\ndef c(y):\n    return y\n\n"
        'p = Parameter("p", default=1)\nf = Flow("functional")\nf.add_task(a)\n'
        'f.add_edge(b, c, key="y")\nf.set_dependencies(task=b, upstream_tasks=[a], keyword_tasks={"x": p})\n'
    )
    after = (
        "from prefect import flow, Parameter, task\n\n@task\ndef a():\n    return 1\n\n"
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

    from meta_flows.codemod.testing import migrate

    result = migrate(PIPELINE_SOURCE)
    code = result.code
    assert "Flow(" not in code and "Parameter(" not in code and ".register(" not in code
    assert '@flow(name="Map Flow")' in code
    assert (
        "def map_flow(offset: int = 0, n: int = 3, factor: int = 2, cfg: Optional[dict] = None):"
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
