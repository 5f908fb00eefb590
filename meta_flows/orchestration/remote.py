"""Projects run on workers: a wave's ``migrate-project`` flow runs, told apart from lost ones.

When a wave has a work pool, each project is a flow run of the ``migrate-project`` deployment,
picked up by any worker of the pool. Workers share the wave's workspace (the clones and the
ledger live there: the same machine or a shared volume), which is also where a project's run
leaves its heartbeat and its outcome (``<workspace>/runs/<wave>/``).

The wave waits for each run (:func:`run_on_pool`). A run whose process is gone (its worker was
killed, its machine went down: Prefect 2 keeps such a run Running) stops beating; after
``lost_after`` seconds the wave marks it Crashed, gives back the validation slot it held, and
starts the project again once (every step resumes from the ledger); lost twice, the project
fails saying so. A project is never lost, and never run twice at the same time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meta_flows.orchestration.outcome import (
    Outcome,
    ReportState,
    outcome_from_dict,
    outcome_to_dict,
)

BEAT_SECONDS = 5.0  # how often a project's run says it is alive
LOST_AFTER = 60.0  # seconds without a beat after which a run is lost
LOST_AFTER_VARIABLE = "META_FLOWS_LOST_AFTER"  # overrides LOST_AFTER (seconds)
ATTEMPTS = 2  # runs of one project before it fails as lost
WAITING_NOTE_SECONDS = 60.0  # how often "waiting for a worker" is logged


def lost_after() -> float:
    """Seconds without a heartbeat after which a project's run is lost (``$META_FLOWS_LOST_AFTER``,
    else :data:`LOST_AFTER`)."""
    value = os.environ.get(LOST_AFTER_VARIABLE)
    return float(value) if value else LOST_AFTER


def runs_dir(workspace: str | Path, ledger_wave: str) -> Path:
    return Path(workspace) / "runs" / ledger_wave


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # one file per writer (the beat thread and the run's own thread both write a heartbeat)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Heartbeat:
    """A project's run saying it is alive, and whether it holds a validation slot."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path, self.run_id, self.slot = path, run_id, False
        self.stopped = threading.Event()

    def beat(self) -> None:
        _write(self.path, {"flow_run": self.run_id, "at": time.time(), "slot": self.slot})

    def holding(self, slot: bool) -> None:
        self.slot = slot
        self.beat()


@contextmanager
def heartbeat(workspace: str, ledger_wave: str, project: str, run_id: str) -> Iterator[Heartbeat]:
    """Beat every :data:`BEAT_SECONDS` while the block runs (in a thread of its own)."""
    beating = Heartbeat(runs_dir(workspace, ledger_wave) / f"{project}.beat.json", run_id)
    beating.beat()

    def loop() -> None:
        while not beating.stopped.wait(BEAT_SECONDS):
            beating.beat()

    thread = threading.Thread(target=loop, name=f"meta-flows-beat-{project}", daemon=True)
    thread.start()
    try:
        yield beating
    finally:
        beating.stopped.set()
        thread.join(timeout=BEAT_SECONDS)


def write_outcome(workspace: str, ledger_wave: str, run_id: str, outcome: Outcome) -> None:
    """Where the wave reads a project's outcome (written by the project's run as it ends)."""
    _write(
        runs_dir(workspace, ledger_wave) / f"{outcome.name}.outcome.json",
        {"flow_run": run_id, "outcome": outcome_to_dict(outcome)},
    )


def read_outcome(workspace: str, ledger_wave: str, project: str, run_id: str) -> Outcome | None:
    found = _read(runs_dir(workspace, ledger_wave) / f"{project}.outcome.json")
    if not found or found.get("flow_run") != run_id:
        return None
    return outcome_from_dict(found["outcome"])


TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def run_on_pool(
    project: str,
    *,
    start,
    read,
    crash,
    release_slot,
    workspace: str,
    ledger_wave: str,
    pool: str,
    logger,
    lost_after: float = LOST_AFTER,
    poll: float = 1.0,
) -> Outcome:
    """Run ``project`` as flow runs (``start(attempt) -> run id``) until one ends, and return its
    outcome; never raises for the project's own failures (a failure is an outcome).

    ``read(run_id)`` gives a :class:`~meta_flows.adapters.prefect2.project_runs.RunState`,
    ``crash(run_id, message)`` marks a lost run Crashed, ``release_slot()`` gives back the
    validation slot a lost run held.
    """
    beat_path = runs_dir(workspace, ledger_wave) / f"{project}.beat.json"
    lost: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        run_id = start(attempt)
        created = time.monotonic()
        noted = created
        started_at: float | None = None
        pending_since: float | None = None  # a worker took the run (Pending) and it has not started
        while True:
            run = read(run_id)
            if run.state in TERMINAL:
                outcome = read_outcome(workspace, ledger_wave, project, run_id)
                if outcome is not None:
                    return outcome
                if run.state == "CRASHED" and attempt < ATTEMPTS:
                    lost.append(f"{run.name} crashed: {run.message or 'no message'}")
                    logger.warning("%s: %s; starting it again", project, lost[-1])
                    break
                why = f"{run.name} ended {run.state.lower()}: {run.message or 'no message'}"
                return Outcome(project, ReportState.FAILED, _with_earlier(why, lost))
            now = time.monotonic()
            beat = _read(beat_path)
            beat = beat if beat and beat.get("flow_run") == run_id else None
            if run.state == "RUNNING" and started_at is None:
                started_at = now
                logger.info("%s: flow run %s started (%s)", project, run.name, run.worker or "?")
            if run.state == "PENDING":
                pending_since = pending_since or now
            else:
                pending_since = None
            silent = (time.time() - beat["at"]) if beat else None
            # a worker that died between taking the run (Pending) and starting it leaves it
            # Pending for ever: lost too, with more leeway than a silent running one
            stuck = (
                beat is None
                and started_at is None
                and pending_since is not None
                and now - pending_since > 2 * lost_after
            )
            if (
                (silent is not None and silent > lost_after)
                or stuck
                or (beat is None and started_at is not None and now - started_at > lost_after)
            ):
                why = (
                    f"flow run {run.name} lost: taken by a worker and not started in "
                    f"{int(now - pending_since)} s (its worker or machine went away)"
                    if stuck
                    else f"flow run {run.name} lost: no heartbeat for "
                    f"{int(silent if silent is not None else now - started_at)} s "
                    "(its worker or machine went away)"
                )
                crash(run_id, why)
                if beat and beat.get("slot"):
                    release_slot()
                lost.append(why)
                logger.warning("%s: %s", project, why)
                if attempt < ATTEMPTS:
                    logger.info("%s: starting it again (attempt %d)", project, attempt + 1)
                    break
                return Outcome(project, ReportState.FAILED, _with_earlier(why, lost[:-1]))
            if started_at is None and now - noted > WAITING_NOTE_SECONDS:
                noted = now
                logger.info(
                    "%s: flow run %s %s for %d s: is a worker of pool %r running?",
                    project, run.name, run.state.lower(), int(now - created), pool,
                )  # fmt: skip
            time.sleep(poll)
    raise AssertionError("unreachable")  # pragma: no cover - every attempt returns or breaks


def _with_earlier(why: str, lost: list[str]) -> str:
    return why if not lost else f"{why} (earlier: {'; '.join(lost)})"
