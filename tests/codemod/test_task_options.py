"""PF004 task_options: Prefect 1 task options become Prefect 2.20 task() options."""

import inspect
import subprocess
import sys
import textwrap

import prefect
import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.options import P2_TASK_OPTIONS, convert_template
from meta_flows.core.codemod.rules.task_options import RULE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

REWRITES = [
    pytest.param(
        "from prefect import task\n@task(max_retries=3, log_stdout=True, nout=2, slug='s')\ndef a(): pass\n",
        "from prefect import task\n@task(retries=3, log_prints=True)\ndef a(): pass\n",
        id="renames-and-drops",
    ),
    pytest.param(
        "from datetime import timedelta\nfrom prefect import task\n"
        "@task(max_retries=2, retry_delay=timedelta(minutes=1, seconds=30))\ndef a(): pass\n",
        "from prefect import task\n@task(retries=2, retry_delay_seconds=90)\ndef a(): pass\n",
        id="retry-delay-literal-and-unused-timedelta-removed",
    ),
    pytest.param(
        "from datetime import timedelta\nfrom prefect import task\nD = timedelta(seconds=5)\n"
        "@task(retry_delay=D)\ndef a(): pass\n",
        "from datetime import timedelta\nfrom prefect import task\nD = timedelta(seconds=5)\n"
        "@task(retry_delay_seconds=int(D.total_seconds()))\ndef a(): pass\n",
        id="retry-delay-expression",
    ),
    pytest.param(
        "import datetime\nimport prefect\n@prefect.task(timeout=datetime.timedelta(hours=1))\ndef a(): pass\n",
        "import prefect\n@prefect.task(timeout_seconds=3600)\ndef a(): pass\n",
        id="timeout-timedelta-module-import",
    ),
    pytest.param(
        "from prefect import task\n@task(timeout=60, max_retries=0)\ndef a(): pass\n",
        "from prefect import task\n@task(timeout_seconds=60)\ndef a(): pass\n",
        id="timeout-int-and-max-retries-zero-dropped",
    ),
    pytest.param(
        "from prefect import task\n@task(\n    name='a',\n    max_retries=1,\n    nout=2,\n)\ndef a(): pass\n",
        "from prefect import task\n@task(\n    name='a',\n    retries=1,\n)\ndef a(): pass\n",
        id="multiline-layout-kept",
    ),
    pytest.param(
        "from prefect import task\n@task(task_run_name='run-{x}', checkpoint=False)\ndef a(x): pass\n",
        "from prefect import task\n@task(task_run_name='run-{x}', persist_result=False)\ndef a(x): pass\n",
        id="string-run-name-kept-checkpoint",
    ),
    pytest.param(
        "from datetime import timedelta\nfrom prefect import task\n"
        "from prefect.engine.cache_validators import all_inputs\n"
        "@task(cache_for=timedelta(hours=1), cache_validator=all_inputs)\ndef a(x): pass\n",
        "from datetime import timedelta\nfrom prefect import task\nfrom prefect.tasks import task_input_hash\n\n\n"
        "@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))\ndef a(x): pass\n",
        id="cache-all-inputs",
    ),
    pytest.param(
        "from datetime import timedelta\nfrom prefect import task\n"
        "@task(cache_for=timedelta(hours=1))\ndef a(x): pass\n",
        "from datetime import timedelta\nfrom prefect import task\n"
        '@task(cache_key_fn=lambda *_: "a", cache_expiration=timedelta(hours=1))\ndef a(x): pass\n',
        id="cache-duration-only-constant-key",
    ),
    pytest.param(
        "from prefect import task\n@task(cache_key='k')\ndef a(x): pass\n",
        "from prefect import task\n@task(cache_key_fn=lambda *_: 'k')\ndef a(x): pass\n",
        id="cache-key",
    ),
    pytest.param(
        "from prefect import task\nfrom prefect.engine.results import LocalResult\n"
        "@task(result=LocalResult(dir='/tmp/r'))\ndef a(x): pass\n",
        "from prefect import task\nfrom prefect.filesystems import LocalFileSystem\n\n\n"
        "@task(persist_result=True, result_storage=LocalFileSystem(basepath='/tmp/r'))\ndef a(x): pass\n",
        id="local-result",
    ),
    pytest.param(
        "from prefect import task\n@task(target='{flow_name}/{task_name}-{x}.pkl', checkpoint=True)\ndef a(x): pass\n",
        "from prefect import task\n# "
        + todo_text(
            "PF004",
            "Prefect 1 skipped this task when its target existed; Prefect 2 recomputes and overwrites the key -- add a cache_key_fn if the skip matters",
        )[2:]
        + "\n@task(result_storage_key='{flow_run.flow_name}/{task_run.task_name}-{parameters[x]}.pkl', persist_result=True)\ndef a(x): pass\n",
        id="target-template",
    ),
    pytest.param(
        "from prefect import task\ndef f(x): return x\nt = task(f, max_retries=2, name='t')\n",
        "from prefect import task\ndef f(x): return x\nt = task(f, retries=2, name='t')\n",
        id="task-call-form",
    ),
]


@pytest.mark.parametrize(("before", "after"), REWRITES)
def test_rewrites(before, after):
    assert_rewrite(RULE, before, after)


S3_IMPORT = "from prefect.engine.results import S3Result\n"

H_CASES = [
    (
        "@task(task_run_name=lambda **kw: kw['map_index'])\ndef a(x): pass\n",
        "task_run_name=lambda **kw: kw['map_index']",
        "@task()",
        S3_IMPORT,
        "`task_run_name=lambda **kw: kw['map_index']` was removed: a Prefect 1 callable got the "
        "task's inputs as kwargs; Prefect 2 calls task_run_name() with no arguments (read "
        "prefect.runtime.task_run.parameters) -- rewrite it by hand",
    ),
    (
        "@task(skip_on_upstream_skip=False)\ndef a(x): pass\n",
        "skip_on_upstream_skip=False",
        "@task()",
        S3_IMPORT,
        "`skip_on_upstream_skip=False` was removed: Prefect 2 has no Skipped state (§10); decide "
        "by hand whether this task must run when an upstream branch did not",
    ),
    (
        "@task(result=S3Result(bucket='b'))\ndef a(x): pass\n",
        "prefect-aws S3Bucket",
        "@task()",
        "",  # its only use is gone: the import goes too
        "`result=S3Result(bucket='b')` was removed: create a prefect-aws S3Bucket block and pass "
        "persist_result=True, result_storage=S3Bucket.load('<name>')",
    ),
    (
        "@task(trigger=my_trigger, max_retries=1)\ndef a(x): pass\n",
        "trigger=my_trigger",
        "@task(retries=1)",
        S3_IMPORT,
        "`trigger=my_trigger` was removed: Prefect 2's task() has no `trigger` option (§8/§11: "
        "see PF009/PF012)",
    ),
    (
        "@task(target='{today}/{x}')\ndef a(x): pass\n",
        "{today}",
        "@task()",
        S3_IMPORT,
        "`target='{today}/{x}'` was removed: its field(s) {today} have no Prefect 2 equivalent; "
        "set result_storage_key='{today}/{parameters[x]}' with fields of {parameters[name]}, "
        "{task_run.*}, {flow_run.*} by hand (Prefect 2 would fail on an unknown field)",
    ),
    (
        "@task(timeout=T)\ndef a(x): pass\n",
        "timeout_seconds takes seconds",
        "@task(timeout_seconds=T)",
        S3_IMPORT,
        "timeout_seconds takes seconds; if `T` is a timedelta use int(T.total_seconds())",
    ),
]


@pytest.mark.parametrize(("body", "todo_part", "decorator", "kept", "message"), H_CASES)
def test_human_cases_are_removed_with_a_todo(body, todo_part, decorator, kept, message):
    src = "from prefect import task\nfrom prefect.engine.results import S3Result\n" + body
    out = apply_rule(RULE, src)
    todo_lines = [
        line for line in out.splitlines() if line.startswith("# TODO(prefect2-migration): PF004")
    ]
    assert any(todo_part in line for line in todo_lines), out
    assert decorator in out.splitlines()
    assert out == (
        f"from prefect import task\n{kept}{todo_text('PF004', message)}\n"
        f"{decorator}\ndef a(x): pass\n"
    )
    compile(out, "x", "exec")
    assert apply_rule(RULE, out) == out


SECONDS = [
    pytest.param("LIMIT = 60\n", "timeout=LIMIT", "timeout_seconds=LIMIT", id="constant-number"),
    pytest.param(
        "from datetime import timedelta\nLIMIT = timedelta(minutes=2)\n",
        "timeout=LIMIT",
        "timeout_seconds=int(LIMIT.total_seconds())",
        id="constant-timedelta",
    ),
    pytest.param("", "timeout=5 * 60", "timeout_seconds=300", id="arithmetic"),
    pytest.param(
        "RETRY = 30\n", "retry_delay=RETRY", "retry_delay_seconds=RETRY", id="retry-number"
    ),
]


@pytest.mark.parametrize(("head", "option", "converted"), SECONDS)
def test_seconds_of_a_known_value_need_no_todo(head, option, converted):
    """A suggestion must fit the value at hand: no ``.total_seconds()`` on a number."""
    src = f"from prefect import task\n{head}@task({option})\ndef a(): pass\n"
    out = apply_rule(RULE, src)
    assert "TODO" not in out
    assert f"@task({converted})\n" in out
    assert apply_rule(RULE, out) == out


def test_seconds_of_an_unknown_value_get_a_valid_suggestion():
    src = "from prefect import task\n@task(timeout=limit() + extra)\ndef a(): pass\n"
    out = apply_rule(RULE, src)
    assert (
        todo_text(
            "PF004",
            "timeout_seconds takes seconds; if `limit() + extra` is a timedelta use "
            "int((limit() + extra).total_seconds())",
        )
        in out
    )


NOOPS = [
    "from prefect import task\n@task(retries=3, retry_delay_seconds=10)\ndef a(): pass\n",
    "from prefect import task\n@task\ndef a(): pass\n",
    "from celery import task\n@task(max_retries=3)\ndef a(): pass\n",
    "def task(**kw): return lambda f: f\n@task(max_retries=3)\ndef a(): pass\n",
    "from prefect import task\nopts = {}\n@task(**opts)\ndef a(): pass\n",
    "from prefect import task\n@task(name='x', tags=['a'], task_run_name='{x}')\ndef a(x): pass\n",
]


@pytest.mark.parametrize("source", NOOPS)
def test_noops(source):
    assert_noop(RULE, source)


def test_known_option_list_matches_installed_prefect():
    params = set(inspect.signature(prefect.task).parameters) - {"__fn"}
    assert params == P2_TASK_OPTIONS


def test_target_template_conversion():
    assert convert_template("{task_name}/{x}", ["x"]) == (
        "{task_run.task_name}/{parameters[x]}",
        [],
    )
    assert convert_template("{date:%Y}/{y}", ["x"]) == ("{date:%Y}/{y}", ["date", "y"])


def test_class_kwargs_of_repository_task_subclass():
    src = (
        "from prefect import Task\nclass T(Task):\n    def run(self): pass\n"
        "t = T(table='x', max_retries=2, log_stdout=True)\n"
    )
    out = apply_rule(RULE, src)
    assert "t = T(table='x', retries=2, log_prints=True)\n" in out
    assert out == src.replace("max_retries=2, log_stdout=True", "retries=2, log_prints=True")


def test_migrated_options_run_under_prefect2(tmp_path, prefect_env):
    """Retries actually happen, and timeouts are seconds, after the rewrite."""
    before = textwrap.dedent(
        """\
        from datetime import timedelta
        from prefect import task

        CALLS = []

        @task(max_retries=2, retry_delay=timedelta(seconds=0), log_stdout=True, nout=1)
        def flaky():
            CALLS.append(1)
            if len(CALLS) < 3:
                raise ValueError("boom")
            return len(CALLS)
        """
    )
    migrated = apply_rule(RULE, before)
    assert "retries=2, retry_delay_seconds=0, log_prints=True" in migrated
    script = migrated + textwrap.dedent(
        """
        from prefect import flow

        @flow
        def f():
            return flaky()

        assert f() == 3, CALLS
        assert flaky.retries == 2 and flaky.log_prints is True
        print("OK")
        """
    )
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


def run_under_prefect2(tmp_path, script: str, env: dict) -> str:
    """Run ``script`` in a fresh interpreter against the test's Prefect server (``prefect_env``)."""
    path = tmp_path / "migrated_module.py"
    path.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


ATTRIBUTE_EDITS = """\
from datetime import timedelta
from prefect import task
RETRIES = 3
@task
def fetch(x):
    return x
@task(name="load", max_retries=1)
def load(x):
    return x
fetch.max_retries = RETRIES
fetch.retry_delay = timedelta(seconds=5)
fetch.name = "fetch-it"
load.max_retries = 2
later = 4
load.tags = ["t", later]
"""


def test_attribute_edits_after_definition_fold_into_the_decorator():
    """Issue #14: Prefect 1 task options are attributes (``t.max_retries = 3``), which Prefect 2
    tasks do not read: module-level edits of a task of the module go into its @task options
    when they can move there, else ``t = t.with_options(...)`` where they were."""
    assert_rewrite(
        RULE,
        ATTRIBUTE_EDITS,
        """\
        from prefect import task
        RETRIES = 3
        @task(retries=RETRIES, retry_delay_seconds=5, name="fetch-it")
        def fetch(x):
            return x
        @task(name="load", retries=2)
        def load(x):
            return x
        later = 4
        load = load.with_options(tags=["t", later])
        """,
    )


def test_attribute_edit_inside_a_function_is_flagged():
    out = apply_rule(
        RULE,
        "from prefect import task\n@task\ndef fetch(x):\n    return x\n"
        "def configure():\n    fetch.timeout = 30\n",
    )
    assert "    fetch.timeout = 30\n" in out
    assert (
        todo_text(
            "PF004",
            "`fetch.timeout = ...` changes a Prefect 1 task option as an attribute, which Prefect 2 "
            "tasks do not read: give the option to @task where fetch is defined, or call "
            "fetch.with_options(...) (§3)",
        )
        in out
    )


def test_attribute_edit_after_a_copy_is_not_folded():
    """A copy made before the edit keeps the old option: the edit rebinds the name instead."""
    out = apply_rule(
        RULE,
        "from prefect import task\n@task\ndef fetch(x):\n    return x\n"
        "quick = fetch.copy()\nfetch.max_retries = 2\n",
    )
    assert "@task\ndef fetch" in out
    assert "fetch = fetch.with_options(retries=2)\n" in out


@pytest.mark.parametrize(
    "source",
    [
        "class Config:\n    pass\nconfig = Config()\nconfig.name = 'x'\nconfig.max_retries = 3\n",
        "from prefect import task\ndef helper(obj):\n    obj.name = 'x'\n",
    ],
)
def test_attribute_edits_of_other_objects_stay(source):
    assert_noop(RULE, source)


def test_folded_attribute_edits_run_under_prefect2(tmp_path, prefect_env):
    migrated = apply_rule(RULE, ATTRIBUTE_EDITS)
    script = migrated + (
        "assert fetch.retries == 3 and fetch.retry_delay_seconds == 5, fetch\n"
        "assert fetch.name == 'fetch-it' and load.retries == 2, (fetch.name, load.retries)\n"
        "assert load.tags == {'t', 4}, load.tags\n"
        'print("OK")\n'
    )
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("lambda **kwargs: f\"{kwargs['val']}\"", '"{val}"'),
        ('lambda **kw: f\'run {kw["val"]!r}-{kw["n"]:>3} {{x}}\'', '"run {val!r}-{n:>3} {{x}}"'),
        ("lambda **kw: kw['n']", '"{n}"'),
        ("lambda **kw: str(kw['n'])", '"{n}"'),
    ],
)
def test_a_callable_run_name_formatting_inputs_becomes_a_template(name, template):
    """Prefect 1 called it with the task's inputs; Prefect 2 formats a task_run_name string with
    the task's parameters."""
    assert_rewrite(
        RULE,
        f"from prefect import task\n@task(task_run_name={name})\ndef a(val, n): pass\n",
        f"from prefect import task\n@task(task_run_name={template})\ndef a(val, n): pass\n",
    )


@pytest.mark.prefect
def test_a_run_name_template_names_the_runs_under_prefect2(tmp_path, prefect_env):
    src = (
        "from prefect import Flow, task\n\n"
        "@task(task_run_name=lambda **kwargs: f\"item-{kwargs['val']}\")\n"
        "def show(val):\n    return val\n\n"
        "with Flow('names') as flow:\n    show.map([1, 2])\n"
    )
    code = migrate(src, "names").code
    assert '@task(task_run_name="item-{val}")' in code, code
    runner = code + (
        "\nimport asyncio\nfrom prefect import get_client\n"
        "from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId\n\n"
        "state = names(return_state=True)\n\n"
        "async def main():\n"
        "    async with get_client() as client:\n"
        "        runs = await client.read_task_runs(flow_run_filter=FlowRunFilter("
        "id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))\n"
        "    print(sorted(r.name for r in runs))\n\n"
        "asyncio.run(main())\n"
    )
    out = run_under_prefect2(tmp_path, runner, prefect_env)
    assert "['item-1', 'item-2']" in out, out
