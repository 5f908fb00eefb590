"""Prefect 1 run configs as Prefect 2.20 work pool types and job variables (§15)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from meta_flows.core.deployments.plan import (
    KUBERNETES_VARIABLES,
    POOL_TYPES,
    Todo,
    unevaluated,
    unevaluated_fields,
)
from meta_flows.core.inventory.model import (
    ComponentInfo,
)


@dataclass
class _RunConfig:
    pool_type: str
    job_variables: dict[str, Any] = field(default_factory=dict)
    job_template: dict[str, Any] | None = None
    labels: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)


def translate_run_config(run_config: ComponentInfo | None, image: str | None) -> _RunConfig:
    """A Prefect 1 run config -> pool type, job variables, Kubernetes job template, labels."""
    if run_config is None:
        result = _RunConfig("process")
        if image:
            result.todos.append(
                Todo(
                    "Docker storage without a Docker/Kubernetes run config: pick a pool type",
                    "work_pool",
                )
            )
        return result
    f = {k: v for k, v in run_config.fields.items() if v is not None and not unevaluated(v)}
    kind = run_config.type
    pool_type = POOL_TYPES.get(kind)
    result = _RunConfig(pool_type or "process", labels=list(f.get("labels") or []))
    unread = unevaluated_fields(run_config.fields)
    if unread:
        result.todos.append(
            Todo(
                f"run config values the inventory could not read: {', '.join(unread)}", "work_pool"
            )
        )
    variables = result.job_variables
    if pool_type is None:
        result.todos.append(
            Todo(f"{kind} has no Prefect 2 work pool type: choose one", "work_pool")
        )
        return result
    if kind in ("LocalRun", "UniversalRun"):
        for key in ("env", "working_dir"):
            if f.get(key) not in (None, {}):
                variables[key] = f[key]
    elif kind == "DockerRun":
        if f.get("image") or image:
            variables["image"] = f.get("image") or image
        if f.get("env"):
            variables["env"] = f["env"]
        if f.get("host_config"):
            result.todos.append(
                Todo(
                    f"DockerRun host_config {json.dumps(f['host_config'], sort_keys=True)}: map it to "
                    "the docker work pool's volumes/networks/mem_limit/privileged variables",
                    "work_pool",
                )
            )
        if f.get("ports"):
            result.todos.append(
                Todo(
                    f"DockerRun ports {f['ports']}: the docker worker does not publish ports",
                    "work_pool",
                )
            )
    elif kind == "KubernetesRun":
        values = dict(f)
        if image and not values.get("image"):
            values["image"] = image
        for key in KUBERNETES_VARIABLES:
            value = values.get(key)
            if value in (None, "", [], {}):
                continue
            if key == "image_pull_secrets":
                value = [{"name": name} for name in value]
            variables[key] = value
        if f.get("job_template"):
            result.job_template = f["job_template"]
            result.todos.append(
                Todo(
                    "KubernetesRun job_template merged into the work pool's base job template "
                    "(C): check the merged Job manifest",
                    "work_pool",
                )
            )
        if f.get("job_template_path"):
            result.todos.append(
                Todo(
                    f"KubernetesRun job_template_path {f['job_template_path']}: merge that file "
                    "into the work pool's base job template (work-pools.yaml)",
                    "work_pool",
                )
            )
    elif kind == "ECSRun":
        for key in ("image", "env", "cpu", "memory", "task_role_arn", "execution_role_arn"):
            if f.get(key) not in (None, {}):
                variables[key] = f[key]
        rest = [
            k
            for k in (
                "task_definition",
                "task_definition_path",
                "task_definition_arn",
                "run_task_kwargs",
            )
            if f.get(k)
        ]
        result.todos.append(
            Todo(
                "ECSRun -> ecs work pool (prefect-aws) (C): check the job variables"
                + (f"; carry over {', '.join(rest)} by hand" if rest else ""),
                "work_pool",
            )
        )
    elif kind == "VertexRun":
        mapping = {
            "image": "image",
            "env": "env",
            "machine_type": "machine_type",
            "service_account": "service_account_name",
            "network": "network",
        }
        for source, target in mapping.items():
            if f.get(source) not in (None, {}):
                variables[target] = f[source]
        rest = [k for k in ("scheduling", "worker_pool_specs") if f.get(k)]
        result.todos.append(
            Todo(
                "VertexRun -> vertex-ai work pool (prefect-gcp) (C): check the job variables"
                + (f"; carry over {', '.join(rest)} by hand" if rest else ""),
                "work_pool",
            )
        )
    return result
