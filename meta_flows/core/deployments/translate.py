"""Translate an inventory's Prefect 1 deployment config into Prefect 2.20 deployments (§13-§16, §19).

Input: an :class:`~meta_flows.core.inventory.model.Inventory` (storage, run config, schedule, labels and
``register(project_name=...)`` of every flow, plus the ``@flow`` function name the codemod gives
it). Output: a :class:`Plan` that :mod:`meta_flows.core.deployments.render` writes as ``prefect.yaml``
and ``work-pools.yaml``:

- **Deployments**, one per distinct clock parameter set (and clock label set) of a flow. A flow with
  one set (or no schedule) gets one deployment named like the flow; with several, each is named
  ``<flow>-<suffix>`` where the suffix is made of the parameter values that differ between the sets
  (``daily-sales-eu``). Each carries ``entrypoint: <file>:<function>``, its clocks' parameter
  defaults as ``parameters``, the tags ``project:<name>``, ``label:<label>``…,
  ``migrated-from-prefect1``, its clocks as ``schedules`` (all ``active: false``: the new
  deployments shadow the Prefect 1 ones until promoted), its work pool with ``job_variables`` and
  the pull (and for Docker storage build/push) steps of its storage.
- **Work pools**: one per label set and run-config type (``k8s-prod`` from the label ``k8s-prod``;
  ``<type>-pool`` without labels; ``--pool NAME=TYPE`` sends every deployment of that type to
  ``NAME``). Kubernetes pools get the extended base job template of
  :mod:`meta_flows.core.deployments.kubernetes`; other types keep their worker's default template.
- **Blocks** users must create (Secret blocks for Prefect 1 secrets the storage used).
- **TODOs** for what has no exact Prefect 2.20 equivalent, attached to the key they concern.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from meta_flows.core.deployments.plan import (
    MIGRATED_TAG,
    POOL_PACKAGES,
    POOL_TYPES,
    BlockPlan,
    DeploymentPlan,
    Plan,
    PoolPlan,
    Target,
    Todo,
    TranslationError,
    sanitize_name,
    secret_block_name,
    slug,
    unevaluated,
)
from meta_flows.core.deployments.run_configs import (
    translate_run_config,
)
from meta_flows.core.deployments.schedules import (
    fold_filters,
    translate_clock,
)
from meta_flows.core.deployments.storage import (
    git_clone_step,
    translate_storage,
)
from meta_flows.core.inventory.model import (
    ClockInfo,
    FlowInfo,
    Inventory,
    ScheduleInfo,
)
from meta_flows.core.naming import prefect2_flow_name

# --------------------------------------------------------------------------------------------
# Clock groups -> deployments


@dataclass
class _Group:
    parameters: dict[str, Any]
    labels: list[str] | None  # clock labels (override the flow's), None when the clocks had none
    clocks: list[ClockInfo] = field(default_factory=list)


def group_clocks(schedule: ScheduleInfo | None) -> list[_Group]:
    """Clocks grouped by (parameter defaults, labels), in order of first appearance."""
    groups: dict[str, _Group] = {}
    for clock in schedule.clocks if schedule else []:
        labels = sorted(clock.labels) if clock.labels else None
        key = json.dumps([clock.parameter_defaults, labels], sort_keys=True, default=str)
        if key not in groups:
            groups[key] = _Group(dict(clock.parameter_defaults), labels)
        groups[key].clocks.append(clock)
    return list(groups.values()) or [_Group({}, None)]


def _value_slug(value: Any) -> str:
    if isinstance(value, str):
        return slug(value)
    return slug(json.dumps(value, sort_keys=True, default=str))


def deployment_suffixes(groups: list[_Group]) -> list[str]:
    """The ``<suffix>`` of each group's ``<flow>-<suffix>`` name (from the values that differ)."""
    keys: list[str] = []
    for group in groups:
        for key in group.parameters:
            if key not in keys:
                keys.append(key)

    def value(group: _Group, key: str) -> str:
        if key not in group.parameters:
            return "<missing>"
        return json.dumps(group.parameters[key], sort_keys=True, default=str)

    differing = [k for k in keys if len({value(g, k) for g in groups}) > 1]
    suffixes = []
    for group in groups:
        parts = [_value_slug(group.parameters[k]) for k in differing if k in group.parameters]
        parts = [p for p in parts if p]
        if not parts and group.labels:
            parts = [slug("-".join(group.labels))]
        suffixes.append("-".join(parts) or "default")
    seen: dict[str, int] = {}
    unique = []
    for suffix in suffixes:
        seen[suffix] = seen.get(suffix, 0) + 1
        unique.append(suffix if seen[suffix] == 1 else f"{suffix}-{seen[suffix]}")
    return unique


# --------------------------------------------------------------------------------------------
# The whole translation


@dataclass
class _PendingPool:
    base: str
    type: str
    job_template: dict[str, Any] | None
    deployments: list[DeploymentPlan] = field(default_factory=list)


def unevaluated_parts(flow: FlowInfo) -> list[str]:
    """What names a deployment (flow name, labels, project, clock parameters and labels) that
    the static reader could not evaluate: such a flow gets no deployment, never a made-up name."""
    parts = []
    if unevaluated(flow.name):
        parts.append(f"the flow name {flow.name}")
    if unevaluated(flow.project_name):
        parts.append(f"project_name {flow.project_name}")
    parts += [f"the label {label}" for label in flow.labels if unevaluated(label)]
    for clock in flow.schedule.clocks if flow.schedule else []:
        parts += [
            f"the clock parameter {key}={value}"
            for key, value in clock.parameter_defaults.items()
            if unevaluated(value)
        ]
        parts += [f"the clock label {label}" for label in clock.labels or [] if unevaluated(label)]
    return parts


def translate(
    inventory: Inventory,
    pools: Mapping[str, str] | None = None,
    repo_root: str | None = None,
    target: Target | None = None,
) -> Plan:
    """Translate every flow of ``inventory``.

    ``pools`` maps a work pool type (or Prefect 1 run config class) to the pool name every
    deployment of that type goes to (``--pool NAME=TYPE``; see :func:`parse_pool_overrides`).
    ``repo_root`` is the checkout path that ``set_working_directory`` steps name (default: the
    inventory's ``repo``) when there is no ``target``. With a :class:`Target` (a wave's project),
    the registry's choices are written in: see :func:`apply_target`.
    """
    overrides = {POOL_TYPES.get(k, k): v for k, v in (pools or {}).items()}
    root = repo_root or inventory.repo
    plan = Plan(project=slug(PurePosixPath(inventory.repo.rstrip("/")).name) or "project")
    if target is not None:
        plan.project = target.project
    for error in inventory.errors:
        where = (
            f"{error.file}:{error.line}" if error.file and error.line else error.file or "project"
        )
        plan.todos.append(
            Todo(
                f"{where}: {error.kind} error in the inventory, its flows are not translated: {error.message}"
            )
        )
    pending: dict[tuple[str, str, str], _PendingPool] = {}
    taken: set[tuple[str, str]] = set()  # (flow name, deployment name): unique on the API
    blocks: dict[tuple[str, str], BlockPlan] = {}

    for flow in sorted(inventory.flows, key=lambda fl: (fl.file, fl.line or 0, fl.name)):
        if not flow.function_name:
            plan.todos.append(
                Todo(
                    f"{flow.file}: flow {flow.name!r} has no module-level @flow function after "
                    "the codemod (e.g. built by a factory with arguments): no deployment written"
                )
            )
            continue
        unread = unevaluated_parts(flow)
        if unread:
            plan.todos.append(
                Todo(
                    f"{flow.file}: flow {flow.name!r}: {'; '.join(unread)} could not be "
                    "evaluated: no deployment written; declare it in this file by hand"
                )
            )
            continue
        flow_name = prefect2_flow_name(flow.name)
        storage = translate_storage(flow, root)
        if target is not None:  # the code is in the project's remote: clone it from there
            storage.pull = [git_clone_step(target.clone_url, target.branch)]
            storage.todos = [t for t in storage.todos if t.key != "pull"]
            storage.secrets = []
            if target.had_credentials:
                storage.todos.append(
                    Todo(
                        "the project's git URL carries credentials, not written here: give "
                        "git_clone an access_token (a Secret block) or credentials block",
                        "pull",
                    )
                )
        run = translate_run_config(flow.run_config, storage.image)
        filters = fold_filters(flow.schedule)
        groups = group_clocks(flow.schedule)
        suffixes = deployment_suffixes(groups) if len(groups) > 1 else [""]
        flow_labels = sorted(set(flow.labels) | set(run.labels))

        for group, suffix in zip(groups, suffixes, strict=True):
            # in a wave the deployment is named after the registry project that owns it (two
            # projects with a flow of the same name never share a deployment)
            base = target.project if target is not None else flow_name
            name = sanitize_name(f"{base}-{suffix}" if suffix else base)
            if (flow_name, name) in taken:  # the same flow name in another file of the project
                name = sanitize_name(f"{name}-{slug(PurePosixPath(flow.file).stem)}")
            while (flow_name, name) in taken:
                name += "-2"
            taken.add((flow_name, name))
            labels = group.labels if group.labels is not None else flow_labels
            tags = ([f"project:{flow.project_name}"] if flow.project_name else []) + [
                f"label:{label}" for label in labels
            ]
            deployment = DeploymentPlan(
                name=name,
                flow_name=flow_name,
                # the file that defines the flow (never a storage path: the migrated code runs)
                entrypoint=f"{flow.file}:{flow.function_name}",
                parameters=group.parameters,
                tags=[*tags, MIGRATED_TAG],
                pull=storage.pull,
                build=storage.build,
                push=storage.push,
            )
            if flow_name != flow.name:
                deployment.todos.append(
                    Todo(
                        f"flow {flow.name!r} is named {flow_name!r} in Prefect 2 (/ % & > < are not allowed)"
                    )
                )
            deployment.todos += storage.todos + run.todos
            if flow.schedule and flow.schedule.unevaluated and group is groups[0]:
                deployment.todos.append(
                    Todo(
                        "schedule parts the inventory could not read: "
                        + "; ".join(flow.schedule.unevaluated),
                        "schedules",
                    )
                )
            for clock in group.clocks:
                entry, messages = translate_clock(clock, filters)
                if entry is not None:
                    deployment.schedules.append(entry)
                deployment.todos += [Todo(m, "schedules") for m in messages]
            for unsupported in filters.unsupported if group.clocks else []:
                deployment.todos.append(
                    Todo(
                        f"schedule {unsupported} has no Prefect 2 equivalent: apply it by hand",
                        "schedules",
                    )
                )
            if group.labels is not None and group.labels != flow_labels:
                deployment.todos.append(
                    Todo(
                        f"these clocks ran with their own labels {group.labels} instead of the "
                        f"flow's {flow_labels}",
                        "work_pool",
                    )
                )
            for secret in storage.secrets:
                key = ("Secret", secret_block_name(secret))
                block = blocks.setdefault(key, BlockPlan("Secret", key[1], secret))
                block.used_by.append(name)

            base = overrides.get(run.pool_type) or (
                sanitize_name("-".join(labels)) if labels else f"{run.pool_type}-pool"
            )
            template_key = json.dumps(run.job_template, sort_keys=True) if run.job_template else ""
            pool = pending.setdefault(
                (base, run.pool_type, template_key),
                _PendingPool(base, run.pool_type, run.job_template),
            )
            pool.deployments.append(deployment)
            deployment.work_pool = {"name": base, "job_variables": dict(run.job_variables)}
            plan.deployments.append(deployment)

    plan.pools = _assign_pool_names(list(pending.values()), overrides)
    plan.blocks = sorted(blocks.values(), key=lambda b: (b.type, b.name))
    if target is not None:
        apply_target(plan, target)
    return plan


def run_deployment_names(inventory: Inventory, plan: Plan) -> dict[str, str]:
    """Prefect 1 flow name -> ``"<flow name>/<deployment name>"``: the deployment of ``plan``
    (:func:`translate` of ``inventory``) that a parent starting that flow by name
    (``StartFlowRun``, ``create_flow_run``) runs in Prefect 2 -- the one without clock parameters,
    since a run started by name took the flow's own parameter defaults.

    Left out (the codemod then asks for the name in a TODO): a flow without such a deployment
    (no deployment written, or every clock set parameters) and a name several flows share.
    """
    counts: dict[str, int] = {}
    for flow in inventory.flows:
        counts[flow.name] = counts.get(flow.name, 0) + 1
    names: dict[str, str] = {}
    for flow in inventory.flows:
        if counts[flow.name] > 1 or not flow.function_name:
            continue
        entrypoint = f"{flow.file}:{flow.function_name}"
        found = [d for d in plan.deployments if d.entrypoint == entrypoint and not d.parameters]
        if len(found) == 1:
            names[flow.name] = f"{found[0].flow_name}/{found[0].name}"
    return names


# Job variables a process worker's default job template has (a deployment sent to a process pool
# keeps these of its Prefect 1 run config; the others only applied to its infrastructure)
PROCESS_VARIABLES = ("env", "working_dir", "stream_output", "command", "labels", "name")


def apply_target(plan: Plan, target: Target) -> None:
    """Write a wave's :class:`Target` into ``plan`` (in place).

    - tags: ``project:<registry project>`` (a Prefect 1 ``project:`` tag becomes
      ``prefect1-project:``), the target's tags;
    - every schedule ``active`` as the target says;
    - with ``target.pool``: every deployment goes to that pool, the only pool planned; job
      variables are kept where the planned pool had the same type (for a process pool: those a
      process worker knows, e.g. ``env``).
    """
    from meta_flows.core.deployments.kubernetes import base_job_template

    plan.target = target
    planned_type = {pool.name: pool.type for pool in plan.pools}
    templates = [p.base_job_template for p in plan.pools if p.base_job_template is not None]
    for deployment in plan.deployments:
        deployment.tags = sorted(
            {
                *(f"prefect1-{t}" if t.startswith("project:") else t for t in deployment.tags),
                f"project:{target.project}",
                *target.tags,
            }
        )
        for schedule in deployment.schedules:
            schedule["active"] = target.active
        if target.pool is None:
            continue
        name, kind = target.pool
        variables = dict(deployment.work_pool.get("job_variables") or {})
        if planned_type.get(deployment.work_pool.get("name")) != kind:
            keep = PROCESS_VARIABLES if kind == "process" else ()
            variables = {k: v for k, v in variables.items() if k in keep}
        deployment.work_pool = {"name": name, "job_variables": variables}
    if target.pool is not None:
        name, kind = target.pool
        pool = PoolPlan(name=name, type=kind)
        if kind == "kubernetes":
            pool.base_job_template = templates[0] if templates else base_job_template(None)
        if kind in POOL_PACKAGES:
            pool.notes.append(f"its worker needs {POOL_PACKAGES[kind]}")
        plan.pools = [pool]


def _assign_pool_names(pending: list[_PendingPool], overrides: Mapping[str, str]) -> list[PoolPlan]:
    """Unique names: ``<base>``, then ``<base>-<type>`` when types clash, then ``-2``… for templates."""
    from meta_flows.core.deployments.kubernetes import base_job_template

    by_base: dict[str, set[str]] = {}
    for pool in pending:
        by_base.setdefault(pool.base, set()).add(pool.type)
    for pool_type, name in overrides.items():
        if len(by_base.get(name, set())) > 1:
            raise TranslationError(
                f"--pool {name}={pool_type}: {name!r} would hold several pool types"
            )
    result: list[PoolPlan] = []
    counts: dict[str, int] = {}
    for pool in pending:
        name = pool.base if len(by_base[pool.base]) == 1 else f"{pool.base}-{pool.type}"
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > 1:
            name = f"{name}-{counts[name]}"
        plan = PoolPlan(name=name, type=pool.type)
        if pool.type == "kubernetes":
            plan.base_job_template = base_job_template(pool.job_template)
        if pool.type in POOL_PACKAGES:
            plan.notes.append(f"its worker needs {POOL_PACKAGES[pool.type]}")
        if counts[name] > 1 or name != pool.base:
            plan.todos.append(
                Todo(f"split from {pool.base!r}: its deployments need another type or job template")
            )
        for deployment in pool.deployments:
            deployment.work_pool["name"] = name
        result.append(plan)
    return sorted(result, key=lambda p: p.name)
