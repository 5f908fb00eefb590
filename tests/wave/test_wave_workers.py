"""A wave whose projects run on workers: each project a ``migrate-project`` flow run of a process
work pool, picked up by real ``prefect worker start`` processes, validation paced by a Prefect
global concurrency limit; a worker killed in the middle of a project loses nothing."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path

import pytest

from meta_flows.adapters.prefect2.project_runs import pull_step
from meta_flows.adapters.prefect2.workers import LocalWorker
from meta_flows.demo import DEMO_PROJECTS
from meta_flows.flows.project import code_root
from meta_flows.orchestration.remote import runs_dir
from tests.wave.conftest import demo_remotes, write_registry

pytestmark = pytest.mark.prefect

OUTCOMES = {
    "acme-etl": "promoted",
    "billing-reports": "rolled-back",
    "ops-housekeeping": "promoted",
}


def Worker(pool: str, name: str, log: Path) -> LocalWorker:  # noqa: N802 - reads as a class
    return LocalWorker(pool, name, log, {"PREFECT_WORKER_QUERY_SECONDS": "1"})


def _flow_runs(deployment_name: str = "meta-flows"):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async def read():
        async with get_client() as client:
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=[deployment_name])
                )
            )

    return asyncio.run(read())


def _limit(name: str):
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_global_concurrency_limit_by_name(name)

    return asyncio.run(read())


def _deployment(name: str):
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_deployment_by_name(name)

    return asyncio.run(read())


def _wave(tmp_path: Path, pool: str, max_parallel: int = 1) -> dict:
    from meta_flows.flows.wave import migrate_wave

    remotes = demo_remotes(tmp_path / "remotes")
    registry = write_registry(
        tmp_path / "registry.yaml",
        [{"name": name, "git_url": str(remotes[name])} for name in DEMO_PROJECTS],
    )
    report = tmp_path / "report.json"
    migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        max_parallel=max_parallel,
        work_pool=pool,
        return_state=True,
    )
    return json.loads(report.read_text())


def _watch_slots(beats: Path, stop: threading.Event, seen: list[int]) -> None:
    """How many projects held a validation slot at once, sampled from their heartbeats."""
    while not stop.is_set():
        holding = 0
        for path in beats.glob("*.beat.json"):
            try:
                holding += bool(json.loads(path.read_text())["slot"])
            except (OSError, ValueError):
                pass
        seen.append(holding)
        time.sleep(0.1)


def test_the_demo_wave_on_two_process_workers(own_api, tmp_path):
    pool = "meta-flows-projects"
    workers = [Worker(pool, f"worker-{i}", tmp_path / f"worker-{i}.log") for i in (1, 2)]
    stop, seen = threading.Event(), []
    watcher = threading.Thread(
        target=_watch_slots, args=(runs_dir(tmp_path / "ws", "demo"), stop, seen), daemon=True
    )
    watcher.start()
    try:
        report = _wave(tmp_path, pool, max_parallel=1)
    finally:
        stop.set()
        for worker in workers:
            worker.stop(signal.SIGKILL)
    assert {p["name"]: p["state"] for p in report["projects"]} == OUTCOMES
    runs = _flow_runs()
    assert sorted(r.name for r in runs) == sorted(f"migrate-{n}" for n in DEMO_PROJECTS)
    for run in runs:
        # executed by a worker of the pool: the worker records the process it started
        assert run.state.type.value == "COMPLETED", (run.name, run.state)
        assert run.work_pool_name == pool and run.infrastructure_pid, run
    # the runs work where meta-flows is: its pull step, not a copy of the code root per run
    deployment = _deployment("migrate-project/meta-flows")
    assert deployment.pull_steps == [pull_step(code_root())] and not deployment.path
    # validation was held by the wave's global concurrency limit, one slot
    limit = _limit("meta-flows-validating-demo")
    assert limit.limit == 1 and limit.active_slots == 0
    assert max(seen) == 1, "validation slots were not held one at a time"
    # and the projects' runs by its migrating limit: one validating, one more prepared
    migrating = _limit("meta-flows-migrating-demo")
    assert migrating.limit == 2 and migrating.active_slots == 0


def test_a_worker_killed_mid_project_loses_nothing(own_api, tmp_path, monkeypatch):
    monkeypatch.setenv("META_FLOWS_LOST_AFTER", "15")
    pool = "meta-flows-kill"
    first = Worker(pool, "first", tmp_path / "first.log")
    beats = runs_dir(tmp_path / "ws", "demo")
    killed: list[str] = []
    second: list[Worker] = []

    def kill_when_one_runs() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed:
            for path in beats.glob("*.beat.json") if beats.exists() else []:
                killed.append(path.name.removesuffix(".beat.json"))
                time.sleep(2)  # well inside the project's run
                first.stop(signal.SIGKILL)
                second.append(Worker(pool, "second", tmp_path / "second.log"))  # the pool again
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_when_one_runs, daemon=True)
    killer.start()
    try:
        report = _wave(tmp_path, pool, max_parallel=2)
    finally:
        killer.join(timeout=30)
        for worker in [first, *second]:
            worker.stop(signal.SIGKILL)
    assert killed, "no project's run got going"
    # every project accounted for, to the outcome of an undisturbed wave
    assert {p["name"]: p["state"] for p in report["projects"]} == OUTCOMES
    runs = {}
    for run in _flow_runs():
        runs.setdefault(run.name, []).append(run)
    lost = runs[f"migrate-{killed[0]}"]
    assert sorted(r.state.type.value for r in lost) == ["COMPLETED", "CRASHED"], lost
    crashed = next(r for r in lost if r.state.type.value == "CRASHED")
    assert "lost: no heartbeat" in crashed.state.message
    assert _limit("meta-flows-validating-demo").active_slots == 0
