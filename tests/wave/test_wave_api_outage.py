"""The Prefect 2 API going away in the middle of a wave: the wave writes the report of what it
knows (every project, the unfinished ones failed saying the wave stopped, and why), and a re-run
against the API back up resumes from the ledger to the outcomes of an undisturbed wave."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from meta_flows.adapters.prefect2.local_server import free_port, start_server
from meta_flows.demo import DEMO_PROJECTS
from meta_flows.orchestration.ledger import Ledger, ProjectState
from tests.wave.conftest import demo_remotes, write_registry

pytestmark = pytest.mark.prefect

SETTLED = {ProjectState.VALIDATED, ProjectState.PROMOTED, ProjectState.ROLLED_BACK}


def _stop_when_one_settles(ledger: Ledger, server, stopped: threading.Event) -> None:
    """Stop the server as soon as one project got past validation."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            states = {record.state for record in ledger.all().values()}
        except Exception:  # noqa: BLE001 - not written yet
            states = set()
        if states & SETTLED:
            server.stop()
            stopped.set()
            return
        time.sleep(0.2)


def test_an_api_gone_mid_wave_leaves_a_report_and_a_rerun_resumes(legacy_cache, tmp_path):
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from meta_flows.flows.wave import migrate_wave

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    home = Path(tempfile.mkdtemp(prefix="meta-flows-outage-server-"))
    port = free_port()
    server = start_server(home, port=port, events=False)
    remotes = demo_remotes(tmp_path / "remotes")
    registry = write_registry(
        tmp_path / "registry.yaml",
        [{"name": name, "git_url": str(remotes[name])} for name in DEMO_PROJECTS],
    )
    workspace = tmp_path / "ws"
    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.url
    try:
        # a dead API is told at once, not after the client's retries
        with temporary_settings(
            updates={PREFECT_API_URL: server.url, PREFECT_CLIENT_MAX_RETRIES: 0}
        ):
            stopped = threading.Event()
            watcher = threading.Thread(
                target=_stop_when_one_settles,
                args=(Ledger(str(workspace), "demo"), server, stopped),
                daemon=True,
            )
            watcher.start()
            report = tmp_path / "report.json"
            try:
                migrate_wave(
                    wave="demo",
                    registry=str(registry),
                    workspace=str(workspace),
                    report=str(report),
                    max_parallel=1,
                    return_state=True,
                )
            except Exception:  # noqa: BLE001 - the engine cannot report the run's end either
                pass
            watcher.join(timeout=5)
            assert stopped.is_set(), "no project got past validation while the API was up"
            written = json.loads(report.read_text())
            assert f"the Prefect 2 API at {server.url} is unreachable" in written["stopped"]
            projects = {p["name"]: p for p in written["projects"]}
            assert set(projects) == set(DEMO_PROJECTS)
            unfinished = [
                p
                for p in projects.values()
                if (p["reason"] or "").startswith("the wave stopped before this project was done")
            ]
            assert unfinished, projects
            assert all(p["state"] == "failed" for p in unfinished)

            # the API is back (the same database): a re-run resumes from the ledger
            server.stop(port_free_within=120)
            server = start_server(home, port=port, events=False)
            again = tmp_path / "again.json"
            migrate_wave(
                wave="demo",
                registry=str(registry),
                workspace=str(workspace),
                report=str(again),
                max_parallel=1,
                return_state=True,
            )
        result = json.loads(again.read_text())
        assert "stopped" not in result
        assert {p["name"]: p["state"] for p in result["projects"]} == {
            "acme-etl": "promoted",
            "billing-reports": "rolled-back",
            "ops-housekeeping": "promoted",
        }
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved
        server.stop()


def test_a_task_run_the_api_cannot_create_is_told_to_the_wave_not_a_crash(tmp_path):
    """Prefect 2.20 creates a submitted task run in the flow run's background task group; the API
    failing there used to crash the flow run before the wave could write its report."""
    from prefect import flow, get_run_logger, task
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from meta_flows.orchestration.scheduling import ApiUnreachable, Completions
    from meta_flows.orchestration.scheduling import task_run_creation_guarded as guarded

    server = start_server(Path(tempfile.mkdtemp(prefix="meta-flows-outage-server-")))
    told = tmp_path / "told.txt"

    @task
    def one(name: str) -> str:
        return name

    @flow
    def wave_like() -> None:
        server.stop()
        with guarded(get_run_logger()):
            runs = Completions()
            runs.track("migrate", "a", one.submit("a"))
            try:
                while len(runs):
                    runs.next()
            except ApiUnreachable as exc:
                told.write_text(str(exc))

    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.url
    try:
        with temporary_settings(
            updates={PREFECT_API_URL: server.url, PREFECT_CLIENT_MAX_RETRIES: 0}
        ):
            try:
                wave_like()
            except Exception:  # noqa: BLE001 - the engine cannot report the run's end
                pass
        # the flow body was told, and told before the flow run call returned
        assert told.exists()
        assert f"the Prefect 2 API at {server.url} is unreachable" in told.read_text()
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved
        server.stop()
