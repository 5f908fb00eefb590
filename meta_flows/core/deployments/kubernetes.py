"""The Kubernetes work pool base job template for migrated ``KubernetesRun`` flows (§15).

Prefect 1's ``KubernetesRun`` set ``cpu_request``, ``cpu_limit``, ``memory_request``,
``memory_limit`` and ``image_pull_secrets`` per flow; prefect-kubernetes' default base job template
has no such variables. :func:`base_job_template` starts from the worker's own default
(``KubernetesWorker.get_default_base_job_template()``) and adds them:

- ``cpu_request``/``cpu_limit``/``memory_request``/``memory_limit`` (strings such as ``500m``,
  ``1Gi``) -> the first container's ``resources.requests``/``resources.limits``;
- ``image_pull_secrets`` (a list of ``{name: <secret>}`` objects, the shape Kubernetes'
  ``imagePullSecrets`` takes; the translator turns Prefect 1's list of names into it) -> the pod
  spec's ``imagePullSecrets``.

Prefect 2.20 renders a template value that is exactly one ``{{ placeholder }}`` of an unset variable
by dropping its key (``prefect.utilities.templating.apply_values``), so a deployment that sets none
of these gets no ``imagePullSecrets`` and empty ``requests``/``limits`` maps (which Kubernetes reads
as "no requests/limits").

A Prefect 1 ``job_template`` (a Job manifest) is merged underneath (C): its keys stay unless the
Prefect template sets them; the first containers merge the same way, and a hard-coded container
``env`` list is kept (the worker prepends its own variables to such a list).
"""

from __future__ import annotations

import copy
from typing import Any

RESOURCE_VARIABLES = {
    "cpu_request": ("requests", "cpu", "CPU request", "500m"),
    "cpu_limit": ("limits", "cpu", "CPU limit", "1"),
    "memory_request": ("requests", "memory", "Memory request", "512Mi"),
    "memory_limit": ("limits", "memory", "Memory limit", "1Gi"),
}


def default_base_job_template() -> dict[str, Any]:
    """prefect-kubernetes' own default base job template (a fresh copy)."""
    from prefect_kubernetes.worker import KubernetesWorker

    return copy.deepcopy(KubernetesWorker.get_default_base_job_template())


def base_job_template(job_template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default template plus Prefect 1's resource/pull-secret variables (and ``job_template``)."""
    template = default_base_job_template()
    properties = template["variables"]["properties"]
    for variable, (_, resource, title, example) in RESOURCE_VARIABLES.items():
        properties[variable] = {
            "title": title,
            "description": f"The flow-run container's {resource} {title.split()[-1]} "
            "(a Kubernetes quantity; Prefect 1 KubernetesRun's "
            f"{variable}).",
            "type": "string",
            "examples": [example],
        }
    properties["image_pull_secrets"] = {
        "title": "Image Pull Secrets",
        "description": "Secrets the pod pulls its image with, as [{name: <secret>}] "
        "(Prefect 1 KubernetesRun's image_pull_secrets).",
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        },
    }
    manifest = template["job_configuration"]["job_manifest"]
    pod_spec = manifest["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    resources: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    for variable, (section, resource, _, _) in RESOURCE_VARIABLES.items():
        resources[section][resource] = f"{{{{ {variable} }}}}"
    container["resources"] = resources
    pod_spec["imagePullSecrets"] = "{{ image_pull_secrets }}"
    if job_template:
        template["job_configuration"]["job_manifest"] = merge_job_manifest(job_template, manifest)
    return template


def merge_job_manifest(base: Any, override: Any) -> Any:
    """``override`` (Prefect's template) merged over ``base`` (a Prefect 1 job_template)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if key == "env" and isinstance(base.get(key), list) and isinstance(value, str):
                continue  # keep the hard-coded list; the worker prepends its env to it
            merged[key] = merge_job_manifest(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list) and base and override:
        if all(isinstance(x, dict) for x in base + override):
            # containers: the first (the flow-run container) merges, the rest are kept
            return [merge_job_manifest(base[0], override[0]), *base[1:], *override[1:]]
    return copy.deepcopy(override)
