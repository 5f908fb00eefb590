"""PF011 signals: raise signals.X -> exceptions / Completed states / a loop in the task, or
commented out under a TODO."""

import runpy

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.signals import (
    LOOP_CLASS_CODE,
    LOOP_INFO,
    LOOP_OUTSIDE,
    RULE,
)
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

SKIP_TODO = todo_text(
    "PF011",
    'signals.SKIP became a Completed state named "Skipped", but Prefect 2 runs what depends on '
    "this task anyway: where a flow uses its result, call the task with return_state=True and run "
    'those only when the state\'s name is not "Skipped" (Prefect 1 skipped them and the flow run '
    "still succeeded); Prefect 1 skipped every task downstream of it",
)
RETRY_TODO = todo_text(
    "PF011",
    "signals.RETRY became RuntimeError: configure retries= (and retry_delay_seconds=) on the task "
    "so Prefect 2 retries it",
)
BROADER = "this now also matches other RuntimeErrors"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "from prefect.engine import signals\ndef f():\n    raise signals.FAIL('bad')\n",
            "def f():\n    raise RuntimeError('bad')\n",
            id="fail-module",
        ),
        pytest.param(
            "from prefect.engine.signals import FAIL\ndef f():\n    raise FAIL(message='bad')\n",
            "def f():\n    raise RuntimeError('bad')\n",
            id="fail-name-message-kw",
        ),
        pytest.param(
            "import prefect\ndef f():\n    raise prefect.engine.signals.FAIL\n",
            "import prefect\ndef f():\n    raise RuntimeError\n",
            id="fail-dotted-no-call",
        ),
        pytest.param(
            "from prefect import signals\ndef f(e):\n    raise signals.TRIGGERFAIL('x') from e\n",
            "def f(e):\n    raise RuntimeError('x') from e\n",
            id="triggerfail-from-prefect",
        ),
        pytest.param(
            "from prefect.engine.signals import VALIDATIONFAIL\n"
            "def f():\n    raise VALIDATIONFAIL('x')  # why\n",
            "def f():\n    raise RuntimeError('x')  # why\n",
            id="validationfail-keeps-comment",
        ),
        pytest.param(
            "from prefect.engine import signals\ndef f():\n    raise signals.FAIL('x', result=1)\n",
            "def f():\n"
            f"    {todo_text('PF011', 'signals.FAIL: result= dropped (RuntimeError)')}\n"
            "    raise RuntimeError('x')\n",
            id="fail-result-dropped",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task\ndef t():\n    raise signals.SUCCESS('done')\n",
            "from prefect import task\nfrom prefect.states import Completed\n\n\n"
            "@task\ndef t():\n    return Completed(message='done')\n",
            id="success-in-task",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine.signals import SUCCESS\n"
            "@task(name='t')\ndef t():\n    raise SUCCESS()\n",
            "from prefect import task\nfrom prefect.states import Completed\n\n\n"
            "@task(name='t')\ndef t():\n    return Completed()\n",
            id="success-no-message",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task\ndef t(x):\n    if not x:\n        raise signals.SKIP('empty')\n    return x\n",
            "from prefect import task\nfrom prefect.states import Completed\n\n\n"
            "@task\ndef t(x):\n    if not x:\n"
            f"        {SKIP_TODO}\n"
            "        return Completed(message='skipped: empty', name=\"Skipped\")\n    return x\n",
            id="skip-in-task",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task\ndef t(x):\n    raise signals.SKIP(f'no {x}')\n",
            "from prefect import task\nfrom prefect.states import Completed\n\n\n"
            f"@task\ndef t(x):\n    {SKIP_TODO}\n    return Completed(message=f'skipped: no {{x}}', name=\"Skipped\")\n",
            id="skip-fstring",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task\ndef t(x):\n    raise signals.SKIP(x)\n",
            "from prefect import task\nfrom prefect.states import Completed\n\n\n"
            f"@task\ndef t(x):\n    {SKIP_TODO}\n"
            '    return Completed(message="skipped: " + str(x), name="Skipped")\n',
            id="skip-expression",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task(max_retries=3)\ndef t():\n    raise signals.RETRY('again')\n",
            "from prefect import task\n@task(max_retries=3)\ndef t():\n"
            "    raise RuntimeError('again')\n",
            id="retry-with-retries",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine import signals\n"
            "@task\ndef t():\n    raise signals.RETRY('again')\n",
            f"from prefect import task\n@task\ndef t():\n    {RETRY_TODO}\n"
            "    raise RuntimeError('again')\n",
            id="retry-without-retries",
        ),
        pytest.param(
            "from prefect.engine import signals\n"
            "def f():\n    try:\n        g()\n    except signals.FAIL:\n        pass\n",
            "def f():\n"
            f"    {todo_text('PF011', 'signals.FAIL became RuntimeError here (as the rewritten raises): ' + BROADER)}\n"
            "    try:\n        g()\n    except RuntimeError:\n        pass\n",
            id="except-fail",
        ),
        pytest.param(
            "from prefect.engine.signals import FAIL\ndef f(e):\n    return isinstance(e, FAIL)\n",
            "def f(e):\n"
            f"    {todo_text('PF011', 'signals.FAIL became RuntimeError here (as the rewritten raises): ' + BROADER)}\n"
            "    return isinstance(e, RuntimeError)\n",
            id="isinstance-fail",
        ),
        pytest.param(
            "from prefect.engine import signals\ndef f():\n    raise signals.PAUSE('wait')\n",
            "def f():\n"
            f"    {todo_text('PF011', 'signals.PAUSE: call prefect.pause_flow_run() in the flow before this task instead')}\n"
            "    # raise signals.PAUSE('wait')\n    pass\n",
            id="pause",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine.signals import ENDRUN\n"
            "@task\ndef t(state):\n    raise ENDRUN(state)\n",
            "from prefect import task\n@task\ndef t(state):\n"
            "    # TODO(prefect2-migration): PF011 signals.ENDRUN(state) has no Prefect 2 equivalent: "
            "return a Prefect 2 state (prefect.states.Completed/Failed/Cancelled) from the task "
            "instead; P1 state objects differ\n"
            "    # raise ENDRUN(state)\n    pass\n",
            id="endrun",
        ),
        pytest.param(
            "from prefect.engine import signals\ndef helper():\n    raise signals.SUCCESS('x')\n",
            "def helper():\n"
            "    # TODO(prefect2-migration): PF011 signals.SUCCESS raised outside a @task function: "
            "return prefect.states.Completed(message=...) from the task instead\n"
            "    # raise signals.SUCCESS('x')\n    pass\n",
            id="success-outside-task",
        ),
        pytest.param(
            "from prefect.engine import signals\n"
            "def f(e):\n    if isinstance(e, signals.SKIP):\n        return 1\n",
            "def f(e):\n"
            "    # TODO(prefect2-migration): PF011 signals.SKIP does not exist in Prefect 2: rewrite "
            "this without it\n"
            "    # if isinstance(e, signals.SKIP):\n    #     return 1\n    pass\n",
            id="other-reference-commented",
        ),
    ],
)
def test_rewrite(before, after):
    assert_rewrite(RULE, before, after)


# ---------------------------------------------------------------- LOOP (spec §10.2)

CLASS = f"\n\n\n{LOOP_CLASS_CODE}\n\n"
LOOP_HEAD = f"    {LOOP_INFO}\n    while True:\n        try:\n"
CAUGHT = (
    "        except Prefect1Loop as loop:\n"
    "            loop_count, loop_result = loop_count + 1, loop.result\n"
)
LOCALS = "    loop_count, loop_result = 1, None\n"


def _loop_task(*lines: str, decorator: str = "@task") -> str:
    return f"{decorator}\ndef t(x):\n" + "".join(f"    {line}\n" for line in lines)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import prefect\nfrom prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            '@task\ndef pages(size):\n    """Every page."""\n'
            "    seen = prefect.context.get('task_loop_result', [])\n"
            "    seen = seen + fetch(len(seen), size)\n"
            "    if len(seen) < 10:\n        raise LOOP(f'{len(seen)} so far', result=seen)\n"
            "    return seen\n",
            f"from prefect import task{CLASS}"
            '@task\ndef pages(size):\n    """Every page."""\n'
            f"{LOCALS}{LOOP_HEAD}"
            "            seen = loop_result if loop_count > 1 else []\n"
            "            seen = seen + fetch(len(seen), size)\n"
            "            if len(seen) < 10:\n"
            "                raise Prefect1Loop(f'{len(seen)} so far', result=seen)\n"
            f"            return seen\n{CAUGHT}",
            id="result-read-with-default",
        ),
        pytest.param(
            "from prefect import context, task\nfrom prefect.engine import signals\n\n"
            + _loop_task(
                "n = context.get('task_loop_count', 1)",
                "last = context.get(key='task_loop_result')",
                "first = context.get('task_loop_count') is None",
                "total = context.get('task_loop_result', {}).get('total', 0) + n",
                "if n < x:",
                "    raise signals.LOOP(message='more', result={'total': total})",
                "print(last, first)",
            ),
            f"from prefect import task{CLASS}"
            "@task\ndef t(x):\n"
            f"{LOCALS}{LOOP_HEAD}"
            "            n = loop_count\n"
            "            last = loop_result\n"
            "            first = (loop_count if loop_count > 1 else None) is None\n"
            "            total = (loop_result if loop_count > 1 else {}).get('total', 0) + n\n"
            "            if n < x:\n"
            "                raise Prefect1Loop(message='more', result={'total': total})\n"
            f"            print(last, first)\n{CAUGHT}"
            "        else:\n            break\n",
            id="count-and-result-forms-falls-through",
        ),
        pytest.param(
            "import prefect\nfrom prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            + _loop_task(
                "count = prefect.context.task_loop_count",
                "if count < 3:  # again",
                "    raise LOOP",
                "return prefect.context['task_loop_result']",
            ),
            f"from prefect import task{CLASS}"
            "@task\ndef t(x):\n"
            f"{LOCALS}{LOOP_HEAD}"
            "            count = loop_count\n"
            "            if count < 3:  # again\n"
            "                raise Prefect1Loop\n"
            f"            return loop_result\n{CAUGHT}",
            id="attribute-and-item-reads",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            + _loop_task("x.step()", "if not x.done:", "    raise LOOP('again')", "return x"),
            f"from prefect import task{CLASS}"
            "@task\ndef t(x):\n"
            f"{LOOP_HEAD}"
            "            x.step()\n            if not x.done:\n"
            "                raise Prefect1Loop('again')\n            return x\n"
            "        except Prefect1Loop:\n            continue\n",
            id="no-read-continues",
        ),
        pytest.param(
            "import prefect\nfrom prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            + _loop_task(
                "loop = prefect.context.get('task_loop_result', 0)",
                "loop_count = loop + 1",
                "if loop_count < 5:",
                "    raise LOOP(result=loop_count)",
                "return loop_count",
            ),
            f"from prefect import task{CLASS}"
            "@task\ndef t(x):\n"
            "    loop_count2, loop_result = 1, None\n"
            f"{LOOP_HEAD}"
            "            loop = loop_result if loop_count2 > 1 else 0\n"
            "            loop_count = loop + 1\n"
            "            if loop_count < 5:\n"
            "                raise Prefect1Loop(result=loop_count)\n"
            "            return loop_count\n"
            "        except Prefect1Loop as loop2:\n"
            "            loop_count2, loop_result = loop_count2 + 1, loop2.result\n",
            id="names-the-function-uses-avoided",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            + _loop_task(
                "try:",
                "    step(x)",
                "except LOOP:",
                "    log()",
                "    raise",
                "raise LOOP('next')",
                decorator="@task(retries=2, timeout_seconds=5)",
            ),
            f"from prefect import task{CLASS}"
            + "@task(retries=2, timeout_seconds=5)\ndef t(x):\n    {}\n".format(
                todo_text(
                    "PF011",
                    "signals.LOOP became a loop in the task: the timeout bounds the whole loop "
                    "(Prefect 1's bounded each iteration)",
                )
            )
            + f"{LOOP_HEAD}"
            "            try:\n                step(x)\n            except Prefect1Loop:\n"
            "                log()\n                raise\n"
            "            raise Prefect1Loop('next')\n"
            "        except Prefect1Loop:\n            continue\n",
            id="retries-timeout-todo-except-loop",
        ),
        pytest.param(
            "import prefect\nfrom prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            + _loop_task(
                "n = prefect.context.get('task_loop_result', 0)",
                "if n < 5:",
                "    raise LOOP(result=n + 1)",
                "return n",
                decorator="@task(max_retries=2)",
            ),
            f"from prefect import runtime, task{CLASS}"
            "@task(max_retries=2)\ndef t(x):\n"
            "    loop_count, loop_result = Prefect1Loop.retried.pop(runtime.task_run.id, (1, None))\n"
            f"{LOOP_HEAD}"
            "            n = loop_result if loop_count > 1 else 0\n"
            "            if n < 5:\n"
            "                raise Prefect1Loop(result=n + 1)\n"
            "            return n\n"
            f"{CAUGHT}"
            "        except BaseException:\n"
            "            Prefect1Loop.retried[runtime.task_run.id] = loop_count, loop_result\n"
            "            raise\n",
            id="retries-resume-the-failed-iteration",
        ),
        pytest.param(
            "from prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
            "@task\nasync def t(): raise LOOP('x')  # once more\n",
            f"from prefect import task{CLASS}"
            "@task\nasync def t():  # once more\n"
            f"{LOOP_HEAD}"
            "            raise Prefect1Loop('x')\n"
            "        except Prefect1Loop:\n            continue\n",
            id="one-line-async-def",
        ),
    ],
)
def test_loop_rewrite(before, after):
    assert_rewrite(RULE, before, after)


def test_loop_raised_outside_a_task_body_stays_code_under_one_todo():
    src = (
        "from prefect import task\nfrom prefect.engine import signals\n\n"
        "def again(n):\n    if n:\n        raise signals.LOOP('again', result=n - 1, loop_count=3)\n"
    )
    todo = todo_text("PF011", LOOP_OUTSIDE)
    dropped = todo_text(
        "PF011",
        "signals.LOOP: loop_count not carried over (Prefect1Loop takes the message and the loop "
        "result)",
    )
    assert_rewrite(
        RULE,
        src,
        f"from prefect import task{CLASS}"
        "def again(n):\n    if n:\n"
        f"        {dropped}\n        {todo}\n"
        "        raise Prefect1Loop('again', result=n - 1)\n",
    )


@pytest.mark.parametrize(
    "source",
    [
        "class LOOP(BaseException): pass\n@task\ndef t():\n    raise LOOP()\n",
        "from mylib import signals, context\nfrom prefect import task\n@task\ndef t():\n"
        "    n = context.get('task_loop_count', 1)\n    raise signals.LOOP(result=n)\n",
        f"from prefect import task{CLASS}" + _loop_task("raise Prefect1Loop(result=1)"),
    ],
    ids=["own-loop-class", "other-library", "already-migrated"],
)
def test_loop_noop(source):
    assert_noop(RULE, source)


def test_loop_task_through_the_pipeline_runs_as_prefect1_did():
    """The whole pipeline: no TODO, no Prefect 1 left, and the task loops in one call --
    Prefect 1 printed 1..4 and returned 4 (``task_loop_result`` absent in the first run)."""
    src = (
        "import prefect\nfrom prefect import Flow, task\nfrom prefect.engine.signals import LOOP\n\n"
        "@task\ndef climb():\n"
        "    state = prefect.context.get('task_loop_result', {'n': 1})\n"
        "    print(state['n'], prefect.context.get('task_loop_count', 1))\n"
        "    if state['n'] < 4:\n"
        "        raise LOOP(f\"at {state['n']}\", result={'n': state['n'] + 1})\n"
        "    return state['n']\n\n"
        "with Flow('climb') as flow:\n    climb()\n"
    )
    result = migrate(src)
    assert result.todos == []
    assert "prefect.engine" not in result.code and "prefect.context" not in result.code
    assert migrate(result.code).code == result.code
    ns: dict = {}
    exec(compile(result.code, "migrated.py", "exec"), ns)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert ns["climb"].fn() == 4
    assert out.getvalue() == "1 1\n2 2\n3 3\n4 4\n"


@pytest.mark.parametrize(
    "source",
    [
        "class FAIL(Exception): pass\ndef f():\n    raise FAIL('x')\n",
        "from mylib import signals\ndef f():\n    raise signals.FAIL('x')\n",
        "from prefect.engine import signals\ndef f(signals):\n    raise signals.FAIL('x')\n",
        "def f():\n    raise RuntimeError('x')\n",
        "from prefect import task\nfrom prefect.states import Completed\n"
        "@task\ndef t():\n    return Completed(message='ok')\n",
    ],
)
def test_noop(source):
    assert_noop(RULE, source)


def _run(tmp_path, code):
    path = tmp_path / "migrated.py"
    path.write_text(code)
    return runpy.run_path(str(path))


def test_run_fail_fails_flow_and_success_returns_completed(tmp_path, prefect_api):
    src = (
        "from prefect import flow, task\nfrom prefect.engine import signals\n\n"
        "@task\ndef bad():\n    raise signals.FAIL('bad input')\n\n"
        "@task\ndef good():\n    raise signals.SUCCESS('all good')\n\n"
        "@flow\ndef failing():\n    bad()\n\n"
        "@flow\ndef passing():\n    return good(return_state=True)\n"
    )
    code = apply_rule(RULE, src)
    assert "signals" not in code
    ns = _run(tmp_path, code)
    state = ns["failing"](return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="bad input"):
        state.result()
    task_state = ns["passing"]()
    assert task_state.is_completed() and task_state.message == "all good"


def test_pipeline_output_has_no_signals_import():
    src = (
        "from prefect import task\nfrom prefect.engine import signals\n\n"
        "@task\ndef t(x):\n    if x:\n        raise signals.FAIL('x')\n    raise signals.SKIP('y')\n"
    )
    code = migrate(src).code
    assert "prefect.engine" not in code
    assert code == (
        "from prefect import task\nfrom prefect.states import Completed\n\n"
        "@task\ndef t(x):\n    if x:\n        raise RuntimeError('x')\n"
        f"    {SKIP_TODO}\n    return Completed(message='skipped: y', name=\"Skipped\")\n"
    )
    compile(code, "x", "exec")


# ---------------------------------------------------------------------- SKIP and downstream calls

SKIP_TASKS = """\
from prefect import flow, task
from prefect.engine.signals import SKIP


@task
def pull_rows(day):
    if day == "holiday":
        raise SKIP("no rows on holidays")
    return [1, 2]


@task
def summarise(rows):
    return sum(rows)


@task
def audit():
    return "ok"


@task
def publish(total, note=None):
    print(total, note)

"""
SKIP_TASKS_AFTER = SKIP_TASKS.replace(
    "from prefect.engine.signals import SKIP\n", "from prefect.states import Completed\n"
).replace(
    '        raise SKIP("no rows on holidays")',
    '        return Completed(message="skipped: no rows on holidays", name="Skipped")',
)


def test_skip_guards_the_calls_downstream_in_the_flow():
    """The flow keeps the skipping task's state and runs what depended on its result only when
    it did not skip; independent calls stay unguarded, and no TODO is left."""
    assert_rewrite(
        RULE,
        SKIP_TASKS
        + """
@flow(name="nightly")
def nightly(day: str = "today"):
    raw = pull_rows(day)
    check = audit()
    total = summarise(raw)
    return publish(total, wait_for=[check])
""",
        SKIP_TASKS_AFTER
        + """
@flow(name="nightly")
def nightly(day: str = "today"):
    raw_state = pull_rows(day, return_state=True)
    raw = raw_state.result()
    check = audit()
    # prefect2-migration: Prefect 1 skipped these calls when `pull_rows` raised SKIP
    if raw_state.name != "Skipped":
        total = summarise(raw)
        return publish(total, wait_for=[check])
""",
    )


def test_skip_guards_each_run_of_downstream_statements():
    assert_rewrite(
        RULE,
        SKIP_TASKS
        + """
@flow
def nightly(day):
    raw = pull_rows(day)
    total = summarise(raw)
    check = audit()
    publish(total, note=check)
    publish(check)
""",
        SKIP_TASKS_AFTER
        + """
@flow
def nightly(day):
    raw_state = pull_rows(day, return_state=True)
    raw = raw_state.result()
    # prefect2-migration: Prefect 1 skipped these calls when `pull_rows` raised SKIP
    if raw_state.name != "Skipped":
        total = summarise(raw)
    check = audit()
    # prefect2-migration: Prefect 1 skipped these calls when `pull_rows` raised SKIP
    if raw_state.name != "Skipped":
        publish(total, note=check)
    publish(check)
""",
    )


def test_skip_with_nothing_downstream_needs_no_guard_nor_todo():
    src = SKIP_TASKS + "\n@flow\ndef nightly(day):\n    pull_rows(day)\n    return audit()\n"
    assert apply_rule(RULE, src) == SKIP_TASKS_AFTER + (
        "\n@flow\ndef nightly(day):\n    pull_rows(day)\n    return audit()\n"
    )


def test_skip_downstream_inside_a_block_gets_one_todo_naming_the_calls_and_lines():
    src = SKIP_TASKS + (
        "\n@flow\ndef nightly(day):\n    raw = pull_rows(day)\n    if day:\n"
        "        total = summarise(raw)\n        publish(total)\n    audit()\n"
    )
    out = apply_rule(RULE, src)
    todo = todo_text(
        "PF011",
        'signals.SKIP became a Completed state named "Skipped", but Prefect 2 runs what depends '
        "on this task anyway. Prefect 1 skipped, when it skipped, in flow `nightly`: `summarise` "
        "(line 32), `publish` (line 33): call the task with return_state=True and run those only "
        'when the state\'s name is not "Skipped" (Prefect 1 skipped them and the flow run still '
        "succeeded)",
    )
    assert (
        out
        == SKIP_TASKS_AFTER.replace(
            "        return Completed(", f"        {todo}\n        return Completed("
        )
        + src[len(SKIP_TASKS) :]
    )
    assert out.splitlines()[31].strip() == "total = summarise(raw)"
    assert apply_rule(RULE, out) == out
    assert out.count("TODO(prefect2-migration)") == 1


@pytest.mark.parametrize(
    "src",
    [
        # a flow without SKIP
        "from prefect import flow, task\n\n@task\ndef a():\n    return 1\n\n"
        "@flow\ndef f():\n    x = a()\n    return a(x)\n",
        # another library's SKIP
        "from mylib import SKIP, flow, task\n\n@task\ndef a():\n    raise SKIP('x')\n\n"
        "@flow\ndef f():\n    x = a()\n    return a(x)\n",
    ],
)
def test_skip_noop(src):
    assert_noop(RULE, src)


def test_guarded_flow_through_the_pipeline_is_idempotent_and_compiles():
    src = SKIP_TASKS.replace("from prefect import flow, task", "from prefect import Flow, task") + (
        '\nwith Flow("nightly") as flow:\n    raw = pull_rows("today")\n'
        "    publish(summarise(raw))\n"
    )
    result = migrate(src)
    assert result.todos == []
    assert 'raw_state = pull_rows("today", return_state=True)' in result.code
    assert '    if raw_state.name != "Skipped":\n        return publish(summarise(raw))\n' in (
        result.code
    )
    compile(result.code, "x", "exec")
    assert migrate(result.code).code == result.code


def test_skip_on_upstream_skip_in_the_module_keeps_the_todo():
    """A task that ran after a skip in Prefect 1 is not told apart: no guard, the TODO names the
    calls instead."""
    src = SKIP_TASKS.replace("@task\ndef audit", "@task(skip_on_upstream_skip=False)\ndef audit")
    src += "\n@flow\ndef nightly(day):\n    raw = pull_rows(day)\n    return summarise(raw)\n"
    out = apply_rule(RULE, src.replace("skip_on_upstream_skip=False", "name='audit'"))
    assert "raw_state" in out
    code = migrate(src).code
    assert "raw_state" not in code
    assert "in flow `nightly`: `summarise` (line " in code


def test_skip_whose_result_nothing_reads_leaves_the_flow_alone():
    src = SKIP_TASKS + "\n@flow\ndef nightly(day):\n    raw = pull_rows(day)\n    return audit()\n"
    assert apply_rule(RULE, src) == SKIP_TASKS_AFTER + src[len(SKIP_TASKS) :]
