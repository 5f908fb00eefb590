"""PF008 case_merge: case/merge/ifelse/switch inside @flow functions become if/elif."""

import runpy

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.case_merge import RULE, SKIP_TODO
from meta_flows.core.codemod.stubs import STUB_SOURCE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

HEAD = "from prefect import flow, case\nfrom prefect.tasks.control_flow import merge\n"
OUT_HEAD = "from prefect import flow\n"
SKIP = todo_text("PF008", SKIP_TODO)


def flow_src(body: str, head: str = HEAD) -> str:
    return head + "@flow\ndef f(cond: bool):\n" + body


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            flow_src(
                "    with case(cond, True):\n        a = yes()\n"
                "    with case(cond, False):\n        b = no()\n"
                "    c = merge(a, b)\n"
            ),
            flow_src("    if cond:\n        c = yes()\n    else:\n        c = no()\n", OUT_HEAD),
            id="spec-example",
        ),
        pytest.param(
            flow_src(
                "    with case(cond, True):\n        a = yes()\n"
                "    with case(cond, False):\n        b = no()\n"
                "    c = report(merge(a, b), 1)\n"
            ),
            flow_src(
                "    if cond:\n        merged = yes()\n    else:\n        merged = no()\n"
                "    c = report(merged, 1)\n",
                OUT_HEAD,
            ),
            id="merge-nested-in-a-call",
        ),
        pytest.param(
            flow_src(
                "    with case(cond, True):\n        a = yes()\n"
                "    merged = 3\n    report(merge(a), merged)\n"
            ),
            flow_src(
                "    merged_2 = None\n    if cond:\n        merged_2 = yes()\n"
                f"    merged = 3\n    {SKIP}\n    report(merged_2, merged)\n",
                OUT_HEAD,
            ),
            id="merge-nested-single-branch-fresh-name",
        ),
        pytest.param(
            flow_src(
                "    # yes\n    with case(cond, True):\n        a = yes()\n        log(a)\n"
                "    # no\n    with case(cond, False):\n        b = no()\n"
                "    c = merge(a, b)\n    report(c)\n"
            ),
            flow_src(
                "    # yes\n    if cond:\n        a = yes()\n        log(a)\n        c = a\n"
                "    # no\n    else:\n        c = no()\n    report(c)\n",
                OUT_HEAD,
            ),
            id="comments-kept-and-branch-var-reused",
        ),
        pytest.param(
            flow_src("    with case(cond, True):\n        yes()\n"),
            flow_src("    if cond:\n        yes()\n", OUT_HEAD),
            id="single-true",
        ),
        pytest.param(
            flow_src("    with case(cond, False):\n        no()\n"),
            flow_src("    if not cond:\n        no()\n", OUT_HEAD),
            id="single-false",
        ),
        pytest.param(
            flow_src("    with case(cond, None):\n        no()\n"),
            flow_src("    if cond is None:\n        no()\n", OUT_HEAD),
            id="none-uses-is",
        ),
        pytest.param(
            flow_src("    with case(cond, limit):\n        no()\n"),
            flow_src("    if cond == limit:\n        no()\n", OUT_HEAD),
            id="non-literal-value",
        ),
        pytest.param(
            flow_src(
                '    with case(cond, "a"):\n        a()\n'
                '    with case(cond, "b"):\n        b()\n'
                "    with case(cond, 3):\n        c()\n"
            ),
            flow_src(
                '    if cond == "a":\n        a()\n    elif cond == "b":\n        b()\n'
                "    elif cond == 3:\n        c()\n",
                OUT_HEAD,
            ),
            id="if-elif-chain",
        ),
        pytest.param(
            flow_src(
                "    with case(check(), True):\n        a()\n"
                "    with case(check(), False):\n        b()\n"
            ),
            # a task's result: Prefect 1 compared it with == (2 or "yes" ran neither branch)
            flow_src(
                "    if check() == True:  # noqa: E712\n        a()\n"
                "    if check() == False:  # noqa: E712\n        b()\n",
                OUT_HEAD,
            ),
            id="call-condition-not-merged",
        ),
        pytest.param(
            flow_src(
                "    with case(cond, 1):\n        a = one()\n"
                "    with case(cond, 2):\n        b = two()\n"
                "    c = merge(a, b)\n"
            ),
            flow_src(
                "    c = None\n    if cond == 1:\n        c = one()\n    elif cond == 2:\n"
                "        c = two()\n",
                OUT_HEAD,
            ),
            id="merge-non-exhaustive-initialises",
        ),
        pytest.param(
            flow_src("    with case(cond, True):\n        a = yes()\n    report(a)\n    done()\n"),
            flow_src("    if cond:\n        a = yes()\n        report(a)\n    done()\n", OUT_HEAD),
            id="skip-propagation-moves-consumer",
        ),
        pytest.param(
            flow_src(
                "    with case(cond, True):\n        a = yes()\n"
                "    with case(cond, False):\n        b = no()\n"
                "    both(a, b)\n"
            ),
            flow_src(
                "    a = None\n    b = None\n    if cond:\n        a = yes()\n    else:\n"
                f"        b = no()\n    {SKIP}\n    both(a, b)\n",
                OUT_HEAD,
            ),
            id="consumer-of-two-branches-flagged",
        ),
        pytest.param(
            "from prefect import flow\nfrom prefect.tasks.control_flow import ifelse\n"
            "@flow\ndef f(cond):\n    t = yes()\n    ifelse(cond, t, no())\n",
            "from prefect import flow\n@flow\ndef f(cond):\n"
            "    if cond:\n        yes()\n    else:\n        no()\n",
            id="ifelse",
        ),
        pytest.param(
            "from prefect import flow\nfrom prefect.tasks.control_flow import switch\n"
            "@flow\ndef f(cond):\n    switch(cond, {'a': a(), 'b': b()})\n",
            "from prefect import flow\n@flow\ndef f(cond):\n"
            "    if cond == 'a':\n        a()\n    elif cond == 'b':\n        b()\n",
            id="switch",
        ),
        pytest.param(
            "import prefect\nfrom prefect import flow\n@flow\ndef f(cond):\n"
            "    with prefect.case(cond, True):\n        yes()\n",
            "import prefect\nfrom prefect import flow\n@flow\ndef f(cond):\n"
            "    if cond == True:  # noqa: E712\n        yes()\n",
            id="dotted-case",
        ),
        pytest.param(
            flow_src(
                "    with case(cond, True):\n        with case(other, True):\n            x()\n"
            ),
            flow_src(
                "    if cond:\n        if other == True:  # noqa: E712\n            x()\n",
                OUT_HEAD,
            ),
            id="nested",
        ),
    ],
)
def test_rewrite(before, after):
    assert_rewrite(RULE, before, after)


def stand_in(name: str, qualified: str, lines: str, reason: str) -> str:
    """The one TODO of a construct PF008 gave up on, above its stand-in (written by PF001)."""
    todo = todo_text(
        "PF008",
        f"`{name}` (Prefect 1 `{qualified}`, used at {lines}) {reason}. Until then `{name}` is a "
        "stand-in (_Prefect1Stub) that raises NotImplementedError when a flow or task calls it",
    )
    return f'{todo}\n{name} = _Prefect1Stub("{qualified}")\n'


def at(line: int) -> int:
    """A line number of the rewritten module, counted from the line after the stand-in class."""
    return STUB_SOURCE.count("\n") + line


MERGE_REASON = (
    "could not be rewritten safely (its case branches are not provably exclusive, or an argument "
    "is not assigned in a branch): rewrite it as plain if/elif assigning the merged variable in "
    "each branch"
)
OUTSIDE_REASON = (
    "is used outside a @flow function: rewrite it as plain if/else inside the @flow function"
)


def test_unprovable_merge_stays_code_under_one_todo():
    src = flow_src(
        "    with case(cond, True):\n        a = yes()\n"
        "    with case(other, True):\n        b = no()\n"
        "    c = merge(a, b)\n"
        "    report(c)\n"
    )
    # the rule alone keeps the merge as code and flags nothing itself ...
    out = apply_rule(RULE, src)
    assert "    c = merge(a, b)\n    report(c)\n" in out
    assert "TODO" not in out
    assert apply_rule(RULE, out) == out
    # ... the pipeline writes its one TODO above the stand-in PF001 binds `merge` to
    result = migrate(src)
    assert result.code == (
        "import inspect\n\nfrom prefect import flow\n\n\n"
        + STUB_SOURCE
        + "\n\n"
        + stand_in("merge", "prefect.tasks.control_flow.merge", f"line {at(20)}", MERGE_REASON)
        + "\n\n@flow\ndef f(cond: bool):\n"
        "    a = None\n    if cond:\n        a = yes()\n"
        "    b = None\n    if other == True:  # noqa: E712\n        b = no()\n"
        "    c = merge(a, b)\n"
        "    report(c)\n"
    )
    assert result.code.splitlines()[at(20) - 1] == "    c = merge(a, b)"
    assert len(result.todos) == result.root_causes == 1
    assert migrate(result.code).code == result.code


def test_case_outside_flow_stays_code_under_one_todo():
    src = (
        "from prefect import case\ndef build(c):\n    with case(c, True):\n        x()\n"
        "    with case(c, False):\n        y()\n"
    )
    assert apply_rule(RULE, src) == src  # the rule alone: nothing to rewrite, nothing flagged
    result = migrate(src)
    assert result.code == (
        "import inspect\n\n\n"
        + STUB_SOURCE
        + "\n\n"
        + stand_in("case", "prefect.case", f"lines {at(11)}, {at(13)}", OUTSIDE_REASON)
        + "\n\ndef build(c):\n    with case(c, True):\n        x()\n"
        "    with case(c, False):\n        y()\n"
    )
    assert len(result.todos) == result.root_causes == 1
    assert migrate(result.code).code == result.code


def test_case_outside_flow_with_pf001_disabled_is_flagged_where_it_is():
    from meta_flows.core.codemod.engine import migrate_source

    src = "from prefect import case\ndef build(c):\n    with case(c, True):\n        x()\n"
    result = migrate_source(src, "x.py", module_name="x", disabled={"PF001"})
    todo = todo_text("PF008", f"with case(...) {OUTSIDE_REASON}")
    assert result.code == (
        f"from prefect import case\ndef build(c):\n    {todo}\n    with case(c, True):\n"
        "        x()\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "from prefect import flow\nfrom mylib import case\n"
        "@flow\ndef f(c):\n    with case(c, True):\n        x()\n",
        "from prefect import flow\n@flow\ndef f(c):\n    if c:\n        x()\n",
        "from prefect import flow\nfrom mylib import merge\n@flow\ndef f(a, b):\n    c = merge(a, b)\n",
        "from prefect import flow\n@flow\ndef f(case):\n    with case(1, True):\n        x()\n",
    ],
)
def test_noop(source):
    assert_noop(RULE, source)


def test_run_picks_the_right_branch_for_both_values(tmp_path, prefect_api):
    src = (
        "from prefect import flow, task, case\nfrom prefect.tasks.control_flow import merge\n\n"
        "@task\ndef yes():\n    return 'yes'\n\n@task\ndef no():\n    return 'no'\n\n"
        "@task\ndef shout(x):\n    return x.upper()\n\n"
        "@flow\ndef f(cond):\n"
        "    with case(cond, True):\n        a = yes()\n"
        "    with case(cond, False):\n        b = no()\n"
        "    c = merge(a, b)\n    return shout(c)\n\n"
        "@flow\ndef g(cond):\n"
        "    with case(cond, True):\n        a = yes()\n"
        "    loud = shout(a)\n    return a\n"
    )
    code = apply_rule(RULE, src)
    path = tmp_path / "migrated.py"
    path.write_text(code)
    ns = runpy.run_path(str(path))
    assert ns["f"](True) == "YES"
    assert ns["f"](False) == "NO"
    # only-one-branch variable: initialised to None, so later code does not raise NameError
    assert ns["g"](True) == "yes"
    assert ns["g"](False) is None


def test_pipeline_with_flow_block():
    """Whole pipeline (PF002 turns the `with Flow` block into a @flow function first)."""
    from meta_flows.core.codemod.testing import migrate

    src = (
        "from prefect import Flow, task, case\nfrom prefect.tasks.control_flow import merge\n\n"
        "@task\ndef check():\n    return True\n\n@task\ndef yes():\n    return 1\n\n"
        "@task\ndef no():\n    return 2\n\n"
        "with Flow('demo') as flow:\n    cond = check()\n"
        "    with case(cond, True):\n        a = yes()\n"
        "    with case(cond, False):\n        b = no()\n"
        "    c = merge(a, b)\n"
    )
    code = migrate(src).code
    assert "control_flow" not in code and "case" not in code.split("@task")[0]
    compile(code, "x", "exec")
    # check() returns a bool (every return is one): if/else
    assert code == (
        "from prefect import flow, task\n\n"
        "@task\ndef check():\n    return True\n\n@task\ndef yes():\n    return 1\n\n"
        "@task\ndef no():\n    return 2\n\n"
        "@flow(name='demo')\ndef demo():\n    cond = check()\n"
        "    if cond:\n        c = yes()\n    else:\n        c = no()\n"
    )
    # a task that may return 2 or "yes": Prefect 1 compared with ==, and ran neither branch
    code = migrate(src.replace("return True", "return 1")).code
    assert code.endswith(
        "    cond = check()\n"
        "    c = None\n"
        "    if cond == True:  # noqa: E712\n        c = yes()\n"
        "    elif cond == False:  # noqa: E712\n        c = no()\n"
    )


@pytest.mark.parametrize(
    ("value", "test_true", "test_false"),
    [
        ("x", "if y == True:  # noqa: E712", "elif y == False:  # noqa: E712"),
        ("x > 1", "if y:", "else:"),
        ("not x", "if y:", "else:"),
        ("isinstance(x, int)", "if y:", "else:"),
        ("True", "if y:", "else:"),
    ],
)
def test_case_true_false_keeps_prefect1_comparison(value, test_true, test_false):
    """Prefect 1's case ran its branch when ``result == value`` (CompareValue raises SKIP on
    ``!=``): for a value that is not provably a bool, ``2`` or ``"yes"`` ran neither branch."""
    src = (
        HEAD + f"@flow\ndef f(x, flag: bool):\n    y = {value}\n"
        "    with case(y, True):\n        a = yes()\n"
        "    with case(y, False):\n        b = no()\n"
    )
    out = apply_rule(RULE, src)
    assert f"    {test_true}\n        a = yes()\n    {test_false}\n        b = no()\n" in out
    assert apply_rule(RULE, out) == out


def test_case_on_a_bool_parameter():
    """A flow run validates its parameters: one annotated ``bool`` is a bool in the body."""
    src = (
        HEAD + "@flow\ndef f(flag: bool = True):\n"
        "    with case(flag, True):\n        a = yes()\n"
        "    with case(flag, False):\n        b = no()\n"
    )
    assert "    if flag:\n        a = yes()\n    else:\n        b = no()\n" in apply_rule(RULE, src)


@pytest.mark.parametrize(
    ("body", "boolean"),
    [
        ("    return len(x) > 3\n", True),
        ("    if x:\n        return False\n    return isinstance(x, list)\n", True),
        ("    return x\n", False),
        ("    if x:\n        return True\n", False),  # falls through: None
        ("    def inner():\n        return 1\n    return not x\n", True),
    ],
)
def test_case_on_a_task_returning_bools(body, boolean):
    src = (
        "from prefect import flow, task, case\n@task\ndef is_big(x):\n"
        + body
        + "@flow\ndef f(x):\n    big = is_big(x)\n"
        "    with case(big, True):\n        a = yes()\n    with case(big, False):\n        b = no()\n"
    )
    out = apply_rule(RULE, src)
    expected = "    if big:\n" if boolean else "    if big == True:  # noqa: E712\n"
    assert expected in out


def test_case_on_a_bool_expression():
    src = HEAD + "@flow\ndef f(x):\n    with case(x > 1, True):\n        yes()\n"
    assert apply_rule(RULE, src) == OUT_HEAD + "@flow\ndef f(x):\n    if x > 1:\n        yes()\n"


def test_case_on_a_name_assigned_twice_is_compared():
    src = (
        HEAD + "@flow\ndef f(x):\n    y = x > 1\n    y = x\n"
        "    with case(y, True):\n        yes()\n"
    )
    assert "    if y == True:  # noqa: E712\n" in apply_rule(RULE, src)


def test_case_false_alone_on_a_value_is_a_comparison():
    src = HEAD + "@flow\ndef f(x):\n    with case(x, False):\n        no()\n"
    out = apply_rule(RULE, src)
    assert out == OUT_HEAD + ("@flow\ndef f(x):\n    if x == False:  # noqa: E712\n        no()\n")


def test_switch_on_true_false_is_not_an_else():
    src = (
        "from prefect import flow\nfrom prefect.tasks.control_flow import switch\n"
        "@flow\ndef f(cond):\n    switch(cond, {True: a(), False: b()})\n"
    )
    assert apply_rule(RULE, src) == (
        "from prefect import flow\n@flow\ndef f(cond):\n"
        "    if cond == True:  # noqa: E712\n        a()\n"
        "    elif cond == False:  # noqa: E712\n        b()\n"
    )


def test_merge_with_task_options_is_placed():
    """``merge(a, b, checkpoint=False)``: the options were the Merge task's own."""
    src = flow_src(
        "    with case(cond, True):\n        a = yes()\n"
        "    with case(cond, False):\n        b = no()\n"
        "    c = merge(a, b, checkpoint=False, name='m')\n"
    )
    assert_rewrite(
        RULE,
        src,
        flow_src("    if cond:\n        c = yes()\n    else:\n        c = no()\n", OUT_HEAD),
    )


def test_merge_mapped_stays():
    src = flow_src(
        "    with case(cond, True):\n        a = yes()\n"
        "    with case(cond, False):\n        b = no()\n"
        "    c = merge(a, b, mapped=True)\n"
    )
    assert "c = merge(a, b, mapped=True)" in apply_rule(RULE, src)


# ---------------------------------------------------------------- issue #14: ifelse conditions

IFELSE_TASKS = (
    "from prefect import Flow, task\nfrom prefect.tasks.control_flow import ifelse\n\n"
    "@task\ndef check():\n    return False\n\n@task\ndef flags(x):\n    return x > 1\n\n"
    "@task\ndef yes():\n    return 1\n\n@task\ndef no():\n    return 0\n\n"
)


def test_ifelse_on_an_uncalled_task_calls_it():
    """Prefect 1 ran a task given uncalled as the condition and branched on its result; the
    task object itself is always true, so ``if check:`` would always take the first branch."""
    code = migrate(
        IFELSE_TASKS
        + 'with Flow("f") as flow:\n    t = yes()\n    f = no()\n    ifelse(check, t, f)\n'
    ).code
    assert "    if check():\n        yes()\n    else:\n        no()\n" in code
    assert "TODO" not in code


def test_mapped_ifelse_is_left_with_one_todo():
    """``ifelse(..., mapped=True)`` chooses per item: not a plain if/else."""
    code = migrate(
        IFELSE_TASKS + 'with Flow("f") as flow:\n    t = yes()\n    f = no()\n'
        "    ifelse(flags.map([1, 2]), t, f, mapped=True)\n"
    ).code
    assert "if flags" not in code
    assert code.count("TODO(prefect2-migration): PF008 `ifelse`") == 1
    assert "    ifelse(flags.map([1, 2]), t, f, mapped=True)\n" in code


# ---------------------------------------------------------------- issue #14: switch/ifelse shapes

SWITCH_TASKS = (
    "from prefect import Flow, task\nfrom prefect.tasks.control_flow import ifelse, switch\n\n"
    '@task\ndef condition():\n    return "b"\n\n@task\ndef a_branch():\n    return "A"\n\n'
    '@task\ndef b_branch(tag="B"):\n    return tag\n\n@task\ndef report(x):\n    return x\n\n'
)
SWITCH_OUT = SWITCH_TASKS.replace(
    "from prefect import Flow, task\nfrom prefect.tasks.control_flow import ifelse, switch\n",
    "from prefect import flow, task\n",
)


def _flow_of(code: str) -> str:
    return code[code.index("@flow") :]


def _imports(code: str) -> dict:
    """Run the migrated module's top level (no flow run): it imports under Prefect 2."""
    namespace: dict = {"__name__": "migrated"}
    exec(compile(code, "migrated.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            "    switch(condition, dict(a=a_branch, b=b_branch))\n",
            "    condition_result = condition()\n"
            '    if condition_result == "a":\n        a_branch()\n'
            '    elif condition_result == "b":\n        b_branch()\n',
            id="switch-py-uncalled-tasks-and-dict-call",
        ),
        pytest.param(
            "    chosen = switch(condition(), {'a': a_branch, 'b': b_branch})\n",
            "    condition_result = condition()\n"
            "    if condition_result == 'a':\n        a_branch()\n"
            "    elif condition_result == 'b':\n        b_branch()\n",
            id="unread-result-and-called-condition",
        ),
        pytest.param(
            "    x = a_branch()\n    y = b_branch()\n    res = ifelse(condition, x, y)\n"
            "    report(x)\n",
            "    if condition():\n        x = a_branch()\n        return report(x)\n"
            "    else:\n        b_branch()\n",
            id="ctrl-flow-py-assigned-ifelse-and-downstream-moved",
        ),
        pytest.param(
            "    c = condition()\n    switch(c, {'a': a_branch, 'b': b_branch})\n",
            "    c = condition()\n    if c == 'a':\n        a_branch()\n"
            "    elif c == 'b':\n        b_branch()\n",
            id="switch-on-a-result-variable-is-not-hoisted",
        ),
    ],
)
def test_switch_and_ifelse_shapes_from_real_flows(body, after):
    """Shapes of corpus flows (switch.py, ctrl_flow.py): only the chosen branch runs."""
    src = SWITCH_TASKS + 'with Flow("f") as flow:\n' + body
    result = migrate(src)
    assert _flow_of(result.code) == '@flow(name="f")\ndef f():\n' + after
    assert result.code.startswith(SWITCH_OUT)
    assert "TODO" not in result.code and "_Prefect1Stub" not in result.code
    assert migrate(result.code).code == result.code
    assert callable(_imports(result.code)["f"])


def test_switch_rule_alone_before_after():
    src = (
        "from prefect import flow, task\nfrom prefect.tasks.control_flow import switch\n\n"
        "@task\ndef pick():\n    return 1\n\n@task\ndef one():\n    return 1\n\n"
        "@flow\ndef f():\n    switch(pick, dict(x=one))\n    switch(draw(), {1: one(), 2: two()})\n"
    )
    assert_rewrite(
        RULE,
        src,
        "from prefect import flow, task\n\n"
        "@task\ndef pick():\n    return 1\n\n@task\ndef one():\n    return 1\n\n"
        '@flow\ndef f():\n    if pick() == "x":\n        one()\n'
        "    draw_result = draw()\n    if draw_result == 1:\n        one()\n"
        "    elif draw_result == 2:\n        two()\n",
    )


def test_switch_with_a_branch_task_used_elsewhere_keeps_one_todo():
    """branch_switch.py: the chosen tasks are also chained, so moving them into the branches
    would change what runs; the switch stays a stand-in under ONE TODO saying why."""
    src = SWITCH_TASKS + (
        'with Flow("f") as flow:\n'
        "    run_a = switch(condition(), {True: a_branch})\n"
        "    run_b = switch(condition(), {True: b_branch})\n"
        "    flow.chain(a_branch, b_branch)\n"
    )
    result = migrate(src)
    code = result.code
    assert code.count("TODO(prefect2-migration): PF008") == 1
    todo = next(line for line in code.splitlines() if "PF008" in line)
    assert "a task it chooses is used elsewhere in the flow too" in todo
    assert "could not be rewritten safely (a task" in todo and todo.count("; ") == 0
    assert "    run_a = switch(condition(), {True: a_branch})\n" in code
    assert 'switch = _Prefect1Stub("prefect.tasks.control_flow.switch")' in code
    assert migrate(code).code == code
    _imports(code)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "    r = switch(condition, {'a': a_branch})\n    report(r)\n",
            "its result is read",
            id="result-read",
        ),
        pytest.param(
            "    switch(condition, {'a': a_branch})\n    ifelse(condition, a_branch, b_branch)\n",
            "its condition, a task given uncalled, is used elsewhere",
            id="uncalled-condition-twice",
        ),
        pytest.param(
            "    x = a_branch()\n    switch(condition(), {1: x, 2: x})\n",
            "a task it chooses is used elsewhere",
            id="one-task-in-two-branches",
        ),
        pytest.param(
            "    k = 1\n    switch(condition(), {k: a_branch(), 2: b_branch()})\n",
            "its keys are not distinct literals",
            id="keys-not-literals",
        ),
    ],
)
def test_unsafe_switch_or_ifelse_keeps_the_stand_in_with_one_todo(body, reason):
    code = migrate(SWITCH_TASKS + 'with Flow("f") as flow:\n' + body).code
    todos = [line for line in code.splitlines() if "TODO(prefect2-migration): PF008" in line]
    assert todos and all(reason in t or "ifelse" in t for t in todos)
    assert any(reason in t for t in todos)
    assert "if condition" not in code
    assert migrate(code).code == code
    _imports(code)


@pytest.mark.parametrize(
    "source",
    [
        "from prefect import flow\nfrom mylib import switch\n"
        "@flow\ndef f(c):\n    switch(c, dict(a=x))\n",
        "from prefect import flow\n@flow\ndef f(ifelse):\n    ifelse(1, a(), b())\n",
        "from prefect import flow\nfrom prefect.tasks.control_flow import switch\n"
        "def dict(**kw):\n    return kw\n"
        "@flow\ndef f(c):\n    switch(c, dict(a=a()))\n",
    ],
)
def test_switch_noop(source):
    """Not Prefect's switch/ifelse, or ``dict`` is not the builtin: nothing to rewrite."""
    assert_noop(RULE, source)
