"""Symbolic links in a repository lead nowhere: nothing outside the work tree is read as a
source, written or committed, and a generated file is never written through a link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.core.codemod import runner
from meta_flows.core.errors import StepError
from meta_flows.orchestration.project import _write_generated

FLOW = 'from prefect import Flow, task\n\n\n@task\ndef t():\n    return 1\n\n\nwith Flow("f") as flow:\n    t()\n'


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret_flow.py").write_text(FLOW)
    (host / "pkg").mkdir()
    (host / "pkg" / "inner.py").write_text(FLOW)
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    (repo / "flows" / "own.py").write_text(FLOW)
    (repo / "flows" / "outside.py").symlink_to(host / "secret_flow.py")
    (repo / "flows" / "inside.py").symlink_to(repo / "flows" / "own.py")
    (repo / "elsewhere").symlink_to(host / "pkg", target_is_directory=True)
    return repo, host


def test_discovery_reads_no_link(repo):
    root, host = repo
    assert runner.discover([root]) == [root / "flows" / "own.py"]
    assert runner.discover([root / "flows" / "outside.py"]) == []


def test_rewrite_write_skips_links_and_reports_them(repo):
    root, host = repo
    report = root.parent / "report.json"
    result = CliRunner().invoke(app, ["rewrite", str(root), "--write", "--report", str(report)])
    assert result.exit_code == 0, result.output
    files = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert {n: f["status"] for n, f in files.items()} == {
        "inside.py": "skipped",
        "outside.py": "skipped",
        "own.py": "migrated",
    }
    assert str(host / "secret_flow.py") in files["outside.py"]["error"]
    assert (host / "secret_flow.py").read_text() == FLOW  # the host's file is untouched
    assert (host / "pkg" / "inner.py").read_text() == FLOW
    assert (root / "flows" / "outside.py").is_symlink()  # links stay links
    assert (root / "flows" / "inside.py").is_symlink()
    assert "@flow" in (root / "flows" / "own.py").read_text()


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-host-file"])
def test_a_generated_file_is_never_written_through_a_link(tmp_path, dangling):
    host = tmp_path / "host-prefect.yaml"
    if not dangling:
        host.write_text("the host's own file\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prefect.yaml").symlink_to(host)
    with pytest.raises(StepError, match="prefect.yaml is a symbolic link"):
        _write_generated(repo, "prefect.yaml", "deployments: []\n")
    assert host.exists() is not dangling
    if not dangling:
        assert host.read_text() == "the host's own file\n"
