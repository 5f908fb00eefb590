"""`meta-flows rewrite`: modes, report, errors that do not stop the batch, usage errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.core.codemod import runner

OLD = "from prefect.utilities.edges import unmapped\n\nx = unmapped(1)\n"
NEW = "from prefect import unmapped\n\nx = unmapped(1)\n"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.py").write_text(OLD)
    (tmp_path / "flows" / "plain.py").write_text("import os\nprint(os.sep)\n")
    (tmp_path / "flows" / "p2.py").write_text(
        "from prefect import flow\n\n@flow\ndef f():\n    pass\n"
    )
    (tmp_path / "flows" / "broken.py").write_text("from prefect import task\ndef (:\n")
    (tmp_path / "flows" / "latin1.py").write_bytes(b"# caf\xe9\nfrom prefect import task\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.py").write_text(OLD)
    venv = tmp_path / "venv2"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    (venv / "v.py").write_text(OLD)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_diff_is_default_and_writes_nothing(tree: Path):
    result = invoke("rewrite", str(tree))
    assert result.exit_code == 0, result.output
    assert "-from prefect.utilities.edges import unmapped" in result.stdout
    assert "+from prefect import unmapped" in result.stdout
    assert (tree / "flows" / "a.py").read_text() == OLD
    assert "h.py" not in result.stdout and "v.py" not in result.stdout


def test_write_then_check_is_clean_and_idempotent(tree: Path):
    assert invoke("rewrite", "--check", str(tree)).exit_code == 1
    result = invoke("rewrite", "--write", str(tree))
    assert result.exit_code == 0
    assert (tree / "flows" / "a.py").read_text() == NEW
    assert (tree / ".hidden" / "h.py").read_text() == OLD  # hidden folders are skipped
    assert (tree / "venv2" / "v.py").read_text() == OLD  # virtualenvs are skipped
    assert invoke("rewrite", "--check", str(tree)).exit_code == 0
    assert (tree / "flows" / "a.py").read_text() == NEW


def test_report_lists_every_file_with_status_and_errors(tree: Path):
    report = tree / "out" / "report.json"
    result = invoke("rewrite", str(tree), "--report", str(report))
    assert result.exit_code == 0
    data = json.loads(report.read_text())
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert set(by_name) == {"a.py", "plain.py", "p2.py", "broken.py", "latin1.py"}
    assert by_name["a.py"]["status"] == "migrated"
    assert by_name["a.py"]["rules"] == ["PF001"]
    assert by_name["plain.py"]["status"] == "not-prefect1"
    assert by_name["p2.py"]["status"] == "unchanged"
    assert by_name["broken.py"]["status"] == "error"
    assert "syntax error" in by_name["broken.py"]["error"]
    assert by_name["latin1.py"]["status"] == "error"
    assert "not UTF-8" in by_name["latin1.py"]["error"]
    for entry in data["files"]:
        assert set(entry) >= {"path", "status", "rules", "todos", "root_causes", "error"}
    assert data["summary"]["todos"] == data["summary"]["root_causes"] == 0
    assert data["summary"]["by_status"] == {
        "migrated": 1,
        "not-prefect1": 1,
        "unchanged": 1,
        "error": 2,
    }
    assert "broken.py" in result.stderr


def test_report_counts_todos_and_root_causes(tmp_path: Path):
    """``todos`` counts TODO comments; ``root_causes`` the distinct (rule, construct) among them,
    per file and in the summary."""
    (tmp_path / "etl.py").write_text(
        "from prefect import Flow, case\n"
        "from prefect.engine.results import LocalResult\n\n"
        "def build(x):\n"
        "    with case(x, True):\n        pass\n"
        "    with case(x, False):\n        pass\n"
        "    return LocalResult()\n"
    )
    report = tmp_path / "report.json"
    result = invoke("rewrite", str(tmp_path / "etl.py"), "--report", str(report))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    [entry] = data["files"]
    assert entry["root_causes"] == len(entry["todos"]) == 2  # case (PF008), LocalResult (PF001)
    assert {t["rule"] for t in entry["todos"]} == {"PF001", "PF008"}
    assert data["summary"]["root_causes"] == data["summary"]["todos"] == 2


def test_disable_switches_a_rule_off(tree: Path):
    result = invoke("rewrite", "--check", "--disable", "PF001", str(tree / "flows" / "a.py"))
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["rewrite", "--write", "--check", "."], "choose one of"),
        (["rewrite", "does/not/exist"], "no such file"),
        (["rewrite", "--disable", "PF999", "."], "unknown rule code"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_process_pool_gives_the_same_results(tmp_path: Path):
    for i in range(runner.POOL_THRESHOLD + 4):
        (tmp_path / f"m{i}.py").write_text(OLD if i % 2 else "from prefect import task\n")
    serial = runner.run([tmp_path], jobs=1)
    pooled = runner.run([tmp_path], jobs=2)
    assert [(r.path, r.status, r.code) for r in serial.results] == [
        (r.path, r.status, r.code) for r in pooled.results
    ]
    assert serial.counts() == {"migrated": 14, "unchanged": 14}


def test_console_script_runs(tree: Path):
    exe = Path(sys.executable).with_name("meta-flows")
    out = subprocess.run(
        [str(exe), "rewrite", "--check", str(tree / "flows" / "a.py")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "1 migrated" in out.stderr


BOM = b"\xef\xbb\xbf"
BOM_FLOW = b'from prefect import Flow, task\n\n\n@task\ndef hello():\n    return 1\n\n\nwith Flow("bom") as flow:\n    hello()\n'


def test_a_byte_order_mark_is_read_migrated_and_kept(tmp_path: Path):
    path = tmp_path / "bom_flow.py"
    path.write_bytes(BOM + BOM_FLOW)
    plain = tmp_path / "plain" / "bom_flow.py"
    plain.parent.mkdir()
    plain.write_bytes(BOM_FLOW)
    report = tmp_path / "report.json"
    result = invoke("rewrite", str(path), "--write", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["files"][0]["status"] == "migrated"
    invoke("rewrite", str(plain), "--write")
    assert path.read_bytes() == BOM + plain.read_bytes()  # the same rewrite, BOM first
    assert invoke("rewrite", str(path), "--check").exit_code == 0  # idempotent


def test_jobs_must_be_at_least_one(tree: Path):
    result = invoke("rewrite", str(tree), "-j", "0")
    assert result.exit_code == 2
    assert "--jobs" in result.output


def test_write_leaves_a_read_only_file_and_reports_it(tmp_path: Path):
    path = tmp_path / "locked.py"
    path.write_bytes(BOM_FLOW)
    path.chmod(0o444)
    report = tmp_path / "report.json"
    result = invoke("rewrite", str(path), "--write", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == BOM_FLOW
    assert path.stat().st_mode & 0o777 == 0o444
    [entry] = json.loads(report.read_text())["files"]
    assert (entry["status"], entry["error"]) == ("error", "the file is read-only: not written")


REVIEWED_BEFORE = '''\
"""Daily totals."""

import json
from datetime import timedelta

import prefect
from prefect import Flow, Parameter, task
from prefect.run_configs import KubernetesRun
from prefect.storage import GitHub
from prefect.tasks.secrets import EnvVarSecret

from flows.schedules import NIGHTLY


@task(max_retries=1, retry_delay=timedelta(seconds=1))
def total(region, home):
    prefect.context.get("logger").info(json.dumps([region, home]))
    return region


with Flow(
    "daily",
    storage=GitHub(repo="acme/etl"),
    run_config=KubernetesRun(image="etl:1"),
    schedule=NIGHTLY,
) as flow:
    regions = Parameter("regions", default=["eu", "us"])
    total.map(regions, home=EnvVarSecret("HOME"))
'''

REVIEWED_AFTER = '''\
"""Daily totals."""

import json
import os

from prefect import flow, get_run_logger, task


@task(retries=1, retry_delay_seconds=1)
def total(region, home):
    get_run_logger().info(json.dumps([region, home]))
    return region


# prefect2-migration: storage, run_config and schedule moved to prefect.yaml
@flow(
    name="daily",
)
def daily(regions: list = ("eu", "us")):
    return [future.result() for future in total.map(regions, home=os.environ.get("HOME"))]
'''


def test_written_code_is_what_a_reviewer_accepts(tmp_path: Path):
    """Imports in isort order (ruff's I001 passes, as it did before), one marker line for the
    deployment settings, the parameter's default in the signature."""
    from ruff.__main__ import find_ruff_bin

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "__init__.py").write_text("")
    (flows / "schedules.py").write_text("NIGHTLY = None\n")
    (flows / "daily.py").write_text(REVIEWED_BEFORE)

    def isort_check() -> subprocess.CompletedProcess:
        command = [find_ruff_bin(), "check", "--isolated", "--no-cache", "--select", "I", "."]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)

    assert isort_check().returncode == 0
    result = invoke("rewrite", "--write", str(flows / "daily.py"))
    assert result.exit_code == 0, result.output
    assert (flows / "daily.py").read_text() == REVIEWED_AFTER
    check = isort_check()
    assert check.returncode == 0, check.stdout
    assert invoke("rewrite", "--check", str(flows / "daily.py")).exit_code == 0


def test_a_syntax_error_names_pythons_line_and_column(tmp_path: Path):
    """LibCST reports an unclosed bracket on the line after it; Python names the line it is on."""
    source = "from prefect import task\n\nx = 1\n\n\ndef shout(text:\n    print(text)\n"
    with pytest.raises(SyntaxError) as python:
        compile(source, "broken.py", "exec")
    (tmp_path / "broken.py").write_text(source)
    report = tmp_path / "report.json"
    assert invoke("rewrite", str(tmp_path), "--report", str(report)).exit_code == 0
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["status"] == "error"
    assert entry["error"].startswith(
        f"syntax error at line {python.value.lineno}, column {python.value.offset}: "
    ), entry["error"]
