"""The migration wave as Prefect 2 flows: ``migrate-wave`` and ``rollback-wave``.

A thin layer over :mod:`meta_flows.orchestration.project`. The task graph is coarse (Prefect costs ~74 ms per task
run here): one ``migrate-project`` task run per project (clone -> inventory -> rewrite ->
commit/push -> shadow deployments -> validation -> gate). ``max_parallel`` projects validate at a
time while one more is prepared (cloned, rewritten, pushed), and a project's shadow deployments
are written in the background while it waits for its validation slot and validates; the next
project starts as soon as one finishes. One ``settle-project`` task run per project promotes it
or rolls it back as soon as the wave's gate policy can decide its batch (per-project: when it
passes or fails its own gate; all-or-nothing: when its whole batch is validated), alongside the
migrations of the rest (``max_parallel`` at a time: settling runs no flows). A project that fails
(bad registry entry, unreachable repository, rejected push, ...) is ``failed`` with the reason;
the rest of the wave goes on. Published: a wave summary table artifact and one markdown artifact
per project (diff stats, TODOs, verdicts, branch or pull request).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import get_run_context
from prefect.states import Failed

from meta_flows.core.registry import LoadedRegistry, Project, Registry, Wave, load_registry
from meta_flows.core.validation.compare import render_markdown
from meta_flows.flows.validate import artifact_slug
from meta_flows.orchestration import project as steps
from meta_flows.orchestration.ledger import Ledger, ProjectState

DEFAULT_REGISTRY = "flows_registry"
DEFAULT_WORKSPACE = ".meta-flows"


def _github_credentials(block: str | None, project: Project):
    from meta_flows.adapters.gitops import parse_github_remote

    if not block or parse_github_remote(project.git_url) is None:
        return None
    from prefect_github import GitHubCredentials

    try:
        return GitHubCredentials.load(block)
    except ValueError as exc:
        raise steps.StepError(
            f"{project.git_url} is a GitHub remote: create the GitHubCredentials block "
            f"{block!r} (a token that may push and open pull requests): {exc}"
        ) from exc


@task(name="migrate-project", task_run_name="migrate-{project.name}")
def migrate_project(
    project: Project,
    wave: Wave,
    workspace: str,
    ledger_wave: str,
    dry_run: bool,
    timeout: float,
    github_block: str | None,
) -> dict:
    """Everything up to the gate for one project; never raises (a failure is an outcome)."""
    logger = get_run_logger()
    ledger = Ledger(workspace, ledger_wave)
    record = ledger.get(project.name)
    if record.state in steps.TERMINAL:
        logger.info("%s: already %s, nothing to do", project.name, record.state.value)
        return steps.outcome_from_record(record).__dict__
    step = ""
    try:
        prepared = steps.prepare(
            project, wave, Path(workspace), push=not dry_run, base_commit=record.base_commit
        )
        logger.info(
            "%s: rewritten (%s); %d TODO(s); rules %s",
            project.name,
            prepared.diffstat or "no change",
            len(prepared.todos),
            ", ".join(prepared.rules) or "-",
        )
        record = ledger.update(
            project.name,
            state=ProjectState.REWRITTEN,
            branch=wave.branch,
            base_commit=prepared.base_commit,
            migration_commit=prepared.commit,
            pushed=not dry_run,
            todos=len(prepared.todos),
            rules=prepared.rules or record.rules,
        )
        step = "pull request"
        credentials = None if dry_run else _github_credentials(github_block, project)
        if credentials is not None:
            from meta_flows.adapters.github_pr import ensure_pull_request
            from meta_flows.adapters.gitops import parse_github_remote

            pr = ensure_pull_request(
                credentials,
                *parse_github_remote(project.git_url),
                head=wave.branch,
                base=project.default_branch,
                title=f"Migrate {project.name} to Prefect 2 (wave {wave.name})",
                body="\n".join(
                    [
                        f"meta-flows wave `{wave.name}`.",
                        "",
                        *(f"- `{p}:{n}` {m}" for p, n, m in prepared.todos),
                    ]
                ),
            )
            record = ledger.update(project.name, pr_url=pr.url)
        names: list[str] = []
        timings = prepared.timings
        deploying = None
        if not dry_run:
            # written in the background from now on, while this project waits for a validation
            # slot and validates (validation runs the rewritten code, not the deployments)
            deploying = _in_background(
                _timed, "shadow deployments", timings, steps.deploy_shadow, prepared, wave
            )
        step = "validation"
        try:
            with _validation_slot(logger, project.name), steps.phase("validation", timings):
                verdicts = steps.validate(prepared, timeout=project.validation_timeout or timeout)
        except BaseException:
            if deploying is not None and deploying.exception() is not None:
                step = "shadow deployments"  # it came first in the pipeline: report it
                raise deploying.exception() from None
            raise
        if deploying is not None:
            step = "shadow deployments"
            deployments = deploying.result()
            names = [d.full_name for d in deployments]
            record = ledger.update(
                project.name,
                state=ProjectState.DEPLOYED_SHADOW,
                deployment_ids=[d.id for d in deployments],
                deployment_names=names,
            )
            logger.info("%s: %d shadow deployment(s)", project.name, len(names))
        logger.info(
            "%s: %s (of which the flows' own runs %.1f s)",
            project.name,
            ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()),
            steps.run_seconds(verdicts),
        )
        passed, why = steps.decide(wave.gate, verdicts, len(prepared.todos))
        record = ledger.update(
            project.name,
            state=ProjectState.VALIDATED,
            flows=steps.flow_verdicts(verdicts),
            note=f"gate {'passed' if passed else 'refused'}: {why}",
        )
        logger.info("%s: gate %s: %s", project.name, "passed" if passed else "refused", why)
    except Exception as exc:  # noqa: BLE001 - one project's failure never stops the wave
        reason = str(exc) if isinstance(exc, steps.StepError) else f"{type(exc).__name__}: {exc}"
        if step and not reason.startswith(f"{step}: "):  # a StepError names its step already
            reason = f"{step}: {reason}"
        logger.error("%s failed at %s", project.name, reason)
        logger.debug(traceback.format_exc())
        if not dry_run:
            ledger.update(project.name, state=ProjectState.FAILED, reason=reason)
        return steps.Outcome(project.name, "failed", reason).__dict__
    details = [f"- `{p}:{n}` {m}" for p, n, m in prepared.todos]
    details += [render_markdown(v) for v in verdicts if v.verdict not in ("equal", "skipped")]
    return steps.Outcome(
        name=project.name,
        state="pending",
        reason=why,
        flows=[{"name": v.flow_name, "case": v.case, "verdict": v.verdict} for v in verdicts],
        todos=len(prepared.todos),
        branch=wave.branch,
        pr_url=record.pr_url,
        diffstat=prepared.diffstat,
        deployments=names,
        run_seconds=steps.run_seconds(verdicts),
        timings={k: round(v, 3) for k, v in timings.items()},
        gate_passed=passed,
        details=details,
    ).__dict__


@task(name="settle-project", task_run_name="settle-{project.name}")
def settle_project(
    project: Project,
    wave: Wave,
    registry: Registry,
    workspace: str,
    ledger_wave: str,
    promote: bool,
    reason: str,
    github_block: str | None,
) -> dict:
    """Promote the project, or roll it back with ``reason``; never raises."""
    logger = get_run_logger()
    ledger = Ledger(workspace, ledger_wave)
    record = ledger.get(project.name)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        if promote:
            record = steps.promote(
                project,
                wave,
                record,
                ledger,
                workspace=Path(workspace),
                prefect1_server=registry.prefect1_server,
                github_credentials=_github_credentials(github_block, project),
                reason=reason,
                timings=timings,
            )
            logger.info("%s: promoted", project.name)
        else:
            record = steps.rollback(
                project, record, ledger, reason, prefect1_server=registry.prefect1_server
            )
            logger.warning("%s: rolled back: %s", project.name, reason)
    except Exception as exc:  # noqa: BLE001
        why = f"{'promotion' if promote else 'rollback'}: {type(exc).__name__}: {exc}"
        logger.error("%s: %s", project.name, why)
        record = ledger.update(project.name, state=ProjectState.FAILED, reason=why)
    outcome = steps.outcome_from_record(record)
    outcome.timings = {
        "promotion" if promote else "rollback": time.perf_counter() - started,
        **timings,
    }
    return outcome.__dict__


# A wave's projects validate ``max_parallel`` at a time; one more is prepared (cloned, rewritten,
# pushed) meanwhile, so a slot never waits for a rewrite. Keyed by the wave run.
class _Slots:
    """One wave run's validation slots, and the projects past validation (a project's task run
    may still be finishing its shadow deployments; it no longer counts against the window)."""

    def __init__(self, size: int) -> None:
        self.semaphore = threading.BoundedSemaphore(size)
        self.validated: set[str] = set()


_VALIDATION_SLOTS: dict[object, _Slots] = {}
PREPARE_AHEAD = 1


@contextmanager
def _validation_slot(logger, name: str) -> Iterator[None]:
    """Hold one of this wave's validation slots (none outside a wave run: no limit)."""
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    slots = _VALIDATION_SLOTS.get(context.task_run.flow_run_id) if context else None
    if slots is None:
        yield
        return
    if not slots.semaphore.acquire(blocking=False):
        logger.info("%s: prepared; waiting for a validation slot", name)
        slots.semaphore.acquire()
    try:
        yield
    finally:
        slots.validated.add(name)
        slots.semaphore.release()


def _timed(name: str, timings: dict[str, float], call, *args):
    with steps.phase(name, timings):
        return call(*args)


def _in_background(call, *args) -> Future:
    """``call(*args)`` in its own thread, with this thread's context (Prefect settings and run
    context); the future holds its result or exception."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta-flows")
    try:
        return executor.submit(contextvars.copy_context().run, call, *args)
    finally:
        executor.shutdown(wait=False)


def _load(registry: str) -> LoadedRegistry:
    loaded = load_registry(registry)
    for error in loaded.errors:
        get_run_logger().error("registry: %s", error)
    return loaded


def _publish(wave: str, outcomes: list[dict], dry_run: bool) -> None:
    rows = [
        {
            "project": o["name"],
            "state": o["state"],
            "flows equal": f"{sum(f['verdict'] == 'equal' for f in o['flows'])}/{len(o['flows'])}",
            "todos": o.get("todos", 0),
            "changes": o.get("diffstat", ""),
            "branch / PR": o.get("pr_url") or o.get("branch") or "",
            "reason": o.get("reason") or "",
        }
        for o in outcomes
    ]
    create_table_artifact(
        rows,
        key=artifact_slug(f"wave-{wave}-summary"),
        description=f"meta-flows wave {wave!r}{' (dry run)' if dry_run else ''}: "
        + ", ".join(f"{n} {s}" for s, n in _counts(outcomes).items()),
    )
    for o in outcomes:
        lines = [
            f"# {o['name']}: {o['state']}",
            "",
            f"- reason: {o.get('reason') or '-'}",
            f"- changes: {o.get('diffstat') or '-'}",
            f"- branch: `{o.get('branch') or '-'}`"
            + (f" · [pull request]({o['pr_url']})" if o.get("pr_url") else ""),
            f"- deployments: {', '.join(o.get('deployments') or []) or '-'}",
            f"- TODO(prefect2-migration) comments: {o.get('todos', 0)}",
            "",
            "| flow | case | verdict |",
            "|---|---|---|",
            *(f"| {f['name']} | {f.get('case', 'default')} | {f['verdict']} |" for f in o["flows"]),
            "",
            *(o.get("details") or []),
        ]
        create_markdown_artifact(
            "\n".join(lines),
            key=artifact_slug(f"wave-{wave}-{o['name']}"),
            description=f"meta-flows wave {wave!r}: project {o['name']}",
        )


def _counts(outcomes: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["state"]] = counts.get(o["state"], 0) + 1
    return counts


class _Window:
    """Task runs of one task, one per (project, keyword arguments) added, at most ``limit`` at a
    time: a new task run starts as soon as one finishes (no waiting for the slowest of a
    group). Projects in ``done`` (a live set: past their heavy part) no longer count against
    ``limit``; at most ``2 * limit`` task runs are alive at once."""

    def __init__(self, task_, limit: int, done=frozenset()) -> None:
        self.task, self.limit, self.done = task_, limit, done
        self.pending: list[tuple[Project, dict]] = []
        self.running: dict[str, object] = {}

    def add(self, project: Project, kwargs: dict) -> None:
        self.pending.append((project, kwargs))

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.running)

    def poll(self, seconds: float = 0.25) -> list[tuple[str, dict]]:
        """Start what may start, wait up to about ``seconds`` in all; (name, result) finished."""
        while (
            self.pending
            and len([n for n in self.running if n not in self.done]) < self.limit
            and len(self.running) < 2 * self.limit
        ):
            project, kwargs = self.pending.pop(0)
            self.running[project.name] = self.task.submit(**kwargs)
        finished = []
        each = min(max(seconds / max(len(self.running), 1), 0.02), seconds)
        for name, future in list(self.running.items()):
            if future.wait(timeout=each) is not None:
                finished.append((name, future.result()))
                del self.running[name]
        return finished


@flow(name="migrate-wave", log_prints=True)
def migrate_wave(
    wave: str = "demo",
    registry: str = DEFAULT_REGISTRY,
    workspace: str = DEFAULT_WORKSPACE,
    dry_run: bool = False,
    max_parallel: int = 2,
    timeout: float = 300.0,
    github_credentials_block: str = "meta-flows-github",
    report: str | None = None,
) -> dict:
    """Migrate every project of a wave to Prefect 2; promote the batches that validate.

    Returns the report {"wave", "projects": [{"name", "state", "reason", "flows"}]}; the run
    ends Failed (report attached) when a project failed, after the rest of the wave is done.

    Args:
        wave: The wave to run (a wave name from the registry).
        registry: Registry YAML file or directory (flows_registry/).
        workspace: Where clones and the ledger live; kept between runs (resume, idempotency).
        dry_run: Clone, rewrite and validate only: no push, no deployments, no promotion.
        max_parallel: How many projects validate at the same time (one more is cloned and
            rewritten meanwhile).
        timeout: Seconds one validation flow run may take (a hanging flow is cut there); a
            project's validation_timeout in the registry overrides it.
        github_credentials_block: GitHubCredentials block for GitHub remotes (pull requests).
        report: Also write the JSON report to this path.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    logger = get_run_logger()
    loaded = _load(registry)
    the_wave = loaded.registry.wave(wave)
    projects = loaded.registry.projects_of(wave)
    ledger_wave = f"{wave}-dry-run" if dry_run else wave
    outcomes: dict[str, dict] = {}
    for error in loaded.errors_for_wave(wave):
        name = error.project or f"{error.file}:{error.line}"
        outcomes[name] = steps.Outcome(name, "failed", f"registry: {error}").__dict__
    logger.info("wave %s: %d project(s)%s", wave, len(projects), " (dry run)" if dry_run else "")
    for project in projects:
        outcomes[project.name] = {}  # report order: the registry's
    clock = {"started": time.perf_counter()}  # wall time of the wave's phases, for benchmarks
    wave_run = get_run_context().flow_run.id
    slots = _VALIDATION_SLOTS[wave_run] = _Slots(max_parallel)
    by_name = {p.name: p for p in projects}
    migrating = _Window(
        migrate_project,
        max_parallel + PREPARE_AHEAD,  # one prepared ahead (see _validation_slot)
        done=slots.validated,
    )
    # settling runs no flows (git and a few API calls each): one at a time alongside the
    # migrations (its deployment writes share the API server with the validation runs), then
    # 2 x max_parallel at a time
    settling = _Window(settle_project, 1)
    batches = steps.PromotionBatches(the_wave.gate, [p.name for p in projects])
    for p in projects:
        migrating.add(
            p,
            dict(
                project=p,
                wave=the_wave,
                workspace=workspace,
                ledger_wave=ledger_wave,
                dry_run=dry_run,
                timeout=timeout,
                github_block=github_credentials_block,
            ),
        )
    validated = 0
    try:
        # A batch is promoted or rolled back as soon as the gate policy can decide it, while
        # the rest of the wave migrates (per-project: each project as it passes its gate)
        while migrating.busy or settling.busy:
            if not migrating.busy:
                settling.limit = 2 * max_parallel
            for name, outcome in migrating.poll(0.25 if not settling.busy else 0.15):
                outcomes[name] = outcome
                validated += 1
                logger.info("wave %s: %d/%d project(s) validated", wave, validated, len(projects))
                if not migrating.busy:
                    clock["migrate"] = time.perf_counter()
                for batch in batches.finish(name, outcome):
                    for decision in batch:
                        if dry_run:
                            outcomes[decision.project]["reason"] = (
                                f"dry run: would be "
                                f"{'promoted' if decision.promote else 'rolled back'}: "
                                f"{decision.reason}"
                            )
                            continue
                        settling.add(
                            by_name[decision.project],
                            dict(
                                project=by_name[decision.project],
                                wave=the_wave,
                                registry=loaded.registry,
                                workspace=workspace,
                                ledger_wave=ledger_wave,
                                promote=decision.promote,
                                reason=decision.reason,
                                github_block=github_credentials_block,
                            ),
                        )
            for name, settled in settling.poll(0.1 if migrating.busy else 0.25):
                kept = outcomes[name]
                kept.update(state=settled["state"], reason=settled["reason"] or kept["reason"])
                kept["timings"] = {**(kept.get("timings") or {}), **settled["timings"]}
    finally:
        del _VALIDATION_SLOTS[wave_run]
    clock.setdefault("migrate", time.perf_counter())
    clock["settle"] = time.perf_counter()
    ordered = list(outcomes.values())
    _publish(wave, ordered, dry_run)
    clock["publish"] = time.perf_counter()
    result = {"wave": wave, "projects": [steps.Outcome(**o).report() for o in ordered]}
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result, indent=2) + "\n")
    for o in ordered:
        logger.info("%-20s %-12s %s", o["name"], o["state"], o.get("reason") or "")
    # the benchmark reads the flows' own run time from here
    result["run_seconds"] = round(sum(o.get("run_seconds", 0.0) for o in ordered), 3)
    result["step_seconds"] = _step_seconds(ordered)
    marks = list(clock.items())
    result["phase_seconds"] = {
        name: round(at - before, 3)
        for (_, before), (name, at) in zip(marks, marks[1:], strict=False)
    }
    failed = [o["name"] for o in ordered if o["state"] == "failed"]
    if failed:
        # the wave did all it could; its run is Failed so automations can tell someone
        return Failed(message=f"{len(failed)} project(s) failed: {', '.join(failed)}", data=result)
    return result


def _step_seconds(outcomes: list[dict]) -> dict[str, float]:
    total: dict[str, float] = {}
    for o in outcomes:
        for step, seconds in (o.get("timings") or {}).items():
            total[step] = round(total.get(step, 0.0) + seconds, 3)
    return total


def wave_result(state) -> dict:
    """The report of a ``migrate_wave(..., return_state=True)`` run, Completed or Failed; the
    exception when the flow itself crashed (bad registry path, unknown wave)."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value


@flow(name="rollback-wave", log_prints=True)
def rollback_wave(
    wave: str,
    project: str | None = None,
    reason: str = "rollback requested",
    registry: str = DEFAULT_REGISTRY,
    workspace: str = DEFAULT_WORKSPACE,
) -> dict:
    """Reverse a promoted wave: Prefect 2 schedules off and deployments paused, the Prefect 1
    schedules this wave paused switched back on. Branches and merge commits stay for humans.

    Args:
        wave: The wave whose promoted projects to roll back.
        project: Only this project (default: every promoted project of the wave).
        reason: Why; recorded in the ledger and the report.
        registry: Registry YAML file or directory.
        workspace: The wave's workspace (where its ledger is).
    """
    logger = get_run_logger()
    loaded = _load(registry)
    ledger = Ledger(workspace, wave)
    records = ledger.all()
    names = [project] if project else [n for n, r in records.items() if r.state.value == "promoted"]
    out = []
    for name in names:
        record = ledger.get(name)
        if record.state != ProjectState.PROMOTED:
            logger.info("%s: %s, not promoted: nothing to roll back", name, record.state.value)
            out.append(steps.outcome_from_record(record).report())
            continue
        try:
            the_project = loaded.registry.project(name)
            record = steps.rollback(
                the_project, record, ledger, reason, prefect1_server=loaded.registry.prefect1_server
            )
        except Exception as exc:  # noqa: BLE001
            record = ledger.update(name, state=ProjectState.FAILED, reason=f"rollback: {exc}")
        logger.warning("%s: %s (%s)", name, record.state.value, record.reason)
        out.append(steps.outcome_from_record(record).report())
    return {"wave": wave, "projects": out}
