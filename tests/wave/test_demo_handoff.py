"""The demo as a new user runs it, and what it hands over (issue: promote what was validated).

After ``meta-flows demo``: the promoted project's ``main``, cloned fresh, deploys with Prefect's
own ``prefect deploy --all`` (its pools applied) on a fresh server into deployments equal, field
by field, to the live ones the wave left; its requirements resolve to Prefect 2; no file names a
path of the wave's workspace; it carries no TODO its gate did not count; and the last lines print
a command that opens the UI on the demo's data, as printed, and how to start over.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import git
import httpx
import pytest

from meta_flows.adapters.prefect2.local_server import start_server

pytestmark = pytest.mark.prefect
BIN = Path(sys.executable).parent
COMPARED = ("entrypoint", "parameters", "work_pool_name", "pull_steps", "parameter_openapi_schema")


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, **extra}


def _deployments(api: str) -> dict[str, dict]:
    """Every deployment of the API at ``api``, by flow name / deployment name."""
    flows = httpx.post(f"{api}/flows/filter", json={}, timeout=30).json()
    names = {f["id"]: f["name"] for f in flows}
    found = httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()
    return {f"{names[d['flow_id']]}/{d['name']}": d for d in found}


def _fields(deployment: dict) -> dict:
    fields = {key: deployment[key] for key in COMPARED}
    # the API's JSON calls the job variables by their older name
    fields["job_variables"] = deployment.get("job_variables", deployment.get("infra_overrides"))
    fields["schedules"] = sorted(
        (json.dumps(s["schedule"], sort_keys=True), s["active"]) for s in deployment["schedules"]
    )
    return fields


@pytest.fixture(scope="module")
def demo(tmp_path_factory, legacy_cache):
    workspace = tmp_path_factory.mktemp("demo") / "ws"
    out = subprocess.run(
        [str(BIN / "meta-flows"), "demo", "--workspace", str(workspace)],
        env=_env(META_FLOWS_CACHE=str(legacy_cache)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads((workspace / "report.json").read_text())
    return {"workspace": workspace, "stdout": out.stdout, "report": report}


@pytest.fixture(scope="module")
def live(demo):
    """The demo's own data, through the command its last lines print."""
    lines = demo["stdout"].strip().splitlines()
    assert lines[-1] == f"Start over: rm -rf {demo['workspace']}"
    command = shlex.split(lines[-2])
    assert command[1:] == ["ui", "--workspace", str(demo["workspace"])], lines[-3:]
    proc = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        first = proc.stdout.readline()  # "Prefect UI: http://127.0.0.1:4200  (Ctrl-C stops it)"
        match = re.match(r"Prefect UI: (\S+)", first)
        assert match, first
        url = match.group(1)
        assert httpx.get(url, timeout=30).status_code == 200  # the UI itself
        yield {"api": f"{url}/api", "deployments": _deployments(f"{url}/api")}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def redeployed(demo, tmp_path_factory):
    """``prefect --no-prompt deploy --all`` from a fresh clone of the promoted ``main``."""
    clone = tmp_path_factory.mktemp("clone") / "acme-etl"
    git.Repo.clone_from(demo["workspace"] / "remotes" / "acme-etl.git", clone, branch="main")
    server = start_server(tmp_path_factory.mktemp("fresh-server"), events=False)
    try:
        env = _env(PREFECT_API_URL=server.url)
        for command in (
            [str(BIN / "meta-flows"), "pools", "apply", "work-pools.yaml"],
            [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
        ):
            out = subprocess.run(
                command, cwd=clone, env=env, capture_output=True, text=True, timeout=300
            )
            assert out.returncode == 0, f"{command}: {out.stdout[-3000:]}{out.stderr[-3000:]}"
        yield clone, _deployments(server.url)
    finally:
        server.stop()


def test_the_promoted_main_deploys_what_the_wave_left(demo, live, redeployed):
    states = {p["name"]: p["state"] for p in demo["report"]["projects"]}
    assert states["acme-etl"] == "promoted", states
    _, fresh = redeployed
    promoted = {k: v for k, v in live["deployments"].items() if "project:acme-etl" in v["tags"]}
    assert promoted and set(fresh) == set(promoted)
    for name, deployment in promoted.items():
        assert _fields(fresh[name]) == _fields(deployment), name
        assert all(s["active"] for s in deployment["schedules"])
        assert not deployment["paused"]


def test_its_requirements_resolve_to_prefect_2(redeployed):
    clone, _ = redeployed
    # no index: what is installed here (Prefect 2) must satisfy them
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "-r",
            "requirements.txt",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"Requirement already satisfied: prefect(<|>|=|,|\d|\.)*", out.stdout)
    text = (clone / "requirements.txt").read_text()
    assert "1.4.1" not in text


def test_no_file_names_the_workspace_and_every_todo_was_counted(demo, redeployed):
    clone, _ = redeployed
    workspace = str(demo["workspace"])
    todos = 0
    for name in git.Repo(clone).git.ls_files().splitlines():
        text = (clone / name).read_text(encoding="utf-8", errors="replace")
        for where in ("repos", "server", "ledger"):
            assert f"{workspace}/{where}" not in text, name
        todos += text.count("TODO(prefect2-migration)")
    [acme] = [p for p in demo["report"]["projects"] if p["name"] == "acme-etl"]
    assert todos == acme["todos"] == 0


def test_the_demo_data_is_what_the_ui_shows(demo, live):
    # every project's deployments are there (the promoted ones and the rolled-back shadows)
    projects = {
        t for d in live["deployments"].values() for t in d["tags"] if t.startswith("project:")
    }
    assert projects == {"project:acme-etl", "project:billing-reports", "project:ops-housekeeping"}
    runs = httpx.post(f"{live['api']}/flow_runs/filter", json={}, timeout=30).json()
    assert "migrate-wave" in {
        f["name"] for f in httpx.post(f"{live['api']}/flows/filter", json={}, timeout=30).json()
    }
    assert runs
