"""PF009 triggers: trigger= options removed; all_finished/any_failed call sites made explicit."""

import runpy

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.triggers import RULE, TERMINAL_COMMENT
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite

OUT_HEAD = (
    "from prefect import allow_failure, flow, task\nfrom prefect.states import Completed\n\n\n"
)
END = f'    {TERMINAL_COMMENT}\n    return Completed(message="All reference tasks succeeded.")\n'
TASKS = "@task\ndef extract():\n    return 1\n\n@task\ndef load(x):\n    return x\n\n"


def fallback(name: str, trigger: str, semantics: str) -> str:
    return todo_text(
        "PF009",
        f"{name} had trigger={trigger} in Prefect 1 ({semantics}): call its upstream tasks with "
        f"return_state=True, pass them as allow_failure(...) / wait_for=[allow_failure(...)] and "
        f"call it (guarded when the trigger needs it)",
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "from prefect import task\nfrom prefect.triggers import all_successful\n"
            "@task(trigger=all_successful)\ndef t():\n    pass\n",
            "from prefect import task\n@task\ndef t():\n    pass\n",
            id="default-dropped",
        ),
        pytest.param(
            "import prefect\nfrom prefect import task\n"
            "@task(max_retries=2, trigger=prefect.triggers.not_all_skipped)\ndef t():\n    pass\n",
            "import prefect\nfrom prefect import task\n@task(max_retries=2)\ndef t():\n    pass\n",
            id="not-all-skipped-dropped-dotted",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.triggers import manual_only\n"
            "@task(trigger=manual_only)\ndef t():\n    pass\n",
            "from prefect import task\n"
            + todo_text(
                "PF009",
                "trigger=manual_only removed: call prefect.pause_flow_run() in the flow before "
                "this task so a human approves the run",
            )
            + "\n@task\ndef t():\n    pass\n",
            id="manual-only",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect import triggers\n"
            "@task(trigger=triggers.some_failed(at_least=2))\ndef t():\n    pass\n",
            "from prefect import task\n"
            + todo_text(
                "PF009",
                "trigger=triggers.some_failed(at_least=2) removed (no Prefect 2 equivalent): call "
                "the upstream tasks with return_state=True and only call this task when their "
                "states match the trigger",
            )
            + "\n@task\ndef t():\n    pass\n",
            id="some-failed-factory",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    b = load(1)\n"
            "    cleanup(a, upstream_tasks=[b])\n",
            OUT_HEAD + TASKS + "@task\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n    b = load(1, return_state=True)\n"
            "    cleanup(allow_failure(a), wait_for=[allow_failure(b)])\n" + END,
            id="all-finished",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import always_run\n"
            + TASKS
            + "@task(trigger=always_run)\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    r = cleanup(x=a)\n    done(r)\n",
            OUT_HEAD + TASKS + "@task\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    r = cleanup(x=allow_failure(a))\n    done(r)\n" + END,
            id="always-run-keyword-assigned",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    return cleanup(a)\n",
            "from prefect import allow_failure, flow, task\n"
            + TASKS
            + "@task\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    cleanup_result = cleanup(allow_failure(a))\n    return cleanup_result\n",
            id="return-of-trigger-call",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import any_failed\n"
            + TASKS
            + "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    alert(upstream_tasks=[a])\n",
            OUT_HEAD + TASKS + "@task\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    if any(s.is_failed() for s in (a,)):\n"
            "        alert(wait_for=[allow_failure(a)])\n" + END,
            id="any-failed-guard",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished, any_failed\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup():\n    pass\n\n"
            "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    c = cleanup(upstream_tasks=[a])\n"
            "    n = alert(upstream_tasks=[a])\n",
            OUT_HEAD
            + TASKS
            + "@task\ndef cleanup():\n    pass\n\n@task\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    c = cleanup(wait_for=[allow_failure(a)])\n"
            "    if any(s.is_failed() for s in (a,)):\n"
            "        n = alert(wait_for=[allow_failure(a)])\n" + END,
            id="two-trigger-tasks-share-an-upstream-guarded-assignment",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import any_failed\n"
            + TASKS
            + "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    n = alert(upstream_tasks=[a])\n"
            "    load(n)\n",
            "from prefect import flow, task\n" + TASKS + "@task\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n"
            f"    {fallback('alert', 'any_failed', 'it ran only when any of its upstream tasks failed')}\n"
            "    n = alert(upstream_tasks=[a])\n    load(n)\n",
            id="guarded-result-read-elsewhere-todo",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    b = load(a)\n"
            "    cleanup(a, upstream_tasks=[b])\n",
            OUT_HEAD + TASKS + "@task\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    b = load(a, return_state=True)\n"
            + "    "
            + todo_text(
                "PF009",
                "cleanup (trigger=all_finished) still runs after failures of its other upstream "
                "tasks, but not when the task producing `a` fails: Prefect 1 ran it then too, "
                "Prefect 2 stops at that call; if that path matters, call it with "
                "return_state=True and pass its state here",
            )
            + "\n    cleanup(a, wait_for=[allow_failure(b)])\n"
            + END,
            id="data-upstream-used-elsewhere-stays-a-value-todo",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    load(a)\n"
            "    cleanup(upstream_tasks=[a])\n",
            "from prefect import flow, task\n" + TASKS + "@task\ndef cleanup():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    load(a)\n"
            f"    {fallback('cleanup', 'all_finished', 'it ran even when upstream tasks failed')}\n"
            "    cleanup(upstream_tasks=[a])\n",
            id="upstream-used-elsewhere-todo",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished\n"
            "@task(trigger=all_finished)\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f(xs):\n    for x in xs:\n        cleanup(x)\n",
            "from prefect import flow, task\n"
            + todo_text(
                "PF009",
                "trigger=all_finished removed: it ran even when upstream tasks failed; at each call "
                "site call the upstream tasks with return_state=True and pass them as "
                "allow_failure(...) (see docs/spec.md §8)",
            )
            + "\n@task\ndef cleanup(x):\n    pass\n\n"
            "@flow\ndef f(xs):\n    for x in xs:\n"
            f"        {fallback('cleanup', 'all_finished', 'it ran even when upstream tasks failed')}\n"
            "        cleanup(x)\n",
            id="loop-todo",
        ),
    ],
)
def test_rewrite(before, after):
    assert_rewrite(RULE, before, after)


def test_definition_without_call_site_gets_todo():
    src = (
        "from prefect import task\nfrom prefect.triggers import all_finished\n"
        "@task(trigger=all_finished)\ndef cleanup():\n    pass\n"
    )
    out = apply_rule(RULE, src)
    assert "PF009 trigger=all_finished removed: it ran even when upstream tasks failed" in out
    assert "@task\ndef cleanup" in out and "triggers" not in out
    todo = todo_text(
        "PF009",
        "trigger=all_finished removed: it ran even when upstream tasks failed; at each call site "
        "call the upstream tasks with return_state=True and pass them as allow_failure(...) (see "
        "docs/spec.md §8)",
    )
    assert out == f"from prefect import task\n{todo}\n@task\ndef cleanup():\n    pass\n"


@pytest.mark.parametrize(
    "source",
    [
        "from prefect import task\n@task(retries=2)\ndef t():\n    pass\n",
        "from mylib import task, all_finished\n@task(trigger=all_finished)\ndef t():\n    pass\n",
        "from prefect import task\ndef all_finished(x):\n    return True\n"
        "@task(trigger=all_finished)\ndef t():\n    pass\n",
        "from other import Job\nJob(trigger='manual')\n",
    ],
)
def test_noop(source):
    assert_noop(RULE, source)


def test_run_cleanup_runs_and_flow_state_as_in_prefect1_and_guard(tmp_path, prefect_api):
    src = (
        "from prefect import flow, task\nfrom prefect.triggers import all_finished, any_failed\n\n"
        "RAN = []\n\n"
        "@task\ndef extract(fail):\n    if fail:\n        raise ValueError('boom')\n    return 1\n\n"
        "@task(trigger=all_finished)\ndef cleanup(x):\n    RAN.append(('cleanup', repr(x)))\n\n"
        "@task(trigger=any_failed)\ndef alert():\n    RAN.append(('alert',))\n\n"
        "@flow\ndef f(fail):\n    a = extract(fail)\n    cleanup(a)\n    return 'done'\n\n"
        "@flow\ndef g(fail):\n    a = extract(fail)\n    alert(upstream_tasks=[a])\n"
    )
    code = apply_rule(RULE, src)
    assert "return_state=True" in code and "allow_failure(a)" in code
    path = tmp_path / "migrated.py"
    path.write_text(code)
    ns = runpy.run_path(str(path))
    state = ns["f"](True, return_state=True)
    # Prefect 1.4.1: the flow's state is its terminal tasks' (cleanup succeeded): Success
    assert state.is_completed()
    assert ns["RAN"] == [("cleanup", "ValueError('boom')")]  # cleanup ran with the error
    assert ns["f"](False) == "done"
    assert ns["RAN"][-1] == ("cleanup", "1")
    ns["RAN"].clear()
    assert ns["g"](False, return_state=True).is_completed() and ns["RAN"] == []
    assert ns["g"](True, return_state=True).is_completed() and ns["RAN"] == [("alert",)]
