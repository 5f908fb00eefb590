"""PF005 task_calls: upstream_tasks, task_args, flatten, apply_map, set_upstream, .run/.fn."""

import textwrap

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.task_calls import FLATTEN_HELPER_CODE, RULE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite
from tests.codemod.test_task_options import run_under_prefect2

HEAD = "from prefect import flow, task\n\n@task\ndef a(x=1):\n    return [[x], [x + 1]]\n\n@task\ndef b(x, y=0):\n    return x\n\n@flow\ndef f():\n"


def case(body_before, body_after, head=HEAD):
    return head + textwrap.indent(body_before, "    "), head + textwrap.indent(body_after, "    ")


REWRITES = [
    pytest.param(
        # Prefect 1 zipped the mapped literals (2 runs); Prefect 2 raises MappingLengthMismatch
        *case(
            "b.map(x=[1, 2, 3], y=(4, 5))\nb.map((1, 2, 3), [4, 5], y=unmapped(7))\n",
            "b.map(x=[1, 2, 3][:2], y=(4, 5))\nb.map((1, 2, 3)[:2], [4, 5], y=unmapped(7))\n",
            head=HEAD.replace("flow, task", "flow, task, unmapped"),
        ),
        id="map-literals-of-different-lengths-cut-to-the-shortest",
    ),
    pytest.param(
        *case("r = a()\nb(1, upstream_tasks=[r])\n", "r = a()\nb(1, wait_for=[r])\n"),
        id="upstream-tasks",
    ),
    pytest.param(
        *case(
            "m = b.map([1, 2], upstream_tasks=[a])\n",
            # read twice by the rewrite: called once (it used to run twice)
            "a_result = a()\n"
            "m = b.map([item for item, _ in zip([1, 2], a_result)], wait_for=[a_result])\n",
        ),
        id="upstream-on-map-is-mapped",
    ),
    pytest.param(
        *case(
            "r = a()\nm = b.map([1, 2], y=unmapped(3), upstream_tasks=[unmapped(r)])\n",
            "r = a()\nm = b.map([1, 2], y=unmapped(3), wait_for=[r])\n",
            head=HEAD.replace("flow, task", "flow, task, unmapped"),
        ),
        id="unmapped-upstream-on-map",
    ),
    pytest.param(
        *case(
            "r = a()\nm = b.map([1, 2], unmapped(3), upstream_tasks=[r, unmapped(r)])\n",
            "r = a()\nm = b.map([item for item, _ in zip([1, 2], r)], unmapped(3), "
            "wait_for=[r, r])\n",
            head=HEAD.replace("flow, task", "flow, task, unmapped"),
        ),
        id="mixed-upstream-on-map",
    ),
    pytest.param(
        *case(
            "m = b.map(upstream_tasks=[a()])\n",
            "m = [b.submit(wait_for=[upstream]) for upstream in a()]\n",
        ),
        id="upstream-only-on-map",
    ),
    pytest.param(
        *case(
            "r = a()\nm = b.map([1, 2], [3, 4], upstream_tasks=[r])\n",
            "r = a()\nm = b.map([items[0] for items in zip([1, 2], [3, 4], r)], "
            "[items[1] for items in zip([1, 2], [3, 4], r)], wait_for=[r])\n",
        ),
        id="upstream-on-map-two-mapped-arguments",
    ),
    pytest.param(
        *case(
            "b(1, task_args=dict(name='x', max_retries=2))\n",
            "b.with_options(name='x', retries=2)(1)\n",
        ),
        id="task-args-dict-call",
    ),
    pytest.param(
        *case("b(1, task_args={'tags': ['t']}, y=2)\n", "b.with_options(tags=['t'])(1, y=2)\n"),
        id="task-args-dict-literal",
    ),
    pytest.param(
        *case(
            "r = a()\nb.map(flatten(r))\n",
            "r = a()\nb.map(_prefect1_flatten(r))\n",
            head=HEAD.replace("import flow, task", "import flatten, flow, task"),
        ),
        id="flatten-value",
    ),
    pytest.param(
        *case(
            "m = a.map([1, 2])\nb.map(flatten(m))\n",
            "m = a.map([1, 2])\nb.map(_prefect1_flatten(m, mapped=True))\n",
            head=HEAD.replace("import flow, task", "import flatten, flow, task"),
        ),
        id="flatten-futures",
    ),
]


@pytest.mark.parametrize(("before", "after"), REWRITES)
def test_rewrites(before, after):
    got = apply_rule(RULE, before)
    after = after.replace(  # flatten() becomes a helper written once after the imports
        "from prefect import flatten, flow, task\n\n",
        f"from prefect import flow, task\n\n\n{FLATTEN_HELPER_CODE}\n\n",
    )
    assert got == after, got
    assert apply_rule(RULE, got) == got


def test_apply_map_becomes_a_comprehension():
    src = HEAD.replace("import flow, task", "import apply_map, flow, task, unmapped") + (
        "    return apply_map(per_item, [1, 2], c=unmapped(5))\n\n"
        "def per_item(x, c):\n    return b(x, y=c)\n"
    )
    out = apply_rule(RULE, src)
    assert "from prefect import flow, task\n" in out
    assert "    return [per_item(item0, c=5) for item0 in [1, 2]]\n" in out
    assert out == HEAD + (
        "    return [per_item(item0, c=5) for item0 in [1, 2]]\n\n"
        "def per_item(x, c):\n    return b(x, y=c)\n"
    )


def test_apply_map_with_case_is_flagged():
    src = (
        "from prefect import apply_map, case, flow\n@flow\ndef f():\n    apply_map(g, [1])\n"
        "def g(x):\n    with case(x, True):\n        pass\n"
    )
    out = apply_rule(RULE, src)
    assert "# TODO(prefect2-migration): PF005 apply_map(g, ...)" in out
    assert "    apply_map(g, [1])\n" in out
    todo = todo_text(
        "PF005",
        "apply_map(g, ...): call g in a for loop per item; it uses case/conditional tasks or is "
        "not a function of this module, so do it by hand",
    )
    assert out == src.replace("    apply_map(", f"    {todo}\n    apply_map(")


def test_set_upstream_stays_code_under_its_todo():
    """Never commented out (the flow would silently lose the edge): the statement stays, and
    fails with AttributeError until a human orders the calls."""
    src = HEAD + "    r = a()\n    b.set_upstream(a)\n    b(1)\n"
    out = apply_rule(RULE, src)
    todo = todo_text(
        "PF005",
        "set_upstream() does not exist in Prefect 2 (AttributeError when the flow runs): call the "
        "upstream task first (calls run in order) or pass wait_for=[<its future>] to the "
        "downstream call, then delete it",
    )
    assert out == HEAD + f"    r = a()\n    {todo}\n    b.set_upstream(a)\n    b(1)\n"
    assert apply_rule(RULE, out) == out


def test_set_upstream_satisfied_by_the_call_order_is_removed_without_todo():
    src = HEAD + (
        "    r = a()\n"
        "    s = b(1)\n"
        "    # s after r\n"
        "    s.set_upstream(r)\n"
        "    r.set_downstream(s)\n"
        "    return s\n"
    )
    out = apply_rule(RULE, src)
    assert out == HEAD + "    r = a()\n    s = b(1)\n    # s after r\n    return s\n"
    assert apply_rule(RULE, out) == out


def test_set_upstream_satisfied_inside_a_with_block_is_removed_too():
    # a with block (a Prefect 1 resource manager) runs its body once, in order
    src = HEAD + (
        "    r = a()\n"
        "    with open('x') as fh:\n"
        "        s = b(fh)\n"
        "        s.set_upstream(r)\n"
        "        t = b(2)\n"
        "        t.set_upstream(s)\n"
        "    return t\n"
    )
    out = apply_rule(RULE, src)
    assert out == HEAD + (
        "    r = a()\n    with open('x') as fh:\n        s = b(fh)\n        t = b(2)\n    return t\n"
    )
    assert apply_rule(RULE, out) == out


@pytest.mark.parametrize(
    "body",
    [
        # under a branch the upstream may not have run
        "if x:\n    r = a()\ns = b(1)\ns.set_upstream(r)\n",
        "with open('x') as fh:\n    s = b(1)\nr = a()\ns.set_upstream(r)\n",  # called later
        "s = b(1)\nr = a()\ns.set_upstream(r)\n",  # the upstream is called later
        "r = a()\ns = b(1)\ns.set_upstream(r, key='x')\n",  # a data edge
        "r = b.map([1])\ns = b(1)\ns.set_upstream(r)\n",  # futures: not waited for
        "r = a()\ns = b\ns.set_upstream(r)\n",  # a task object, never called
        "r = a()\ns = b(1)\nr = a()\ns.set_upstream(r)\n",  # assigned twice
    ],
)
def test_set_upstream_not_satisfied_keeps_its_todo(body):
    out = apply_rule(RULE, HEAD + textwrap.indent(body, "    "))
    assert out.count("PF005 set_upstream() does not exist in Prefect 2") == 1
    assert "\n    s.set_upstream(r" in out.split("TODO")[1]  # code under its TODO


def test_consecutive_unsatisfied_dependencies_share_one_todo():
    src = HEAD + (
        "    x = a\n    y = b\n"
        "    x.set_upstream(y)\n    y.set_downstream(x)\n    x.set_upstream(b)\n"
        "    z = b(1)\n"
    )
    out = apply_rule(RULE, src)
    todo = todo_text(
        "PF005",
        "set_upstream()/set_downstream() do not exist (this and the 2 statements below) in "
        "Prefect 2 (AttributeError when the flow runs): call the upstream task first (calls run "
        "in order) or pass wait_for=[<its future>] to the downstream call, then delete them",
    )
    assert out == HEAD + (
        f"    x = a\n    y = b\n    {todo}\n"
        "    x.set_upstream(y)\n    y.set_downstream(x)\n    x.set_upstream(b)\n"
        "    z = b(1)\n"
    )
    assert apply_rule(RULE, out) == out


def test_dependency_of_a_task_with_a_trigger_becomes_its_check():
    """Its edges carry the trigger (any_failed: run when an upstream failed), not just an order."""
    from meta_flows.core.codemod.testing import migrate

    src = (
        "from prefect import Flow, task\nfrom prefect.triggers import any_failed\n\n"
        "@task\ndef a():\n    return 1\n\n"
        "@task(trigger=any_failed)\ndef alert():\n    return 2\n\n"
        'with Flow("f") as flow:\n    r = a()\n    s = alert()\n    s.set_upstream(r)\n'
    )
    out = migrate(src).code
    # PF002 makes the edge alert's upstream_tasks, PF009 the trigger's check from it
    assert out.endswith(
        '@flow(name="f")\ndef f():\n    r = a(return_state=True)\n'
        "    if any(state.is_failed() for state in (r,)):\n"
        "        s = alert(wait_for=[allow_failure(r)], return_state=True)\n    else:\n"
        '        s = Failed(message=\'Trigger was "any_failed" but none of the upstream tasks '
        "failed.')\n    return s\n"
    ), out
    assert "TODO" not in out


def test_run_and_module_level_calls_become_fn():
    src = HEAD + "    return b(1)\n\nprint(b.run(3))\nvalue = b(4)\n"
    assert_rewrite(RULE, src, HEAD + "    return b(1)\n\nprint(b.fn(3))\nvalue = b.fn(4)\n")


def test_operators_on_mapped_futures_are_flagged():
    src = HEAD + "    m = b.map([1, 2])\n    total = sum(m)\n    more = m + [1]\n"
    out = apply_rule(RULE, src)
    assert out.count("is a list of futures from .map()") == 2
    sum_todo = todo_text(
        "PF005",
        "`m` is a list of futures from .map(): use [f.result() for f in m] to get the values",
    )
    operator_todo = todo_text(
        "PF005",
        "`m` is a list of futures from .map(): operators need values, use [f.result() for f in m]",
    )
    assert out == HEAD + (
        "    m = b.map([1, 2])\n"
        f"    {sum_todo}\n"
        "    total = sum(m)\n"
        f"    {operator_todo}\n"
        "    more = m + [1]\n"
    )


def test_task_copy_becomes_with_options():
    """Prefect 1's Task.copy(**task_args) sets those attributes on a copy; the names are the
    constructor's, mapped as in §3."""
    src = (
        "from datetime import timedelta\n" + HEAD + "    return slow(b.copy(tags=['x'])(1))\n\n"
        "slow = b.copy(max_retries=3, retry_delay=timedelta(seconds=5), name='slow')\n"
        "plain = a.copy()\n"
    )
    assert_rewrite(
        RULE,
        src,
        HEAD + "    return slow(b.with_options(tags=['x'])(1))\n\n"
        "slow = b.with_options(retries=3, retry_delay_seconds=5, name='slow')\n"
        "plain = a.with_options()\n",
    )


def test_task_copy_of_unmappable_options_keeps_a_todo():
    out = apply_rule(RULE, HEAD + "    return b(1)\n\nc = b.copy(**opts)\nd = b.copy(trigger=t)\n")
    assert "c = b.copy(**opts)" in out
    assert (
        todo_text(
            "PF005",
            "`b.copy(**opts)`: Prefect 2 tasks have no copy(); call b.with_options(...) with Prefect 2 "
            "options (§3)",
        )
        in out
    )
    assert "d = b.with_options()" in out
    assert "`trigger=t` was removed" in out


UNCALLED = [
    pytest.param(*case("r = b(a)\n", "r = b(a())\n"), id="argument"),
    pytest.param(*case("m = b.map(a)\n", "m = b.map(a())\n"), id="mapped-argument"),
    pytest.param(
        *case("r = b(x=a, y=[a])\n", "a_result = a()\nr = b(x=a_result, y=[a_result])\n"),
        id="twice-in-one-call",
    ),
    pytest.param(*case("r = b([a, 1])\n", "r = b([a(), 1])\n"), id="in-a-list"),
    pytest.param(
        *case("b(1, upstream_tasks=[a])\n", "b(1, wait_for=[a()])\n"), id="upstream-tasks"
    ),
    pytest.param(
        *case(
            "m = b.map([1, 2], y=unmapped(a))\n",
            "m = b.map([1, 2], y=unmapped(a()))\n",
            head=HEAD.replace("flow, task", "flow, task, unmapped"),
        ),
        id="unmapped-argument",
    ),
    pytest.param(
        *case(
            "# the input\nm = b.map(a)\ns = b(m, upstream_tasks=[a])\n",
            "# the input\na_result = a()\nm = b.map(a_result)\ns = b(m, wait_for=[a_result])\n",
        ),
        id="several-uses-one-run",
    ),
    pytest.param(
        *case(
            "for i in range(2):\n    b(i, y=a)\n",
            "a_result = a()\nfor i in range(2):\n    b(i, y=a_result)\n",
        ),
        id="in-a-loop-runs-once",
    ),
    pytest.param(
        *case(
            "with case(a, True):\n    b(1)\n",
            "with case(a(), True):\n    b(1)\n",
            head=HEAD.replace("flow, task", "case, flow, task"),
        ),
        id="case-condition",
    ),
    pytest.param(
        *case(
            "c = b(2)\nwith case(c, True):\n    b(a)\n",
            "c = b(2)\nwith case(c, True):\n    b(a())\n",
            head=HEAD.replace("flow, task", "case, flow, task"),
        ),
        id="in-a-case-branch",
    ),
    pytest.param(
        *case(
            "m = b(a)\nif m:\n    b(a, y=1)\n",
            "a_result = a()\nm = b(a_result)\nif m:\n    b(a_result, y=1)\n",
        ),
        id="first-use-top-level-later-under-if",
    ),
]


@pytest.mark.parametrize(("before", "after"), UNCALLED)
def test_task_given_uncalled_is_called_once(before, after):
    """Prefect 1 bound a task given uncalled into the flow: it ran once and its result was
    passed. Prefect 2 would pass the task object."""
    assert_rewrite(RULE, before, after)


def test_task_given_uncalled_first_under_if_gets_one_todo():
    """The first use is conditional: where the task ran is not provable."""
    src = HEAD + textwrap.indent("m = b(2)\nif m:\n    b(a)\nb(a, y=1)\n", "    ")
    out = apply_rule(RULE, src)
    assert out.count("TODO(prefect2-migration): PF005 `a` is a task given uncalled") == 1
    assert "a_result = a()\n" not in out and "    b(a, y=1)\n" in out


def test_task_given_uncalled_in_several_branches_gets_one_todo():
    src = HEAD.replace("flow, task", "case, flow, task") + textwrap.indent(
        "c = b(2)\nwith case(c, True):\n    b(a)\nwith case(c, False):\n    b(a, y=1)\n", "    "
    )
    out = apply_rule(RULE, src)
    todo = todo_text(
        "PF005",
        "`a` is a task given uncalled (to b(...)): Prefect 1 ran it once per flow run and passed "
        "its result, a Prefect 2 task object is only a function; it is used in a case branch or "
        "under if/try/while together with other uses, so where it ran is not provable here: "
        "call it once where it should run (`a_result = a()`) and pass the result",
    )
    assert out == src.replace("        b(a)\n", f"        {todo}\n        b(a)\n")
    assert apply_rule(RULE, out) == out


NOOPS = [
    "import copy\nrows = {'a': 1}\nmore = rows.copy()\nother = copy.copy(rows)\n",
    HEAD + "    r = a()\n    b(1, wait_for=[r])\n",
    # a plain function given as a callback is no task
    HEAD.replace("@flow", "def helper(x):\n    return x\n\n@flow") + "    b(helper)\n",
    HEAD + "    b(a())\n",
    HEAD + "    a = 3\n    b(a)\n",  # a local named like a task
    HEAD + "    print(a)\n",  # not a task call
    HEAD.replace("@flow\n", "") + "    return b(a)\n",  # not a flow
    HEAD + "    b.with_options(name='x')(1)\n",
    "from mylib import flatten\nx = flatten([[1]])\n",
    "from itertools import chain\ndef b(x, upstream_tasks=None):\n    pass\nb(1, upstream_tasks=[2])\n",
    "import subprocess\nsubprocess.run(['ls'])\n",
    "from prefect import task\n@task\ndef b(x):\n    return x\ndef helper():\n    return b(1)\n",
]


@pytest.mark.parametrize("source", NOOPS)
def test_noops(source):
    assert_noop(RULE, source)


def test_migrated_calls_run_under_prefect2(tmp_path, prefect_env):
    """wait_for accepts plain values and futures; the flatten forms resolve values and futures."""
    before = HEAD.replace("import flow, task", "import flatten, flow, task") + textwrap.indent(
        textwrap.dedent(
            """\
            r = a(1)
            s = b(1, upstream_tasks=[r])
            fut = b.submit(2)
            t = b(3, upstream_tasks=[fut, s], task_args=dict(name="renamed", max_retries=1))
            m = a.map([1, 3])
            flat = b.map(flatten(m))
            flat_values = flatten(r)
            return s, t, [x.result() for x in flat], flat_values
            """
        ),
        "    ",
    )
    migrated = apply_rule(RULE, before)
    assert "import flatten" not in migrated and "flatten(m)" not in migrated
    script = migrated + '\nassert f() == (1, 3, [[1], [2], [3], [4]], [1, 2]), f()\nprint("OK")\n'
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


INDEXED_BEFORE = """\
import prefect
from prefect import context, flow, task, unmapped

@task
def label(x, sep):
    return f"{prefect.context.map_index}{sep}{x}{context['map_index']}"

@task
def tally(x, **kwargs):
    return (x, prefect.context.get("map_index", -1))

@flow
def f(xs):
    names = label.map(sep=unmapped(":"), x=xs)
    single = label("a", ":")
    return names, tally.map(
        [1, 2],
    ), single
"""

INDEXED_AFTER = """\
import prefect
from prefect import context, flow, task, unmapped

@task
def label(x, sep, map_index=None):
    return f"{map_index}{sep}{x}{map_index}"

@task
def tally(x, map_index=None, **kwargs):
    return (x, map_index)

@flow
def f(xs):
    names = label.map(sep=unmapped(":"), x=xs, map_index=range(len(xs)))
    single = label("a", ":")
    return names, tally.map(
        [1, 2],
        map_index=range(len([1, 2])),
    ), single
"""


def test_a_task_reading_its_map_index_takes_it_as_a_parameter():
    """Prefect 2 gives a mapped run no index: each .map passes range(len(<a mapped argument>)),
    a direct call gets None (as Prefect 1 gave an unmapped run)."""
    assert_rewrite(RULE, INDEXED_BEFORE, INDEXED_AFTER)


INDEX_TASK = "import prefect\nfrom prefect import task\n@task\ndef t(x):\n    return prefect.context.map_index\n"


@pytest.mark.parametrize(
    "rest",
    [
        "other = t\n",  # used other than by a call: the parameter could be missed
        "def g(get):\n    return t.map(get())\n",  # the mapped argument cannot be read twice
        "def g(xs, u):\n    return t.map(xs, upstream_tasks=[u])\n",  # upstream tasks shorten it
    ],
)
def test_map_index_left_for_a_human_when_not_provable(rest):
    out = apply_rule(RULE, INDEX_TASK + rest)
    assert "def t(x):\n    return prefect.context.map_index\n" in out
    assert "map_index=" not in out


def test_indexed_map_runs_under_prefect2(tmp_path, prefect_env):
    migrated = apply_rule(RULE, INDEXED_BEFORE)
    script = migrated + (
        "\nnames, tallies, single = f(['p', 'q'])\n"
        "assert [n.result() for n in names] == ['0:p0', '1:q1'], names\n"
        "assert [t.result() for t in tallies] == [(1, 0), (2, 1)]\n"
        "assert single == 'None:aNone', single\n"
        'print("OK")\n'
    )
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


def test_flatten_keeps_what_prefect1_did_with_values_that_are_not_lists_of_lists(
    tmp_path, prefect_env
):
    """Prefect 1 passed a result that is not a list of lists unchanged, and kept a mapped child
    that is no sequence whole."""
    before = HEAD.replace("import flow, task", "import flatten, flow, task") + textwrap.indent(
        textwrap.dedent(
            """\
            plain = b.map(flatten([1, 2]))
            nested = flatten([[1], [2, 3]])
            m = b.map([[1, 2], 3])
            mixed = b.map(flatten(m))
            return [x.result() for x in plain], nested, [x.result() for x in mixed]
            """
        ),
        "    ",
    )
    migrated = apply_rule(RULE, before)
    assert migrated.count("def _prefect1_flatten(") == 1
    assert apply_rule(RULE, migrated) == migrated
    script = migrated + '\nassert f() == ([1, 2], [1, 2, 3], [1, 2, 3]), f()\nprint("OK")\n'
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


@pytest.mark.parametrize(
    "body",
    [
        "b.map(x=[1, 2], y=(4, 5))\n",  # same lengths
        "b.map(x=[1, 2, 3], y=xs)\n",  # a length not known
        "b.map(x=[1, 2, 3], y=[*xs])\n",
        "b.map(x=[1, 2, 3], y=unmapped([4]))\n",  # one mapped argument
    ],
)
def test_map_literals_not_provably_of_different_lengths_are_left_alone(body):
    assert_noop(RULE, HEAD.replace("flow, task", "flow, task, unmapped") + "    " + body)


def test_a_library_task_given_uncalled_is_called_too():
    """A ShellTask instance (a @task def once PF013 ran) in ``upstream_tasks=`` and a task given
    uncalled to a JinjaTemplate instance: Prefect 1 ran both; the whole rewrite calls them."""
    from meta_flows.core.codemod.testing import migrate

    src = textwrap.dedent(
        """\
        from prefect import Flow, task
        from prefect.tasks.shell import ShellTask
        from prefect.tasks.templates.jinja2 import JinjaTemplate


        @task
        def day():
            return 7


        stamp = ShellTask(command="date")
        render = JinjaTemplate(template="{{ n }}")

        with Flow("f") as flow:
            render(n=day, upstream_tasks=[stamp])
        """
    )
    out = migrate(src, "flows.f").code
    assert "    return render(n=day(), wait_for=[stamp()])\n" in out, out
    # a library instance never used uncalled stays as it is
    plain = src.replace("render(n=day, upstream_tasks=[stamp])", "render(n=day(), x=stamp())")
    assert "    return render(n=day(), x=stamp())\n" in migrate(plain, "flows.f").code
