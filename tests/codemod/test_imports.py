"""PF001 imports: moved paths, unused imports swept, Prefect 1-only leftovers flagged."""

import pytest

from meta_flows.codemod.base import todo_text
from meta_flows.codemod.rules.imports import ImportsRule
from meta_flows.codemod.testing import apply_rule, assert_noop, assert_rewrite

REWRITES = [
    pytest.param(
        "from prefect.utilities.edges import unmapped\nx = unmapped(1)\n",
        "from prefect import unmapped\n\nx = unmapped(1)\n",
        id="unmapped-moves",
    ),
    pytest.param(
        "from prefect import task, Parameter\n\n@task\ndef a():\n    return 1\n",
        "from prefect import task\n\n@task\ndef a():\n    return 1\n",
        id="unused-p1-name-removed",
    ),
    pytest.param(
        "from prefect.executors import LocalDaskExecutor\nimport os\n",
        "import os\n",
        id="unused-p1-module-removed",
    ),
]

NOOPS = [
    pytest.param("from prefect import flow, task\n\n@flow\ndef f():\n    task\n", id="p2"),
    pytest.param("import prefect\n\n@prefect.flow\ndef f():\n    pass\n", id="import-prefect-used"),
    pytest.param("from os import path\nimport json\n", id="not-prefect"),
    pytest.param("from prefect import task, Flow\nimport prefect\n", id="users-unused-p2-imports"),
    pytest.param("from prefect import get_run_logger as grl\ngrl()\n", id="alias-used"),
]


@pytest.mark.parametrize("before, after", REWRITES)
def test_rewrites(before, after):
    assert_rewrite(ImportsRule, before, after)


@pytest.mark.parametrize("source", NOOPS)
def test_noops(source):
    assert_noop(ImportsRule, source)


def test_used_prefect1_import_is_commented_out_and_uses_flagged():
    src = (
        "from prefect import flow\n"
        "from prefect.engine.state import Success\n"
        "\n"
        "@flow\n"
        "def f():\n"
        "    return Success()\n"
    )
    out = apply_rule(ImportsRule, src)
    assert "# from prefect.engine.state import Success\n" in out
    assert "from prefect import flow\n" in out
    assert "uses Prefect 1 `prefect.engine.state.Success`" in out
    # The TODO sits on the line above the use, indented like it.
    lines = out.splitlines()
    use = lines.index("    return Success()")
    assert lines[use - 1].startswith("    # TODO(prefect2-migration): PF001")
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_mixed_import_keeps_the_prefect2_names():
    src = "from prefect import flow, Parameter\n\nflow\nParameter('x')\n"
    out = apply_rule(ImportsRule, src)
    assert out.startswith("from prefect import flow\n")
    assert "# from prefect import Parameter\n" in out


def test_star_import_of_prefect1_is_commented_out():
    src = "from prefect import *\n"
    out = apply_rule(ImportsRule, src)
    assert "# from prefect import *" in out and "TODO(prefect2-migration): PF001" in out


def test_unknown_flow_options_are_removed_with_todo():
    src = (
        "from prefect import flow\n"
        "from prefect.executors import LocalExecutor\n\n"
        '@flow(name="x", executor=LocalExecutor())\n'
        "def x():\n"
        "    pass\n"
    )
    out = apply_rule(ImportsRule, src)
    assert '@flow(name="x")\n' in out
    assert (
        todo_text(
            "PF001",
            "removed Prefect 1 flow option(s) `executor=LocalExecutor()`: no automatic Prefect 2 "
            "equivalent",
        )
        in out
    )
    assert "LocalExecutor" not in out.split("TODO")[0]
    assert apply_rule(ImportsRule, out) == out


def test_imports_whose_uses_were_rewritten_away_are_removed():
    from meta_flows.codemod.testing import migrate

    src = (
        "import prefect\n"
        "from prefect import task\n\n"
        "@task\n"
        "def a():\n"
        "    prefect.context.get('logger').info('hi')\n"
    )
    out = migrate(src).code
    assert "import prefect\n" not in out
