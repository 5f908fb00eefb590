"""PF003 parameters: Parameter(...) -> typed flow function arguments."""

import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.parameters import ParametersRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite

HEAD = "from prefect import flow, Parameter\n\n"
AFTER_HEAD = "from prefect import flow\n\n"


def flow_src(body: str, args: str = "") -> str:
    return f'@flow(name="f")\ndef f({args}):\n' + "".join(f"    {ln}\n" for ln in body.splitlines())


@pytest.mark.parametrize(
    ("body", "args", "new_body"),
    [
        ('n = Parameter("n", default=3)\nx(n)', "n: int = 3", "x(n)"),
        ('n = Parameter("n", default=1.5)\nx(n)', "n: float = 1.5", "x(n)"),
        ('n = Parameter("n", default="a")\nx(n)', 'n: str = "a"', "x(n)"),
        ('n = Parameter("n", default=False)\nx(n)', "n: bool = False", "x(n)"),
        ('n = Parameter("n", default=None)\nx(n)', "n=None", "x(n)"),
        ('n = Parameter("n", required=False)\nx(n)', "n=None", "x(n)"),
        ('n = Parameter("n", default=N)\nx(n)', "n=N", "x(n)"),
        ('n = Parameter("n")\nx(n)', "n", "x(n)"),
        ('n = Parameter("n", 3)\nx(n)', "n: int = 3", "x(n)"),
        ('n = Parameter("n", default=3, required=True)\nx(n)', "n", "x(n)"),
        (
            'a = Parameter("a", default=1)\nb = Parameter("b")\nc = Parameter("c", default="c")\nx(a, b, c)',
            'b, a: int = 1, c: str = "c"',
            "x(a, b, c)",
        ),
        ('num = Parameter("n", default=3)\nx(num)', "n: int = 3", "num = n\nx(num)"),
        ('p = Parameter("p")\nx(upstream_tasks=[p])', "p", "x(upstream_tasks=[p])"),
        ('n = Parameter("n", tags=["t"])', "n", "pass"),
        # a list default: a tuple in the signature (see test_list_default_* below)
        (
            '"""Doc."""\n# c\nn = Parameter("n", default=[1])\nx(n)',
            "n: list = (1,)",
            '"""Doc."""\n# c\nx(n)',
        ),
        (
            'r = Parameter("r", default=["eu", "us", "apac"])\nx(r)',
            'r: list = ("eu", "us", "apac")',
            "x(r)",
        ),
        ('n = Parameter("n", default=[])\nx(n)', "n: list = ()", "x(n)"),
        ('n = Parameter("n", default=[1, (2, 3)])\nx(n)', "n: list = (1, (2, 3))", "x(n)"),
        # a mutable object inside the default: None in the signature, a fresh copy per call
        (
            '"""Doc."""\n# c\nn = Parameter("n", default=[[1]])\nx(n)',
            "n: Optional[list] = None",
            '"""Doc."""\n# c\nn = n if n is not None else [[1]]\nx(n)',
        ),
        (
            'n = Parameter("n", default={"k": [1]})\nx(n)',
            "n: Optional[dict] = None",
            'n = n if n is not None else {"k": [1]}\nx(n)',
        ),
    ],
)
def test_parameters_become_arguments(body, args, new_body):
    after = AFTER_HEAD + flow_src(new_body, args)
    if "Optional" in args:
        after = "from typing import Optional\n\nfrom prefect import flow\n\n" + flow_src(
            new_body, args
        )
    assert_rewrite(ParametersRule, HEAD + flow_src(body), after)


def test_json_parameter_dict_default():
    before = (
        "from prefect import flow\nfrom prefect.core.parameter import JSONParameter\n\n"
        + flow_src('cfg = JSONParameter("cfg", default={"a": 1})\nx(cfg)')
    )
    after = "from collections.abc import Mapping\n\nfrom prefect import flow\n\n" + flow_src(
        "x(cfg)", 'cfg: Mapping = {"a": 1}'
    )
    assert_rewrite(ParametersRule, before, after)


def test_json_parameter_renamed_variable_copies_into_variable():
    src = "from prefect import flow, JSONParameter\n" + flow_src(
        'c = JSONParameter("cfg", default={})\nx(c)'
    )
    got = apply_rule(ParametersRule, src)
    assert "def f(cfg: Mapping = {}):\n    c = cfg\n    x(c)\n" in got
    assert got == "from collections.abc import Mapping\n\nfrom prefect import flow\n\n\n" + (
        flow_src("c = cfg\nx(c)", "cfg: Mapping = {}")
    )


@pytest.mark.parametrize(
    ("call", "arg", "imports"),
    [
        ('DateTimeParameter("d")', "d: datetime.datetime", "import datetime\n"),
        (
            'DateTimeParameter("d", required=False)',
            "d: Optional[datetime.datetime] = None",
            "import datetime\nfrom typing import Optional\n",
        ),
        (
            'DateTimeParameter("d", default=None, required=False)',
            "d: Optional[datetime.datetime] = None",
            "import datetime\nfrom typing import Optional\n",
        ),
    ],
)
def test_datetime_parameter(call, arg, imports):
    src = (
        "from prefect import flow\nfrom prefect.core.parameter import DateTimeParameter\n"
        + flow_src(f"d = {call}\nx(d)")
    )
    got = apply_rule(ParametersRule, src)
    assert f"def f({arg}):\n    x(d)\n" in got
    assert "import datetime\n" in got and "DateTimeParameter" not in got
    assert got == f"{imports}\nfrom prefect import flow\n\n\n" + flow_src("x(d)", arg)
    assert apply_rule(ParametersRule, got) == got


def test_datetime_default_flagged():
    src = "from prefect import flow, DateTimeParameter\n" + flow_src(
        'd = DateTimeParameter("d", default="2020-01-01")'
    )
    got = apply_rule(ParametersRule, src)
    assert 'def f(d: datetime.datetime = "2020-01-01"):' in got
    assert "PF003 DateTimeParameter 'd' default is no longer parsed" in got
    todo = todo_text(
        "PF003",
        "DateTimeParameter 'd' default is no longer parsed into a datetime: make it a "
        "datetime.datetime (or None)",
    )
    assert got == f"import datetime\n\nfrom prefect import flow\n\n\n{todo}\n" + flow_src(
        "pass", 'd: datetime.datetime = "2020-01-01"'
    )


def test_non_identifier_name():
    src = HEAD + flow_src('start = Parameter("start-date", default="x")\nx(start)')
    got = apply_rule(ParametersRule, src)
    assert (
        "# TODO(prefect2-migration): PF003 parameter 'start-date' is now the argument `start_date`"
        in got
    )
    assert 'def f(start_date: str = "x"):\n    start = start_date\n    x(start)\n' in got
    todo = todo_text(
        "PF003",
        "parameter 'start-date' is now the argument `start_date`: deployments, schedules and "
        "callers passing 'start-date' must use the new name",
    )
    assert got == f"{AFTER_HEAD}{todo}\n" + flow_src(
        "start = start_date\nx(start)", 'start_date: str = "x"'
    )
    assert apply_rule(ParametersRule, got) == got


def test_module_level_parameter_lifted_and_removed():
    before = HEAD + 'n = Parameter("n", default=2)\n\n' + flow_src("x(n)")
    after = AFTER_HEAD + "\n" + flow_src("x(n)", "n: int = 2")
    got = apply_rule(ParametersRule, before)
    assert "def f(n: int = 2):\n    x(n)\n" in got and "Parameter(" not in got
    assert got == after
    del after


def test_module_level_parameter_used_elsewhere_keeps_its_default_value():
    before = HEAD + 'n = Parameter("n", default=2)\nprint(n)\n' + flow_src("x(n)")
    got = apply_rule(ParametersRule, before)
    todo = todo_text(
        "PF003",
        "Parameter `n` is now an argument of the flow `f`; for its uses at line 5 the module-level "
        "`n` is its default value, where Prefect 1 passed the flow run's value: pass the flow's "
        "argument there instead",
    )
    assert got == (
        AFTER_HEAD + f"{todo}\nn = 2\nprint(n)\n" + flow_src("x(n)").replace("f()", "f(n: int = 2)")
    )
    assert got.splitlines()[4] == "print(n)"  # line 5, the one use the TODO names
    assert apply_rule(ParametersRule, got) == got


def test_existing_arguments_kept_and_required_first():
    before = HEAD + flow_src('n = Parameter("n")\nx(n, a)', "a=1")
    got = apply_rule(ParametersRule, before)
    assert "def f(n, a=1):\n    x(n, a)\n" in got
    assert got == AFTER_HEAD + flow_src("x(n, a)", "n, a=1")


@pytest.mark.parametrize(
    "src",
    [
        # not inside a flow function
        HEAD + 'def g():\n    n = Parameter("n")\n',
        # someone else's Parameter
        "from inspect import Parameter\nfrom prefect import flow\n"
        + flow_src('n = Parameter("n", 1)'),
        # a Prefect 1 `with Flow` block is PF002's job
        "from prefect import Flow, Parameter\nwith Flow('x') as f:\n    n = Parameter('n')\n",
        # already migrated
        "from prefect import flow\n" + flow_src("x(n)", "n: int = 3"),
    ],
)
def test_noop(src):
    assert_noop(ParametersRule, src)


@pytest.mark.parametrize(
    ("definition", "value", "no_default"),
    [
        ('a = Parameter("a")', "None", " (it had no default)"),
        ('a = Parameter("a", default=[1, 2])', "[1, 2]", ""),
        ('a = Parameter(name="day", default="2024-01-01")', '"2024-01-01"', ""),
    ],
)
def test_module_level_parameter_unused_by_flows_keeps_its_default_value(
    definition, value, no_default
):
    """Never commented out (another module may import it): its default value, one TODO."""
    got = apply_rule(ParametersRule, HEAD + definition + "\n")
    label = "Parameter `a` ('day')" if "day" in definition else "Parameter `a`"
    todo = todo_text(
        "PF003",
        f"{label} is not an argument of any flow of this module: `a` is now its default "
        f"value{no_default}, where Prefect 1 passed the flow run's value: make it an argument of "
        "the flow that needs it, or delete it",
    )
    assert got == f"{AFTER_HEAD}{todo}\na = {value}\n"
    assert apply_rule(ParametersRule, got) == got


def test_module_level_parameter_imported_by_another_module_is_kept():
    from meta_flows.core.codemod.engine import migrate_source
    from meta_flows.core.codemod.project import scan_sources

    shared = 'from prefect import Parameter\n\nDAY = Parameter("day", default="2024-01-01")\n'
    daily = (
        "from prefect import Flow, task\n\nfrom flows.shared import DAY\n\n\n"
        "@task\ndef show(day):\n    print(day)\n\n\n"
        'with Flow("daily") as flow:\n    show(DAY)\n'
    )
    project = scan_sources([("flows.shared", shared), ("flows.daily", daily)])
    got = migrate_source(shared, "flows/shared.py", module_name="flows.shared", project=project)
    todo = todo_text(
        "PF003",
        "Parameter `DAY` ('day') is not an argument of any flow of this module: `DAY` is now its "
        "default value, where Prefect 1 passed the flow run's value (for the modules importing "
        "it): make it an argument of the flow that needs it, or delete it",
    )
    assert got.code == f'{todo}\nDAY = "2024-01-01"\n'
    assert got.root_causes == 1


def test_function_argument_with_same_name_is_not_a_use():
    before = (
        HEAD
        + 'offset = Parameter("offset", default=0)\n\ndef helper(offset):\n    return offset\n\n'
        + flow_src("x(offset)")
    )
    got = apply_rule(ParametersRule, before)
    assert "Parameter(" not in got and "def f(offset: int = 0):" in got
    assert got == (
        AFTER_HEAD
        + "\ndef helper(offset):\n    return offset\n\n"
        + flow_src("x(offset)", "offset: int = 0")
    )


def test_flow_body_with_compound_statements_is_handled():
    from meta_flows.core.codemod.rules.parameters import ParametersRule

    before = (
        "from prefect import flow, Parameter, case\n\n"
        "@flow(name='x')\n"
        "def x():\n"
        "    n = Parameter('n', default=3)\n"
        "    with case(n, 3):\n"
        "        m = n\n"
    )
    after = (
        "from prefect import flow, case\n\n"
        "@flow(name='x')\n"
        "def x(n: int = 3):\n"
        "    with case(n, 3):\n"
        "        m = n\n"
    )
    assert_rewrite(ParametersRule, before, after)


INLINE_HEAD = "from prefect import flow, Parameter\n\n"


@pytest.mark.parametrize(
    ("body", "after"),
    [
        pytest.param(
            '@flow(name="p")\ndef p():\n    load(Parameter("x", default=1))\n',
            '@flow(name="p")\ndef p(x: int = 1):\n    load(x)\n',
            id="positional",
        ),
        pytest.param(
            '@flow(name="p")\ndef p():\n    load(y=Parameter("x"), z=2)\n',
            '@flow(name="p")\ndef p(x):\n    load(y=x, z=2)\n',
            id="keyword-required",
        ),
        pytest.param(
            '@flow(name="p")\ndef p():\n    n = Parameter("n", default=2)\n'
            '    load(n)\n    load(Parameter("n", default=2))\n',
            '@flow(name="p")\ndef p(n: int = 2):\n    load(n)\n    load(n)\n',
            id="same-name-as-assigned",
        ),
        pytest.param(
            '@flow(name="p")\ndef p():\n    x = 5\n    load(x, Parameter("x", default=1))\n',
            '@flow(name="p")\ndef p(x_2: int = 1):\n    x = 5\n    load(x, x_2)\n',
            id="renamed-when-taken",
        ),
        pytest.param(
            '@flow(name="p")\ndef p():\n    load(Parameter("cfg", default={"a": 1}))\n',
            '@flow(name="p")\ndef p(cfg: Mapping = {"a": 1}):\n    load(cfg)\n',
            id="dict-default",
        ),
        pytest.param(
            '@flow(name="p")\ndef p():\n    load(Parameter("cfg", default={"a": [1]}))\n',
            '@flow(name="p")\ndef p(cfg: Optional[dict] = None):\n'
            '    cfg = cfg if cfg is not None else {"a": [1]}\n    load(cfg)\n',
            id="nested-mutable-default",
        ),
    ],
)
def test_inline_parameter_becomes_argument(body, after):
    expected = INLINE_HEAD.replace("flow, Parameter", "flow")
    if "Optional" in after:
        expected = "from typing import Optional\n\n" + expected
    if "Mapping" in after:
        expected = "from collections.abc import Mapping\n\n" + expected
    assert_rewrite(ParametersRule, INLINE_HEAD + body, expected + after)


@pytest.mark.parametrize(
    "src",
    [
        # not in a flow function
        'from prefect import Parameter\ndef f():\n    load(Parameter("x"))\n',
        # someone else's Parameter
        'from inspect import Parameter\nfrom prefect import flow\n@flow\ndef f():\n    load(Parameter("x", 1))\n',
        # inside a nested function of the flow (runs later, not a flow argument)
        'from prefect import flow, Parameter\n@flow\ndef f():\n    def g():\n        return Parameter("x")\n    return g\n',
    ],
)
def test_inline_parameter_noop(src):
    assert_noop(ParametersRule, src)


# ------------------------------------------------------------------ defaults under Prefect 2

DEFAULTS_SOURCE = """\
from prefect import Flow, JSONParameter, Parameter, task


@task
def show(regions, cfg):
    return regions, cfg


with Flow("defaults") as flow:
    regions = Parameter("regions", default=["eu", "us", "apac"])
    cfg = JSONParameter("cfg", default={"mode": "fast"})
    show(regions, cfg)
"""


def test_list_and_dict_defaults_stay_visible_and_ruff_clean(tmp_path):
    """The Prefect 1 defaults are the flow's defaults in its parameter schema (what deployments
    and the UI's run form show), in a signature ruff accepts (no B006 mutable default)."""
    import subprocess

    from ruff.__main__ import find_ruff_bin

    from meta_flows.core.codemod.testing import migrate

    code = migrate(DEFAULTS_SOURCE, module_name="defaults").code
    signature = (
        'def defaults(regions: list = ("eu", "us", "apac"), cfg: Mapping = {"mode": "fast"}):'
    )
    assert signature in code
    assert code.startswith(
        "from collections.abc import Mapping\n\nfrom prefect import flow, task\n"
    )
    assert "is not None else" not in code
    path = tmp_path / "defaults.py"
    path.write_text(code)
    ruff = subprocess.run(
        [find_ruff_bin(), "check", "--isolated", "--no-cache", "--select", "B,E,F,I", str(path)],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr

    from prefect.utilities.callables import parameter_schema

    namespace = {"__name__": "defaults"}
    exec(compile(code, str(path), "exec"), namespace)
    schema = parameter_schema(namespace["defaults"])
    properties = (schema.model_dump() if hasattr(schema, "model_dump") else schema.dict())[
        "properties"
    ]
    assert properties["regions"]["default"] == ["eu", "us", "apac"]
    assert properties["regions"]["type"] == "array"
    assert properties["cfg"]["default"] == {"mode": "fast"}
    assert properties["cfg"]["type"] == "object"


def test_flow_runs_do_not_share_list_or_dict_defaults(tmp_path, prefect_api):
    """Each flow run gets its own list and dict (Prefect's parameter validation builds them from
    the defaults), so a run that changes them leaves the next run the original defaults; a direct
    ``.fn()`` call gets the tuple itself, which cannot be changed."""
    import runpy

    from meta_flows.core.codemod.testing import migrate

    code = migrate(DEFAULTS_SOURCE, module_name="defaults").code
    body = "    return show(regions, cfg)\n"
    assert code.endswith(body)
    # the rewritten flow, changing its arguments in place
    code = code.replace(
        body,
        '    regions.append("changed")\n    cfg["changed"] = True\n'
        "    return list(regions), dict(cfg)\n",
    )
    path = tmp_path / "defaults.py"
    path.write_text(code)
    defaults = runpy.run_path(str(path))["defaults"]
    first = defaults()
    second = defaults()
    assert first == (["eu", "us", "apac", "changed"], {"mode": "fast", "changed": True})
    assert second == first  # not ["eu", "us", "apac", "changed", "changed"]
    assert defaults.fn.__defaults__ == (("eu", "us", "apac"), {"mode": "fast"})
    with pytest.raises(AttributeError):
        defaults.fn()  # the tuple default cannot be appended to in place


@pytest.mark.parametrize(
    "imported",
    [
        "from flows.shared import DAY",
        "from .shared import DAY",
        "from flows.shared import DAY as D",
    ],
)
def test_parameter_imported_from_another_module_is_lifted(imported):
    """The importer's flow keeps the Prefect 1 parameter: an argument of its own, the import gone
    (the module defining it keeps its default value for the others, see above)."""
    from meta_flows.core.codemod.engine import migrate_source
    from meta_flows.core.codemod.project import scan_sources

    shared = 'from prefect import Parameter\n\nDAY = Parameter("day", default="2024-01-01")\n'
    local = imported.rsplit(" ", 1)[-1]
    daily = (
        f"from prefect import Flow, task\n\n{imported}\n\n\n"
        "@task\ndef show(day):\n    print(day)\n\n\n"
        f'with Flow("daily") as flow:\n    show({local})\n'
    )
    project = scan_sources([("flows.shared", shared), ("flows.daily", daily)])
    got = migrate_source(daily, "flows/daily.py", module_name="flows.daily", project=project)
    assert got.code == (
        "from prefect import flow, task\n\n\n"
        "@task\ndef show(day):\n    print(day)\n\n\n"
        f'@flow(name="daily")\ndef daily(day: str = "2024-01-01"):\n    {local} = day\n'
        f"    return show({local})\n"
    )
    again = migrate_source(got.code, "flows/daily.py", module_name="flows.daily", project=project)
    assert again.code == got.code


# ------------------------------------------------- issue #14: Parameters created in nested blocks


@pytest.mark.parametrize(
    ("body", "args", "new_body"),
    [
        (
            'c = x()\nwith case(c, True):\n    q = Parameter("q", default=3)\n    y(q)',
            "q: int = 3",
            "c = x()\nwith case(c, True):\n    y(q)",
        ),
        (
            'with case(c, True):\n    # the value\n    q = Parameter("q")',
            "q",
            "with case(c, True):\n    # the value\n    pass",
        ),
    ],
)
def test_parameter_in_a_nested_block_is_an_argument(body, args, new_body):
    """Prefect 1 made every Parameter a root task of the flow, never part of a case: a
    Parameter created in ``with case(...)`` or another block is a flow argument."""
    assert_rewrite(ParametersRule, HEAD + flow_src(body), AFTER_HEAD + flow_src(new_body, args))


def test_parameter_renamed_in_nested_blocks():
    body = 'if DEBUG:\n    with tags("t"):\n        n = Parameter("n-max", default=1)\n        y(n)'
    todo = todo_text(
        "PF003",
        "parameter 'n-max' is now the argument `n_max`: deployments, schedules and callers "
        "passing 'n-max' must use the new name",
    )
    assert_rewrite(
        ParametersRule,
        HEAD + flow_src(body),
        AFTER_HEAD
        + todo
        + "\n"
        + flow_src('n = n_max\nif DEBUG:\n    with tags("t"):\n        y(n)', "n_max: int = 1"),
    )


def test_parameter_in_a_loop_stays():
    src = HEAD + flow_src('for i in range(2):\n    n = Parameter("n")\n    y(n)')
    assert_noop(ParametersRule, src)
