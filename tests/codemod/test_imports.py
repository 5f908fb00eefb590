"""PF001 imports: moved paths, unused imports swept, Prefect 1-only leftovers flagged."""

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.imports import ImportsRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite


def import_todo(names: str, module: str) -> str:
    """The TODO above a commented-out Prefect 1-only ``from`` import."""
    return todo_text(
        "PF001",
        f"{names} from `{module}` is Prefect 1 API with no automatic Prefect 2 equivalent: "
        "rewrite its uses by hand (see the meta-flows migration spec, docs/spec.md §1)",
    )


def uses_todo(qualified: str) -> str:
    """The TODO above a statement using a name whose Prefect 1 import is commented out."""
    return todo_text(
        "PF001",
        f"uses Prefect 1 `{qualified}` (its import is commented out): rewrite for Prefect 2",
    )


def dead_name_todo(name: str, module_level: bool = True) -> str:
    """The TODO of a statement reading a name that is no longer defined at module level."""
    gone = (
        f"`{name}`, no longer defined at module level (its Prefect 1 import or definition was "
        "commented out, or moved into a flow function)"
    )
    if module_level:
        return todo_text(
            "PF001",
            f"reads {gone}: the module would fail to import (NameError); rewrite for Prefect 2",
        )
    return todo_text("PF001", f"uses {gone}: rewrite for Prefect 2")


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
    assert out == (
        "from prefect import flow\n"
        f"{import_todo('`Success`', 'prefect.engine.state')}\n"
        "# from prefect.engine.state import Success\n"
        "pass\n"
        "\n"
        "@flow\n"
        "def f():\n"
        f"    {uses_todo('prefect.engine.state.Success')}\n"
        "    return Success()\n"
    )
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_mixed_import_keeps_the_prefect2_names():
    src = "from prefect import flow, Parameter\n\nflow\nParameter('x')\n"
    out = apply_rule(ImportsRule, src)
    assert out.startswith("from prefect import flow\n")
    assert "# from prefect import Parameter\n" in out


STAR_REWRITES = [
    pytest.param("from prefect import *\nimport os\n", "import os\n", id="star-unused"),
    pytest.param(
        "# header\nfrom prefect import *\n\n@task\ndef a(x):\n    return unmapped(x)\n",
        "# header\nfrom prefect import task, unmapped\n\n@task\ndef a(x):\n    return unmapped(x)\n",
        id="star-becomes-explicit",
    ),
    pytest.param(
        "from prefect import *\n\n@flow(name='f')\ndef f():\n    get_run_logger().info(1)\n",
        "from prefect import flow, get_run_logger\n\n@flow(name='f')\n"
        "def f():\n    get_run_logger().info(1)\n",
        id="star-names-added-by-rules",
    ),
    pytest.param(
        "from prefect import *\n\ndef task(f):\n    return f\n\n@task\ndef a():\n    pass\n",
        "\ndef task(f):\n    return f\n\n@task\ndef a():\n    pass\n",
        id="star-name-defined-locally",
    ),
]


@pytest.mark.parametrize("before, after", STAR_REWRITES)
def test_star_import_replaced_by_explicit_prefect2_imports(before, after):
    assert_rewrite(ImportsRule, before, after)


def test_star_import_with_prefect1_names_used_is_commented_out():
    src = "from prefect import *\n\np = Parameter('x')\n\n@task\ndef a():\n    return case\n"
    out = apply_rule(ImportsRule, src)
    assert out.startswith("from prefect import task\n")
    assert "# from prefect import *\n" in out
    assert "(used here: `Parameter`, `case`)" in out
    # module level: commented out (NameError otherwise); inside a function: a TODO
    assert "# p = Parameter('x')\n" in out
    assert "    # TODO(prefect2-migration): PF001 uses `case`" in out
    assert "    return case\n" in out
    star_todo = todo_text(
        "PF001",
        "`from prefect import *` binds Prefect 1 names (used here: `Parameter`, `case`): import "
        "the Prefect 2 names this module uses explicitly",
    )
    assert out == (
        "from prefect import task\n"
        "\n"
        f"{star_todo}\n"
        "# from prefect import *\n"
        "pass\n"
        "\n"
        f"{dead_name_todo('Parameter')}\n"
        "# p = Parameter('x')\n"
        "pass\n"
        "\n"
        "@task\n"
        "def a():\n"
        f"    {dead_name_todo('case', module_level=False)}\n"
        "    return case\n"
    )
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_star_import_module_imports_under_prefect2():
    from meta_flows.core.codemod.testing import migrate

    src = (
        "from prefect import *\n\n"
        "@task\n"
        "def double(x):\n"
        "    return 2 * x\n\n"
        'with Flow("star") as flow:\n'
        "    double.map([1, 2], unmapped(3))\n"
    )
    out = migrate(src).code
    assert out == (
        "from prefect import flow, task, unmapped\n\n"
        "@task\n"
        "def double(x):\n"
        "    return 2 * x\n\n"
        '@flow(name="star")\n'
        "def star():\n"
        "    return [future.result() for future in double.map([1, 2], unmapped(3))]\n"
    )
    namespace: dict = {}
    exec(compile(out, "star_mod", "exec"), namespace)
    import prefect

    assert namespace["task"] is prefect.task and namespace["unmapped"] is prefect.unmapped
    assert namespace["flow"] is prefect.flow


def engine_after(names: str, module: str, import_line: str, qualified: str, use: str) -> str:
    return (
        f"{import_todo(names, module)}\n# {import_line}pass\n\n"
        f"def f():\n    {uses_todo(qualified)}\n    return {use}\n"
    )


ENGINE_IMPORTS = [
    pytest.param(
        "from prefect.engine import state\n",
        "state",
        engine_after(
            "`state`",
            "prefect.engine",
            "from prefect.engine import state\n",
            "prefect.engine.state",
            "state",
        ),
        id="from-engine-import-state",
    ),
    pytest.param(
        "from prefect.engine import FlowRunner, TaskRunner\n",
        "FlowRunner",
        engine_after(
            "`FlowRunner`",
            "prefect.engine",
            "from prefect.engine import FlowRunner\n",
            "prefect.engine.FlowRunner",
            "FlowRunner",
        ),
        id="runners",
    ),
    # whole text not pinned: the use gets two overlapping TODOs (module and `prefect`)
    pytest.param("import prefect.engine.state\n", "prefect.engine.state", None, id="import-state"),
    pytest.param(
        "from prefect.engine.flow_runner import FlowRunner\n",
        "FlowRunner",
        engine_after(
            "`FlowRunner`",
            "prefect.engine.flow_runner",
            "from prefect.engine.flow_runner import FlowRunner\n",
            "prefect.engine.flow_runner.FlowRunner",
            "FlowRunner",
        ),
        id="flow-runner",
    ),
]


@pytest.mark.parametrize("imp, use, after", ENGINE_IMPORTS)
def test_prefect_engine_names_are_prefect1_only(imp, use, after):
    assert apply_rule(ImportsRule, imp + "import os\n") == "import os\n"
    out = apply_rule(ImportsRule, f"{imp}\ndef f():\n    return {use}\n")
    assert "# TODO(prefect2-migration): PF001" in out
    assert f"\n    return {use}\n" in out
    assert not any(line.startswith(("from prefect", "import prefect")) for line in out.splitlines())
    if after is not None:
        assert out == after
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


DEAD_NAMES = [
    pytest.param(
        "from prefect.engine.results import S3Result\n"
        "RESULT = S3Result(bucket='b')\n"
        "CONFIG = {'result': RESULT}\n"
        "OTHER = 1\n",
        ["# RESULT = S3Result(bucket='b')", "# CONFIG = {'result': RESULT}"],
        ["OTHER = 1"],
        id="transitive",
    ),
    pytest.param(
        "from prefect.engine import signals\n@decorate(signals.FAIL)\ndef f():\n    pass\ng = f\n",
        ["# @decorate(signals.FAIL)", "# def f():", "# g = f"],
        [],
        id="decorator-kills-def",
    ),
    pytest.param(
        "from prefect.engine.state import Failed\nclass Handler(Base):\n    state = Failed\n",
        ["# class Handler(Base):", "#     state = Failed"],
        [],
        id="class-body-runs-at-import",
    ),
    pytest.param(
        "import os\n"
        "from prefect.engine.state import Failed\n"
        "if __name__ == '__main__':\n"
        "    print(os)\n"
        "    print(Failed)\n",
        ["    # print(Failed)"],
        ["if __name__ == '__main__':", "    print(os)"],
        id="inside-main-guard",
    ),
    pytest.param(
        "from prefect.engine.state import Failed\n"
        "for s in [Failed]:\n"
        "    print(s)\n"
        "with open(Failed) as fh:\n"
        "    pass\n"
        "while s:\n"
        "    pass\n",
        ["# for s in [Failed]:", "#     print(s)", "# with open(Failed) as fh:", "# while s:"],
        [],
        id="block-headers",
    ),
]


@pytest.mark.parametrize("src, commented, live", DEAD_NAMES)
def test_module_level_uses_of_commented_out_names_are_commented_out(src, commented, live):
    out = apply_rule(ImportsRule, src)
    lines = out.splitlines()
    for line in commented:
        assert line in lines, out
    for line in live:
        assert line in lines, out
    assert "reads `" in out
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_uses_inside_functions_get_a_todo_only():
    src = (
        "from prefect.engine.results import S3Result\n"
        "RESULT = S3Result(bucket='b')\n"
        "\n"
        "def f():\n"
        "    return RESULT\n"
        "\n"
        "g = lambda: RESULT\n"
        "\n"
        "def h(RESULT):\n"
        "    return RESULT\n"
    )
    out = apply_rule(ImportsRule, src)
    assert "    # TODO(prefect2-migration): PF001 uses `RESULT`" in out
    assert "    return RESULT\n" in out
    assert "g = lambda: RESULT\n" in out  # runs later: flagged, not commented out
    assert out.count("uses `RESULT`") == 2  # f and the lambda, not h's parameter
    assert apply_rule(ImportsRule, out) == out


def test_prefect1_attribute_of_import_prefect_gets_a_todo():
    src = "import prefect\n\nc = prefect.Client(api_key=k)\nf = prefect.flow\n"
    out = apply_rule(ImportsRule, src)
    assert "# TODO(prefect2-migration): PF001 `prefect.Client` is Prefect 1 API" in out
    assert out.count("TODO") == 1
    assert out == (
        "import prefect\n\n"
        + todo_text("PF001", "`prefect.Client` is Prefect 1 API: rewrite for Prefect 2")
        + "\nc = prefect.Client(api_key=k)\nf = prefect.flow\n"
    )
    assert apply_rule(ImportsRule, out) == out


DEAD_NAME_NOOPS = [
    pytest.param("from os import *\nx = path\n", id="other-star-import"),
    pytest.param("import os\nx = os.path\nprint(undefined_name)\n", id="never-defined"),
    pytest.param("from prefect import flow\nf = flow\n", id="prefect2"),
]


@pytest.mark.parametrize("source", DEAD_NAME_NOOPS)
def test_dead_name_noops(source):
    assert_noop(ImportsRule, source)


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
    from meta_flows.core.codemod.testing import migrate

    src = (
        "import prefect\n"
        "from prefect import task\n\n"
        "@task\n"
        "def a():\n"
        "    prefect.context.get('logger').info('hi')\n"
    )
    out = migrate(src).code
    assert "import prefect\n" not in out
    assert out == (
        "from prefect import get_run_logger, task\n\n"
        "@task\n"
        "def a():\n"
        "    get_run_logger().info('hi')\n"
    )


def test_flow_options_list_matches_prefect2():
    import inspect

    import prefect

    from meta_flows.core.codemod.names import PREFECT2_FLOW_OPTIONS

    params = set(inspect.signature(prefect.flow).parameters) - {"__fn"}
    assert params == PREFECT2_FLOW_OPTIONS
