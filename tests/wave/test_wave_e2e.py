"""Issue 5's end-to-end acceptance: the demo projects through ``migrate-wave``.

Real parts only: a ``prefect server start`` on 127.0.0.1 with events on (tests/conftest.py),
bare git remotes on disk made from ``examples/``, the managed Prefect 1.4.1 environment, a local
HTTP receiver for the automation's webhook. The wave runs three times: once in a subprocess that
is killed mid-run, once to resume it, once more to show a re-run changes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import git
import pytest
import yaml

from tests.gitops.fake_prefect1 import FakeFlow, FakePrefect1, serve
from tests.wave.conftest import deployments_of, load_json, refs, write_registry

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def runs(events_server, events_api, legacy_cache, receiver, tmp_path_factory):
    from meta_flows.adapters.prefect2.automations import apply_automations
    from meta_flows.core.registry import load_registry
    from meta_flows.demo import DEMO_PROJECTS
    from meta_flows.flows.wave import migrate_wave, wave_result
    from tests.wave.conftest import demo_remotes

    tmp = tmp_path_factory.mktemp("wave-e2e")
    remotes = demo_remotes(tmp / "remotes")
    initial = {name: refs(bare) for name, bare in remotes.items()}
    projects = [{"name": name, "git_url": str(remotes[name])} for name in DEMO_PROJECTS]
    projects[0]["prefect1"] = {"project": "acme"}
    projects[1]["prefect1"] = {"project": "billing"}
    projects.append({"name": "gone", "git_url": str(tmp / "remotes" / "gone.git")})
    # the Prefect 1 server (not runnable here: a stand-in at its GraphQL contract)
    prefect1 = FakePrefect1(
        flows=[
            FakeFlow(str(uuid.uuid4()), "daily-sales", "acme", 3),
            FakeFlow(str(uuid.uuid4()), "Inventory Check", "acme", 1),
            FakeFlow(str(uuid.uuid4()), "invoice-export", "billing", 2),
        ]
    )
    serve(prefect1)
    registry = write_registry(
        tmp / "registry.yaml",
        projects,
        webhook=receiver.url,
        extra={"prefect1_server": {"url": prefect1.url}},
    )
    workspace = tmp / "ws"
    env = {**os.environ, "PREFECT_API_URL": events_server, "META_FLOWS_CACHE": str(legacy_cache)}
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)

    import asyncio

    asyncio.run(_rollback_deployment())
    applied = asyncio.run(apply_automations(load_registry(registry).registry, wave="demo"))

    # 1. a wave killed mid-run (after a project reached its shadow deployments)
    ledger = workspace / "ledger" / "demo.json"
    proc = subprocess.Popen(
        [
            str(BIN / "meta-flows"),
            "wave",
            "run",
            str(registry),
            "--wave",
            "demo",
            "--workspace",
            str(workspace),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        if ledger.exists():
            states = {p["state"] for p in json.loads(ledger.read_text())["projects"].values()}
            if states & {"deployed-shadow", "validated"}:
                killed_at = states
                os.killpg(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.2)
    proc.wait(timeout=60)
    assert killed_at, "the first wave ended before it could be killed"

    # 2. resume; 3. run again
    def wave(report: Path) -> dict:
        state = migrate_wave(
            wave="demo",
            registry=str(registry),
            workspace=str(workspace),
            report=str(report),
            return_state=True,
        )
        return {"state": state, "result": wave_result(state), "report": load_json(report)}

    second = wave(tmp / "second.json")
    after_second = {
        "refs": {name: refs(bare) for name, bare in remotes.items()},
        "deployments": {d.id: d.updated for d, _ in deployments_of("meta-flows-shadow")}
        | {d.id: d.updated for d, _ in deployments_of("meta-flows-promoted")},
        "ledger": load_json(ledger),
    }
    third = wave(tmp / "third.json")
    return {
        "remotes": remotes,
        "initial": initial,
        "killed_at": killed_at,
        "second": second,
        "after_second": after_second,
        "third": third,
        "ledger": ledger,
        "receiver": receiver,
        "applied": applied,
        "prefect1": prefect1,
        "registry": registry,
        "workspace": workspace,
    }


async def _rollback_deployment():
    from prefect.client.orchestration import get_client

    from meta_flows.adapters.prefect2.work_pools import apply_pools

    await apply_pools([{"name": "meta-flows-test", "type": "process"}])
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("rollback-wave")
        await client.create_deployment(
            flow_id=flow_id,
            name="rollback-wave",
            entrypoint="meta_flows/flows/wave.py:rollback_wave",
            work_pool_name="meta-flows-test",
        )


def _by_name(report: dict) -> dict:
    return {p["name"]: p for p in report["projects"]}


def test_report_states_and_reasons(runs):
    projects = _by_name(runs["second"]["report"])
    assert set(projects) == {"acme-etl", "billing-reports", "ops-housekeeping", "gone"}
    assert projects["acme-etl"]["state"] == "promoted"
    assert {f["verdict"] for f in projects["acme-etl"]["flows"]} == {"equal"}
    billing = projects["billing-reports"]
    assert billing["state"] == "rolled-back"
    assert "'invoice-export'" in billing["reason"] and "different" in billing["reason"]
    ops = projects["ops-housekeeping"]  # its LOOP task migrates as a loop in the task (§10.2)
    assert ops["state"] == "promoted" and ops["todos"] == 0
    assert {f["verdict"] for f in ops["flows"]} == {"equal"}
    gone = projects["gone"]
    assert gone["state"] == "failed" and "clone" in gone["reason"] and "gone.git" in gone["reason"]
    # the returned value is the same report; the run is Failed because one project failed
    assert runs["second"]["result"]["projects"] == runs["second"]["report"]["projects"]
    assert runs["second"]["state"].is_failed() and "gone" in runs["second"]["state"].message


def test_promoted_project_is_merged_and_scheduled(runs):
    bare = runs["remotes"]["acme-etl"]
    repo = git.Repo(bare)
    main = repo.heads["main"].commit
    branch = repo.heads["prefect2/demo"].commit
    assert len(main.parents) == 2 and main.parents[1] == branch  # a merge commit
    assert main.parents[0].hexsha == runs["initial"]["acme-etl"]["main"]
    # the branch's last commit is the promotion's: it switched the schedules on in prefect.yaml
    # (and pointed its pull steps at main) and changed nothing else
    assert branch.message.startswith("Activate the Prefect 2 schedules of acme-etl")
    assert list(branch.stats.files) == ["prefect.yaml"]
    message = branch.parents[0].message
    assert "Migrate acme-etl to Prefect 2 (wave demo)" in message and "PF002" in message
    committed = yaml.safe_load(repo.git.show("main:prefect.yaml"))["deployments"]
    assert all(s["active"] for d in committed for s in d["schedules"])
    assert all("meta-flows-promoted" in d["tags"] for d in committed)
    promoted = [(d, s) for d, s in deployments_of("project:acme-etl")]
    assert len(promoted) == 2
    for deployment, schedules in promoted:
        assert "meta-flows-promoted" in deployment.tags and not deployment.paused
        assert schedules and all(s.active for s in schedules)
        step = deployment.pull_steps[0]["prefect.deployments.steps.git_clone"]
        assert step == {"repository": str(bare), "branch": "main"}


def test_rolled_back_projects_keep_the_default_branch(runs):
    for name in ("billing-reports",):
        now = refs(runs["remotes"][name])
        assert now["main"] == runs["initial"][name]["main"]  # untouched
        assert "prefect2/demo" in now  # kept for humans
        shadows = deployments_of(f"project:{name}")
        assert shadows, name
        for deployment, schedules in shadows:
            assert deployment.paused and "meta-flows-shadow" in deployment.tags
            assert not any(s.active for s in schedules)


def test_no_duplicates_after_the_crash(runs):
    for name, bare in runs["remotes"].items():
        repo = git.Repo(bare)
        base = runs["initial"][name]["main"]
        # the migration commit (and, for the promoted projects, the activation of their schedules)
        expected = 2 if name in ("acme-etl", "ops-housekeeping") else 1
        assert int(repo.git.rev_list("--count", f"{base}..prefect2/demo")) == expected, name
    names = [(d.flow_id, d.name) for d, _ in deployments_of("migrated-from-prefect1")]
    assert len(names) == len(set(names)) == 6  # two flows per project
    # each named after the project that owns it
    for deployment, _ in deployments_of("migrated-from-prefect1"):
        assert f"project:{deployment.name}" in deployment.tags


def test_rerun_changes_nothing(runs):
    third, second = runs["third"], runs["second"]
    assert third["report"] == second["report"]
    after = runs["after_second"]
    assert {n: refs(b) for n, b in runs["remotes"].items()} == after["refs"]
    now = {d.id: d.updated for d, _ in deployments_of("meta-flows-shadow")}
    now |= {d.id: d.updated for d, _ in deployments_of("meta-flows-promoted")}
    assert now == after["deployments"]  # same deployments, not even updated
    ledger = load_json(runs["ledger"])
    for name in ("acme-etl", "billing-reports", "ops-housekeeping"):
        assert ledger["projects"][name] == after["ledger"]["projects"][name]


def test_failed_wave_notification_reaches_the_webhook(runs):
    assert any(r.action in ("created", "updated", "unchanged") for r in runs["applied"])
    receiver = runs["receiver"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("migrate-wave" in b for b in receiver.bodies):
        time.sleep(1)
    assert any("migrate-wave" in b for b in receiver.bodies), receiver.bodies


def test_prefect1_schedules_paused_for_the_promoted_project_only(runs):
    active = {f.name: f.is_schedule_active for f in runs["prefect1"].flows}
    assert active == {"daily-sales": False, "Inventory Check": False, "invoice-export": True}


def test_wave_verify_finds_no_drift_then_names_a_hand_change(runs):
    """``meta-flows wave verify`` after the wave: every live deployment is what its branch's
    prefect.yaml says; a schedule switched off by hand is named, field by field (exit 1)."""
    import asyncio

    from prefect.client.orchestration import get_client

    def verify() -> tuple[int, list[dict]]:
        out = subprocess.run(
            [
                str(BIN / "meta-flows"),
                "wave",
                "verify",
                str(runs["registry"]),
                "--wave",
                "demo",
                "--workspace",
                str(runs["workspace"]),
                "--json",
            ],
            env={**os.environ, "PREFECT_API_URL": os.environ["PREFECT_API_URL"]},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return out.returncode, json.loads(out.stdout)

    code, results = verify()
    by_name = {r["name"]: r for r in results}
    assert code == 0, results
    assert by_name["acme-etl"]["ref"] == "origin/main" and by_name["acme-etl"]["checked"] == 2
    assert by_name["billing-reports"]["ref"] == "origin/prefect2/demo"
    assert all(r["drift"] == [] for r in results)
    assert all(not p["drift"] for p in runs["second"]["report"]["projects"])  # the wave's own

    deployment, schedules = deployments_of("project:acme-etl")[0]

    async def switch_off():
        async with get_client() as client:
            await client.update_deployment_schedule(deployment.id, schedules[0].id, active=False)

    asyncio.run(switch_off())
    code, results = verify()
    assert code == 1
    [drift] = [r["drift"] for r in results if r["name"] == "acme-etl"]
    label = f"{deployment.name} ({deployment.entrypoint})"
    assert drift == [f"{label}: schedules[0].active: prefect.yaml true, live false"], drift


def test_rollback_wave_reverses_the_promoted_project(runs):
    # last in this module: it changes the state the tests above look at
    from meta_flows.flows.wave import rollback_wave

    result = rollback_wave(
        wave="demo",
        project="acme-etl",
        reason="checking the rollback",
        registry=str(runs["registry"]),
        workspace=str(runs["workspace"]),
    )
    assert result["projects"] == [
        {
            "name": "acme-etl",
            "state": "rolled-back",
            "reason": "checking the rollback",
            "flows": result["projects"][0]["flows"],
            "todos": 0,
            "drift": [],
            "out_of_scope": [],
        }
    ]
    for deployment, schedules in deployments_of("project:acme-etl"):
        assert deployment.paused and not any(s.active for s in schedules)
    assert all(f.is_schedule_active for f in runs["prefect1"].flows)  # Prefect 1 back on


def test_the_wave_writes_its_metrics_beside_the_ledger(runs):
    """What the phases and steps took is in <workspace>/metrics/<wave>.json, not in the report."""
    from meta_flows.orchestration.wave_run import metrics_path

    metrics = load_json(metrics_path(runs["workspace"], "demo"))
    assert metrics["wave"] == "demo"
    assert set(metrics["phase_seconds"]) == {"migrate", "settle", "publish"}
    assert all(seconds >= 0 for seconds in metrics["phase_seconds"].values())
    assert "run_seconds" not in runs["third"]["result"]
    assert "step_seconds" not in runs["third"]["report"]
