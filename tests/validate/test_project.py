"""Whole-repository validation: cases, validate_repo, the CLI and the validate_project flow.

The run tests really run both sides: Prefect 1 fixtures of tests/integration/cases in the managed
environment, their codemod output as Prefect 2 flow runs against the test server.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.core.inventory.model import FlowInfo, ParameterInfo
from meta_flows.core.validation.cases import CasesFileError, CaseSpec, load_cases, plan_cases
from meta_flows.orchestration.validation import validate_repo

CASES_DIR = Path(__file__).resolve().parent.parent / "integration" / "cases"

NEEDS_PARAM = """
from prefect import Flow, Parameter, task

@task
def echo(x):
    return x

with Flow("needs-param") as flow:
    echo(Parameter("x"))
"""

# the module's own run gives the required parameter (Prefect 1 also took it as a keyword)
RUNS_ITSELF = NEEDS_PARAM.replace('"needs-param"', '"runs-itself"') + "\nflow.run(x=5)\n"

CASES_YAML = """
case-merge:
  - case: big
  - case: small
    parameters: {n: 7}
"""


# --------------------------------------------------------------------------------------- cases


def _flow(name: str, *params: tuple[str, bool]) -> FlowInfo:
    return FlowInfo(
        file=f"{name}.py",
        name=name,
        function_name=name.replace("-", "_"),
        method="dynamic",
        parameters=[ParameterInfo(name=p, required=r, default=None) for p, r in params],
    )


def test_plan_cases_defaults_and_skips():
    flows = [_flow("a", ("n", False)), _flow("b", ("x", True))]
    planned = plan_cases(flows)
    assert [(c.flow.name, c.case, c.parameters, c.skip_reason) for c in planned] == [
        ("a", "default", {}, None),
        ("b", "default", {}, "required parameter(s) x and no validation case"),
    ]


def test_plan_cases_take_the_parameters_of_the_modules_own_run():
    given = _flow("b", ("x", True), ("y", False)).model_copy(update={"run_parameters": {"x": 3}})
    short = _flow("c", ("x", True), ("z", True)).model_copy(update={"run_parameters": {"x": 3}})
    planned = plan_cases([given, short])
    assert [(c.flow.name, c.case, c.parameters, c.skip_reason) for c in planned] == [
        ("b", "flow.run", {"x": 3}, None),
        ("c", "default", {}, "required parameter(s) x, z and no validation case"),
    ]
    # a case given in the cases file wins
    planned = plan_cases([given], {"b": [CaseSpec(case="one", parameters={"x": 1})]})
    assert [(c.case, c.parameters) for c in planned] == [("one", {"x": 1})]


def test_plan_cases_from_file(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(
        "b:\n  - case: one\n    parameters: {x: 1}\n    options: {rel_tol: 0.1}\n"
        "  - case: none\n  - case: disabled\n    parameters: {x: 2}\n    options: {skip: flaky}\n"
    )
    planned = plan_cases([_flow("b", ("x", True))], load_cases(path))
    assert [(c.case, c.parameters, c.skip_reason) for c in planned] == [
        ("one", {"x": 1}, None),
        ("none", {}, "case does not give required parameter(s) x"),
        ("disabled", {"x": 2}, "flaky"),
    ]
    assert planned[0].options.rel_tol == 0.1


def test_plan_cases_unknown_flow():
    with pytest.raises(ValueError, match="'nope'"):
        plan_cases([_flow("a")], {"nope": []})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a:\n  - parameters: {}\n", r"a\[0\]\.case: Field required"),
        ("a:\n  - case: x\n    options: {rel_tol: lots}\n", r"a\[0\]\.options\.rel_tol"),
        ("a:\n  - case: x\n    colour: red\n", r"a\[0\]\.colour: Extra inputs"),
        ("a: 3\n", r"a: Input should be a valid list"),
        ("a:\n  - case: x\n  - case: x\n", r"a\[1\]\.case: duplicate case name 'x'"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_cases_file_errors(tmp_path, text, message):
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    with pytest.raises(CasesFileError, match=message) as info:
        load_cases(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- repositories


def _migrate_into(legacy: Path, migrated: Path, edits: dict[str, tuple[str, str]]) -> None:
    for path in sorted(legacy.glob("*.py")):
        result = migrate_source(path.read_text(), path.name, module_name=path.stem)
        assert result.status == "migrated", result.error
        code = result.code
        if path.name in edits:
            old, new = edits[path.name]
            assert old in code
            code = code.replace(old, new)
        (migrated / path.name).write_text(code)


def _variant(source: str, flow_name: str, old_name: str = "map-reduce") -> str:
    assert f'Flow("{old_name}")' in source
    return source.replace(f'Flow("{old_name}")', f'Flow("{flow_name}")')


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> tuple[Path, Path]:
    legacy = tmp_path_factory.mktemp("legacy-repo")
    migrated = tmp_path_factory.mktemp("migrated-repo")
    for name in ("map_reduce.py", "case_merge.py", "files_output.py"):
        shutil.copy(CASES_DIR / name, legacy / name)
    source = (CASES_DIR / "map_reduce.py").read_text()
    (legacy / "broken_const.py").write_text(_variant(source, "map-reduce-const"))
    (legacy / "raises.py").write_text(_variant(source, "map-reduce-raises"))
    (legacy / "dropped.py").write_text(_variant(source, "map-reduce-dropped"))
    (legacy / "reordered.py").write_text(_variant(source, "map-reduce-reordered"))
    files = (CASES_DIR / "files_output.py").read_text()
    (legacy / "other_file.py").write_text(_variant(files, "files-output-other", "files-output"))
    (legacy / "needs_param.py").write_text(NEEDS_PARAM)
    (legacy / "runs_itself.py").write_text(RUNS_ITSELF)
    _migrate_into(
        legacy,
        migrated,
        {
            "broken_const.py": ("return x + 1", "return x + 2"),
            "raises.py": ("return sum(values)", "raise RuntimeError('boom')"),
            # the reduce task is gone
            "dropped.py": ("    result = total(bumped)\n    return result", "    return 0"),
            # the same values, mapped in the opposite order
            "reordered.py": (
                "square.map(numbers())",
                "square.map(sorted(numbers(), reverse=True))",
            ),
            "other_file.py": ('"summary.json"', '"summary-v2.json"'),
        },
    )
    return legacy, migrated


@pytest.fixture(scope="module")
def verdicts(repos, prefect_server, legacy_root, tmp_path_factory):
    legacy, migrated = repos
    cases = tmp_path_factory.mktemp("cases") / "cases.yaml"
    cases.write_text(CASES_YAML)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        found = validate_repo(legacy, migrated, cases, timeout=120, env_root=legacy_root)
    return {(v.flow_name, v.case): v for v in found}


def test_validate_repo_cases(verdicts):
    assert sorted(verdicts) == [
        ("case-merge", "big"),
        ("case-merge", "small"),
        ("files-output", "default"),
        ("files-output-other", "default"),
        ("map-reduce", "default"),
        ("map-reduce-const", "default"),
        ("map-reduce-dropped", "default"),
        ("map-reduce-raises", "default"),
        ("map-reduce-reordered", "default"),
        ("needs-param", "default"),
        ("runs-itself", "flow.run"),
    ]


@pytest.mark.parametrize(
    "key",
    [
        ("case-merge", "big"),
        ("case-merge", "small"),
        ("files-output", "default"),
        ("map-reduce", "default"),
        ("runs-itself", "flow.run"),
    ],
)
def test_validate_repo_equal(verdicts, key):
    verdict = verdicts[key]
    assert (verdict.verdict, verdict.diff, verdict.reason) == ("equal", [], None)
    assert verdict.legacy_duration_s and verdict.migrated_duration_s


def test_validate_repo_changed_constant(verdicts):
    verdict = verdicts["map-reduce-const", "default"]
    assert verdict.verdict == "different"
    assert any("plus_one" in line for line in verdict.diff)
    assert any("total" in line for line in verdict.diff)


def test_validate_repo_dropped_task(verdicts):
    verdict = verdicts["map-reduce-dropped", "default"]
    assert verdict.verdict == "different"
    assert any(
        line.startswith("task 'total'") and "only in legacy" in line for line in verdict.diff
    )


def test_validate_repo_reordered_map(verdicts):
    verdict = verdicts["map-reduce-reordered", "default"]
    assert verdict.verdict == "different"
    text = "\n".join(verdict.diff)
    assert "task 'square' [map_index=0]: legacy 1 != migrated 16" in text
    assert "task 'total'" not in text  # the sum is the same


def test_validate_repo_different_file(verdicts):
    verdict = verdicts["files-output-other", "default"]
    assert verdict.verdict == "different"
    text = "\n".join(verdict.diff)
    assert "'output/summary.json': only in legacy" in text
    assert "'output/summary-v2.json': only in migrated" in text


def test_validate_repo_migrated_raises(verdicts):
    verdict = verdicts["map-reduce-raises", "default"]
    assert verdict.verdict == "migrated-error"
    # the migrated capture carries the flow's exception as its error (no per-task diff yet)
    assert "RuntimeError: boom" in verdict.reason


def test_validate_repo_required_parameter_skipped(verdicts):
    verdict = verdicts["needs-param", "default"]
    assert verdict.verdict == "skipped"
    assert "required parameter(s) x" in verdict.reason


# ------------------------------------------------------------------- CLI and Prefect flow


@pytest.fixture(scope="module")
def small_repos(tmp_path_factory) -> tuple[Path, Path]:
    """map-reduce (equal) and map-reduce-const (different)."""
    legacy = tmp_path_factory.mktemp("small-legacy")
    migrated = tmp_path_factory.mktemp("small-migrated")
    shutil.copy(CASES_DIR / "map_reduce.py", legacy / "map_reduce.py")
    source = (CASES_DIR / "map_reduce.py").read_text()
    (legacy / "broken_const.py").write_text(_variant(source, "map-reduce-const"))
    _migrate_into(legacy, migrated, {"broken_const.py": ("return x + 1", "return x + 2")})
    return legacy, migrated


def test_cli_validate_writes_report(
    small_repos, prefect_server, legacy_cache, tmp_path, monkeypatch
):
    from meta_flows.cli import app

    legacy, migrated = small_repos
    monkeypatch.setenv("META_FLOWS_CACHE", str(legacy_cache))
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    report = tmp_path / "out" / "report.json"
    result = CliRunner().invoke(
        app,
        ["validate", "--legacy", str(legacy), "--migrated", str(migrated), "--report", str(report)],
    )
    assert result.exit_code == 1, result.output
    entries = json.loads(report.read_text())
    by_flow = {(e["flow_name"], e["case"]): e for e in entries}
    assert set(by_flow) == {("map-reduce", "default"), ("map-reduce-const", "default")}
    assert by_flow["map-reduce", "default"]["verdict"] == "equal"
    const = by_flow["map-reduce-const", "default"]
    assert const["verdict"] == "different"
    assert any("plus_one" in line for line in const["diff"])
    assert const["legacy_duration_s"] > 0 and const["migrated_duration_s"] > 0
    assert "different       map-reduce-const [default]" in result.output


def test_cli_validate_bad_cases_file(tmp_path):
    from meta_flows.cli import app

    cases = tmp_path / "cases.yaml"
    cases.write_text("a: 3\n")
    result = CliRunner().invoke(
        app,
        ["validate", "--legacy", str(tmp_path), "--migrated", str(tmp_path), "--cases", str(cases)],
    )
    assert result.exit_code == 2
    assert "cases.yaml" in result.output and "a: Input should be a valid list" in result.output


def test_validate_project_flow_artifacts(small_repos, prefect_api, legacy_root):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from meta_flows.flows.validate import validate_project

    legacy, migrated = small_repos
    state = validate_project(
        str(legacy),
        str(migrated),
        timeout=120,
        max_parallel=1,
        artifact_key="test-validation",
        env_root=str(legacy_root),
        return_state=True,
    )
    rows = state.result()
    assert {(r["flow_name"], r["verdict"]) for r in rows} == {
        ("map-reduce", "equal"),
        ("map-reduce-const", "different"),
    }

    async def read(key: str):
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    (table,) = asyncio.run(read("test-validation"))
    assert table.type == "table"
    data = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {(r["flow"], r["verdict"]) for r in data} == {
        ("map-reduce", "equal"),
        ("map-reduce-const", "different"),
    }
    (markdown,) = asyncio.run(read("test-validation-map-reduce-const"))
    assert markdown.type == "markdown" and "plus_one" in markdown.data
    assert asyncio.run(read("test-validation-map-reduce")) == []

    async def task_runs():
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )

    # max_parallel=1: both flows validated by one mapped task run (one interpreter per side)
    names = sorted(t.name for t in asyncio.run(task_runs()))
    assert len([n for n in names if n.startswith("validate_flows")]) == 1, names
