"""PF012 state_handlers: state handlers become on_failure/on_completion hooks."""

import importlib.util
import re
import textwrap

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.state_handlers import StateHandlersRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite

FAILED_HANDLER = """\
def notify(obj, old_state, new_state):
    if new_state.is_failed():
        alert(obj.name, new_state.message)
    return new_state
"""


def test_failed_only_handler_becomes_on_failure_hook_and_is_replaced():
    assert_rewrite(
        StateHandlersRule,
        f"from prefect import task\n\n\n{FAILED_HANDLER}\n\n@task(max_retries=2, state_handlers=[notify])\n"
        "def a():\n    pass\n",
        "from prefect import task\n\n\ndef notify_on_failure(task, task_run, state):\n"
        "    alert(task.name, state.message)\n\n\n@task(max_retries=2, on_failure=[notify_on_failure])\n"
        "def a():\n    pass\n",
    )


def test_flow_handler_gets_flow_signature():
    out = apply_rule(
        StateHandlersRule,
        f"from prefect import flow\n\n\n{FAILED_HANDLER}\n\n@flow(name='F', state_handlers=[notify])\n"
        "def f_flow():\n    pass\n",
    )
    assert (
        "def notify_on_failure(flow, flow_run, state):\n    alert(flow.name, state.message)\n"
        in out
    )
    assert "@flow(name='F', on_failure=[notify_on_failure])\n" in out
    assert out == (
        "from prefect import flow\n\n\n"
        "def notify_on_failure(flow, flow_run, state):\n"
        "    alert(flow.name, state.message)\n\n\n"
        "@flow(name='F', on_failure=[notify_on_failure])\n"
        "def f_flow():\n"
        "    pass\n"
    )


def test_successful_and_both_branches_with_isinstance():
    src = textwrap.dedent(
        """\
        from prefect import task
        from prefect.engine.state import Failed


        def h(t, old, new):
            \"\"\"Doc.\"\"\"
            if isinstance(new, Failed):
                bad(t)
            elif new.is_successful():
                good(new.result)
                return new
            return new


        @task(
            state_handlers=[h],
        )
        def a():
            pass
        """
    )
    out = apply_rule(StateHandlersRule, src)
    assert "from prefect.engine.state import Failed" not in out
    assert 'def h_on_failure(task, task_run, state):\n    """Doc."""\n    bad(task)\n' in out
    assert (
        'def h_on_completion(task, task_run, state):\n    """Doc."""\n'
        "    good(state.result(raise_on_failure=False))\n\n" in out
    )
    assert (
        "@task(\n    on_failure=[h_on_failure],\n    on_completion=[h_on_completion],\n)\n" in out
    )
    assert apply_rule(StateHandlersRule, out) == out


def test_handler_used_elsewhere_is_kept():
    out = apply_rule(
        StateHandlersRule,
        f"from prefect import task\n\n\n{FAILED_HANDLER}\n\n@task(state_handlers=[notify])\n"
        "def a():\n    pass\n\nOTHER = notify\n",
    )
    assert out.count("def notify(obj, old_state, new_state):") == 1
    assert "def notify_on_failure(task, task_run, state):" in out
    assert out == (
        f"from prefect import task\n\n\n{FAILED_HANDLER}\n\n"
        "def notify_on_failure(task, task_run, state):\n"
        "    alert(task.name, state.message)\n\n\n"
        "@task(on_failure=[notify_on_failure])\n"
        "def a():\n"
        "    pass\n\n"
        "OTHER = notify\n"
    )


def test_p1_on_failure_callable_becomes_hook_list():
    assert_rewrite(
        StateHandlersRule,
        "from prefect import task\n\ndef tell(obj, state):\n    alert(obj, state.message)\n\n"
        "@task(on_failure=tell, name='a')\ndef a():\n    pass\n",
        "from prefect import task\n\ndef tell_on_failure(task, task_run, state):\n"
        "    alert(task, state.message)\n\n@task(on_failure=[tell_on_failure], name='a')\ndef a():\n    pass\n",
    )


def test_task_call_form():
    out = apply_rule(
        StateHandlersRule,
        f"from prefect import task\n\n\n{FAILED_HANDLER}\n\ndef f():\n    pass\n\n"
        "a = task(f, state_handlers=[notify])\n",
    )
    assert "a = task(f, on_failure=[notify_on_failure])\n" in out
    assert out == (
        "from prefect import task\n\n\n"
        "def notify_on_failure(task, task_run, state):\n"
        "    alert(task.name, state.message)\n\n\n"
        "def f():\n"
        "    pass\n\n"
        "a = task(f, on_failure=[notify_on_failure])\n"
    )


@pytest.mark.parametrize(
    ("handler", "reason", "why"),
    [
        (
            "def h(obj, old_state, new_state):\n    if old_state.is_running() and new_state.is_failed():\n"
            "        alert()\n    return new_state\n",
            "it reads old_state",
            "it reads old_state (Prefect 2 hooks only see the new state)",
        ),
        (
            "def h(obj, old_state, new_state):\n    if new_state.is_failed():\n"
            "        return Success()\n    return new_state\n",
            "it returns a different state",
            "it returns a different state (hooks cannot change the state)",
        ),
        (
            "def h(obj, old_state, new_state):\n    alert(new_state)\n    return new_state\n",
            "does more than act under",
            "it does more than act under new_state.is_failed()/is_successful()",
        ),
        (
            "def h(obj, old_state, new_state):\n    if new_state.is_failed():\n        a()\n"
            "    else:\n        b()\n    return new_state\n",
            "else branch",
            "its if has an else branch (it acts on every other state)",
        ),
        (
            "def h(obj, new_state):\n    pass\n",
            "signature",
            "its signature is not (obj, old_state, new_state)",
        ),
        (
            "from helpers import h\n",
            "not a function defined in this module",
            "it is not a function defined in this module",
        ),
    ],
)
def test_human_cases_drop_option_with_todo(handler, reason, why):
    src = f"from prefect import task\n\n{handler}\n@task(retries=1, state_handlers=[h])\ndef a():\n    pass\n"
    out = apply_rule(StateHandlersRule, src)
    assert "@task(retries=1)\n" in out
    todo = out.splitlines()[-4]
    assert todo.startswith("# TODO(prefect2-migration): PF012 state handler h removed: ")
    assert reason in todo and "(task, task_run, state)" in todo
    assert handler.splitlines()[0] in out  # the handler itself is kept
    # the handler's reads of the Prefect 1 state are listed (the same root cause)
    params = re.match(r"def h\((.*)\):", handler)
    state = params.group(1).split(", ")[-1] if params else None
    lines = [
        i + 3
        for i, line in enumerate(handler.splitlines())
        if state and i and re.search(rf"\b{state}\b", line)
    ]
    where = ""
    if lines:
        shown = ", ".join(map(str, lines))
        where = f" (its `{state}` is read at line{'s' if len(lines) > 1 else ''} {shown})"
    expected_todo = todo_text(
        "PF012",
        f"state handler h removed: {why}; adapt it{where} by hand to an on_failure=/"
        "on_completion= hook with signature (task, task_run, state)",
    )
    assert out == (
        f"from prefect import task\n\n{handler}\n{expected_todo}\n"
        "@task(retries=1)\ndef a():\n    pass\n"
    )
    assert apply_rule(StateHandlersRule, out) == out


def test_slack_notifier_points_to_automations():
    out = apply_rule(
        StateHandlersRule,
        "from prefect import task\nfrom prefect.utilities.notifications import slack_notifier\n\n"
        "@task(state_handlers=[slack_notifier(only_states=[Failed])])\ndef a():\n    pass\n",
    )
    assert "prefect.utilities.notifications" not in out.split("# TODO")[0]
    assert (
        "PF012 state handler slack_notifier(only_states=[Failed]) removed: use a Prefect automation"
        in out
    )
    assert "@task()\ndef a():" in out
    assert out == (
        "from prefect import task\n\n"
        + todo_text(
            "PF012",
            "state handler slack_notifier(only_states=[Failed]) removed: use a Prefect automation "
            "for notifications instead (meta-flows creates notification automations)",
        )
        + "\n@task()\ndef a():\n    pass\n"
    )


@pytest.mark.parametrize(
    "src",
    [
        "from prefect import task\n\ndef h(t, tr, s):\n    pass\n\n@task(on_failure=[h])\ndef a():\n    pass\n",
        "from prefect import flow\n\n@flow(on_completion=[h], on_failure=[h])\ndef a():\n    pass\n",
        "from mylib import task\n\n@task(state_handlers=[h])\ndef a():\n    pass\n",
        "def task(**kw):\n    pass\n\n@task(on_failure=h)\ndef a():\n    pass\n",
        "from prefect import task\n\n@task(retries=2)\ndef a():\n    pass\n",
    ],
)
def test_noop(src):
    assert_noop(StateHandlersRule, src)


def test_adapted_hook_runs_when_a_task_fails(tmp_path, prefect_api):
    """Under Prefect 2.20 the adapted hooks are called: failure for the task, completion for another."""
    log = tmp_path / "hooks.log"
    src = textwrap.dedent(
        f"""
        from prefect import flow, task


        def record(obj, old_state, new_state):
            if new_state.is_failed():
                with open({str(log)!r}, "a") as fh:
                    fh.write("failed " + obj.name + " " + str(new_state.message) + "\\n")
            if new_state.is_successful():
                with open({str(log)!r}, "a") as fh:
                    fh.write("ok " + obj.name + "\\n")
            return new_state


        @task(name="good", state_handlers=[record])
        def good():
            return 1


        @task(name="bad", state_handlers=[record])
        def bad():
            raise ValueError("boom")


        @flow(name="hooked", state_handlers=[record])
        def hooked_flow():
            good()
            bad()

        """
    )
    out = apply_rule(StateHandlersRule, src)
    assert "state_handlers" not in out
    path = tmp_path / "hooked.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("hooked", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = module.hooked_flow(return_state=True)
    assert state.is_failed()
    lines = log.read_text().splitlines()
    assert "ok good" in lines
    assert any(line.startswith("failed bad ") and "boom" in line for line in lines)
    assert any(line.startswith("failed hooked ") for line in lines)
