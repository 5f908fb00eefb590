"""The validation as Prefect 2 flows: ``validate_project`` maps ``validate_flows`` over flows.

A thin layer over :mod:`meta_flows.orchestration.validation`. The task graph is coarse: one
``plan_validation`` task (inventory + cases), then the project's flows dealt round-robin into at
most ``max_parallel`` groups and one ``validate_flows`` task run per group, mapped with
``validate_flows.map`` (dynamic task mapping). Each task run validates all the cases of its flows
with ONE Prefect 1 interpreter and ONE Prefect 2 child process (each run still gets its own
fresh working directory), so interpreters are reused across flows instead of started per flow.
The flow publishes a table artifact of every verdict (key ``<artifact_key>``) and a markdown
artifact per flow whose cases are not all ``equal``/``skipped`` (key
``<artifact_key>-<flow name slug>``), and returns the verdicts as dicts
(:class:`~meta_flows.core.validation.model.CaseVerdict` fields).
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from meta_flows.core.validation.cases import ValidationCase
from meta_flows.core.validation.compare import render_markdown, verdict_table
from meta_flows.core.validation.model import CaseVerdict
from meta_flows.orchestration.validation import TIMEOUT, collect_cases, run_cases

ARTIFACT_KEY = "meta-flows-validation"
QUIET = ("equal", "skipped")


def artifact_slug(text: str) -> str:
    """An artifact key part: lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "flow"


@task(name="plan_validation")
def plan_validation(
    legacy_dir: str, cases_file: str | None, env_root: str | None
) -> list[list[ValidationCase]]:
    """The planned cases, grouped per flow (file and name), in inventory order."""
    cases = collect_cases(legacy_dir, cases_file, Path(env_root) if env_root else None)
    groups: dict[tuple[str, str], list[ValidationCase]] = {}
    for case in cases:
        groups.setdefault((case.flow.file, case.flow.name), []).append(case)
    return list(groups.values())


@task(name="validate_flows", task_run_name="validate_flows-{groups[0][0].flow.name}")
def validate_flows(
    groups: list[list[ValidationCase]],
    legacy_dir: str,
    migrated_dir: str,
    timeout: float,
    env_root: str | None,
) -> list[dict]:
    """Run every case of these flows on both sides (one interpreter per side) and compare."""
    cases = [case for group in groups for case in group]
    verdicts = run_cases(
        legacy_dir, migrated_dir, cases, timeout, Path(env_root) if env_root else None
    )
    return [v.model_dump() for v in verdicts]


@flow(name="validate-project")
def validate_project(
    legacy_dir: str,
    migrated_dir: str,
    cases_file: str | None = None,
    timeout: float = TIMEOUT,
    max_parallel: int = 4,
    artifact_key: str = ARTIFACT_KEY,
    env_root: str | None = None,
) -> list[dict]:
    """Validate every flow and case of a migrated project against its Prefect 1 original.

    Args:
        legacy_dir: The repository before rewriting (Prefect 1 code).
        migrated_dir: The same repository after rewriting (Prefect 2 code, same file layout).
        cases_file: A YAML cases file ({flow name: [{case, parameters, options}]}); without it
            every flow is validated once with its defaults.
        timeout: Seconds one flow run may take, on either side.
        max_parallel: How many groups of flows are validated at the same time (one Prefect 1
            interpreter and one Prefect 2 process per group).
        artifact_key: Key of the verdict table artifact (per-flow markdown artifacts get
            "<artifact_key>-<flow>").
        env_root: Where the managed Prefect 1 environments live (default: meta-flows' cache).
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    groups = plan_validation(legacy_dir, cases_file, env_root)
    buckets = [groups[i::max_parallel] for i in range(min(max_parallel, len(groups)))]
    rows: list[dict] = []
    if buckets:
        futures = validate_flows.map(
            buckets,
            legacy_dir=unmapped(legacy_dir),
            migrated_dir=unmapped(migrated_dir),
            timeout=unmapped(timeout),
            env_root=unmapped(env_root),
        )
        for future in futures:
            rows.extend(future.result())
    verdicts = [CaseVerdict.model_validate(r) for r in rows]
    create_table_artifact(
        verdict_table(verdicts),
        key=artifact_slug(artifact_key),
        description=f"Validation of {migrated_dir} against {legacy_dir}: "
        f"{len(verdicts)} case(s) of {len(groups)} flow(s)",
    )
    by_flow: dict[str, list[CaseVerdict]] = {}
    for verdict in verdicts:
        by_flow.setdefault(verdict.flow_name, []).append(verdict)
    for flow_name, flow_verdicts in by_flow.items():
        if all(v.verdict in QUIET and not v.effects for v in flow_verdicts):
            continue
        create_markdown_artifact(
            f"# Validation of flow {flow_name!r}\n\n"
            + "\n".join(render_markdown(v) for v in flow_verdicts),
            key=f"{artifact_slug(artifact_key)}-{artifact_slug(flow_name)}",
            description=f"Differences found validating flow {flow_name!r}",
        )
    return rows
