"""``meta-flows wave verify``: the live deployments of a wave against their branch's prefect.yaml.

What a wave promotes is what it validated only as long as the deployments on the API stay what
the repository says. For each project of the wave with deployments (shadowing, promoted, or
rolled back and paused), the ``prefect.yaml`` is read from the branch that is now its truth (the
default branch once merged, else the migration branch, as on the remote right now) and every
deployment it declares is compared with the live one the ledger names: entrypoint, parameters,
tags, work pool, job variables, pull steps, schedules with ``active``. Every difference is named
field by field; a deployment missing on either side is named too. The wave runs it for each
project right after promoting it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from git.exc import GitCommandError

from meta_flows.adapters import gitops
from meta_flows.core.deployments.declared import (
    DeclarationError,
    declared_deployments,
    differences,
)
from meta_flows.core.registry import Project, Wave
from meta_flows.orchestration.ledger import Ledger, ProjectRecord, ProjectState
from meta_flows.orchestration.project import declared_file

CHECKED = (
    ProjectState.DEPLOYED_SHADOW,
    ProjectState.VALIDATED,
    ProjectState.PROMOTED,
    ProjectState.ROLLED_BACK,
)


@dataclass
class ProjectDrift:
    project: str
    ref: str | None = None  # the branch compared with (None: nothing to compare)
    drift: list[str] = field(default_factory=list)
    checked: int = 0  # deployments compared

    def report(self) -> dict:
        return {"name": self.project, "ref": self.ref, "checked": self.checked, "drift": self.drift}


def truth_ref(project: Project, wave: Wave, record: ProjectRecord) -> str | None:
    """The remote branch whose prefect.yaml the project's live deployments must equal."""
    if record.state not in CHECKED or not record.deployment_ids:
        return None
    if record.state == ProjectState.PROMOTED and record.merge_commit and not record.pr_url:
        return f"origin/{project.default_branch}"
    return f"origin/{wave.branch}"


def verify_project(
    project: Project, wave: Wave, record: ProjectRecord, workspace: Path
) -> ProjectDrift:
    from meta_flows.adapters.prefect2.shadow import (
        declared_state,
        live_state,
        read_deployments,
    )

    result = ProjectDrift(project.name, truth_ref(project, wave, record))
    if result.ref is None:
        return result
    repo = gitops.workspace_clone(project.git_url, workspace / "repos", project.name)
    name = declared_file(repo, result.ref)
    try:
        declared = declared_deployments(repo.git.show(f"{result.ref}:{name}"), name)
    except DeclarationError as exc:
        result.drift.append(str(exc))
        return result
    except GitCommandError:
        result.drift.append(f"{result.ref} has no {name}")
        return result
    live = asyncio.run(read_deployments(record.deployment_ids))
    for deployment_id in record.deployment_ids:
        if deployment_id not in live:
            result.drift.append(f"deployment {deployment_id} (in the ledger) is gone from the API")
    by_key = {(d.name, d.entrypoint): d for d in live.values()}
    for wanted in declared:
        label = f"{wanted.name} ({wanted.entrypoint})"
        found = by_key.pop(wanted.key, None)
        if found is None:
            result.drift.append(f"{label}: in {name} at {result.ref}, not deployed")
            continue
        result.checked += 1
        for line in differences(declared_state(wanted), live_state(found)):
            result.drift.append(f"{label}: {line}")
        if record.state == ProjectState.PROMOTED and found.paused:
            result.drift.append(f"{label}: paused on the API, promoted in {name}")
    for extra, entrypoint in sorted(by_key):
        result.drift.append(
            f"{extra} ({entrypoint}): deployed by this wave, not in {name} at {result.ref}"
        )
    return result


def verify_wave(registry, wave: Wave, workspace: Path, ledger_wave: str | None = None) -> list:
    """:class:`ProjectDrift` of every project of ``wave`` in its ledger."""
    ledger = Ledger(str(workspace), ledger_wave or wave.name)
    records = ledger.all()
    results = []
    for project in registry.projects_of(wave.name):
        record = records.get(project.name)
        if record is None:
            continue
        try:
            results.append(verify_project(project, wave, record, workspace))
        except Exception as exc:  # noqa: BLE001 - one project's error is its own line
            results.append(
                ProjectDrift(project.name, None, [f"cannot verify: {type(exc).__name__}: {exc}"])
            )
    return results
