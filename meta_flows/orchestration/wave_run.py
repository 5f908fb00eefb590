"""A wave run: every project of the wave migrated, and each batch settled as soon as it can be.

:func:`run_wave` drives two task kinds that the flow layer hands it (so this layer holds no
``@task``): ``migrate`` (one project up to its gate) and ``settle`` (promote or roll back). Every project is
submitted at once and paced by the wave's global concurrency limits
(:mod:`meta_flows.orchestration.scheduling`): up to ``max_parallel`` projects validate at a time
while one more is prepared; a batch is promoted or rolled back as soon as the gate policy can
decide it, while the rest of the wave migrates. What
each phase took is written to ``<workspace>/metrics/<wave>.json`` (read by the benchmarks).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from meta_flows.core.registry import LoadedRegistry
from meta_flows.orchestration.gate import PromotionBatches
from meta_flows.orchestration.outcome import Outcome, ReportState
from meta_flows.orchestration.scheduling import MAX_ALIVE, Completions, wave_limits


@dataclass
class WaveRun:
    """The outcomes of a wave run, in the registry's order, and what its phases took."""

    wave: str
    outcomes: list[Outcome]
    phase_seconds: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None  # why the wave could not go on (the Prefect 2 API went away...)

    def report(self) -> dict:
        """The JSON report: ``{"wave", "projects": [{"name", "state", "reason", "flows"}]}``,
        and ``"stopped"`` (why) when the wave could not go on."""
        report = {"wave": self.wave, "projects": [o.report() for o in self.outcomes]}
        if self.stopped:
            report["stopped"] = self.stopped
        return report

    @property
    def failed(self) -> list[str]:
        return [o.name for o in self.outcomes if o.state == ReportState.FAILED]

    def metrics(self) -> dict:
        """The flows' own run time, thread time per step and wall time per phase (seconds)."""
        steps: dict[str, float] = {}
        for o in self.outcomes:
            for step, seconds in o.timings.items():
                steps[step] = round(steps.get(step, 0.0) + seconds, 3)
        return {
            "wave": self.wave,
            "run_seconds": round(sum(o.run_seconds for o in self.outcomes), 3),
            "step_seconds": steps,
            "phase_seconds": self.phase_seconds,
        }


def metrics_path(workspace: str | Path, ledger_wave: str) -> Path:
    return Path(workspace) / "metrics" / f"{ledger_wave}.json"


def run_wave(
    loaded: LoadedRegistry,
    wave: str,
    *,
    workspace: str,
    dry_run: bool,
    max_parallel: int,
    timeout: float,
    github_block: str | None,
    migrate_task,
    settle_task,
    run_id: object,
    logger,
) -> WaveRun:
    """Migrate the wave's projects with ``migrate_task``, settle them with ``settle_task``."""
    the_wave = loaded.registry.wave(wave)
    projects = loaded.registry.projects_of(wave)
    ledger_wave = f"{wave}-dry-run" if dry_run else wave
    outcomes: dict[str, Outcome | None] = {}
    for error in loaded.errors_for_wave(wave):
        name = error.project or (error.file if error.line is None else f"{error.file}:{error.line}")
        known = outcomes.get(name)  # all of one entry's problems, together
        reason = f"registry: {error}"
        outcomes[name] = Outcome(
            name, ReportState.FAILED, f"{known.reason}; {reason}" if known else reason
        )
    logger.info("wave %s: %d project(s)%s", wave, len(projects), " (dry run)" if dry_run else "")
    for project in projects:
        outcomes[project.name] = None  # report order: the registry's
    clock = {"started": time.perf_counter()}
    by_name = {p.name: p for p in projects}
    batches = PromotionBatches(the_wave.gate, [p.name for p in projects])
    stopped = None
    try:
        _drive(
            projects, outcomes, batches, by_name, clock, the_wave, loaded, wave, workspace,
            ledger_wave, dry_run, max_parallel, timeout, github_block, migrate_task,
            settle_task, run_id, logger,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the wave cannot go on: say what it knows
        from meta_flows.adapters.prefect2.health import unreachable

        stopped = unreachable() or f"{type(exc).__name__}: {exc}"
        logger.error("wave %s stopped: %s", wave, stopped)
        for name, outcome in outcomes.items():
            if outcome is None:
                outcomes[name] = Outcome(
                    name,
                    ReportState.FAILED,
                    f"the wave stopped before this project was done ({stopped}); "
                    "a re-run of the wave resumes it",
                )
            elif outcome.state == ReportState.PENDING and not dry_run:
                outcome.reason = (
                    f"{outcome.reason or 'validated'}; not promoted or rolled back: the wave "
                    f"stopped ({stopped}); a re-run of the wave settles it"
                )
    clock.setdefault("migrate", time.perf_counter())
    clock["settle"] = time.perf_counter()
    marks = list(clock.items())
    phases = {
        name: round(at - before, 3)
        for (_, before), (name, at) in zip(marks, marks[1:], strict=False)
    }
    return WaveRun(wave, [o for o in outcomes.values() if o is not None], phases, stopped)


def _drive(
    projects, outcomes, batches, by_name, clock, the_wave, loaded, wave, workspace,
    ledger_wave, dry_run, max_parallel, timeout, github_block, migrate_task, settle_task,
    run_id, logger,
) -> None:  # fmt: skip
    """Migrate the projects, settling each batch as soon as it is decided (fills ``outcomes``).

    Every project's task run is submitted at once (at most ``MAX_ALIVE`` alive); the wave's
    global concurrency limits pace them, and each is handled as it finishes."""
    with wave_limits(run_id, ledger_wave, max_parallel) as limits:
        limits.order.update({p.name: i for i, p in enumerate(projects)})
        waiting = list(projects)
        runs = Completions()

        def submit_more() -> None:
            while waiting and len(runs) < MAX_ALIVE:
                p = waiting.pop(0)
                runs.track(
                    "migrate",
                    p.name,
                    migrate_task.submit(
                        project=p,
                        wave=the_wave,
                        workspace=workspace,
                        ledger_wave=ledger_wave,
                        dry_run=dry_run,
                        timeout=timeout,
                        github_block=github_block,
                    ),
                )

        submit_more()
        migrating = len(projects)
        validated = 0
        while len(runs):
            kind, name, result = runs.next()
            if kind == "settle":
                kept = outcomes[name]
                kept.state = result.state
                kept.reason = result.reason or kept.reason
                kept.timings = {**kept.timings, **result.timings}
                submit_more()
                continue
            outcomes[name] = result
            migrating -= 1
            validated += 1
            logger.info("wave %s: %d/%d project(s) validated", wave, validated, len(projects))
            if not migrating:
                clock["migrate"] = time.perf_counter()
                # settling runs no flows (git and a few API calls each): one at a time
                # alongside the migrations (its deployment writes share the API server with
                # the validation runs), then 2 x max_parallel at a time
                limits.widen_settling()
            for batch in batches.finish(name, result):
                for decision in batch:
                    if dry_run:
                        outcomes[decision.project].reason = (
                            f"dry run: would be "
                            f"{'promoted' if decision.promote else 'rolled back'}: "
                            f"{decision.reason}"
                        )
                        continue
                    project = by_name[decision.project]
                    runs.track(
                        "settle",
                        project.name,
                        settle_task.submit(
                            project=project,
                            wave=the_wave,
                            registry=loaded.registry,
                            workspace=workspace,
                            ledger_wave=ledger_wave,
                            promote=decision.promote,
                            reason=decision.reason,
                            github_block=github_block,
                        ),
                    )
            submit_more()


def write_metrics(run: WaveRun, workspace: str | Path, ledger_wave: str) -> Path:
    path = metrics_path(workspace, ledger_wave)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.metrics(), indent=2) + "\n")
    return path
