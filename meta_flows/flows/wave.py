"""The migration wave as Prefect 2 flows: ``migrate-wave`` and ``rollback-wave``.

A thin layer over :mod:`meta_flows.orchestration`: ``migrate-project`` and ``settle-project`` task
runs wrap :func:`~meta_flows.orchestration.project.migrate` (clone -> inventory -> rewrite ->
commit/push -> shadow deployments -> validation -> gate) and
:func:`~meta_flows.orchestration.project.settle` (promote or roll back), and
:func:`~meta_flows.orchestration.wave_run.run_wave` paces them: ``max_parallel`` projects validate at a
time while one more is prepared, and each batch settles as soon as the gate policy can decide it.
A project that fails (bad registry entry, unreachable repository, rejected push, ...) is
``failed`` with the reason; the rest of the wave goes on. Published: a wave summary table artifact
and one markdown artifact per project (diff stats, TODOs, verdicts, branch or pull request).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import get_run_context
from prefect.states import Failed

from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.registry import LoadedRegistry, Project, Registry, Wave, load_registry
from meta_flows.flows.validate import artifact_slug
from meta_flows.orchestration import project as steps
from meta_flows.orchestration import remote
from meta_flows.orchestration.outcome import Outcome, ReportState
from meta_flows.orchestration.scheduling import (
    PacingError,
    migrating_slot,
    settling_slot,
    task_run_creation_guarded,
)
from meta_flows.orchestration.wave_run import WaveRun, run_wave, write_metrics
from meta_flows.orchestration.workspace_lock import workspace_lock

DEFAULT_REGISTRY = "flows_registry"
DEFAULT_WORKSPACE = ".meta-flows"


@task(name="migrate-project", task_run_name="migrate-{project.name}")
def migrate_project(
    project: Project,
    wave: Wave,
    workspace: str,
    ledger_wave: str,
    dry_run: bool,
    timeout: float,
    github_block: str | None,
) -> Outcome:
    """Everything up to the gate for one project; never raises (a failure is an outcome)."""
    logger = get_run_logger()
    try:
        with migrating_slot(logger, project.name):
            return steps.migrate(
                project,
                wave,
                workspace=workspace,
                ledger_wave=ledger_wave,
                dry_run=dry_run,
                timeout=timeout,
                github_block=github_block,
                logger=logger,
            )
    except PacingError as exc:
        return _unpaced(logger, project, exc, ReportState.FAILED)


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
) -> Outcome:
    """Promote the project, or roll it back with ``reason``; never raises."""
    logger = get_run_logger()
    try:
        with settling_slot(logger, project.name):
            return steps.settle(
                project,
                wave,
                registry,
                workspace=workspace,
                ledger_wave=ledger_wave,
                promote_it=promote,
                reason=reason,
                github_block=github_block,
                logger=logger,
            )
    except PacingError as exc:  # not settled: a re-run of the wave settles it
        return _unpaced(logger, project, exc, ReportState.PENDING)


def _unpaced(logger, project: Project, error: PacingError, state: ReportState) -> Outcome:
    logger.error("%s", error)
    return Outcome(project.name, state, f"{error}")


@task(name="migrate-project-on-pool", task_run_name="migrate-{project.name}")
def migrate_project_on_pool(
    project: Project,
    wave: Wave,
    workspace: str,
    ledger_wave: str,
    dry_run: bool,
    timeout: float,
    github_block: str | None,
    pool: dict,
) -> Outcome:
    """Everything up to the gate for one project, as a ``migrate-project`` flow run on the wave's
    work pool; waits for it (a lost run is started again once); never raises."""
    from meta_flows.adapters.prefect2 import concurrency, project_runs

    parameters = dict(
        project=project.name,
        wave=wave.name,
        registry=pool["registry"],
        workspace=pool["workspace"],
        dry_run=dry_run,
        timeout=timeout,
        github_credentials_block=github_block or "",
        validation_limit=pool["limit"],
        validation=pool["validation"],
    )
    logger = get_run_logger()
    try:
        with migrating_slot(logger, project.name):  # held while its run is on the pool
            return remote.run_on_pool(
                project.name,
                start=lambda attempt: project_runs.start_run(
                    pool["deployment"],
                    parameters,
                    name=f"migrate-{project.name}",
                    key=f"{pool['wave_run']}-{project.name}-{attempt}",
                ),
                read=project_runs.read_run,
                crash=project_runs.crash_run,
                release_slot=lambda: concurrency.release(pool["limit"]),
                workspace=pool["workspace"],
                ledger_wave=ledger_wave,
                pool=pool["name"],
                logger=logger,
                lost_after=remote.lost_after(),
            )
    except PacingError as exc:
        return _unpaced(logger, project, exc, ReportState.FAILED)


class _WithPool:
    """``migrate_project_on_pool`` submitted with the wave's pool settings added."""

    def __init__(self, pool: dict) -> None:
        self.pool = pool

    def submit(self, **kwargs):
        return migrate_project_on_pool.submit(**kwargs, pool=self.pool)


def _on_pool(work_pool: str, wave: str, ledger_wave: str, registry: str, workspace: str,
             max_parallel: int, run_id: object, logger, validation: str) -> _WithPool:  # fmt: skip
    """The ``migrate-project`` deployment on ``work_pool`` and the wave's validation limit."""
    from prefect.utilities.callables import parameter_schema

    from meta_flows.adapters.prefect2 import concurrency, project_runs
    from meta_flows.flows.project import ENTRYPOINT, code_root, migrate_project

    deployment, created = project_runs.ensure_deployment(
        migrate_project.name,
        work_pool,
        entrypoint=ENTRYPOINT,
        path=code_root(),
        schema=parameter_schema(migrate_project.fn).dict(),
        description="One project of a meta-flows wave (started by migrate-wave).",
    )
    if created:
        logger.info("work pool %s did not exist: created it (type process)", work_pool)
    limit = concurrency.limit_name(ledger_wave)  # the wave run creates or resets it
    logger.info(
        "wave %s: projects run as %s/%s flow runs on work pool %s (start workers with "
        "`prefect worker start --pool %s`); validation slots: global concurrency limit %s (%d)",
        wave, migrate_project.name, project_runs.DEPLOYMENT_NAME, work_pool, work_pool, limit,
        max_parallel,
    )  # fmt: skip
    return _WithPool(
        dict(
            name=work_pool,
            deployment=deployment,
            limit=limit,
            registry=str(Path(registry).resolve()),
            workspace=str(Path(workspace).resolve()),
            wave_run=str(run_id),
            validation=validation,
        )
    )


def _load(registry: str) -> LoadedRegistry:
    loaded = load_registry(registry)
    for error in loaded.errors:
        get_run_logger().error("registry: %s", error)
    return loaded


def _publish(run: WaveRun, dry_run: bool) -> None:
    outcomes = run.outcomes
    rows = [
        {
            "project": o.name,
            "state": o.state.value,
            "flows equal": f"{sum(f.verdict == 'equal' for f in o.flows)}/{len(o.flows)}",
            "todos": o.todos,
            "changes": o.diffstat,
            "branch / PR": o.pr_url or o.branch or "",
            "reason": o.reason or "",
        }
        for o in outcomes
    ]
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state.value] = counts.get(o.state.value, 0) + 1
    create_table_artifact(
        rows,
        key=artifact_slug(f"wave-{run.wave}-summary"),
        description=f"meta-flows wave {run.wave!r}{' (dry run)' if dry_run else ''}: "
        + ", ".join(f"{n} {s}" for s, n in counts.items()),
    )
    for o in outcomes:
        lines = [
            f"# {o.name}: {o.state.value}",
            "",
            f"- reason: {o.reason or '-'}",
            f"- changes: {o.diffstat or '-'}",
            f"- branch: `{o.branch or '-'}`"
            + (f" · [pull request]({o.pr_url})" if o.pr_url else ""),
            f"- deployments: {', '.join(o.deployments) or '-'}",
            f"- TODO(prefect2-migration) comments: {o.todos}",
            "",
            "| flow | case | verdict |",
            "|---|---|---|",
            *(f"| {f.name} | {f.case} | {f.verdict} |" for f in o.flows),
            "",
            *o.details,
        ]
        create_markdown_artifact(
            "\n".join(lines),
            key=artifact_slug(f"wave-{run.wave}-{o.name}"),
            description=f"meta-flows wave {run.wave!r}: project {o.name}",
        )


class WaveStopped(MetaFlowsError, RuntimeError):
    """The wave could not go on (its Prefect 2 API went away): the report says what it knew."""


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
    work_pool: str = "",
    validation: Literal["registry", "local", "deployment"] = "registry",
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
        work_pool: Run each project as a migrate-project flow run on this work pool (its
            workers must see the workspace); empty: in this flow run's process.
        validation: Where the migrated side of validation runs, for every project: local
            (child interpreters) or deployment (the shadow deployments, on workers of their
            pools); registry: as each project's entry says.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    logger = get_run_logger()
    run_id = get_run_context().flow_run.id
    with (
        workspace_lock(workspace, f"migrate-wave {wave!r} (flow run {run_id})"),
        task_run_creation_guarded(logger),
    ):
        ledger_wave = f"{wave}-dry-run" if dry_run else wave
        loaded = _load(registry)
        loaded.registry.validate_on(validation)
        on_pool = None
        if work_pool:
            loaded.registry.wave(wave)  # an unknown wave is told before the pool is touched
            on_pool = _on_pool(
                work_pool, wave, ledger_wave, registry, workspace, max_parallel, run_id, logger,
                validation,
            )  # fmt: skip
        run = run_wave(
            loaded,
            wave,
            workspace=workspace,
            dry_run=dry_run,
            max_parallel=max_parallel,
            timeout=timeout,
            github_block=github_credentials_block,
            migrate_task=on_pool or migrate_project,
            settle_task=settle_project,
            run_id=run_id,
            logger=logger,
        )
    result = run.report()
    if report:  # first: whatever happens next, what the wave knows is written
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(result, indent=2) + "\n")
    if run.stopped:
        write_metrics(run, workspace, f"{wave}-dry-run" if dry_run else wave)
        raise WaveStopped(f"the wave stopped: {run.stopped}; a re-run resumes it")
    started = time.perf_counter()
    _publish(run, dry_run)
    run.phase_seconds["publish"] = round(time.perf_counter() - started, 3)
    write_metrics(run, workspace, f"{wave}-dry-run" if dry_run else wave)
    for o in run.outcomes:
        logger.info("%-20s %-12s %s", o.name, o.state.value, o.reason or "")
    if run.failed:
        # the wave did all it could; its run is Failed so automations can tell someone
        return Failed(
            message=f"{len(run.failed)} project(s) failed: {', '.join(run.failed)}", data=result
        )
    return result


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
    with workspace_lock(workspace, f"rollback-wave {wave!r}"):
        return steps.rollback_promoted(loaded, wave, project, reason, workspace, logger)
