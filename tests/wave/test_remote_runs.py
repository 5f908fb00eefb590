"""How the wave tells a project's run on a worker: finished (its outcome from the workspace),
failed, or lost (no heartbeat), started again once, failed when lost twice."""

from __future__ import annotations

import json
import logging
import time

from meta_flows.adapters.prefect2.project_runs import RunState
from meta_flows.orchestration.outcome import Outcome, ReportState
from meta_flows.orchestration.remote import heartbeat, run_on_pool, runs_dir, write_outcome

LOG = logging.getLogger("test")


class Runs:
    """Flow runs as the API would report them, driven by the test."""

    def __init__(self, workspace, script):
        self.workspace, self.script = workspace, script
        self.started: list[str] = []
        self.crashed: list[tuple[str, str]] = []
        self.released = 0

    def start(self, attempt: int) -> str:
        run_id = f"run-{attempt}"
        self.started.append(run_id)
        return run_id

    def read(self, run_id: str) -> RunState:
        state = self.script(self, run_id)
        return RunState(run_id, f"migrate-p ({run_id})", state, "", None)

    def crash(self, run_id: str, message: str) -> None:
        self.crashed.append((run_id, message))

    def release(self) -> None:
        self.released += 1


def _beat(workspace, run_id: str, *, age: float = 0.0, slot: bool = False) -> None:
    path = runs_dir(workspace, "w") / "p.beat.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"flow_run": run_id, "at": time.time() - age, "slot": slot}))


def _wait(runs: Runs, tmp_path) -> Outcome:
    return run_on_pool(
        "p", start=runs.start, read=runs.read, crash=runs.crash, release_slot=runs.release,
        workspace=str(tmp_path), ledger_wave="w", pool="pool", logger=LOG, lost_after=5,
        poll=0.01,
    )  # fmt: skip


def test_a_finished_run_gives_the_outcome_it_left(tmp_path):
    def script(runs, run_id):
        write_outcome(str(tmp_path), "w", run_id, Outcome("p", ReportState.PENDING, "gate passed"))
        return "COMPLETED"

    outcome = _wait(Runs(tmp_path, script), tmp_path)
    assert (outcome.state, outcome.reason) == (ReportState.PENDING, "gate passed")


def test_a_run_lost_once_is_started_again_and_its_slot_given_back(tmp_path):
    def script(runs, run_id):
        if run_id == "run-1":
            _beat(tmp_path, run_id, age=60, slot=True)  # its worker went away validating
            return "RUNNING"
        write_outcome(str(tmp_path), "w", run_id, Outcome("p", ReportState.PENDING, "ok"))
        return "COMPLETED"

    runs = Runs(tmp_path, script)
    outcome = _wait(runs, tmp_path)
    assert outcome.reason == "ok" and runs.started == ["run-1", "run-2"]
    assert runs.crashed[0][0] == "run-1" and "no heartbeat for 60 s" in runs.crashed[0][1]
    assert runs.released == 1


def test_a_run_lost_twice_fails_its_project_saying_so(tmp_path):
    def script(runs, run_id):
        _beat(tmp_path, run_id, age=30)  # not holding a slot
        return "RUNNING"

    runs = Runs(tmp_path, script)
    outcome = _wait(runs, tmp_path)
    assert outcome.state == ReportState.FAILED
    assert outcome.reason.startswith("flow run migrate-p (run-2) lost: no heartbeat for 30 s")
    assert "earlier: flow run migrate-p (run-1) lost" in outcome.reason
    assert runs.released == 0 and [c[0] for c in runs.crashed] == ["run-1", "run-2"]


def test_a_run_left_pending_by_a_dead_worker_is_lost_and_started_again(tmp_path):
    # the worker took the run (Pending) and died before starting it: no beat ever comes
    def script(runs, run_id):
        if run_id == "run-1":
            return "PENDING"
        write_outcome(str(tmp_path), "w", run_id, Outcome("p", ReportState.PENDING, "ok"))
        return "COMPLETED"

    runs = Runs(tmp_path, script)
    started = time.monotonic()
    outcome = _wait(runs, tmp_path)
    assert outcome.reason == "ok" and runs.started == ["run-1", "run-2"]
    assert runs.crashed[0][0] == "run-1"
    assert "lost: taken by a worker and not started in 10 s" in runs.crashed[0][1]
    assert time.monotonic() - started >= 10  # twice lost_after: a slow start is not a loss


def test_a_run_that_failed_fails_its_project_with_its_message(tmp_path):
    runs = Runs(tmp_path, lambda runs, run_id: "FAILED")
    outcome = _wait(runs, tmp_path)
    assert outcome.state == ReportState.FAILED and "ended failed" in outcome.reason
    assert runs.started == ["run-1"]  # a failure is not a loss: not started again


def test_a_beating_run_is_not_lost(tmp_path):
    seen = []

    def script(runs, run_id):
        seen.append(run_id)
        if len(seen) < 30:
            _beat(tmp_path, run_id)  # fresh
            return "RUNNING"
        write_outcome(str(tmp_path), "w", run_id, Outcome("p", ReportState.PENDING, "ok"))
        return "COMPLETED"

    runs = Runs(tmp_path, script)
    assert _wait(runs, tmp_path).reason == "ok" and runs.crashed == []


def test_heartbeat_says_whether_it_holds_a_slot(tmp_path):
    with heartbeat(str(tmp_path), "w", "p", "run-9") as beat:
        path = runs_dir(tmp_path, "w") / "p.beat.json"
        assert json.loads(path.read_text())["slot"] is False
        beat.holding(True)
        assert json.loads(path.read_text()) | {"at": 0} == {
            "flow_run": "run-9",
            "at": 0,
            "slot": True,
        }
