"""``migrate-project``: one project of a wave as its own flow run, for waves run on workers.

A wave with a work pool (``migrate-wave``'s ``work_pool``, ``meta-flows wave run --work-pool``)
runs each project as a flow run of the ``migrate-project/meta-flows`` deployment on that pool,
which any worker of the pool picks up (``prefect worker start --pool POOL``). The run does what
the in-process wave's ``migrate-project`` task does (clone, inventory, rewrite, push, shadow
deployments, validation, the gate's decision), holding a slot of the wave's global concurrency
limit while it validates, and leaves its outcome in the workspace for the wave.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from meta_flows.core.registry import load_registry
from meta_flows.orchestration import project as steps
from meta_flows.orchestration.outcome import outcome_to_dict
from meta_flows.orchestration.remote import heartbeat, write_outcome
from meta_flows.orchestration.scheduling import global_validation_slots

ENTRYPOINT = "meta_flows/flows/project.py:migrate_project"


def code_root() -> str:
    """The directory the deployment's entrypoint is relative to (where ``meta_flows`` is)."""
    return str(Path(__file__).resolve().parents[2])


@flow(name="migrate-project", flow_run_name="migrate-{project}", log_prints=True)
def migrate_project(
    project: str,
    wave: str,
    registry: str,
    workspace: str,
    dry_run: bool = False,
    timeout: float = 300.0,
    github_credentials_block: str = "meta-flows-github",
    validation_limit: str = "",
    validation: Literal["registry", "local", "deployment"] = "registry",
) -> dict:
    """Migrate one project of a wave up to its gate (the wave promotes or rolls back its batch).

    Args:
        project: The project's name in the registry.
        wave: The wave it belongs to.
        registry: Registry YAML file or directory (an absolute path the worker can read).
        workspace: The wave's workspace (shared with the wave: clones, ledger, outcomes).
        dry_run: Clone, rewrite and validate only: no push, no deployments.
        timeout: Seconds one validation flow run may take (the registry's
            validation_timeout overrides it).
        github_credentials_block: GitHubCredentials block for GitHub remotes (pull requests).
        validation_limit: Global concurrency limit whose slot validation holds (empty: none).
        validation: Where the migrated side of validation runs (local, deployment), or as the
            project's registry entry says (registry).
    """
    logger = get_run_logger()
    loaded = load_registry(registry)
    loaded.registry.validate_on(validation)
    the_wave = loaded.registry.wave(wave)
    found = [p for p in loaded.registry.projects_of(wave) if p.name == project]
    if not found:
        raise ValueError(f"registry {registry}: wave {wave!r} has no project {project!r}")
    ledger_wave = f"{wave}-dry-run" if dry_run else wave
    run_id = str(get_run_context().flow_run.id)
    with (
        heartbeat(workspace, ledger_wave, project, run_id) as beat,
        global_validation_slots(validation_limit, beat),
    ):
        outcome = steps.migrate(
            found[0],
            the_wave,
            workspace=workspace,
            ledger_wave=ledger_wave,
            dry_run=dry_run,
            timeout=timeout,
            github_block=github_credentials_block or None,
            logger=logger,
        )
    write_outcome(workspace, ledger_wave, run_id, outcome)
    return outcome_to_dict(outcome)
