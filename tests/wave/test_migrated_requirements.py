"""The Prefect 2 side of validation runs with the migrated requirements (issue: promote what was
validated): a flow that needs a package only the project's requirements install validates
``equal``; the same wave whose migration branch lost that requirement reports ``migrated-error``
naming the module."""

from __future__ import annotations

import os
from pathlib import Path

import git

from meta_flows.demo import _GIT_ENV as GIT_ENV
from meta_flows.demo import make_remote
from tests.wave.conftest import run_project_wave
from tests.wheels import write_wheel

FLOW = """\
import acme_fmt
from prefect import Flow, Parameter, task


@task
def fmt(amount):
    return acme_fmt.money(amount)


with Flow("fmt-report") as flow:
    amount = Parameter("amount", default=12)
    fmt(amount)
"""
WHEEL = "vendor/acme_fmt-1.0-py3-none-any.whl"


def write_fmt_wheel(path: Path) -> None:
    """A wheel of the package ``acme_fmt`` (pip installs it offline)."""
    write_wheel(
        path, {"acme_fmt/__init__.py": 'def money(amount):\n    return f"EUR {amount:.2f}"\n'}
    )


def project_remote(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    (source / "flows").mkdir(parents=True)
    (source / "flows" / "report.py").write_text(FLOW)
    (source / "requirements.txt").write_text(f"prefect==1.4.1\n./{WHEEL}\n")
    write_fmt_wheel(source / WHEEL)
    return make_remote(source, tmp_path / "remotes", "fmt")


def run_wave(tmp_path: Path, remote: Path) -> dict:
    return run_project_wave(tmp_path, {"name": "fmt", "git_url": str(remote)})


def test_the_migrated_requirements_install_the_package(prefect_api, legacy_cache, tmp_path):
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    remote = project_remote(tmp_path)
    project = run_wave(tmp_path, remote)
    assert [f["verdict"] for f in project["flows"]] == ["equal"], project
    assert project["state"] == "promoted"
    requirements = git.Repo(remote).git.show("main:requirements.txt").splitlines()
    assert requirements == ["prefect>=2.20,<3", f"./{WHEEL}"]


def test_without_the_requirement_the_module_is_named(prefect_api, legacy_cache, tmp_path):
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    remote = project_remote(tmp_path)
    # someone edited the migration branch: its requirements lost the package (the default
    # branch, Prefect 1's side, still has it)
    work = git.Repo.clone_from(remote, tmp_path / "edit")
    work.git.checkout("-b", "prefect2/demo")
    (tmp_path / "edit" / "requirements.txt").write_text("prefect==1.4.1\n")
    with work.git.custom_environment(**GIT_ENV):
        work.git.commit("-am", "drop the package")
    work.git.push("origin", "prefect2/demo")
    project = run_wave(tmp_path, remote)
    [flow] = project["flows"]
    assert flow["verdict"] == "migrated-error", project
    assert project["state"] == "rolled-back"
    assert "acme_fmt" in project["reason"], project["reason"]
