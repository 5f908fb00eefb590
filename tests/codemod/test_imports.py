"""PF001 imports: moved paths, unused imports swept, Prefect 1-only leftovers flagged."""

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.imports import ImportsRule
from meta_flows.core.codemod.stubs import STUB_SOURCE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite

STUB = "import inspect\n"  # the stand-in class needs it
ONLY_STUB = "import inspect"  # ... when it is the module's only import
STUB_LINES = STUB_SOURCE.count("\n")


def at(line: int) -> int:
    """A line number of the rewritten module, counted from the line after the stand-in class."""
    return STUB_LINES + line


def stub_class() -> str:
    """The stand-in class PF001 writes once, with the blank lines around it."""
    return f"\n\n\n{STUB_SOURCE}\n\n"


def stand_in(name: str, qualified: str, lines: str) -> str:
    """A Prefect 1 name bound to a stand-in under its one TODO (PF001's own reason)."""
    todo = todo_text(
        "PF001",
        f"`{name}` (Prefect 1 `{qualified}`, used at {lines}) has no automatic Prefect 2 "
        "equivalent: rewrite those lines for Prefect 2 (see the meta-flows migration spec, "
        f"docs/spec.md §1). Until then `{name}` is a stand-in (_Prefect1Stub) that raises "
        "NotImplementedError when a flow or task calls it",
    )
    return f'{todo}\n{name} = _Prefect1Stub("{qualified}")\n'


def module_todo(module: str, lines: str) -> str:
    """The TODO above a commented-out ``import prefect.x.y`` (no stand-in can bind ``prefect.x``)."""
    return todo_text(
        "PF001",
        f"`{module}` (used at {lines}) is a Prefect 1-only module: rewrite its uses by hand (see "
        "the meta-flows migration spec, docs/spec.md §1)",
    )


def import_code(tmp_path, code: str, **names):
    """Import ``code`` as a real module (a stand-in tells import time from the call stack);
    ``names`` are set in ``builtins`` meanwhile."""
    import builtins
    import importlib
    import sys
    import uuid

    module = f"migrated_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(code)
    saved = {k: getattr(builtins, k) for k in names if hasattr(builtins, k)}
    for key, value in names.items():
        setattr(builtins, key, value)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(tmp_path))
        for key in names:
            if key in saved:
                setattr(builtins, key, saved[key])
            else:
                delattr(builtins, key)


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


def test_used_prefect1_import_becomes_a_stand_in_with_one_todo():
    src = (
        "from prefect import flow\n"
        "from prefect.engine.state import Success\n"
        "\n"
        "@flow\n"
        "def f():\n"
        "    return Success()\n"
        "\n"
        "@flow\n"
        "def g():\n"
        "    return Success()\n"
    )
    out = apply_rule(ImportsRule, src)
    # one TODO for the construct, naming every line using it; the uses stay code, no TODO each
    assert out.count("TODO(prefect2-migration)") == 1
    assert "# from prefect" not in out and "\npass\n" not in out
    assert out == (
        f"{STUB}\nfrom prefect import flow"
        + stub_class()
        + stand_in("Success", "prefect.engine.state.Success", f"lines {at(14)}, {at(18)}")
        + "\n\n@flow\ndef f():\n    return Success()\n\n@flow\ndef g():\n    return Success()\n"
    )
    lines = out.splitlines()
    assert lines[at(14) - 1] == lines[at(18) - 1] == "    return Success()"
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_stand_in_imports_and_fails_loudly_at_run_time(tmp_path):
    """Called at import time a stand-in returns another one (the module imports); called at run
    time -- a flow or task run, a script -- it raises NotImplementedError naming the Prefect 1
    API."""
    src = (
        "from prefect.engine.results import LocalResult\n"
        "from prefect.engine import signals\n"
        "RESULT = LocalResult(dir='/tmp')\n"
        "KINDS = [signals.FAIL, RESULT.location]\n"
        "assert RESULT.location == '/tmp'  # compared at import time: a stand-in, truthy\n"
        "with LocalResult() as r:\n"
        "    item = r['x']\n"
        "\n"
        "def build():\n"
        "    return LocalResult(dir='/built')\n"
        "\n"
        "BUILT = build()  # a function called at import time: still import time\n"
        "\n"
        "def run():\n"
        "    raise signals.FAIL('boom')\n"
    )
    out = apply_rule(ImportsRule, src)
    assert out.count("# TODO(prefect2-migration)") == 2  # one per construct
    module = import_code(tmp_path, out)
    assert module.RESULT.prefect1_name == "prefect.engine.results.LocalResult(...)"
    assert module.KINDS[0].prefect1_name == "prefect.engine.signals.FAIL"
    assert module.BUILT.prefect1_name == "prefect.engine.results.LocalResult(...)"
    with pytest.raises(NotImplementedError, match="prefect.engine.signals.FAIL is Prefect 1 API"):
        module.run()
    with pytest.raises(NotImplementedError, match="LocalResult is Prefect 1 API"):
        module.build()
    with pytest.raises(NotImplementedError, match="LocalResult.*location is Prefect 1 API"):
        assert module.RESULT.location == "/tmp"  # compared at run time
    script = {"__name__": "__main__"}  # run as a script: its top-level code is run time
    with pytest.raises(NotImplementedError, match="LocalResult is Prefect 1 API"):
        exec(compile(out, "flows/example.py", "exec"), script)
    # loaded from its path as Prefect loads a deployment's entrypoint (load_script_as_module)
    import importlib.util

    path = tmp_path / "entrypoint.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("entrypoint", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    with pytest.raises(NotImplementedError):
        loaded.run()


def test_mixed_import_keeps_the_prefect2_names():
    src = "from prefect import flow, Parameter\n\nflow\nParameter('x')\n"
    out = apply_rule(ImportsRule, src)
    assert out.startswith(f"{STUB}\nfrom prefect import flow\n")
    assert 'Parameter = _Prefect1Stub("prefect.Parameter")\n' in out
    assert out.endswith("\n\nflow\nParameter('x')\n")


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


def test_star_import_with_prefect1_names_used_becomes_explicit_and_stand_ins(tmp_path):
    src = "from prefect import *\n\np = Parameter('x')\n\n@task\ndef a():\n    return case\n"
    out = apply_rule(ImportsRule, src)
    # the Prefect 2 names used are imported explicitly, the Prefect 1 ones are stand-ins; the
    # module-level use stays code (a stand-in called at import time returns a stand-in)
    assert out == (
        f"{STUB}\nfrom prefect import task"
        + stub_class()
        + stand_in("Parameter", "prefect.Parameter", f"line {at(14)}")
        + stand_in("case", "prefect.case", f"line {at(18)}")
        + "\n\np = Parameter('x')\n\n@task\ndef a():\n    return case\n"
    )
    assert import_code(tmp_path, out).p.prefect1_name == "prefect.Parameter(...)"
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


def engine_after(name: str, qualified: str) -> str:
    return (
        ONLY_STUB
        + stub_class()
        + stand_in(name, qualified, f"line {at(11)}")
        + f"\n\ndef f():\n    return {name}\n"
    )


ENGINE_IMPORTS = [
    pytest.param(
        "from prefect.engine import state\n",
        "state",
        engine_after("state", "prefect.engine.state"),
        id="from-engine-import-state",
    ),
    pytest.param(
        "from prefect.engine import FlowRunner, TaskRunner\n",
        "FlowRunner",
        engine_after("FlowRunner", "prefect.engine.FlowRunner"),
        id="runners",
    ),
    pytest.param(
        "import prefect.engine.state\n",
        "prefect.engine.state",
        ONLY_STUB
        + stub_class()
        + module_todo("prefect.engine.state", f"line {at(11)}")
        + f"; `prefect` is a stand-in now (_Prefect1Stub), used at line {at(11)}\n"
        + "# import prefect.engine.state\n"
        + 'prefect = _Prefect1Stub("prefect")\n\ndef f():\n    return prefect.engine.state\n',
        id="import-state",
    ),
    pytest.param(
        "from prefect.engine.flow_runner import FlowRunner\n",
        "FlowRunner",
        engine_after("FlowRunner", "prefect.engine.flow_runner.FlowRunner"),
        id="flow-runner",
    ),
]


@pytest.mark.parametrize("imp, use, after", ENGINE_IMPORTS)
def test_prefect_engine_names_are_prefect1_only(imp, use, after):
    assert apply_rule(ImportsRule, imp + "import os\n") == "import os\n"
    out = apply_rule(ImportsRule, f"{imp}\ndef f():\n    return {use}\n")
    assert out.count("# TODO(prefect2-migration): PF001") == 1
    assert f"\n    return {use}\n" in out
    assert not any(line.startswith(("from prefect", "import prefect")) for line in out.splitlines())
    assert out == after
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


STAYS_CODE = [
    pytest.param(
        "from prefect.engine.results import S3Result\n"
        "RESULT = S3Result(bucket='b')\n"
        "CONFIG = {'result': RESULT}\n"
        "OTHER = 1\n",
        id="transitive",
    ),
    pytest.param(
        "from prefect.engine import signals\n@decorate(signals.FAIL)\ndef f():\n    pass\ng = f\n",
        id="decorator",
    ),
    pytest.param(
        "from prefect.engine.state import Failed\nclass Handler(Base):\n    state = Failed\n",
        id="class-body-runs-at-import",
    ),
    pytest.param(
        "import os\n"
        "from prefect.engine.state import Failed\n"
        "if __name__ == '__main__':\n"
        "    print(os)\n"
        "    print(Failed)\n",
        id="inside-main-guard",
    ),
    pytest.param(
        "from prefect.engine.state import Failed\n"
        "for s in [Failed]:\n"
        "    print(s)\n"
        "with Failed() as fh:\n"
        "    pass\n"
        "while not s:\n"
        "    pass\n",
        id="block-headers",
    ),
]


@pytest.mark.parametrize("src", STAYS_CODE)
def test_module_level_uses_of_prefect1_names_stay_code_and_import(src, tmp_path):
    """Nothing is commented out after the import: the Prefect 1 name is a stand-in, one TODO."""
    out = apply_rule(ImportsRule, src)
    assert out.count("TODO(prefect2-migration)") == 1
    code_lines = [line for line in src.splitlines() if "import" not in line]
    after = out.rsplit('_Prefect1Stub("', 1)[-1]  # below the stand-in binding
    for line in code_lines:
        assert line in after, out
    assert not any(line.lstrip().startswith("# ") for line in after.splitlines()[1:]), out
    # the module imports: a stand-in called at import time returns another stand-in
    import_code(tmp_path, out, decorate=lambda x: lambda f: f, Base=object)
    assert apply_rule(ImportsRule, out) == out


def test_uses_inside_functions_are_listed_on_the_one_todo():
    src = (
        "from prefect.engine.results import S3Result\n"
        "RESULT = S3Result(bucket='b')\n"
        "\n"
        "def f():\n"
        "    return S3Result\n"
        "\n"
        "g = lambda: S3Result\n"
        "\n"
        "def h(S3Result):\n"
        "    return S3Result\n"
    )
    out = apply_rule(ImportsRule, src)
    assert out.count("TODO(prefect2-migration)") == 1
    lines = out.splitlines()
    # the module-level call, f and the lambda -- not h, whose parameter has the same name
    assert f"used at lines {at(10)}, {at(13)}, {at(15)})" in out, out
    assert [lines[at(n) - 1].strip() for n in (10, 13, 15)] == [
        "RESULT = S3Result(bucket='b')",
        "return S3Result",
        "g = lambda: S3Result",
    ]
    assert apply_rule(ImportsRule, out) == out


def test_prefect1_attribute_of_import_prefect_gets_one_todo():
    src = (
        "import prefect\n\nc = prefect.Client(api_key=k)\nf = prefect.flow\nd = prefect.Client()\n"
    )
    out = apply_rule(ImportsRule, src)
    assert out == (
        "import prefect\n\n"
        + todo_text(
            "PF001", "`prefect.Client` is Prefect 1 API (used at lines 4, 6): rewrite for Prefect 2"
        )
        + "\nc = prefect.Client(api_key=k)\nf = prefect.flow\nd = prefect.Client()\n"
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
    # the option went first: its Prefect 1 import is unused, removed, not a stand-in
    assert "_Prefect1Stub" not in out and "import LocalExecutor" not in out
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


SAME_MODULE_OTHER_NAMES = [
    ("prefect.artifacts", "update_link", "a new create_link_artifact(link, key=...)"),
    ("prefect.client", "Secret", "Secret.load(name).get() with Secret from prefect.blocks"),
    ("prefect.artifacts", "update_markdown", "a new create_markdown_artifact(markdown, key=...)"),
    ("prefect.client", "Client", "prefect.get_client()"),
    ("prefect.utilities.collections", "DotDict", "a plain dict"),
]


@pytest.mark.parametrize("module, name, instead", SAME_MODULE_OTHER_NAMES)
def test_prefect1_names_of_modules_prefect2_also_has_get_one_todo_saying_what_replaces_them(
    module, name, instead
):
    """Prefect 2 has ``prefect.artifacts``, ``prefect.client`` and ``prefect.utilities.*`` too,
    without these names: the import would fail under Prefect 2. The name becomes a stand-in
    under one TODO naming its Prefect 2 replacement; the calls stay code."""
    src = f"from prefect import flow\nfrom {module} import {name}\n\n@flow\ndef f():\n    {name}('x')\n"
    out = apply_rule(ImportsRule, src)
    assert out.count("TODO(prefect2-migration)") == 1
    [todo] = [line for line in out.splitlines() if "TODO(prefect2-migration)" in line]
    assert f"`{name}` (Prefect 1 `{module}.{name}`" in todo
    assert f"does not exist in Prefect 2 (the module does, without it): use {instead}" in todo
    assert f"from {module} import" not in out
    assert f"    {name}('x')" in out
    compile(out, "x", "exec")
    assert apply_rule(ImportsRule, out) == out


def test_prefect2_names_of_those_modules_are_left_alone():
    assert_noop(
        ImportsRule,
        "from prefect import flow\nfrom prefect.artifacts import create_markdown_artifact\n\n"
        "@flow\ndef f():\n    create_markdown_artifact('x')\n",
    )


def test_artifact_functions_take_their_prefect2_names():
    before = (
        "from prefect.artifacts import create_link\nfrom prefect import artifacts\n\n"
        "def report(url, text):\n    create_link(url)\n    return artifacts.create_markdown(text)\n"
    )
    after = (
        "from prefect.artifacts import create_link_artifact\nfrom prefect import artifacts\n\n"
        "def report(url, text):\n    create_link_artifact(url)\n"
        "    return artifacts.create_markdown_artifact(text)\n"
    )
    assert_rewrite(ImportsRule, before, after)


def test_artifact_functions_prefect2_lacks_get_one_todo_listing_their_lines():
    before = (
        "from prefect import artifacts\n\ndef report(i, url):\n"
        "    artifacts.update_link(i, url)\n    artifacts.update_link(i, url + '/2')\n"
    )
    got = apply_rule(ImportsRule, before)
    todo = todo_text(
        "PF001",
        "`artifacts.update_link` (Prefect 1 `prefect.artifacts.update_link`, used at lines 5, 6) "
        "does not exist in Prefect 2: use a new create_link_artifact(link, key=...) (Prefect 2 "
        "artifacts are versioned by key, not updated)",
    )
    assert got == before.replace(
        "    artifacts.update_link(i, url)\n", f"    {todo}\n    artifacts.update_link(i, url)\n"
    )
    assert apply_rule(ImportsRule, got) == got


def test_a_prefect_module_neither_version_has_becomes_a_stand_in():
    got = apply_rule(
        ImportsRule,
        "from prefect.runtimes import FlowCLI\n\ndef main(f):\n    FlowCLI(flow=f).run()\n",
    )
    assert 'FlowCLI = _Prefect1Stub("prefect.runtimes.FlowCLI")' in got
    assert "from prefect.runtimes" not in got
    assert apply_rule(ImportsRule, got) == got


@pytest.mark.parametrize(
    "source",
    [
        "from prefect.tasks import task_input_hash\n\nkey = task_input_hash\n",
        "from prefect.artifacts import create_link_artifact\n\nlink = create_link_artifact\n",
        "from prefect import artifacts\n\nmake = artifacts.create_markdown_artifact\n",
    ],
)
def test_prefect2_names_are_left_alone(source):
    assert_noop(ImportsRule, source)


def test_unused_prefect1_client_secret_import_is_removed():
    got = apply_rule(ImportsRule, "from prefect.client import Secret\nimport os\n\nx = os.sep\n")
    assert got == "import os\n\nx = os.sep\n"
