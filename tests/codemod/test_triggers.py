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
FAILED_HEAD = (
    "from prefect import allow_failure, flow, task\nfrom prefect.states import Failed\n\n\n"
)
NONE_FAILED = "Failed(message='Trigger was \"any_failed\" but none of the upstream tasks failed.')"
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
            "@task(trigger=triggers.some_failed(at_least=n))\ndef t():\n    pass\n",
            "from prefect import task\n"
            + todo_text(
                "PF009",
                "trigger=triggers.some_failed(at_least=n) removed (no Prefect 2 equivalent): call "
                "the upstream tasks with return_state=True and only call this task when their "
                "states match the trigger",
            )
            + "\n@task\ndef t():\n    pass\n",
            id="some-failed-factory-not-literal",
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
            "    cleanup_state = cleanup(allow_failure(a), return_state=True)\n"
            "    return cleanup_state\n",
            id="return-of-trigger-call",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import any_failed\n"
            + TASKS
            + "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    alert(upstream_tasks=[a])\n",
            FAILED_HEAD + TASKS + "@task\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    if any(s.is_failed() for s in (a,)):\n"
            "        alert_state = alert(wait_for=[allow_failure(a)], return_state=True)\n"
            f"    else:\n        alert_state = {NONE_FAILED}\n"
            f"    {TERMINAL_COMMENT}\n    return alert_state\n",
            id="any-failed-guard-terminal-state-returned",
        ),
        pytest.param(
            "from prefect import flow, task\nfrom prefect.triggers import all_finished, any_failed\n"
            + TASKS
            + "@task(trigger=all_finished)\ndef cleanup():\n    pass\n\n"
            "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract()\n    c = cleanup(upstream_tasks=[a])\n"
            "    n = alert(upstream_tasks=[a])\n",
            FAILED_HEAD
            + TASKS
            + "@task\ndef cleanup():\n    pass\n\n@task\ndef alert():\n    pass\n\n"
            "@flow\ndef f():\n    a = extract(return_state=True)\n"
            "    c = cleanup(wait_for=[allow_failure(a)])\n"
            "    if any(s.is_failed() for s in (a,)):\n"
            "        n = alert(wait_for=[allow_failure(a)], return_state=True)\n"
            f"    else:\n        n = {NONE_FAILED}\n"
            f"    {TERMINAL_COMMENT}\n    return n\n",
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


def _flow(imports: str, tasks: str, body: str, params: str = "") -> str:
    return (
        f"{imports}\n"
        + TASKS
        + tasks
        + f"@flow\ndef f({params}):\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
    )


P1 = "from prefect import flow, task\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import all_finished, any_failed",
                "@task(trigger=any_failed)\ndef alert():\n    pass\n\n"
                "@task(trigger=all_finished)\ndef cleanup():\n    pass\n\n",
                "a = extract()\nn = alert(upstream_tasks=[a])\nc = cleanup(upstream_tasks=[n])",
            ),
            _flow(
                "from prefect import allow_failure, flow, task\n"
                "from prefect.states import Completed, Failed\n\n",
                "@task\ndef alert():\n    pass\n\n@task\ndef cleanup():\n    pass\n\n",
                "a = extract(return_state=True)\nif any(s.is_failed() for s in (a,)):\n"
                "    n = alert(wait_for=[allow_failure(a)], return_state=True)\n"
                f"else:\n    n = {NONE_FAILED}\nc = cleanup(wait_for=[allow_failure(n)])\n"
                f'{TERMINAL_COMMENT}\nreturn Completed(message="All reference tasks succeeded.")',
            ),
            id="trigger-task-upstream-of-another-gets-its-state",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import some_successful",
                "@task(trigger=some_successful(1, at_most=0.5))\ndef report(x, y):\n    pass\n\n",
                "a = extract()\nb = load(2)\nreport(a, y=b)",
            ),
            _flow(
                FAILED_HEAD.rstrip("\n") + "\n\n",
                "@task\ndef report(x, y):\n    pass\n\n",
                "a = extract(return_state=True)\nb = load(2, return_state=True)\n"
                "if 1 <= sum(s.is_completed() for s in (a, b)) <= 1:\n"
                "    report_state = report(allow_failure(a), y=allow_failure(b), return_state=True)\n"
                'else:\n    report_state = Failed(message=\'Trigger was "some_successful" but '
                "thresholds were not met.')\n"
                f"{TERMINAL_COMMENT}\nreturn report_state",
            ),
            id="some-successful-bounds-share-of-known-count",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import some_failed",
                "@task(trigger=some_failed(at_least=2))\ndef page(x):\n    pass\n\n",
                "a = extract()\nb = load(2)\np = page(a, upstream_tasks=[b])\nreturn p",
            ),
            _flow(
                FAILED_HEAD.rstrip("\n") + "\n\n",
                "@task\ndef page(x):\n    pass\n\n",
                "a = extract(return_state=True)\nb = load(2, return_state=True)\n"
                "if sum(s.is_failed() for s in (a, b)) >= 2:\n"
                "    p = page(allow_failure(a), wait_for=[allow_failure(b)], return_state=True)\n"
                'else:\n    p = Failed(message=\'Trigger was "some_failed" but thresholds were '
                "not met.')\nreturn p",
            ),
            id="some-failed-at-least-result-returned",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import some_successful",
                "@task(trigger=some_successful)\ndef report(x):\n    pass\n\n",
                "a = extract()\nr = report(a)\nreturn r",
            ),
            _flow(
                "from prefect import allow_failure, flow, task",
                "@task\ndef report(x):\n    pass\n\n",
                "a = extract(return_state=True)\n"
                "r = report(allow_failure(a), return_state=True)\nreturn r",
            ),
            id="some-successful-uncalled-always-runs",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import any_successful",
                "@task(trigger=any_successful)\ndef total(xs):\n    return sum(xs)\n\n",
                "parts = load.map(items)\nreturn total(parts)",
                "items",
            ),
            _flow(
                FAILED_HEAD.rstrip("\n") + "\n\n",
                "@task\ndef total(xs):\n    return sum(xs)\n\n",
                "parts = load.map(items)\n"
                "parts_states = [future.wait() for future in parts]\n"
                "if any(s.is_completed() for s in parts_states):\n"
                "    total_state = total(allow_failure(parts), return_state=True)\n"
                'else:\n    total_state = Failed(message=\'Trigger was "any_successful" but '
                "none of the upstream tasks succeeded.')\nreturn total_state",
                "items",
            ),
            id="map-upstream-each-child-state-counts",
        ),
        pytest.param(
            _flow(
                "from prefect import flow, task, unmapped\nfrom prefect.triggers import any_failed",
                "@task(trigger=any_failed)\ndef retry(x):\n    pass\n\n",
                "parts = load.map(items)\n"
                "return retry.map(items, upstream_tasks=[unmapped(parts)])",
                "items",
            ),
            _flow(
                "from prefect import allow_failure, flow, task, unmapped\n"
                "from prefect.states import Failed\n\n",
                "@task\ndef retry(x):\n    pass\n\n",
                "parts = load.map(items)\n"
                "parts_states = [future.wait() for future in parts]\n"
                "if any(s.is_failed() for s in parts_states):\n"
                "    retry_result = retry.map(items, upstream_tasks=[unmapped(allow_failure(parts))])\n"
                f"else:\n    retry_result = {NONE_FAILED}\nreturn retry_result",
                "items",
            ),
            id="mapped-trigger-task-unmapped-upstream-one-check",
        ),
    ],
)
def test_rewrite_checked_shapes(before, after):
    assert_rewrite(RULE, before, after)


@pytest.mark.parametrize(
    ("before", "task", "label", "meaning"),
    [
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import any_failed",
                "@task(trigger=any_failed)\ndef retry(x):\n    pass\n\n",
                "parts = load.map(items)\nreturn retry.map(parts)",
                "items",
            ),
            "retry",
            "any_failed",
            "it ran only when any of its upstream tasks failed",
            id="mapped-over-a-map-each-child-decides",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import some_failed",
                "@task(trigger=some_failed(at_most=0.5))\ndef report(x):\n    pass\n\n",
                "parts = load.map(items)\nreport(parts)",
                "items",
            ),
            "report",
            "some_failed(at_most=0.5)",
            "it ran only when at most 50% of its upstream tasks failed",
            id="share-of-a-count-known-at-run-time",
        ),
        pytest.param(
            _flow(
                P1 + "from prefect.triggers import all_failed",
                "@task(trigger=all_failed)\ndef retry(x, y):\n    pass\n\n",
                "a = extract()\nretry(a, y=items)",
                "items",
            ),
            "retry",
            "all_failed",
            "it ran only when all of its upstream tasks failed",
            id="all-failed-with-an-upstream-known-to-succeed",
        ),
    ],
)
def test_not_provable_keeps_the_call_under_one_todo(before, task, label, meaning):
    out = apply_rule(RULE, before)
    message = (
        f"{task} had trigger={label} in Prefect 1 ({meaning}): call its upstream tasks with "
        f"return_state=True"
    )
    assert out.count("TODO(prefect2-migration)") == 1 and message in out, out
    assert "return_state" not in out.split("TODO")[0] and "Failed" not in out
    assert apply_rule(RULE, out) == out


def test_check_loop_variable_does_not_shadow_an_upstream_named_s():
    src = _flow(
        P1 + "from prefect.triggers import any_failed",
        "@task(trigger=any_failed)\ndef alert(x):\n    pass\n\n",
        "s = extract()\nalert(s)",
    )
    out = apply_rule(RULE, src)
    assert "    if any(state.is_failed() for state in (s,)):\n" in out, out


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
        "from prefect import flow, task\n"
        "from prefect.triggers import all_finished, any_failed, any_successful\n\n"
        "RAN = []\n\n"
        "@task\ndef extract(fail):\n    if fail:\n        raise ValueError('boom')\n    return 1\n\n"
        "@task(trigger=all_finished)\ndef cleanup(x):\n    RAN.append(('cleanup', repr(x)))\n\n"
        "@task(trigger=any_failed)\ndef alert():\n    RAN.append(('alert',))\n\n"
        "@flow\ndef f(fail):\n    a = extract(fail)\n    cleanup(a)\n    return 'done'\n\n"
        "@flow\ndef g(fail):\n    a = extract(fail)\n    alert(upstream_tasks=[a])\n\n"
        "@task\ndef invert(x):\n    return 1 / x\n\n"
        "@task(trigger=any_successful)\ndef total(xs):\n    RAN.append(('total', repr(xs)))\n\n"
        "@flow\ndef h(xs):\n    parts = invert.map(xs)\n    total(parts)\n"
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
    # Prefect 1.4.1: alert (terminal) ends TriggerFailed when nothing failed: the run Failed
    assert ns["g"](False, return_state=True).is_failed() and ns["RAN"] == []
    assert ns["g"](True, return_state=True).is_completed() and ns["RAN"] == [("alert",)]
    ns["RAN"].clear()
    # a map upstream: each child's state counts, the failed child's value is its exception
    assert ns["h"]([0, 1], return_state=True).is_completed()
    assert ns["RAN"] == [("total", "[ZeroDivisionError('division by zero'), 1.0]")]
    assert ns["h"]([0], return_state=True).is_failed()
