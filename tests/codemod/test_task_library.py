"""PF013 task_library: prefect.tasks.* library tasks become Prefect 2 code (§12)."""

import os
import subprocess
import sys

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from meta_flows.core.codemod.base import SCRATCH_REQUIREMENTS, apply_pending_removals, todo_text
from meta_flows.core.codemod.rules.context import TODAY_HELPER_CODE
from meta_flows.core.codemod.rules.task_library import (
    CHILD_HELPER,
    JINJA_HELPER,
    RULE,
    SHELL_HELPER,
)
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate


def T(message: str) -> str:
    return todo_text("PF013", message)


HELPER = SHELL_HELPER.rstrip("\n")
TODAY = TODAY_HELPER_CODE.rstrip("\n")
JINJA = JINJA_HELPER.rstrip("\n")


def _indented(code: str) -> str:
    """``code`` for an f-string of a dedented test source (8 spaces deep)."""
    return code.replace("\n", "\n" + " " * 8)


DEPLOYMENT_TODO = T(
    "check the deployment name remote/remote (Prefect 2 runs a deployment of the child flow, not "
    "the flow by name)"
)

REWRITES = [
    pytest.param(
        """\
        from prefect import flow
        from prefect.tasks.shell import ShellTask

        shell = ShellTask(return_all=True, helper_script="cd /data")

        @flow(name="etl")
        def etl():
            return shell(command="ls")
        """,
        f"""\
        from prefect import flow, task
        from prefect_shell import ShellOperation


        {HELPER.replace(chr(10), chr(10) + " " * 8)}


        @task(name="ShellTask")
        def shell(command=None, env=None, helper_script="cd /data"):
            return _run_shell_task(command, env, helper_script, return_all=True)


        @flow(name="etl")
        def etl():
            return shell(command="ls")
        """,
        id="shell-task-module-level",
    ),
    pytest.param(
        """\
        from datetime import timedelta

        from prefect import flow
        from prefect.tasks.templates.jinja2 import JinjaTemplate

        COMMAND = "echo {{ scheduled_start_time }} {{ today }} {{ my_param }}"
        render = JinjaTemplate(
            template=COMMAND, name="cmd", max_retries=1, retry_delay=timedelta(minutes=5), tags=["t"]
        )

        @flow(name="tutorial")
        def tutorial(my_param, t1):
            return render(my_param=my_param, other=t1, upstream_tasks=[t1])
        """,
        f"""\
        from datetime import timedelta

        import jinja2
        import jinja2.meta
        from prefect import flow, runtime, task


        {_indented(TODAY)}


        COMMAND = "echo {{{{ scheduled_start_time }}}} {{{{ today }}}} {{{{ my_param }}}}"


        {_indented(JINJA)}


        @task(name="cmd", retries=1, retry_delay_seconds=300, tags=["t"])
        def render(template=COMMAND, **format_kwargs):
            return _render_jinja_template(template, format_kwargs)


        @flow(name="tutorial")
        def tutorial(my_param, t1):
            return render(my_param=my_param, other=t1, wait_for=[t1])
        """,
        id="jinja-template-module-level-with-options",
    ),
]


@pytest.mark.parametrize(("before", "after"), REWRITES)
def test_rewrite(before, after):
    assert_rewrite(RULE, before, after)


def _out(source: str) -> str:
    out = apply_rule(RULE, source)
    assert apply_rule(RULE, out) == out, "not idempotent"
    compile(out, "flows/example.py", "exec")
    return out


@pytest.mark.parametrize(
    ("constructor", "task_def"),
    [
        (
            'shell.ShellTask(command="ls -l", name="list", max_retries=2, tags=["io"])',
            '@task(name="list", retries=2, tags=["io"])\n'
            'def sh(command="ls -l", env=None, helper_script=None):\n'
            "    return _run_shell_task(command, env, helper_script)\n",
        ),
        (
            'shell.ShellTask("echo hi", {"A": "1"}, shell="sh", stream_output=True)',
            '@task(name="ShellTask")\n'
            'def sh(command="echo hi", env={"A": "1"}, helper_script=None):\n'
            '    return _run_shell_task(command, env, helper_script, shell="sh", stream_output=True)\n',
        ),
        (
            "shell.ShellTask(helper_script=HELPER, return_all=True)",
            '@task(name="ShellTask")\n'
            "def sh(command=None, env=None, helper_script=HELPER):\n"
            "    return _run_shell_task(command, env, helper_script, return_all=True)\n",
        ),
    ],
)
def test_shell_task_options(constructor, task_def):
    source = f"from prefect.tasks import shell\nHELPER = 'cd /'\nsh = {constructor}\n"
    out = _out(source)
    assert task_def in out
    assert "ShellTask(" not in out and "prefect.tasks" not in out
    assert out == (
        "from prefect import task\nfrom prefect_shell import ShellOperation\n\n"
        f"HELPER = 'cd /'\n\n\n{HELPER}\n\n\n{task_def}"
    )


SET_ON_TASK = "set their Prefect 2 form on @task"


def test_shell_task_unknown_option_is_dropped_with_todo():
    out = _out(
        "from prefect.tasks.shell import ShellTask\n"
        "from prefect import triggers\n"
        "sh = ShellTask(trigger=triggers.all_finished)\n"
    )
    assert (
        T(
            "task options trigger=triggers.all_finished were dropped: set their Prefect 2 form on @task"
        )
        in out
    )
    assert '@task(name="ShellTask")\ndef sh(' in out
    assert out == (
        "from prefect import task, triggers\nfrom prefect_shell import ShellOperation\n\n\n"
        f"{HELPER}\n\n\n"
        f"{T('task options trigger=triggers.all_finished were dropped: ' + SET_ON_TASK)}\n"
        '@task(name="ShellTask")\ndef sh(command=None, env=None, helper_script=None):\n'
        "    return _run_shell_task(command, env, helper_script)\n"
    )


def test_shell_task_upstream_tasks_become_wait_for():
    out = _out(
        "from prefect import flow\nfrom prefect.tasks.shell import ShellTask\n"
        "sh = ShellTask()\n"
        "@flow(name='x')\ndef x(a):\n    sh(command='ls', upstream_tasks=[a])\n"
    )
    assert "    sh(command='ls', wait_for=[a])\n" in out
    assert out == (
        "from prefect import flow, task\nfrom prefect_shell import ShellOperation\n\n\n"
        f"{HELPER}\n\n\n"
        '@task(name="ShellTask")\ndef sh(command=None, env=None, helper_script=None):\n'
        "    return _run_shell_task(command, env, helper_script)\n\n\n"
        "@flow(name='x')\ndef x(a):\n    sh(command='ls', wait_for=[a])\n"
    )


def test_inline_shell_task_is_hoisted_once_with_one_helper():
    out = _out(
        """\
from prefect import flow
from prefect.tasks.shell import ShellTask


@flow(name="x")
def x():
    a = ShellTask(return_all=True)(command="ls")
    b = ShellTask(name="pwd")(command="pwd")
    return a, b
"""
    )
    assert out.count("def _run_shell_task(") == 1
    assert '    a = shell_task(command="ls")\n    b = shell_task_2(command="pwd")\n' in out
    assert '@task(name="pwd")\ndef shell_task_2(' in out
    assert out.index("def shell_task(") < out.index('@flow(name="x")')
    assert out == (
        "from prefect import flow, task\nfrom prefect_shell import ShellOperation\n\n\n"
        f"{HELPER}\n\n\n"
        '@task(name="ShellTask")\ndef shell_task(command=None, env=None, helper_script=None):\n'
        "    return _run_shell_task(command, env, helper_script, return_all=True)\n\n\n"
        '@task(name="pwd")\ndef shell_task_2(command=None, env=None, helper_script=None):\n'
        "    return _run_shell_task(command, env, helper_script)\n\n\n"
        '@flow(name="x")\ndef x():\n'
        '    a = shell_task(command="ls")\n    b = shell_task_2(command="pwd")\n    return a, b\n'
    )


def test_inline_shell_task_with_runtime_arguments_stays_code_under_one_todo():
    source = (
        "from prefect import flow\nfrom prefect.tasks.shell import ShellTask\n"
        "@flow(name='x')\ndef x(script):\n    a = ShellTask(helper_script=script)(command='ls')\n"
    )
    assert _out(source) == source  # PF001 binds the class to a stand-in
    result = migrate(source)
    assert "    a = ShellTask(helper_script=script)(command='ls')\n" in result.code
    assert len(result.todos) == 1
    assert result.todos[0].message.startswith(
        "`ShellTask` (Prefect 1 `prefect.tasks.shell.ShellTask`, used at line "
    )
    assert (
        "could not be rewritten: its argument `script` is a flow parameter or a local, while "
        "built at module level it would become a @task def. Else use a plain @task"
    ) in result.todos[0].message


def test_inline_shell_task_read_off_the_module_is_commented_out_under_a_todo():
    out = _out(
        "from prefect import flow\nfrom prefect.tasks import shell\n"
        "@flow(name='x')\ndef x(script):\n    a = shell.ShellTask(helper_script=script)(command='ls')\n"
    )
    todo = T(
        "ShellTask could not be rewritten: its argument `script` is a flow parameter or a local: "
        "define it as a module-level @task (see the other migrated library tasks)"
    )
    assert out == (
        "from prefect import flow\n@flow(name='x')\ndef x(script):\n"
        f"    {todo}\n"
        "    # a = shell.ShellTask(helper_script=script)(command='ls')\n    pass\n"
    )


def test_string_formatter():
    out = _out(
        "from prefect.tasks.templates import StringFormatter\n"
        "msg = StringFormatter(name='message body', template='Hi {name}!')\n"
    )
    assert out == (
        "@task(name='message body')\ndef msg(template='Hi {name}!', **format_kwargs):\n"
        "    return template.format(**format_kwargs)\n"
    ).join(["from prefect import task\n\n\n", ""])


def test_string_formatter_with_context_field_is_flagged():
    out = _out(
        "from prefect.tasks.templates import StringFormatter\n"
        "msg = StringFormatter(template='Today is {today}')\n"
    )
    assert T("StringFormatter also formatted with prefect.context") in out.split("(today")[0]
    todo = T(
        "StringFormatter also formatted with prefect.context (today, flow_name ...): pass those "
        "values as keyword arguments (prefect.runtime has them)"
    )
    assert out == (
        f"from prefect import task\n\n\n{todo}\n"
        '@task(name="StringFormatter")\n'
        "def msg(template='Today is {today}', **format_kwargs):\n"
        "    return template.format(**format_kwargs)\n"
    )


def test_jinja_template_defines_its_helpers_once():
    out = _out(
        "from prefect.tasks.templates import JinjaTemplate\n"
        "a = JinjaTemplate('{{ x }}')\n"
        "b = JinjaTemplate(template='{{ yesterday }}')\n"
    )
    assert out.count("def _render_jinja_template(") == out.count("def _prefect1_today(") == 1
    assert "TODO" not in out
    assert out.endswith(
        '@task(name="JinjaTemplate")\n'
        "def a(template='{{ x }}', **format_kwargs):\n"
        "    return _render_jinja_template(template, format_kwargs)\n\n\n"
        '@task(name="JinjaTemplate")\n'
        "def b(template='{{ yesterday }}', **format_kwargs):\n"
        "    return _render_jinja_template(template, format_kwargs)\n"
    )


def test_jinja_template_reading_context_prefect2_lacks_has_one_todo():
    """A literal template reading Prefect 1 context names prefect.runtime has no value for:
    one TODO naming them (the names it has are supplied, other names are the arguments')."""
    out = _out(
        "from prefect.tasks.templates import JinjaTemplate\n"
        "from prefect import triggers\n"
        "msg = JinjaTemplate(\n"
        "    template='{{ task_slug }}[{{ map_index }}] {{ today }} {{ name }} {{ map_index }}',\n"
        "    trigger=triggers.all_finished,\n"
        ")\n"
    )
    todo = T(
        "task options trigger=triggers.all_finished were dropped: set their Prefect 2 form on "
        "@task; the template reads the Prefect 1 context map_index, task_slug, which Prefect 2 "
        "does not have (_render_jinja_template supplies only what prefect.runtime has): pass the "
        "value as a keyword argument of the call"
    )
    assert out.count("TODO(prefect2-migration)") == 1
    assert out.endswith(
        f"{JINJA}\n\n\n{todo}\n"
        '@task(name="JinjaTemplate")\n'
        "def msg(template='{{ task_slug }}[{{ map_index }}] {{ today }} {{ name }} "
        "{{ map_index }}', **format_kwargs):\n"
        "    return _render_jinja_template(template, format_kwargs)\n"
    )


def test_jinja_template_from_a_module_constant_is_read():
    out = _out(
        "from prefect.tasks.templates import JinjaTemplate\n"
        "TEMPLATE = '{{ map_index }}'\nmsg = JinjaTemplate(template=TEMPLATE)\n"
    )
    assert T("the template reads the Prefect 1 context map_index, which Prefect 2") in out


@pytest.mark.parametrize(
    "template",
    [
        "load_template()",  # not known: the helper supplies the names it has, no TODO
        "'{{ name }'",  # does not parse: fails under Prefect 2 as under Prefect 1
        "TEMPLATE",  # a module constant bound twice: not known
    ],
)
def test_jinja_template_not_known_has_no_todo(template):
    out = _out(
        "from prefect.tasks.templates import JinjaTemplate\n"
        "TEMPLATE = '{{ map_index }}'\nTEMPLATE = '{{ task_slug }}'\n"
        f"msg = JinjaTemplate(template={template})\n"
    )
    assert "TODO" not in out
    assert f"def msg(template={template}, **format_kwargs):\n" in out


def test_inline_jinja_template_in_a_flow_block_is_hoisted():
    """Inside ``with Flow``: a module-level @task of its own, ``upstream_tasks`` -> ``wait_for``."""
    source = (
        "from prefect import Flow, Parameter, task\n"
        "from prefect.tasks.templates import JinjaTemplate\n\n\n"
        "@task\ndef load():\n    return 3\n\n\n"
        'with Flow("inline") as flow:\n'
        '    who = Parameter("who", default="Marvin")\n'
        "    n = load()\n"
        '    message = JinjaTemplate(template="Hi {{ who }}: {{ n }} on {{ today }}", name="msg")(\n'
        "        who=who, n=n, upstream_tasks=[n]\n"
        "    )\n"
    )
    result = migrate(source)
    assert not result.todos
    assert result.code == (
        "import jinja2\nimport jinja2.meta\nfrom prefect import flow, runtime, task\n\n\n"
        f"{TODAY}\n\n\n"
        "@task\ndef load():\n    return 3\n\n\n"
        f"{JINJA}\n\n\n"
        '@task(name="msg")\n'
        'def jinja_template(template="Hi {{ who }}: {{ n }} on {{ today }}", **format_kwargs):\n'
        "    return _render_jinja_template(template, format_kwargs)\n\n\n"
        '@flow(name="inline")\n'
        'def inline(who: str = "Marvin"):\n'
        "    n = load()\n"
        "    message = jinja_template(\n"
        "        who=who, n=n, wait_for=[n]\n"
        "    )\n"
    )
    assert migrate(result.code).code == result.code


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Constant(3)", "3"),
        ("Constant(value=[1, 2], name='c')", "[1, 2]"),
        ("FunctionTask(fn)", "task(fn)"),
        ("FunctionTask(fn, name='n', max_retries=1)", "task(fn, name='n', retries=1)"),
        (
            "FunctionTask(len)",
            "task(lambda *args, **kwargs: len(*args, **kwargs), name=len.__name__)",
        ),
    ],
)
def test_constant_and_function_task(before, after):
    source = (
        "from prefect.tasks.core.constants import Constant\n"
        "from prefect.tasks.core.function import FunctionTask\n"
        "def fn(a):\n    return a\n"
        f"x = {before}\n"
    )
    out = _out(source)
    assert f"x = {after}\n" in out
    assert "prefect.tasks" not in out
    task_import = "from prefect import task\n\n\n" if after.startswith("task(") else ""
    assert out == f"{task_import}def fn(a):\n    return a\nx = {after}\n"


def test_start_flow_run_same_module_becomes_subflow_call():
    out = _out(
        """\
from prefect import flow
from prefect.tasks.prefect import StartFlowRun

start = StartFlowRun(flow_name="child", project_name="p", wait=True)


@flow(name="child")
def child_flow(x=1):
    return x


@flow(name="parent")
def parent():
    start(parameters={"x": 2})
    StartFlowRun(flow_name="child", project_name="p")()
"""
    )
    assert "StartFlowRun(" not in out
    # wait=True: the subflow call waits as Prefect 1 did; no wait: one TODO says what changed
    assert (
        "    child_flow(x=2)\n    # TODO(prefect2-migration): PF013 StartFlowRun did not wait"
        in out
    )
    assert out.endswith("timeout=0))\n    child_flow()\n")
    assert out.count("TODO(prefect2-migration)") == 1
    assert "start =" not in out


def test_start_flow_run_elsewhere_becomes_run_deployment():
    out = _out(
        """\
from prefect import flow
from prefect.tasks.prefect import StartFlowRun

start = StartFlowRun(flow_name="remote", project_name="p", wait=True)


@flow(name="parent")
def parent(params):
    start(parameters=params)
"""
    )
    call = '_raise_unless_completed(run_deployment(name="remote/remote", parameters=params))'
    assert out.endswith(f"    {DEPLOYMENT_TODO}\n    {call}\n")
    assert "from prefect.deployments import run_deployment\n" in out
    assert "StartFlowRun" not in out.replace(CHILD_HELPER, "")  # its docstring names it
    assert out == (
        "from prefect import flow\nfrom prefect.deployments import run_deployment\n\n\n"
        f"{CHILD_HELPER}\n\n"
        '@flow(name="parent")\ndef parent(params):\n'
        f"    {DEPLOYMENT_TODO}\n    {call}\n"
    )


def test_create_and_wait_for_flow_run():
    out = _out(
        """\
from prefect import flow
from prefect.tasks.prefect import create_flow_run, wait_for_flow_run


@flow(name="parent")
def parent():
    run_id = create_flow_run(flow_name="remote", project_name="p", parameters={"a": 1})
    wait_for_flow_run(run_id, raise_final_state=True, stream_logs=True)
    fire_and_forget = create_flow_run(flow_name="remote")
"""
    )
    assert out.endswith(
        f"    {DEPLOYMENT_TODO}\n"
        '    run_id = run_deployment(name="remote/remote", parameters={"a": 1})\n'
        "    if not run_id.state.is_completed():\n"
        '        raise RuntimeError(f"child flow run {run_id.name} ended in state {run_id.state.name}")\n'
        f"    {DEPLOYMENT_TODO}\n"
        '    fire_and_forget = run_deployment(name="remote/remote", timeout=0)\n'
    )
    assert "prefect.tasks" not in out
    assert out == (
        "from prefect import flow\nfrom prefect.deployments import run_deployment\n\n\n"
        '@flow(name="parent")\ndef parent():\n'
        f"    {DEPLOYMENT_TODO}\n"
        '    run_id = run_deployment(name="remote/remote", parameters={"a": 1})\n'
        "    if not run_id.state.is_completed():\n"
        '        raise RuntimeError(f"child flow run {run_id.name} '
        'ended in state {run_id.state.name}")\n'
        f"    {DEPLOYMENT_TODO}\n"
        '    fire_and_forget = run_deployment(name="remote/remote", timeout=0)\n'
    )


GET_TASK_RUN_RESULT_ADVICE = (
    "; return that value from the child flow, persist the child's result "
    "(`@flow(persist_result=True)` on it) and read it instead with "
)


def task_run_result_todo(line: int, slug: str, read: str) -> str:
    return T(
        f"`get_task_run_result` (Prefect 1 `prefect.tasks.prefect.get_task_run_result`, used at "
        f"line {line}) has no Prefect 2 equivalent: a task run's result cannot be read by task "
        f"slug ({slug}){GET_TASK_RUN_RESULT_ADVICE}{read}. Until then `get_task_run_result` is a "
        "stand-in (_Prefect1Stub) that raises NotImplementedError when a flow or task calls it"
    )


def test_get_task_run_result_of_a_run_deployment_stays_code_under_one_todo(tmp_path):
    """Prefect 2 reads no task result of another flow run (and has no task slugs): the call stays
    code, bound to a stand-in that fails when the flow reaches it, under ONE TODO that says what
    replaces it: the child's own result, read off the FlowRun run_deployment returned."""
    import importlib.util

    src = (
        "from prefect import Flow, task\n"
        "from prefect.tasks.prefect import create_flow_run, get_task_run_result, "
        "wait_for_flow_run\n\n\n"
        "@task\ndef show(x):\n    print(x)\n\n\n"
        'with Flow("parent") as flow:\n'
        '    child_run = create_flow_run(flow_name="child", parameters={"n": 2})\n'
        "    wait_for_flow_run(child_run, raise_final_state=True)\n"
        '    total = get_task_run_result(child_run, "compute-1")\n'
        "    show(total)\n"
    )
    result = migrate(src)
    out = result.code
    todo = task_run_result_todo(
        59,
        '"compute-1"',
        "`child_run.state.result()` (`child_run` is the FlowRun run_deployment returned, once "
        "the child run was over)",
    )
    assert (
        f'{todo}\nget_task_run_result = _Prefect1Stub("prefect.tasks.prefect.get_task_run_result")'
        in out
    )
    assert (
        '    total = get_task_run_result(child_run, "compute-1")\n    return show(total)\n' in out
    )
    assert out.count("get_task_run_result") == 6  # the TODO (3), the stand-in (2), the call
    assert "total = _Prefect1Stub" not in out  # no second TODO for the variable it bound
    assert migrate(out).code == out
    path = tmp_path / "parent_flow.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("parent_flow", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports under Prefect 2
    with pytest.raises(NotImplementedError, match="get_task_run_result is Prefect 1 API"):
        module.get_task_run_result("run-id", "compute-1")  # at run time


def test_get_task_run_result_of_another_flow_run_stays_code_under_one_todo():
    src = (
        "from prefect import flow\n"
        "from prefect.tasks.prefect import get_task_run_result\n\n\n"
        "@flow(name='p')\ndef p(run_id):\n    r = get_task_run_result(run_id, 'task-slug')\n"
        "    return r\n"
    )
    out = migrate(src).code
    todo = task_run_result_todo(
        49,
        "'task-slug'",
        "`flow_run.state.result()`, where `flow_run` is the FlowRun that run_deployment(...) "
        "returns once the child run is over",
    )
    assert f"{todo}\nget_task_run_result = _Prefect1Stub(" in out
    assert out.endswith("    r = get_task_run_result(run_id, 'task-slug')\n    return r\n")


def test_get_task_run_result_is_commented_out_without_stand_ins():
    """With PF001 switched off nothing binds a stand-in: the statement goes, under its TODO."""
    from meta_flows.core.codemod.engine import migrate_source

    src = (
        "from prefect import flow\n"
        "from prefect.tasks.prefect import get_task_run_result\n"
        "@flow(name='p')\ndef p(run_id):\n    r = get_task_run_result(run_id, 'task-slug')\n"
    )
    out = migrate_source(src, "flows/example.py", disabled={"PF001"}).code
    todo = T(
        "get_task_run_result has no Prefect 2 equivalent: a task run's result cannot be read by "
        f"task slug ('task-slug'){GET_TASK_RUN_RESULT_ADVICE}`flow_run.state.result()`, where "
        "`flow_run` is the FlowRun that run_deployment(...) returns once the child run is over"
    )
    assert f"    {todo}\n    # r = get_task_run_result(run_id, 'task-slug')\n    pass\n" in out


def test_a_get_task_run_result_of_its_own_is_left_alone():
    assert_noop(
        RULE,
        "from prefect import flow\n\n\ndef get_task_run_result(run, slug):\n    return slug\n\n\n"
        "@flow\ndef p():\n    return get_task_run_result(1, 'x')\n",
    )


# What each library task's TODOs tell the user to use instead, in full.
LIBRARY_ADVICE = {
    "SnowflakeQuery": "prefect_snowflake.database.snowflake_query(query, snowflake_connector) "
    "with a SnowflakeConnector block holding the account/user/password arguments",
    "SqlServerExecute": "a prefect_sqlalchemy.SqlAlchemyConnector block",
    "S3Download": "prefect_aws.S3Bucket(bucket_name=..., credentials=AwsCredentials.load(...))"
    ".read_path(key)",
    "LambdaInvoke": "prefect_aws.lambda_function.LambdaFunction(function_name=..., "
    "credentials=...).invoke(payload)",
    "BigQueryTask": "prefect_gcp.bigquery.bigquery_query(query, "
    "gcp_credentials=GcpCredentials.load(...))",
    "GCSUpload": "prefect_gcp.cloud_storage.GcsBucket(bucket=..., gcp_credentials=...)"
    ".write_path(path, data)",
    "DbtShellTask": "prefect_dbt.cli.commands.DbtCoreOperation(commands=['dbt ...'], "
    "project_dir=..., profiles_dir=...).run() inside a @task",
    "AirbyteConnectionTask": "prefect_airbyte.flows.run_connection_sync with an "
    "AirbyteConnection block",
    "SlackTask": "prefect_slack.messages.send_incoming_webhook_message("
    "slack_webhook=SlackWebhook.load(...), text=...)",
    "EmailTask": "prefect_email.email_send_message(email_server_credentials="
    "EmailServerCredentials.load(...), subject=..., msg=..., email_to=...)",
    "ExecuteNotebook": "prefect_jupyter.notebook.execute_notebook(path, parameters=...)",
    "RunGreatExpectationsValidation": "prefect_great_expectations.run_checkpoint_validation("
    "checkpoint_name=..., data_context_root_dir=...)",
    "RunNamespacedJob": "prefect_kubernetes.jobs.KubernetesJob / run_namespaced_job "
    "(or a kubernetes work pool)",
    "DatabricksSubmitRun": "prefect_databricks.flows.jobs_runs_submit_and_wait_for_completion "
    "with DatabricksCredentials",
}


@pytest.mark.parametrize(
    ("module", "cls", "package", "advice"),
    [
        ("snowflake", "SnowflakeQuery", "prefect-snowflake", "snowflake_query"),
        ("sql_server", "SqlServerExecute", "prefect-sqlalchemy", "SqlAlchemyConnector"),
        ("aws", "S3Download", "prefect-aws", "S3Bucket"),
        ("aws", "LambdaInvoke", "prefect-aws", "LambdaFunction"),
        ("gcp", "BigQueryTask", "prefect-gcp", "bigquery_query"),
        ("gcp", "GCSUpload", "prefect-gcp", "GcsBucket"),
        ("dbt", "DbtShellTask", "prefect-dbt", "DbtCoreOperation"),
        ("airbyte", "AirbyteConnectionTask", "prefect-airbyte", "run_connection_sync"),
        ("notifications", "SlackTask", "prefect-slack", "send_incoming_webhook_message"),
        ("notifications", "EmailTask", "prefect-email", "email_send_message"),
        ("jupyter", "ExecuteNotebook", "prefect-jupyter", "execute_notebook"),
        (
            "great_expectations",
            "RunGreatExpectationsValidation",
            "prefect-great-expectations",
            "run_checkpoint_validation",
        ),
        ("kubernetes", "RunNamespacedJob", "prefect-kubernetes", "KubernetesJob"),
        (
            "databricks",
            "DatabricksSubmitRun",
            "prefect-databricks",
            "jobs_runs_submit_and_wait_for_completion",
        ),
    ],
)
def test_other_library_tasks_keep_their_code_under_one_todo_with_package(
    module, cls, package, advice
):
    source = (
        f"from prefect import flow\nfrom prefect.tasks.{module} import {cls}\n\n"
        f"lib = {cls}(query='select 1')\n\n"
        "@flow(name='x')\ndef x():\n    return lib()\n"
    )
    context = CodemodContext(filename="x.py", full_module_name="x")
    tree = RULE(context).transform_module(cst.parse_module(source))
    out = apply_pending_removals(context, tree).code
    assert context.scratch[SCRATCH_REQUIREMENTS] == {package}
    assert out == source  # nothing commented out: PF001 binds the class to a stand-in
    # the whole pipeline: one TODO, above the class's stand-in, naming the line using it
    result = migrate(source)
    assert len(result.todos) == result.root_causes == 1
    lines = result.code.splitlines()
    use = lines.index(f"lib = {cls}(query='select 1')") + 1
    message = result.todos[0].message
    how = LIBRARY_ADVICE[cls]
    assert message.startswith(f"`{cls}` (Prefect 1 `prefect.tasks.")
    assert f", used at line {use}) has no automatic migration: use {package}: {how}." in message
    assert advice in message
    assert f"\n{cls} = _Prefect1Stub(" in result.code
    assert "    return lib()\n" in result.code
    assert f"from prefect.tasks.{module}" not in result.code
    compile(result.code, "x", "exec")


def test_shell_task_requires_prefect_shell():
    context = CodemodContext(filename="x.py", full_module_name="x")
    source = "from prefect.tasks.shell import ShellTask\nsh = ShellTask()\n"
    RULE(context).transform_module(cst.parse_module(source))
    assert context.scratch[SCRATCH_REQUIREMENTS] == {"prefect-shell"}


NOOPS = [
    pytest.param(
        """\
        from prefect import flow, task
        from prefect_shell import ShellOperation

        @task
        def sh(command):
            return ShellOperation(commands=[command]).run()
        """,
        id="already-prefect2",
    ),
    pytest.param(
        """\
        from mylib.tasks.shell import ShellTask

        sh = ShellTask(return_all=True)
        """,
        id="other-library-shell-task",
    ),
    pytest.param(
        """\
        from prefect.tasks.shell import ShellTask

        def build():
            class ShellTask:
                pass
            return ShellTask()
        """,
        id="shadowed-name",
    ),
    pytest.param(
        """\
        from prefect.tasks.control_flow import merge
        from prefect.tasks.secrets import PrefectSecret

        token = PrefectSecret("token")
        """,
        id="control-flow-and-secrets-left-to-other-rules",
    ),
    pytest.param(
        """\
        import jinja2
        from mylib.templates import JinjaTemplate

        message = JinjaTemplate(template="{{ today }}")
        text = jinja2.Template("{{ name }}").render(name="x")
        """,
        id="other-jinja-template-and-jinja2-itself",
    ),
]


@pytest.mark.parametrize("source", NOOPS)
def test_noop(source):
    assert_noop(RULE, source)


# ---------------------------------------------------------------------- behaviour under Prefect 2

SHELL_FLOW = """\
from prefect import flow
from prefect.tasks.shell import ShellTask
from prefect.tasks.templates import StringFormatter
from prefect.tasks.core.constants import Constant
from prefect.tasks.core.function import FunctionTask
from prefect.tasks.prefect import StartFlowRun

last_line = ShellTask()
all_lines = ShellTask(return_all=True, helper_script="cd /tmp && export GREETING=hi")
greet = StringFormatter(template="Hello {name}!")
start_child = StartFlowRun(flow_name="child", project_name="p", wait=True)


@flow(name="child")
def child_flow(x=1):
    return x * 10


@flow(name="shell")
def shell_flow():
    a = last_line(command="echo one; echo two >&2; echo '  three  '")
    b = all_lines(command="echo $GREETING; echo; pwd")
    c = last_line(command="true")
    d = all_lines(command="true")
    e = greet(name="Marvin")
    f = FunctionTask(len, name="length")(b)
    g = Constant(7)
    h = start_child(parameters={"x": 4})
    return a, b, c, d, e, f, g, h
"""

FAILING_FLOW = """

@flow(name="failing")
def failing():
    return last_line(command="echo out; exit 3")
"""

# What Prefect 1.4's ShellTask returns for these commands (stderr merged into stdout, each line
# right-stripped; last line or None by default, every line with return_all=True).
PREFECT1_RESULTS = ("  three", ["hi", "", "/tmp"], None, [], "Hello Marvin!", 3, 7, 40)


def _run_in_subprocess(tmp_path, code: str, script: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``script`` next to the migrated module against the test's Prefect server."""
    (tmp_path / "flows_example.py").write_text(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrated_library_tasks_return_what_prefect1_returned(tmp_path, prefect_env):
    """One Prefect 2 process (the ephemeral API is slow to start): results, then a failing command."""
    code = apply_rule(RULE, SHELL_FLOW + FAILING_FLOW)
    assert "prefect.tasks" not in code
    run = _run_in_subprocess(
        tmp_path,
        code,
        "from flows_example import shell_flow, failing\n"
        "print('RESULT', repr(shell_flow()))\n"
        "print('FAILED', failing(return_state=True).is_failed())\n",
        prefect_env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"RESULT {PREFECT1_RESULTS!r}" in run.stdout
    assert "FAILED True" in run.stdout  # a non-zero exit fails the task, as Prefect 1's FAIL did


JINJA_FLOW = """\
from prefect import flow, runtime, task
from prefect.tasks.templates import JinjaTemplate

render = JinjaTemplate(
    template="{{ greeting }} {{ name }} on {{ today }} ({{ yesterday_nodash }}), "
    "{{ flow_name }}/{{ task_name }} try {{ task_run_count }} for {{ parameters.who }}, "
    "{{ scheduled_start_time.to_date_string() }} {{ map_index }}.",
    max_retries=1,
)


@task
def seven():
    return 7


@flow(name="jinja")
def jinja(who="Marvin"):
    n = seven.submit()
    first = render(greeting="Hi", name=n, upstream_tasks=[n])
    second = render(template="{{ today }} {{ flow_name }}", today="kwargs win")
    return first, second, runtime.flow_run.scheduled_start_time
"""

JINJA_SCRIPT = """\
from datetime import timedelta
from flows_example import jinja
first, second, start = jinja()
yesterday = (start - timedelta(days=1)).strftime("%Y%m%d")
print("EXPECTED", repr(
    f"Hi 7 on {start:%Y-%m-%d} ({yesterday}), jinja/JinjaTemplate try 1 for Marvin, "
    f"{start:%Y-%m-%d} ."
))
print("FIRST", repr(first))
print("SECOND", repr(second))
"""


@pytest.mark.prefect  # a child interpreter running Prefect 2
def test_migrated_jinja_template_renders_as_in_prefect1(tmp_path):
    """Prefect 1's JinjaTemplate rendered with its context merged with the keyword arguments
    (these win): the migrated task reads the context names from prefect.runtime, with the same
    types (``scheduled_start_time`` a pendulum DateTime, ``today`` a string), resolves the
    futures it is given and leaves the names Prefect 2 lacks undefined (TODO: map_index). Run
    on Prefect 2's ephemeral API (a few seconds), not the test server."""
    code = apply_rule(RULE, JINJA_FLOW)
    assert "prefect.tasks" not in code and code.count("TODO(prefect2-migration)") == 1
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = _run_in_subprocess(tmp_path, code, JINJA_SCRIPT, env)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line[:1].isupper())
    assert lines["FIRST"] == lines["EXPECTED"]
    assert lines["SECOND"] == "'kwargs win jinja'"


def test_whole_pipeline_output_compiles_without_prefect1_task_library():
    result = migrate(SHELL_FLOW)
    assert "prefect.tasks" not in result.code
    assert "prefect-shell" in result.requirements
    compile(result.code, "flows/example.py", "exec")
    subflow_todo = T(
        "StartFlowRun returned the child flow run's id; the subflow call returns the child "
        "flow's return value"
    )
    assert result.code == (
        "from prefect import flow, task\nfrom prefect_shell import ShellOperation\n\n\n"
        f"{HELPER}\n\n\n"
        '@task(name="ShellTask")\ndef last_line(command=None, env=None, helper_script=None):\n'
        "    return _run_shell_task(command, env, helper_script)\n\n\n"
        '@task(name="ShellTask")\n'
        'def all_lines(command=None, env=None, helper_script="cd /tmp && export GREETING=hi"):\n'
        "    return _run_shell_task(command, env, helper_script, return_all=True)\n\n\n"
        '@task(name="StringFormatter")\n'
        'def greet(template="Hello {name}!", **format_kwargs):\n'
        "    return template.format(**format_kwargs)\n\n\n"
        '@flow(name="child")\ndef child_flow(x=1):\n    return x * 10\n\n\n'
        '@flow(name="shell")\ndef shell_flow():\n'
        "    a = last_line(command=\"echo one; echo two >&2; echo '  three  '\")\n"
        '    b = all_lines(command="echo $GREETING; echo; pwd")\n'
        '    c = last_line(command="true")\n'
        '    d = all_lines(command="true")\n'
        '    e = greet(name="Marvin")\n'
        '    f = task(lambda *args, **kwargs: len(*args, **kwargs), name="length")(b)\n'
        "    g = 7\n"
        f"    {subflow_todo}\n"
        "    h = child_flow(x=4)\n"
        "    return a, b, c, d, e, f, g, h\n"
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("timedelta(minutes=1)", "60"),
        ("datetime.timedelta(seconds=5)", "5"),
        ("10", "10"),  # a number: no .total_seconds() on it
        ("DELAY", "int(DELAY.total_seconds())"),
        ("get() + x", "int((get() + x).total_seconds())"),
    ],
)
def test_retry_delay_in_seconds(value, seconds):
    from meta_flows.core.codemod.rules.task_library import task_options

    options, dropped = task_options({"retry_delay": value}, "x")
    assert options == ['name="x"', f"retry_delay_seconds={seconds}"] and not dropped


# ---------------------------------------------------------------------- children of the project

# What a wave hands the codemod: each flow of the project and its deployment's full name.
DEPLOYMENTS = {"child": "child/estate", "parent": "parent/estate"}
CHILD = CHILD_HELPER.rstrip("\n").replace("\n", "\n        ")
NOT_IN_PROJECT = T(
    "flow 'remote' is not a flow of this project: give the name of its deployment "
    "(<flow name>/<deployment name>) instead of remote/remote"
)

CHILD_REWRITES = [
    pytest.param(
        """\
        from prefect import flow
        from prefect.tasks.prefect import StartFlowRun

        start = StartFlowRun(flow_name="child", project_name="p", wait=True)


        @flow(name="parent")
        def parent(day):
            start(parameters={"day": day})
        """,
        f"""\
        from prefect import flow
        from prefect.deployments import run_deployment


        {CHILD}


        @flow(name="parent")
        def parent(day):
            _raise_unless_completed(run_deployment(name="child/estate", parameters={{"day": day}}))
        """,
        id="start-flow-run-wait",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.tasks.prefect import StartFlowRun


        @flow(name="parent")
        def parent():
            run_id = StartFlowRun(flow_name="child", project_name="p")(run_name="nightly")
            return run_id
        """,
        """\
        from prefect import flow
        from prefect.deployments import run_deployment


        @flow(name="parent")
        def parent():
            run_id = run_deployment(name="child/estate", flow_run_name="nightly", timeout=0)
            return run_id
        """,
        id="start-flow-run-no-wait",
    ),
    pytest.param(
        # the child of the same module runs as its own deployment, as in Prefect 1 (not a subflow)
        """\
        from prefect import flow
        from prefect.tasks.prefect import StartFlowRun

        start = StartFlowRun(flow_name="child", project_name="p", wait=True)


        @flow(name="child")
        def child_flow(x=1):
            return x


        @flow(name="parent")
        def parent():
            done = start(parameters={"x": 2})
        """,
        f"""\
        from prefect import flow
        from prefect.deployments import run_deployment


        @flow(name="child")
        def child_flow(x=1):
            return x


        {CHILD}


        @flow(name="parent")
        def parent():
            done = _raise_unless_completed(run_deployment(name="child/estate", parameters={{"x": 2}}))
        """,
        id="start-flow-run-same-module",
    ),
    pytest.param(
        """\
        from prefect import flow
        from prefect.tasks.prefect import create_flow_run, wait_for_flow_run


        @flow(name="parent")
        def parent():
            run_id = create_flow_run(flow_name="child", project_name="p", parameters={"a": 1})
            wait_for_flow_run(run_id, raise_final_state=True, stream_logs=True)
            started = create_flow_run(flow_name="child")
            seen = wait_for_flow_run(started, raise_final_state=True)
            later = create_flow_run(flow_name="child")
            view = wait_for_flow_run(later)
            create_flow_run(flow_name="child", idempotency_key="k")
        """,
        f"""\
        from prefect import flow
        from prefect.deployments import run_deployment


        {CHILD}


        @flow(name="parent")
        def parent():
            run_id = run_deployment(name="child/estate", parameters={{"a": 1}})
            if not run_id.state.is_completed():
                raise RuntimeError(f"child flow run {{run_id.name}} ended in state {{run_id.state.name}}")
            started = run_deployment(name="child/estate")
            seen = _raise_unless_completed(started)
            later = run_deployment(name="child/estate")
            view = later
            run_deployment(name="child/estate", idempotency_key="k", timeout=0)
        """,
        id="create-and-wait-for-flow-run",
    ),
    pytest.param(
        # not a flow of the project: the name is guessed, one TODO; Prefect 1's raise is kept
        """\
        from prefect import flow
        from prefect.tasks.prefect import StartFlowRun

        start = StartFlowRun(flow_name="remote", project_name="p", wait=True)


        @flow(name="parent")
        def parent(params):
            start(parameters=params)
        """,
        f"""\
        from prefect import flow
        from prefect.deployments import run_deployment


        {CHILD}


        @flow(name="parent")
        def parent(params):
            {NOT_IN_PROJECT}
            _raise_unless_completed(run_deployment(name="remote/remote", parameters=params))
        """,
        id="child-not-in-the-project",
    ),
]


@pytest.mark.parametrize(("before", "after"), CHILD_REWRITES)
def test_children_of_the_project_run_their_deployment(before, after):
    assert_rewrite(RULE, before, after, deployments=DEPLOYMENTS)


@pytest.mark.parametrize("source", [*NOOPS, *(p.values[1] for p in CHILD_REWRITES)])
def test_noop_with_the_project_deployments(source):
    assert_noop(RULE, source, deployments=DEPLOYMENTS)


def test_without_the_project_deployments_the_name_is_guessed():
    """``meta-flows rewrite`` knows no deployments: the name is a TODO; the wait and the failure
    of Prefect 1's StartFlowRun(wait=True) are kept."""
    out = apply_rule(RULE, CHILD_REWRITES[0].values[0])
    todo = T(
        "check the deployment name child/child (Prefect 2 runs a deployment of the child flow, "
        "not the flow by name)"
    )
    assert out.endswith(
        f"    {todo}\n"
        '    _raise_unless_completed(run_deployment(name="child/child", parameters={"day": day}))\n'
    )
    assert CHILD_HELPER.strip() in out


CHILD_FLOWS = """\
from prefect import flow
from prefect.tasks.prefect import StartFlowRun, create_flow_run, wait_for_flow_run

start = StartFlowRun(flow_name="child", project_name="p", wait=True)


@flow(name="parent")
def parent():
    start(parameters={"x": 2})
    return "parent done"


@flow(name="creator")
def creator():
    run_id = create_flow_run(flow_name="child", parameters={"x": 3})
    wait_for_flow_run(run_id, raise_final_state=True)
    return "creator done"
"""

# Runs the migrated parents against the test server: the child's deployment exists, no worker
# runs it; a thread plays the worker and ends each child run in the state asked for.
CHILD_SCRIPT = """\
import asyncio, threading, time
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Completed, Failed, Running
from flows_example import parent, creator


@flow(name="child")
def child(x=1):
    return x


async def deploy():
    async with get_client() as client:
        flow_id = await client.create_flow(child)
        return await client.create_deployment(flow_id=flow_id, name="estate")


async def finish(deployment_id, state):
    async with get_client() as client:
        while True:
            runs = await client.read_flow_runs()
            for run in runs:
                if run.deployment_id == deployment_id and not run.state.is_final():
                    await client.set_flow_run_state(run.id, Running(), force=True)
                    await client.set_flow_run_state(run.id, state, force=True)
                    return run.parameters
            await asyncio.sleep(0.2)


deployment_id = asyncio.run(deploy())
for parent_flow in (parent, creator):
    for state in (Completed(), Failed(message="child broke")):
        box = []
        worker = threading.Thread(target=lambda: box.append(asyncio.run(finish(deployment_id, state))))
        worker.start()
        result = parent_flow(return_state=True)
        worker.join()
        print("RUN", parent_flow.name, state.name, box[0], result.type.value,
              repr(result.result(raise_on_failure=False)))
"""


def test_a_failed_child_fails_its_parent_as_in_prefect1(tmp_path, prefect_env):
    """StartFlowRun(wait=True) and wait_for_flow_run(raise_final_state=True) failed with the child
    run: so do the migrated parents, on the FlowRun run_deployment returns once it is final."""
    code = apply_rule(RULE, CHILD_FLOWS, deployments={"child": "child/estate"})
    code = code.replace("run_deployment(", "run_deployment(poll_interval=0.5, ")
    assert "TODO" not in code
    run = _run_in_subprocess(tmp_path, code, CHILD_SCRIPT, prefect_env)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("RUN")]
    assert lines[0] == "RUN parent Completed {'x': 2} COMPLETED 'parent done'"
    assert lines[1].startswith("RUN parent Failed {'x': 2} FAILED RuntimeError('child flow run ")
    assert lines[1].endswith(" ended in state Failed')")
    assert lines[2] == "RUN creator Completed {'x': 3} COMPLETED 'creator done'"
    assert lines[3].startswith("RUN creator Failed {'x': 3} FAILED RuntimeError('child flow run ")
    assert lines[3].endswith(" ended in state Failed')")


def test_tasks_it_writes_use_the_decorator_name_the_module_leaves_free():
    """A module binding ``task`` itself gets Prefect 2's decorator as ``prefect_task``, in the
    tasks this rule writes too (FunctionTask, StringFormatter, ShellTask)."""
    src = (
        "from prefect.tasks.core.function import FunctionTask\n"
        "from prefect.tasks.templates import StringFormatter\n"
        "task = {'retries': 3}\n"
        "def double(x):\n"
        "    return x * 2\n"
        "dbl = FunctionTask(double)\n"
        "greet = StringFormatter(template='hi {name}')\n"
    )
    out = apply_rule(RULE, src)
    assert "from prefect import task as prefect_task" in out
    assert "dbl = prefect_task(double)" in out
    assert "@prefect_task(" in out
    assert "@task(" not in out and "= task(" not in out
    assert "task = {'retries': 3}" in out


def test_get_task_run_result_of_a_run_not_waited_for_says_to_wait():
    src = (
        "from prefect import flow\n"
        "from prefect.tasks.prefect import create_flow_run, get_task_run_result\n\n\n"
        "@flow(name='p')\ndef p():\n    run = create_flow_run(flow_name='child')\n"
        "    return get_task_run_result(run, 'total')\n"
    )
    out = migrate(src).code
    assert (
        "read it instead with `run.state.result()` (`run` is the FlowRun run_deployment "
        "returned; drop its timeout=0 so that it waits for the child run). Until then" in out
    )
    assert "    run = run_deployment(name='child/child', timeout=0)\n" in out.replace('"', "'")
    assert out.endswith("    return get_task_run_result(run, 'total')\n")


def test_a_method_of_an_inline_library_instance_is_left_to_its_stand_in():
    """``WriteAirtableRow().map(...)``: the class becomes a stand-in under its one TODO (the
    ``.map`` is not read as a class ``map`` of the library)."""
    src = (
        "from prefect import Flow\nfrom prefect.tasks.airtable import WriteAirtableRow\n\n"
        "with Flow('f') as flow:\n    WriteAirtableRow().map([1, 2], base_key='b')\n"
    )
    result = migrate(src, "flows.f")
    assert [t.rule for t in result.todos] == ["PF013"], result.code
    assert "`WriteAirtableRow` (Prefect 1 `prefect.tasks.airtable.WriteAirtableRow`" in (
        result.todos[0].message
    )
    assert "def f():\n    WriteAirtableRow().map([1, 2], base_key='b')\n" in result.code
