"""The deployments a ``prefect.yaml`` declares, as the fields Prefect's deploy path sends to the API.

A wave deploys what its migration branch commits: the shadow deployments are created from the
committed file (not from the translation in memory), promotion commits the activation into it
before it switches the live schedules on, and ``meta-flows wave verify`` compares the live
deployments with it. :func:`declared_deployments` reads the file the way ``prefect deploy --all``
does for the keys meta-flows writes (a deployment's own ``pull``/``build``/``push`` or else the
file's top-level ones; ``work_pool.name`` / ``job_variables``; ``schedules`` with ``active``).

:func:`activated` is the promotion's edit: every schedule on, the shadow tag swapped for the
promoted one and, when the pull steps followed the migration branch, the default branch instead;
an edit of the lines meta-flows wrote (its TODO comments stay), checked against the same edit of
the parsed file.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from meta_flows.core.deployments.plan import PROMOTED_TAG, SHADOW_TAG
from meta_flows.core.errors import MetaFlowsError

GIT_CLONE = "prefect.deployments.steps.git_clone"


class DeclarationError(MetaFlowsError, ValueError):
    """A ``prefect.yaml`` that cannot be read as deployments (the message names the key)."""


@dataclass
class Declared:
    """One deployment as ``prefect deploy`` would create it (the fields meta-flows compares)."""

    name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)  # with "active"
    work_pool_name: str | None = None
    job_variables: dict[str, Any] = field(default_factory=dict)
    pull_steps: list[dict[str, Any]] = field(default_factory=list)
    description: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(name, entrypoint): unique in a file (two flows may each have a deployment of one
        name, as on the API, where a deployment is unique per flow)."""
        return (self.name, self.entrypoint)

    def compared(self) -> dict[str, Any]:
        """The fields ``wave verify`` compares, by name."""
        return {
            "entrypoint": self.entrypoint,
            "parameters": self.parameters,
            "tags": sorted(self.tags),
            "work_pool_name": self.work_pool_name,
            "job_variables": self.job_variables,
            "pull_steps": self.pull_steps,
            "schedules": self.schedules,
        }


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DeclarationError(f"{where}: expected a mapping, found {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DeclarationError(f"{where}: expected a list, found {type(value).__name__}")
    return value


def declared_deployments(text: str, source: str = "prefect.yaml") -> list[Declared]:
    """Every deployment of a ``prefect.yaml`` text; :class:`DeclarationError` names what is wrong."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DeclarationError(f"{source}: not YAML: {exc}") from exc
    data = _mapping(data, source)
    top_pull = _list(data.get("pull"), f"{source}: pull")
    found = []
    for index, raw in enumerate(_list(data.get("deployments"), f"{source}: deployments")):
        where = f"{source}: deployments[{index}]"
        raw = _mapping(raw, where)
        name, entrypoint = raw.get("name"), raw.get("entrypoint")
        if not isinstance(name, str) or not name:
            raise DeclarationError(f"{where}: no name")
        if not isinstance(entrypoint, str) or ":" not in entrypoint:
            raise DeclarationError(f"{where} ({name}): entrypoint must be 'path.py:function'")
        pool = _mapping(raw.get("work_pool"), f"{where}.work_pool")
        schedules = []
        for i, entry in enumerate(_list(raw.get("schedules"), f"{where}.schedules")):
            entry = dict(_mapping(entry, f"{where}.schedules[{i}]"))
            entry.setdefault("active", True)  # Prefect's default
            schedules.append(entry)
        found.append(
            Declared(
                name=name,
                entrypoint=entrypoint,
                parameters=dict(_mapping(raw.get("parameters"), f"{where}.parameters")),
                tags=[str(t) for t in _list(raw.get("tags"), f"{where}.tags")],
                schedules=schedules,
                work_pool_name=pool.get("name"),
                job_variables=dict(_mapping(pool.get("job_variables"), f"{where}.job_variables")),
                pull_steps=list(_list(raw["pull"], f"{where}.pull") if "pull" in raw else top_pull),
                description=raw.get("description"),
            )
        )
    keys = [d.key for d in found]
    twice = sorted({f"{n} ({e})" for n, e in keys if keys.count((n, e)) > 1})
    if twice:
        raise DeclarationError(f"{source}: deployments declared twice: {', '.join(twice)}")
    return found


def pull_branches(declared: list[Declared]) -> set[str]:
    """The branches the ``git_clone`` pull steps of ``declared`` clone."""
    return {
        step[GIT_CLONE].get("branch")
        for d in declared
        for step in d.pull_steps
        if isinstance(step, dict) and GIT_CLONE in step
    }


def _activate_data(data: dict[str, Any], branch_from: str | None, branch_to: str | None) -> Any:
    data = copy.deepcopy(data)
    for deployment in data.get("deployments") or []:
        deployment["tags"] = [
            PROMOTED_TAG if t == SHADOW_TAG else t for t in deployment.get("tags") or []
        ]
        for schedule in deployment.get("schedules") or []:
            schedule["active"] = True
        for step in deployment.get("pull") or []:
            clone = step.get(GIT_CLONE) if isinstance(step, dict) else None
            if clone and branch_from and branch_to and clone.get("branch") == branch_from:
                clone["branch"] = branch_to
    return data


def activated(text: str, *, branch_from: str | None = None, branch_to: str | None = None) -> str:
    """``text`` (a ``prefect.yaml`` meta-flows wrote) promoted: schedules ``active: true``, the
    shadow tag replaced by the promoted one, and git_clone steps of ``branch_from`` cloning
    ``branch_to`` instead. Comments and layout are kept; raises :class:`DeclarationError` when
    the file is not in the layout meta-flows writes (then it cannot be edited safely)."""
    lines = text.splitlines(keepends=True)
    in_clone = False
    out = []
    for line in lines:
        stripped = line.strip()
        if re.fullmatch(r"-?\s*active: false", stripped):
            line = line.replace("active: false", "active: true")
        elif stripped == f"- {SHADOW_TAG}":
            line = line.replace(SHADOW_TAG, PROMOTED_TAG)
        if stripped.startswith(f"- {GIT_CLONE}:"):
            in_clone = True
        elif in_clone and branch_from and branch_to:
            match = re.fullmatch(r"(\s*)branch: (.*?)(\r?\n?)", line)
            if match and yaml.safe_load(match.group(2)) == branch_from:
                line = f"{match.group(1)}branch: {_scalar(branch_to)}{match.group(3)}"
                in_clone = False
            elif stripped.startswith("- "):
                in_clone = False
        out.append(line)
    result = "".join(out)
    original = yaml.safe_load(text) or {}
    if yaml.safe_load(result) != _activate_data(original, branch_from, branch_to):
        raise DeclarationError(
            "prefect.yaml is not in the layout meta-flows writes: its activation cannot be "
            "edited safely (switch its schedules on by hand)"
        )
    return result


def _scalar(value: str) -> str:
    from meta_flows.core.deployments.render import scalar

    return scalar(value)


def differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every place two field trees differ, as ``"<path>: prefect.yaml <x>, live <y>"``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                found.append(f"{path}: prefect.yaml {_short(expected[key])}, live (none)")
            elif key not in expected:
                found.append(f"{path}: prefect.yaml (none), live {_short(actual[key])}")
            else:
                found += differences(expected[key], actual[key], path)
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found += differences(a, b, f"{where}[{index}]")
        return found
    if expected != actual:
        return [f"{where}: prefect.yaml {_short(expected)}, live {_short(actual)}"]
    return []


def _short(value: Any, limit: int = 200) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
