"""The ``inventory`` flow: what Prefect 1 flows the registry's projects hold, before a wave.

Maps one ``inventory-project`` task run per project (clone or fetch the default branch, read
every flow in the managed Prefect 1 environment) and publishes a table artifact with a row per
flow: file, schedule, storage, run config, and the problems found.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_table_artifact

from meta_flows.core.registry import Project, load_registry
from meta_flows.flows.validate import artifact_slug
from meta_flows.flows.wave import DEFAULT_REGISTRY, DEFAULT_WORKSPACE
from meta_flows.orchestration.project import legacy_checkout, phase


@task(name="inventory-project", task_run_name="inventory-{project.name}")
def inventory_project(project: Project, workspace: str) -> list[dict]:
    """One row per flow of the project (or one row naming the problem)."""
    from meta_flows.sandbox.inventory import inventory_repo

    try:
        with phase("clone"):
            directory = legacy_checkout(project, Path(workspace))
        with phase("inventory"):
            inventory = inventory_repo(directory)
    except Exception as exc:  # noqa: BLE001 - reported in the table, the others go on
        get_run_logger().error("%s: %s", project.name, exc)
        return [{"project": project.name, "flow": "", "file": "", "problems": str(exc)}]
    rows = []
    for info in inventory.flows:
        clocks = info.schedule.clocks if info.schedule else []
        rows.append(
            {
                "project": project.name,
                "flow": info.name,
                "file": info.file,
                "tasks": len(info.tasks),
                "schedule": ", ".join(c.type for c in clocks) or "-",
                "storage": info.storage.type if info.storage else "-",
                "run config": info.run_config.type if info.run_config else "-",
                "problems": info.dynamic_error or "",
            }
        )
    for error in inventory.errors:
        where = f"{error.file}:{error.line}" if error.line else error.file or ""
        rows.append({"project": project.name, "flow": "", "file": where, "problems": error.message})
    return rows


@flow(name="inventory")
def inventory(
    registry: str = DEFAULT_REGISTRY,
    wave: str | None = None,
    workspace: str = DEFAULT_WORKSPACE,
) -> list[dict]:
    """Inventory the Prefect 1 flows of the registry's projects.

    Args:
        registry: Registry YAML file or directory (flows_registry/).
        wave: Only the projects of this wave (default: every enabled project).
        workspace: Where clones live (shared with migrate-wave).
    """
    loaded = load_registry(registry)
    for error in loaded.errors:
        get_run_logger().error("registry: %s", error)
    if wave:
        projects = loaded.registry.projects_of(wave)
    else:
        projects = [p for p in loaded.registry.projects if p.enabled]
    rows: list[dict] = []
    for future in inventory_project.map(projects, workspace=unmapped(workspace)):
        rows.extend(future.result())
    create_table_artifact(
        rows,
        key=artifact_slug(f"inventory-{wave or 'all'}"),
        description=f"Prefect 1 flows of {len(projects)} project(s)",
    )
    return rows
