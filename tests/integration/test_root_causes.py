"""One TODO per root cause, the original logic kept as code: the issue's reproductions, whole.

A construct the codemod cannot migrate (``merge`` of branches it cannot prove exclusive, ``case``
outside a flow, a module-level ``Parameter`` another module imports) used to cascade: its import
commented out, every use flagged again ("uses X (its import is commented out)", "reads X, no
longer defined at module level"), statements commented out line by line and replaced by ``pass``.
Now the construct gets ONE TODO naming the rule, the reason and the lines using it; the code
stays code (the Prefect 1 name is a stand-in, ``meta_flows.core.codemod.stubs``); the module
imports under Prefect 2 and fails loudly at run time, where the TODO says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meta_flows.core.codemod import runner
from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.engine import MIGRATED, migrate_source, root_cause
from meta_flows.core.codemod.project import scan_sources
from meta_flows.core.codemod.stubs import STUB_SOURCE

# ------------------------------------------------------------------------------ the reproductions

HEAD = """\
from prefect import Flow, Parameter, task, case
from prefect.tasks.control_flow import merge


@task
def extract(n):
    return list(range(n))


@task
def is_big(x):
    return len(x) > 3


@task
def load(x):
    print(x)


"""

# the reproduction: the flow built in a factory function
ETL_IN_FUNCTION = (
    HEAD
    + """\
def build():
    with Flow("etl") as flow:
        n = Parameter("n", default=5)
        data = extract(n)
        with case(is_big(data), True):
            a = load(data)
        with case(is_big(data), False):
            b = load([])
        merge(a, b)
    return flow


flow = build()
"""
)

# the same at module level, the merged value used
ETL_MODULE_LEVEL = (
    HEAD
    + """\
with Flow("etl") as flow:
    n = Parameter("n", default=5)
    data = extract(n)
    with case(is_big(data), True):
        a = load(data)
    with case(is_big(data), False):
        b = load([])
    c = merge(a, b)
    load(c)

if __name__ == "__main__":
    flow.run()
"""
)

# case/merge outside a flow the codemod converts (built in a function with arguments: PF002
# leaves it for a human)
ETL_OUTSIDE_FLOW = (
    HEAD
    + """\
def build(threshold):
    with Flow("etl") as flow:
        n = Parameter("n", default=threshold)
        data = extract(n)
        with case(is_big(data), True):
            a = load(data)
        with case(is_big(data), False):
            b = load([])
        merge(a, b)
    return flow


if __name__ == "__main__":
    build(3).run()
"""
)

# a module-level Parameter another module's flow imports
SHARED = 'from prefect import Parameter\n\nDAY = Parameter("day", default="2024-01-01")\n'
DAILY = """\
from prefect import Flow, task

from flows.shared import DAY


@task
def show(day):
    print(day)


with Flow("daily") as flow:
    show(DAY)
"""

# ------------------------------------------------------------------------------ the rewrites

AFTER_HEAD = """\
import inspect

from prefect import {imports}


{stub}

{todos}

@task
def extract(n):
    return list(range(n))


@task
def is_big(x):
    return len(x) > 3


@task
def load(x):
    print(x)


"""
STUB_LINES = STUB_SOURCE.count("\n")


def at(line: int) -> int:
    """A line number of a rewritten module, counted from the line after the stand-in class."""
    return STUB_LINES + line


def stand_in(code: str, name: str, qualified: str, lines: str, reason: str) -> str:
    todo = todo_text(
        code,
        f"`{name}` (Prefect 1 `{qualified}`, used at {lines}) {reason}. Until then `{name}` is a "
        "stand-in (_Prefect1Stub) that raises NotImplementedError when a flow or task calls it",
    )
    return f'{todo}\n{name} = _Prefect1Stub("{qualified}")'


MERGE = "prefect.tasks.control_flow.merge"
MERGE_REASON = (
    "could not be rewritten safely (its case branches are not provably exclusive, or an argument "
    "is not assigned in a branch): rewrite it as plain if/elif assigning the merged variable in "
    "each branch"
)
OUTSIDE = "is used outside a @flow function: rewrite it as plain if/else inside the @flow function"
NO_EQUIVALENT = (
    "has no automatic Prefect 2 equivalent: rewrite those lines for Prefect 2 (see the "
    "meta-flows migration spec, docs/spec.md §1)"
)


def after_head(imports: str, *todos: str) -> str:
    return AFTER_HEAD.format(imports=imports, stub=STUB_SOURCE, todos="\n".join(todos) + "\n")


FLOW_BODY = """\
@flow(name="etl")
def etl(n: int = 5):
    data = extract(n)
    a = None
    if is_big(data):
        a = load(data)
    b = None
    if not is_big(data):
        b = load([])
"""

ETL_IN_FUNCTION_AFTER = (
    after_head("flow, task", stand_in("PF008", "merge", MERGE, f"line {at(36)}", MERGE_REASON))
    + FLOW_BODY
    + """\
    merge(a, b)


def build():
    return etl


flow = build()
"""
)

ETL_MODULE_LEVEL_AFTER = (
    after_head("flow, task", stand_in("PF008", "merge", MERGE, f"line {at(36)}", MERGE_REASON))
    + FLOW_BODY
    + """\
    c = merge(a, b)
    return load(c)

if __name__ == "__main__":
    etl()
"""
)

ETL_OUTSIDE_FLOW_AFTER = (
    after_head(
        "Flow, task",
        stand_in("PF001", "Parameter", "prefect.Parameter", f"line {at(34)}", NO_EQUIVALENT),
        stand_in("PF008", "case", "prefect.case", f"lines {at(36)}, {at(38)}", OUTSIDE),
        stand_in("PF008", "merge", MERGE, f"line {at(40)}", OUTSIDE),
    )
    + "def build(threshold):\n    "
    + todo_text(
        "PF002",
        "this Flow is built inside a function with arguments or other code (or together with "
        "other context managers): rewrite it by hand as a module-level @flow function (arguments "
        f"become flow parameters); `flow` is used at line {at(41)}, the flow build() returns at "
        f"line {at(45)}",
    )
    + """
    with Flow("etl") as flow:
        n = Parameter("n", default=threshold)
        data = extract(n)
        with case(is_big(data), True):
            a = load(data)
        with case(is_big(data), False):
            b = load([])
        merge(a, b)
    return flow


if __name__ == "__main__":
    build(3).run()
"""
)

SHARED_AFTER = (
    todo_text(
        "PF003",
        "Parameter `DAY` ('day') is not an argument of any flow of this module: `DAY` is now its "
        "default value, where Prefect 1 passed the flow run's value (for the modules importing "
        "it): make it an argument of the flow that needs it, or delete it",
    )
    + '\nDAY = "2024-01-01"\n'
)
# the importer's flow keeps its Prefect 1 parameter: lifted from flows.shared (project index)
DAILY_AFTER = """\
from prefect import flow, task


@task
def show(day):
    print(day)


@flow(name="daily")
def daily(day: str = "2024-01-01"):
    DAY = day
    return show(DAY)
"""

CASES = {
    "etl_in_function": (ETL_IN_FUNCTION, ETL_IN_FUNCTION_AFTER, 1),
    "etl_module_level": (ETL_MODULE_LEVEL, ETL_MODULE_LEVEL_AFTER, 1),
    "etl_outside_flow": (ETL_OUTSIDE_FLOW, ETL_OUTSIDE_FLOW_AFTER, 4),
}
# TODOs before this change, for the record: 2, 3 and 10 (8 root causes) for the three above.


def migrate(stem: str, source: str):
    return migrate_source(source, f"flows/{stem}.py", module_name=f"flows.{stem}")


def migrate_project() -> dict:
    project = scan_sources([("flows.shared", SHARED), ("flows.daily", DAILY)])
    return {
        name: migrate_source(
            source, f"flows/{name}.py", module_name=f"flows.{name}", project=project
        )
        for name, source in (("shared", SHARED), ("daily", DAILY))
    }


@pytest.mark.parametrize("stem", sorted(CASES))
def test_rewrite_whole_text(stem):
    before, after, _ = CASES[stem]
    result = migrate(stem, before)
    assert result.status == MIGRATED
    assert result.code == after, f"--- got ---\n{result.code}\n--- expected ---\n{after}"


def test_dangling_parameter_rewrite_whole_text():
    results = migrate_project()
    assert results["shared"].code == SHARED_AFTER
    assert results["daily"].code == DAILY_AFTER


@pytest.mark.parametrize("stem", sorted(CASES))
def test_at_most_one_todo_per_root_cause(stem):
    before, _, causes = CASES[stem]
    result = migrate(stem, before)
    assert result.root_causes == causes
    assert len(result.todos) == len({root_cause(t) for t in result.todos}) == causes
    lines = result.code.splitlines()
    # nothing commented out, no placeholder pass, no TODO inside commented-out code
    assert not any(line.strip() == "pass" for line in lines)
    assert not any(line.lstrip().startswith("# #") for line in lines)
    # the construct left for a human is still code
    assert any(line.strip() in ("merge(a, b)", "c = merge(a, b)") for line in lines)


def test_listed_lines_are_the_uses():
    result = migrate("etl_outside_flow", ETL_OUTSIDE_FLOW)
    lines = result.code.splitlines()
    assert lines[at(36) - 1].strip() == "with case(is_big(data), True):"
    assert lines[at(38) - 1].strip() == "with case(is_big(data), False):"
    assert lines[at(40) - 1].strip() == "merge(a, b)"
    assert lines[at(34) - 1].strip() == 'n = Parameter("n", default=threshold)'


@pytest.mark.parametrize("stem", sorted(CASES))
def test_rewrite_is_idempotent(stem):
    first = migrate(stem, CASES[stem][0])
    second = migrate(stem, first.code)
    assert second.code == first.code
    assert second.root_causes == first.root_causes


def test_dangling_parameter_rewrite_is_idempotent():
    for name, result in migrate_project().items():
        again = migrate_source(result.code, f"flows/{name}.py", module_name=f"flows.{name}")
        assert again.code == result.code


@pytest.mark.parametrize(
    "source",
    [
        # a case/merge of its own, not Prefect's
        "from mylib import case, merge\n\nwith case(1, True):\n    merge(2)\n",
        # already migrated, stand-ins included
        ETL_MODULE_LEVEL_AFTER,
        # a module of its own with a class named like the stand-in class
        "class _Prefect1Stub:\n    pass\n",
    ],
)
def test_noop(source):
    result = migrate("noop", source)
    assert result.code == source
    assert result.status != MIGRATED


def test_report_counts_root_causes(tmp_path: Path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "__init__.py").write_text("")
    for stem, (before, _, _) in CASES.items():
        (tmp_path / "flows" / f"{stem}.py").write_text(before)
    (tmp_path / "flows" / "shared.py").write_text(SHARED)
    (tmp_path / "flows" / "daily.py").write_text(DAILY)
    report = runner.run([tmp_path], jobs=1).report()
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["etl_outside_flow.py"]["root_causes"] == 4
    assert by_name["etl_module_level.py"]["root_causes"] == 1
    assert by_name["shared.py"]["root_causes"] == 1
    assert by_name["daily.py"]["root_causes"] == 0
    assert report["summary"]["root_causes"] == 1 + 1 + 4 + 1
    assert report["summary"]["todos"] == sum(len(f["todos"]) for f in report["files"])
    json.dumps(report)


DEAD_NAMES = """\
from prefect import Flow, task


@task
def a():
    return 1


with Flow("x") as flow:
    r = a()

flow_id = flow.register(project_name="p")
print(flow_id)
print(r)


def later():
    return flow_id
"""


@pytest.mark.prefect
def test_names_a_rule_commented_out_or_moved_become_stand_ins(tmp_path: Path):
    """``flow_id = flow.register()`` commented out by PF015 and ``r`` moved into the flow
    function: their readers stay code, each name gets one TODO listing them, the module imports."""
    result = migrate("dead_names", DEAD_NAMES)
    register = todo_text(
        "PF015",
        "flow.register() does not exist in Prefect 2 (deployments are built with `meta-flows "
        "deployments` / prefect.yaml and served by workers): rewrite the code that used its "
        f"result; `flow_id` is a stand-in now (_Prefect1Stub), used at lines {at(21)}, {at(28)}",
    )
    moved = todo_text(
        "PF001",
        "`r` is no longer defined at module level (its Prefect 1 definition was removed, "
        f"commented out or moved into a flow function); used at line {at(24)}: rewrite those "
        "lines for Prefect 2. Until then `r` is a stand-in (_Prefect1Stub) that raises "
        "NotImplementedError when a flow or task calls it",
    )
    assert result.code == (
        f"import inspect\n\nfrom prefect import flow, task\n\n\n{STUB_SOURCE}\n\n"
        "@task\ndef a():\n    return 1\n\n\n"
        '@flow(name="x")\ndef x():\n    r = a()\n    return r\n\n'
        f'{register}\n# flow_id = flow.register(project_name="p")\n'
        'flow_id = _Prefect1Stub("flow_id")\nprint(flow_id)\n'
        f'{moved}\nr = _Prefect1Stub("r")\nprint(r)\n\n\n'
        "def later():\n    return flow_id\n"
    )
    assert result.root_causes == len(result.todos) == 2
    assert migrate("dead_names", result.code).code == result.code
    (tmp_path / "dead_names.py").write_text(result.code)
    proc = child(tmp_path, "import dead_names\ndead_names.later()\n")
    assert proc.returncode == 0, proc.stderr[-2000:]  # imports; reading a stand-in is no call
    proc = child(tmp_path, "import dead_names\ndead_names.later()()\n")
    assert "NotImplementedError: prefect2-migration: flow_id is Prefect 1 API" in proc.stderr


# ------------------------------------------------------------------------------ under Prefect 2


def write_package(root: Path) -> list[str]:
    """The rewritten reproductions as the package ``flows`` under ``root``; their module names."""
    package = root / "flows"
    package.mkdir()
    (package / "__init__.py").write_text("")
    names = []
    for stem, (before, _, _) in CASES.items():
        (package / f"{stem}.py").write_text(migrate(stem, before).code)
        names.append(f"flows.{stem}")
    for name, result in migrate_project().items():
        (package / f"{name}.py").write_text(result.code)
        names.append(f"flows.{name}")
    return names


def child(root: Path, code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**(env or os.environ), "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.prefect
def test_rewritten_modules_import_under_prefect2(tmp_path: Path):
    names = write_package(tmp_path)
    script = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    proc = child(tmp_path, script + f"print('imported', {len(names)})\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"imported {len(names)}" in proc.stdout


def test_flow_reaching_the_construct_fails_loudly(prefect_env, tmp_path: Path):
    """The flow fails at run time, naming the Prefect 1 object and the TODO above its stand-in."""
    write_package(tmp_path)
    proc = child(tmp_path, "from flows.etl_module_level import etl\netl()\n", env=prefect_env)
    assert proc.returncode != 0
    assert (
        "NotImplementedError: prefect2-migration: prefect.tasks.control_flow.merge is Prefect 1 "
        "API with no Prefect 2 equivalent: see the prefect2-migration TODO above its stand-in"
    ) in proc.stderr
    # the daily flow, which lifted the imported Parameter, runs with its default and a value
    proc = child(
        tmp_path,
        "from flows.daily import daily\ndaily()\ndaily(day='2030-12-31')\n",
        env=prefect_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2024-01-01" in proc.stdout + proc.stderr
    assert "2030-12-31" in proc.stdout + proc.stderr
