"""One file never takes its batch down: a file that crashes LibCST's parser, or that the codemod
would work on for minutes, is that file's error and the rest of the batch is migrated, with the
report written."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.sandbox.codemod import run

pytestmark = pytest.mark.prefect  # starts worker processes

GOOD = 'from prefect import Flow, task\n\n\n@task\ndef t():\n    return 1\n\n\nwith Flow("good") as flow:\n    t()\n'
# LibCST's native parser crashes the interpreter (SIGSEGV) on this
PARENS = GOOD.replace("    t()\n", "    t(" + "(" * 3000 + "1" + ")" * 3000 + ")\n")
# 20,000 terms: the codemod would take minutes
TERMS = "from prefect import Flow\nx = " + "1+" * 20000 + "1\n"


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    (tmp_path / "a_parens.py").write_text(PARENS)
    (tmp_path / "b_good.py").write_text(GOOD)
    (tmp_path / "c_terms.py").write_text(TERMS)
    return tmp_path


def test_a_crash_and_a_runaway_file_are_their_own_errors(batch: Path):
    started = time.monotonic()
    summary = run([batch], jobs=2, file_timeout=8)
    assert time.monotonic() - started < 60
    by_name = {Path(r.path).name: r for r in summary.results}
    assert [Path(r.path).name for r in summary.results] == [
        "a_parens.py",
        "b_good.py",
        "c_terms.py",
    ]
    assert by_name["b_good.py"].status == "migrated"
    assert by_name["a_parens.py"].status == "error"
    assert "crashed on this file" in by_name["a_parens.py"].error
    assert by_name["c_terms.py"].status == "error"
    assert "longer than 8 s" in by_name["c_terms.py"].error


def test_rewrite_writes_its_report_and_migrates_the_rest(batch: Path):
    report = batch / "report.json"
    result = CliRunner().invoke(
        app, ["rewrite", str(batch), "--write", "--timeout", "8", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    files = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert {n: f["status"] for n, f in files.items()} == {
        "a_parens.py": "error",
        "b_good.py": "migrated",
        "c_terms.py": "error",
    }
    assert "@flow" in (batch / "b_good.py").read_text()
    assert (batch / "a_parens.py").read_text() == PARENS  # left unchanged
