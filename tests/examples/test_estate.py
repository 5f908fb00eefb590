"""benchmarks/estate.py: the generated estate's repositories, remotes, registry and flow sources."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from meta_flows.core.codemod.audit import prefect1_leftovers
from meta_flows.core.codemod.engine import MIGRATED, migrate_source
from meta_flows.core.registry import load_registry
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "estate.py"


def _load_estate():
    spec = importlib.util.spec_from_file_location("bench_estate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


estate = _load_estate()


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("estate")
    return root, estate.generate_estate(root, repos=2, flows_per_repo=9, seed=3)


def test_repositories_and_flow_names(generated) -> None:
    root, repos = generated
    assert [r.name for r in repos] == ["bench-000", "bench-001"]
    names = [n for r in repos for n in r.flow_names]
    assert len(names) == len(set(names)) == 18
    for repo in repos:
        assert repo.workdir == (root / "repos" / repo.name).resolve()
        assert sorted(p.name for p in (repo.workdir / "flows").glob("flow_*.py")) == [
            f"flow_{i}.py" for i in range(9)
        ]
        # Nine flows per repository: one of every template.
        kinds = {n.removeprefix(f"{repo.name}-").rsplit("-", 1)[0] for n in repo.flow_names}
        assert kinds == set(estate.TEMPLATES)
        for index, name in enumerate(repo.flow_names):
            source = (repo.workdir / "flows" / f"flow_{index}.py").read_text()
            assert f'Flow("{name}"' in source


def test_sources_differ_and_are_deterministic(generated, tmp_path: Path) -> None:
    root, repos = generated
    sources = [p.read_text() for r in repos for p in sorted((r.workdir / "flows").glob("f*.py"))]
    assert len(set(sources)) == len(sources)
    again = estate.generate_estate(tmp_path / "same", repos=1, flows_per_repo=9, seed=3)
    other = estate.generate_estate(tmp_path / "other", repos=1, flows_per_repo=9, seed=4)
    first = repos[0].workdir / "flows"
    for index in range(9):
        name = f"flow_{index}.py"
        assert (again[0].workdir / "flows" / name).read_text() == (first / name).read_text()
    assert [(other[0].workdir / "flows" / f"flow_{i}.py").read_text() for i in range(9)] != [
        (first / f"flow_{i}.py").read_text() for i in range(9)
    ]


def test_bare_remotes_hold_main(generated) -> None:
    root, repos = generated
    for repo in repos:
        assert repo.bare_remote == (root / "remotes" / f"{repo.name}.git").resolve()
        assert _git(repo.bare_remote, "rev-parse", "--is-bare-repository").strip() == "true"
        files = _git(repo.bare_remote, "ls-tree", "-r", "--name-only", "main").split()
        assert "requirements.txt" in files and "flows/__init__.py" in files
        assert {f"flows/flow_{i}.py" for i in range(9)} <= set(files)
        author = _git(repo.bare_remote, "log", "-1", "--format=%an", "main").strip()
        assert author == "meta-flows-bench"
        work_head = subprocess.run(
            ["git", "-C", str(repo.workdir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert _git(repo.bare_remote, "rev-parse", "main") == work_head


def test_refuses_to_overwrite(generated) -> None:
    root, _ = generated
    with pytest.raises(FileExistsError, match="bench-000"):
        estate.generate_estate(root, repos=1, flows_per_repo=1)
    with pytest.raises(ValueError, match="repos"):
        estate.generate_estate(root / "empty", repos=0)


def test_registry_loads(generated) -> None:
    root, repos = generated
    path = estate.write_registry(root, repos, wave="bench")
    loaded = load_registry(path, environ={})
    assert loaded.ok, loaded.errors
    assert [w.name for w in loaded.registry.waves] == ["bench"]
    projects = loaded.registry.projects
    assert [p.name for p in projects] == [r.name for r in repos]
    for project, repo in zip(projects, repos, strict=True):
        assert Path(project.git_url) == repo.bare_remote
        assert (project.wave, project.default_branch) == ("bench", "main")
        assert (project.work_pool.name, project.work_pool.type) == ("meta-flows-bench", "process")


def test_every_template_migrates_without_todos(generated) -> None:
    _, repos = generated
    repo = repos[0]
    for index in range(9):
        path = repo.workdir / "flows" / f"flow_{index}.py"
        result = migrate_source(path.read_text(), str(path), module_name=f"flows.flow_{index}")
        assert result.status == MIGRATED, (path.name, result.error)
        assert result.todos == [], (repo.flow_names[index], result.todos)
        assert prefect1_leftovers(result.code) == [], repo.flow_names[index]
        ast.parse(result.code)


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--repos", "1", "--flows", "2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 repositories, 2 flows" in proc.stdout
    assert (out / "registry.yaml").is_file() and (out / "remotes" / "bench-000.git").is_dir()
    again = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--repos", "1"], capture_output=True, text=True
    )
    assert again.returncode == 1 and "already exists" in again.stderr
