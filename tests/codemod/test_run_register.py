"""PF015 run_register: flow.run() / flow.register() / __main__."""

import pytest

from meta_flows.core.codemod.analysis.run_state import state_todo
from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.run_register import RunRegisterRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate
from tests.codemod.test_task_options import run_under_prefect2

HEAD = 'from prefect import Flow\n\nwith Flow("ETL Flow") as flow:\n    pass\n\n'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("flow.run()\n", 'if __name__ == "__main__":\n    etl_flow()\n'),
        (
            'flow.run(parameters={"n": 3})\n',
            'if __name__ == "__main__":\n    etl_flow(**{"n": 3})\n',
        ),
        ("flow.run(x=1)\n", 'if __name__ == "__main__":\n    etl_flow(x=1)\n'),
        ("flow.run(parameters={})\n", 'if __name__ == "__main__":\n    etl_flow()\n'),
        (
            'if __name__ == "__main__":\n    flow.run()\n',
            'if __name__ == "__main__":\n    etl_flow()\n',
        ),
        ("def main():\n    flow.run(n=2)\n", "def main():\n    etl_flow(n=2)\n"),
        ('flow.register(project_name="p", labels=["a"])\nx = 1\n', "x = 1\n"),
        ('if __name__ == "__main__":\n    flow.register("p")\n', ""),
        (
            'if __name__ == "__main__":\n    flow.register("p")\n    flow.run()\n',
            'if __name__ == "__main__":\n    etl_flow()\n',
        ),
        ("flow.visualize()\nflow.serialize()\nflow.run_agent()\n", ""),
        ("flow.run(run_on_schedule=True)\n", ""),
        ("flow.run(run_on_schedule=False)\n", 'if __name__ == "__main__":\n    etl_flow()\n'),
        (
            "# run it\nflow.run()\nflow.run(n=1)\n",
            '# run it\nif __name__ == "__main__":\n    etl_flow()\n    etl_flow(n=1)\n',
        ),
        ("def f():\n    flow.register()\n", "def f():\n    pass\n"),
    ],
)
def test_rewrites(before, after):
    # a statement removed at the end of the module takes its blank line with it
    expected = HEAD + after if after else HEAD[:-1]
    assert_rewrite(RunRegisterRule, HEAD + before, expected)


def test_state_result_is_flagged():
    """A state read otherwise than by per-task lookups keeps its one TODO on the call."""
    got = apply_rule(
        RunRegisterRule,
        HEAD + "state = flow.run()\nprint(state)\nassert state.result[t].result == 1\n",
    )
    assert "state = etl_flow(return_state=True)\n" in got
    assert "PF015 `state` was the Prefect 1 flow run State" in got
    assert apply_rule(RunRegisterRule, got) == got


LOOKUPS = """\
from prefect import Flow, task


@task
def total(xs):
    return sum(xs)


@task
def double(x):
    return 2 * x


with Flow("sums") as flow:
    doubled = double.map([1, 2])
    result = total(doubled)

state = flow.run()
{lookups}
"""


@pytest.mark.parametrize(
    ("lookups", "after"),
    [
        pytest.param(
            "assert state.result[result].result == 6\nprint(state.result[result].result)",
            "assert state.result(raise_on_failure=False) == 6\n"
            "print(state.result(raise_on_failure=False))",
            id="the-returned-task",
        ),
        pytest.param(
            "if True:\n    print(state.result[result].result, 1)",
            "if True:\n    print(state.result(raise_on_failure=False), 1)",
            id="nested",
        ),
    ],
)
def test_a_lookup_of_what_the_flow_returns_reads_the_state_result(lookups, after):
    """``state.result[t].result`` where the @flow returns ``t``: ``state.result(raise_on_failure=False)``, no TODO."""
    result = migrate(LOOKUPS.format(lookups=lookups), "flows.sums")
    assert result.todos == [], result.code
    assert result.code.endswith(
        "    result = total(doubled)\n    return result\n\nstate = sums(return_state=True)\n"
        + after
        + "\n"
    ), result.code
    assert migrate(result.code, "flows.sums").code == result.code


def test_a_lookup_of_another_task_gets_the_one_todo():
    """Those of another task are commented out (they would fail at import), under one TODO."""
    lookups = (
        "print(state.result[doubled].result)\nprint(state.result[doubled].result, 2)\n"
        "assert state.result[result].result == 6"
    )
    result = migrate(LOOKUPS.format(lookups=lookups), "flows.sums")
    assert [t.rule for t in result.todos] == ["PF015"]
    note = (
        "# prefect2-migration: reads per-task results of `state`, which Prefect 2 does not "
        "have (see the PF015 TODO on `state`)"
    )
    assert result.code.endswith(
        "state = sums(return_state=True)\n"
        + todo_text("PF015", state_todo("state"))
        + "\n# print(state.result[doubled].result)\n"
        + note
        + "\n# print(state.result[doubled].result, 2)\n"
        + "assert state.result(raise_on_failure=False) == 6\n"
    ), result.code
    assert migrate(result.code, "flows.sums").code == result.code


def test_used_result_of_removed_call_is_commented_out():
    got = apply_rule(RunRegisterRule, HEAD + "flow_id = flow.register()\nprint(flow_id)\n")
    assert "# TODO(prefect2-migration): PF015 flow.register() does not exist in Prefect 2" in got
    assert "# flow_id = flow.register()\nprint(flow_id)\n" in got  # no placeholder pass
    assert got == (
        HEAD
        + todo_text(
            "PF015",
            "flow.register() does not exist in Prefect 2 (deployments are built with "
            "`meta-flows deployments` / prefect.yaml and served by workers): rewrite the code that "
            "used its result",
        )
        + "\n# flow_id = flow.register()\nprint(flow_id)\n"
    )


def test_runner_options_dropped_with_todo():
    got = apply_rule(RunRegisterRule, HEAD + "flow.run(context={'a': 1}, x=2)\n")
    assert got == (
        HEAD
        + todo_text(
            "PF015",
            "flow.run() options context have no Prefect 2 equivalent on a flow call and were "
            "dropped",
        )
        + '\nif __name__ == "__main__":\n    etl_flow(x=2)\n'
    )


def test_the_executor_stays_for_pf014_on_with_options():
    got = apply_rule(RunRegisterRule, HEAD + "flow.run(executor=LocalExecutor(), x=2)\n")
    assert got == HEAD + (
        'if __name__ == "__main__":\n    etl_flow.with_options(executor=LocalExecutor())(x=2)\n'
    )


def test_name_follows_plan_with_several_flows():
    src = (
        'from prefect import Flow\nwith Flow("a") as flow:\n    pass\nflow.run()\n'
        'with Flow("b") as flow:\n    pass\nflow.run()\ndef main():\n    flow.run()\n'
    )
    got = apply_rule(RunRegisterRule, src)
    assert got.count("    a()\n") == 1 and got.count("    b()\n") == 2
    assert got == (
        'from prefect import Flow\nwith Flow("a") as flow:\n    pass\n'
        'if __name__ == "__main__":\n    a()\n'
        'with Flow("b") as flow:\n    pass\n'
        'if __name__ == "__main__":\n    b()\n'
        "def main():\n    b()\n"
    )


def test_factory_result():
    src = (
        'from prefect import Flow\ndef create():\n    with Flow("made") as f:\n        pass\n'
        "    return f\n\nflow = create()\nflow.run()\n"
    )
    got = apply_rule(RunRegisterRule, src)
    assert got.endswith('flow = create()\nif __name__ == "__main__":\n    flow()\n')
    assert got == src.replace("flow.run()\n", 'if __name__ == "__main__":\n    flow()\n')


@pytest.mark.parametrize(
    "src",
    [
        "import subprocess\nsubprocess.run(['ls'])\n",
        "from prefect import Flow\nclass A:\n    def run(self):\n        pass\nflow = A()\nflow.run()\n",
        "from metaflow import Flow\nwith Flow('x') as flow:\n    pass\nflow.run()\n",
        HEAD + "def f(flow):\n    flow.run()\n",
        "from prefect import flow\n@flow\ndef etl():\n    pass\nif __name__ == '__main__':\n    etl()\n",
    ],
)
def test_noop(src):
    assert_noop(RunRegisterRule, src)


def test_flow_bound_inside_a_movable_function():
    src = (
        "from prefect import Flow\n\n"
        'def main():\n    with Flow("ETL Flow") as flow:\n        pass\n'
        "    flow.register()\n    flow.run(n=1)\n"
    )
    after = (
        "from prefect import Flow\n\n"
        'def main():\n    with Flow("ETL Flow") as flow:\n        pass\n    etl_flow(n=1)\n'
    )
    assert_rewrite(RunRegisterRule, src, after)


@pytest.mark.parametrize(
    "src",
    [
        # the function has arguments: PF002 leaves the flow for a human, so does PF015
        'from prefect import Flow\ndef main(n):\n    with Flow("x") as flow:\n        pass\n'
        "    flow.run()\n",
        # a local `flow` of another function is not the one built in main
        'from prefect import Flow\ndef main():\n    with Flow("x") as flow:\n        pass\n'
        "\ndef other(flow):\n    flow.run()\n",
    ],
)
def test_local_flow_noop(src):
    assert_noop(RunRegisterRule, src)


def test_per_task_state_lookups_are_commented_out_under_the_states_todo():
    # one root cause: the state's TODO says per-task results are gone; the lookups (which would
    # fail at import) are commented out with a note pointing to it, not a TODO of their own
    got = apply_rule(
        RunRegisterRule,
        HEAD + "state = flow.run()\nassert state.result[t].result == 1\nprint(state)\n",
    )
    note = (
        "# prefect2-migration: reads per-task results of `state`, which Prefect 2 does not have "
        "(see the PF015 TODO on `state`)\n"
    )
    assert note + "# assert state.result[t].result == 1\nprint(state)\n" in got
    assert got.count("TODO(prefect2-migration)") == 1
    assert "per-task results `state.result[task]` no longer exist" in got
    assert apply_rule(RunRegisterRule, got) == got


@pytest.mark.parametrize("copy_call", ["flow.copy()", "copy.deepcopy(flow)"], ids=str)
def test_run_of_a_flow_copy_calls_the_copy(copy_call):
    """``g = f.copy()`` is a Prefect 2 flow once PF002 made it ``f.with_options(...)``: its
    ``run()`` is a call, like the flow's. Its ``register()`` stays for PF002's TODO (a copy needs
    a deployment of its own, which prefect.yaml does not get from the flow's)."""
    assert_rewrite(
        RunRegisterRule,
        "import copy\n\n"
        + HEAD
        + f'eu = {copy_call}\neu.name = "eu"\neu.run()\neu.register("p")\n',
        "import copy\n\n"
        + HEAD
        + f'eu = {copy_call}\neu.name = "eu"\nif __name__ == "__main__":\n    eu()\n'
        + 'eu.register("p")\n',
    )


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(HEAD + "eu = other.copy()\neu.run()\n", id="copy-of-something-else"),
        pytest.param("eu = flow.copy()\n" + HEAD + "eu.run()\n", id="copied-before-the-flow"),
    ],
)
def test_run_of_other_copies_is_left_alone(src):
    assert_noop(RunRegisterRule, src)


@pytest.mark.prefect
def test_the_state_result_is_the_tasks_result_under_prefect2(tmp_path, prefect_env):
    """The migrated module runs its flow at import: ``state.result(...)`` is what Prefect 1's
    ``state.result[result].result`` was (6), and the map's list for a map the flow returns."""
    lookups = "assert state.result[result].result == 6\nprint('TOTAL', state.result[result].result)"
    code = migrate(LOOKUPS.format(lookups=lookups), "flows.sums").code
    assert "TOTAL 6" in run_under_prefect2(tmp_path, code, prefect_env)
    mapped = LOOKUPS.replace("    result = total(doubled)\n", "").format(
        lookups="print('MAPPED', state.result[doubled].result)"
    )
    code = migrate(mapped, "flows.sums").code
    assert "print('MAPPED', state.result(raise_on_failure=False))" in code, code
    assert "MAPPED [2, 4]" in run_under_prefect2(tmp_path, code, prefect_env)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "with prefect.context(secrets={'A': 1}):\n    state = flow.run()\n",
            "if __name__ == \"__main__\":\n    with prefect.context(secrets={'A': 1}):\n"
            "        state = etl_flow(return_state=True)\n",
            id="with-block-unread-state-no-todo",
        ),
        pytest.param(
            "# each size\nfor n in [1, 2]:\n    flow.run(n=n)\n",
            '# each size\nif __name__ == "__main__":\n    for n in [1, 2]:\n        etl_flow(n=n)\n',
            id="for-loop",
        ),
    ],
)
def test_a_module_level_block_running_the_flow_is_guarded(before, after):
    """Prefect 1 ran it at import; importing the migrated module (a deployment, the validation)
    must run nothing, as for a plain ``flow.run()``."""
    src = "import prefect\n" + HEAD
    assert_rewrite(RunRegisterRule, src + before, src + after)


def test_a_block_defining_what_the_module_uses_is_not_guarded():
    src = (
        "import prefect\n" + HEAD + "with open('x') as fh:\n    data = fh.read()\n    flow.run()\n"
    )
    got = apply_rule(RunRegisterRule, src + "print(data)\n")
    assert '__name__ == "__main__"' not in got and "    etl_flow()\n" in got
