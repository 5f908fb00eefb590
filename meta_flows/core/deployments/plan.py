"""What a translation produces: deployments, work pools, blocks and TODOs (the ``Plan``).

:mod:`meta_flows.core.deployments.render` writes a plan as ``prefect.yaml`` and ``work-pools.yaml``;
the shadow deployments are created from the same plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meta_flows.core.errors import MetaFlowsError

MIGRATED_TAG = "migrated-from-prefect1"
# A wave's deployments carry one of these: shadowing Prefect 1 (schedules off), or promoted
SHADOW_TAG = "meta-flows-shadow"
PROMOTED_TAG = "meta-flows-promoted"


TODO_PREFIX = "TODO(prefect2-migration):"


BANNED_NAME_CHARACTERS = ("/", "%", "&", ">", "<")


# Run config class -> Prefect 2 work pool type (§15). No run config in Prefect 1 meant UniversalRun.
POOL_TYPES = {
    "LocalRun": "process",
    "UniversalRun": "process",
    "DockerRun": "docker",
    "KubernetesRun": "kubernetes",
    "ECSRun": "ecs",
    "VertexRun": "vertex-ai",
}


# Work pool types whose worker lives in a separate package.
POOL_PACKAGES = {
    "docker": "prefect-docker",
    "kubernetes": "prefect-kubernetes",
    "ecs": "prefect-aws",
    "vertex-ai": "prefect-gcp",
}


# KubernetesRun fields that become job variables, in the order they are written.
KUBERNETES_VARIABLES = (
    "image",
    "env",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "service_account_name",
    "image_pull_policy",
    "image_pull_secrets",
    "namespace",
)


DOCKER_STEPS_PACKAGE = "prefect-docker>=0.3.1"


class TranslationError(MetaFlowsError, ValueError):
    """Bad input to the translator (e.g. an unknown ``--pool`` type)."""


@dataclass(frozen=True)
class Target:
    """Where a wave's deployments go: the registry's choices, written into ``prefect.yaml``.

    The committed file is what the wave deploys (and what ``prefect deploy --all`` deploys from
    the promoted branch): the project's name, pull steps that clone the project's remote at
    ``branch`` (the code is in git; Prefect 1's storage is not consulted for where it lives), the
    registry's work pool for every deployment, and the wave's tags. ``active`` is the state of
    every schedule: off while shadowing Prefect 1, on once promoted.
    """

    project: str
    git_url: str
    branch: str
    pool: tuple[str, str] | None = None  # (name, type); None: the pools the translation plans
    tags: tuple[str, ...] = ()
    active: bool = False

    @property
    def clone_url(self) -> str:
        """``git_url`` without credentials (``https://user:token@host/...``): a committed file
        never carries a secret."""
        return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", r"\1", self.git_url)

    @property
    def had_credentials(self) -> bool:
        return self.clone_url != self.git_url


@dataclass
class Todo:
    """Something a human must do; ``key`` is the deployment key it concerns (None: the entry)."""

    message: str
    key: str | None = None


@dataclass
class BlockPlan:
    """A block users must create before the deployments can run."""

    type: str
    name: str
    source: str = ""  # the Prefect 1 secret name it replaces
    used_by: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"create {self.type} block `{self.name}`"
        if self.source:
            text += f" (the Prefect 1 secret {self.source})"
        if self.used_by:
            text += f"; used by {', '.join(sorted(self.used_by))}"
        return text


@dataclass
class PoolPlan:
    name: str
    type: str
    base_job_template: dict[str, Any] | None = None  # None: the worker type's default
    todos: list[Todo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.base_job_template is not None:
            data["base_job_template"] = self.base_job_template
        return data


@dataclass
class DeploymentPlan:
    name: str
    flow_name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    work_pool: dict[str, Any] = field(default_factory=dict)
    pull: list[dict[str, Any]] = field(default_factory=list)
    build: list[dict[str, Any]] | None = None
    push: list[dict[str, Any]] | None = None
    todos: list[Todo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``prefect.yaml`` entry (keys in the order Prefect's own templates use)."""
        data: dict[str, Any] = {
            "name": self.name,
            "entrypoint": self.entrypoint,
            "parameters": self.parameters,
            "tags": self.tags,
            "schedules": self.schedules,
            "work_pool": self.work_pool,
        }
        if self.build is not None:
            data["build"] = self.build
        if self.push is not None:
            data["push"] = self.push
        data["pull"] = self.pull
        return data


@dataclass
class Plan:
    project: str
    deployments: list[DeploymentPlan] = field(default_factory=list)
    pools: list[PoolPlan] = field(default_factory=list)
    blocks: list[BlockPlan] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)
    target: Target | None = None  # a wave's project (see Target), else None

    def deployment(self, name: str) -> DeploymentPlan:
        return next(d for d in self.deployments if d.name == name)

    def pool(self, name: str) -> PoolPlan:
        return next(p for p in self.pools if p.name == name)

    def all_todos(self) -> list[str]:
        found = [t.message for t in self.todos]
        found += [f"{p.name}: {t.message}" for p in self.pools for t in p.todos]
        found += [f"{d.name}: {t.message}" for d in self.deployments for t in d.todos]
        return found


def sanitize_name(name: str) -> str:
    """Replace the characters Prefect 2 rejects in flow/deployment/pool names with '-'."""
    for char in BANNED_NAME_CHARACTERS:
        name = name.replace(char, "-")
    return name


def slug(text: str) -> str:
    """``"GITHUB_TOKEN"`` -> ``"github-token"``: lowercase, runs of other characters -> '-'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def secret_block_name(secret: str) -> str:
    return slug(secret) or "secret"


def parse_pool_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["k8s=kubernetes", "local=LocalRun"]`` -> ``{"kubernetes": "k8s", "process": "local"}``."""
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, kind = item.partition("=")
        name, kind = name.strip(), kind.strip()
        if not sep or not name or not kind:
            raise TranslationError(f"--pool expects NAME=TYPE, got {item!r}")
        pool_type = POOL_TYPES.get(kind, kind)
        if pool_type not in set(POOL_TYPES.values()):
            known = ", ".join(sorted(set(POOL_TYPES.values()) | set(POOL_TYPES)))
            raise TranslationError(f"--pool {item!r}: unknown type {kind!r} (one of {known})")
        if any(c in name for c in BANNED_NAME_CHARACTERS):
            raise TranslationError(f"--pool {item!r}: a work pool name cannot contain / % & > <")
        overrides[pool_type] = name
    return overrides


UNEVALUATED_PREFIX = "<unevaluated:"


def unevaluated(value: Any) -> bool:
    """A value the static inventory reader could not evaluate (``"<unevaluated: EXPR>"``)."""
    return isinstance(value, str) and value.startswith(UNEVALUATED_PREFIX)


def unevaluated_fields(fields: Mapping[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in fields.items() if unevaluated(v)]
