"""What a dotted name means in Prefect 1 and Prefect 2.

Rules never match strings such as ``"Flow"``: they ask the resolver (see ``base.py``) for the
qualified name of a node, and this module folds Prefect 1's many import paths for one object into a
single canonical spelling, e.g. ``prefect.core.flow.Flow`` and ``prefect.Flow`` are both
``prefect.Flow``; ``prefect.engine.executors.LocalDaskExecutor`` is
``prefect.executors.LocalDaskExecutor``.
"""

from __future__ import annotations

# Longest prefix first; each maps an import path of Prefect 0.x/1.x onto the canonical spelling.
_PREFIX_ALIASES: tuple[tuple[str, str], ...] = (
    ("prefect.core.flow.", "prefect."),
    ("prefect.core.task.", "prefect."),
    ("prefect.core.parameter.", "prefect."),
    ("prefect.core.edge.", "prefect."),
    ("prefect.core.", "prefect."),
    ("prefect.utilities.edges.", "prefect."),
    ("prefect.utilities.tasks.", "prefect."),
    ("prefect.utilities.context.", "prefect.context."),
    ("prefect.tasks.control_flow.conditional.", "prefect.tasks.control_flow."),
    ("prefect.tasks.control_flow.case.", "prefect.tasks.control_flow."),
    ("prefect.tasks.control_flow.filter.", "prefect.tasks.control_flow."),
    ("prefect.engine.executors.dask.", "prefect.executors."),
    ("prefect.engine.executors.local.", "prefect.executors."),
    ("prefect.engine.executors.", "prefect.executors."),
    ("prefect.executors.dask.", "prefect.executors."),
    ("prefect.executors.local.", "prefect.executors."),
    ("prefect.environments.storage.", "prefect.storage."),
    ("prefect.environments.execution.", "prefect.environments."),
    ("prefect.engine.result_handlers.", "prefect.engine.results."),
    ("prefect.schedules.schedules.", "prefect.schedules."),
    ("prefect.schedules.clocks.", "prefect.schedules.clocks."),
    ("prefect.engine.signals.", "prefect.engine.signals."),
    ("prefect.signals.", "prefect.engine.signals."),
    ("prefect.triggers.", "prefect.triggers."),
    ("prefect.client.secrets.", "prefect.client."),
    ("prefect.tasks.secrets.base.", "prefect.tasks.secrets."),
    ("prefect.tasks.secrets.env_var.", "prefect.tasks.secrets."),
)

# Objects that the top-level ``prefect`` package re-exports under another module.
_TOP_LEVEL_CANONICAL = {
    "prefect.case": "prefect.tasks.control_flow.case",
    "prefect.tasks.control_flow.case": "prefect.tasks.control_flow.case",
    "prefect.configuration.config": "prefect.config",
}

# Names that ``from prefect import *`` binds in Prefect 1.4 (``prefect.__init__``).
PREFECT1_STAR_EXPORTS = frozenset(
    {
        "Flow",
        "Task",
        "Parameter",
        "task",
        "tags",
        "unmapped",
        "mapped",
        "flatten",
        "apply_map",
        "case",
        "context",
        "resource_manager",
        "Client",
        "triggers",
        "signals",
        "schedules",
        "storage",
        "executors",
        "engine",
        "utilities",
        "tasks",
        "config",
        "flow",  # the flow object is not exported, but keep the name resolvable
    }
)

# What ``from prefect import X`` may import in Prefect 2.20 (used to tell P1-only imports apart).
PREFECT2_TOP_LEVEL = frozenset(
    {
        "flow",
        "task",
        "Flow",
        "Task",
        "unmapped",
        "allow_failure",
        "get_run_logger",
        "get_client",
        "tags",
        "pause_flow_run",
        "resume_flow_run",
        "suspend_flow_run",
        "State",
        "Manifest",
        "deploy",
        "serve",
        "runtime",
        "context",
        "settings",
        "states",
        "artifacts",
        "blocks",
        "deployments",
        "filesystems",
        "logging",
        "task_runners",
        "exceptions",
        "variables",
        "results",
        "serializers",
        "futures",
        "engine",
        "client",
        "events",
        "automations",
        "__version__",
    }
)

# Submodules of ``prefect`` that Prefect 2.20 has besides the names in PREFECT2_TOP_LEVEL.
PREFECT2_SUBMODULES = frozenset(
    {
        "utilities",
        "runtime",
        "blocks",
        "deployments",
        "filesystems",
        "infrastructure",
        "server",
        "testing",
        "input",
        "types",
        "flows",
        "tasks",
        "runner",
        "workers",
        "plugins",
        "concurrency",
        "records",
        "transactions",
        "software",
        "manifests",
        "cli",
        "agent",
        "deprecated",
        "flow_runs",
        "task_engine",
        "task_server",
        "new_flow_engine",
        "new_task_engine",
        "pydantic",
        "_internal",
        "_vendor",
        "_version",
    }
)

# Module prefixes that exist only in Prefect 1 (importing them under Prefect 2 fails).
# ``prefect.engine`` exists in Prefect 2, but none of the names Prefect 1 code imports from it
# (``state``, ``signals``, ``FlowRunner``, ``TaskRunner``, ``results``...) do.
PREFECT1_ONLY_MODULES = (
    "prefect.core",
    "prefect.engine",
    "prefect.engine.signals",
    "prefect.engine.state",
    "prefect.engine.results",
    "prefect.engine.result",
    "prefect.engine.executors",
    "prefect.engine.result_handlers",
    "prefect.engine.flow_runner",
    "prefect.engine.task_runner",
    "prefect.engine.serializers",
    "prefect.executors",
    "prefect.run_configs",
    "prefect.storage",
    "prefect.schedules",
    "prefect.environments",
    "prefect.triggers",
    # the modules of prefect.utilities that Prefect 2.20 does not have (1.4.1 vs 2.20.27)
    "prefect.utilities.agent",
    "prefect.utilities.backend",
    "prefect.utilities.cli",
    "prefect.utilities.compatibility",
    "prefect.utilities.configuration",
    "prefect.utilities.datetimes",
    "prefect.utilities.debug",
    "prefect.utilities.diagnostics",
    "prefect.utilities.edges",
    "prefect.utilities.executors",
    "prefect.utilities.filesystems",
    "prefect.utilities.git",
    "prefect.utilities.graphql",
    "prefect.utilities.logging",
    "prefect.utilities.notifications",
    "prefect.utilities.plugins",
    "prefect.utilities.serialization",
    "prefect.utilities.storage",
    "prefect.utilities.tasks",
    "prefect.tasks.",
    "prefect.backend",
    "prefect.configuration",
    "prefect.agent",
    "prefect.client.secrets",
    "prefect.tasks.secrets",
    "prefect.tasks.control_flow",
)


# Keyword arguments ``prefect.task`` / ``prefect.flow`` accept in Prefect 2.20
# (inspect.signature in 2.20.27; tests/codemod/test_task_options.py checks the task list).
PREFECT2_TASK_OPTIONS = frozenset(
    {
        "name",
        "description",
        "tags",
        "version",
        "cache_key_fn",
        "cache_expiration",
        "task_run_name",
        "retries",
        "retry_delay_seconds",
        "retry_jitter_factor",
        "persist_result",
        "result_storage",
        "result_storage_key",
        "result_serializer",
        "cache_result_in_memory",
        "timeout_seconds",
        "log_prints",
        "refresh_cache",
        "on_completion",
        "on_failure",
        "retry_condition_fn",
        "viz_return_value",
    }
)
PREFECT2_FLOW_OPTIONS = frozenset(
    {
        "name",
        "version",
        "flow_run_name",
        "retries",
        "retry_delay_seconds",
        "task_runner",
        "description",
        "timeout_seconds",
        "validate_parameters",
        "persist_result",
        "result_storage",
        "result_serializer",
        "cache_result_in_memory",
        "log_prints",
        "on_completion",
        "on_failure",
        "on_cancellation",
        "on_crashed",
        "on_running",
    }
)


# Names of modules both versions have that only Prefect 1's defines (1.4.1 vs 2.20.27): importing
# them under Prefect 2 fails, or (an attribute) fails when the code runs. Each maps to what a
# human should use instead (the end of the TODO's sentence).
PREFECT1_ONLY_NAMES = {
    "prefect.artifacts.create_link": "create_link_artifact(link) from prefect.artifacts",
    "prefect.artifacts.create_markdown": "create_markdown_artifact(markdown) from prefect.artifacts",
    "prefect.artifacts.update_link": "a new create_link_artifact(link, key=...) (Prefect 2 "
    "artifacts are versioned by key, not updated)",
    "prefect.artifacts.update_markdown": "a new create_markdown_artifact(markdown, key=...) "
    "(Prefect 2 artifacts are versioned by key, not updated)",
    "prefect.artifacts.update_link_artifact": "a new create_link_artifact(link, key=...)",
    "prefect.artifacts.update_markdown_artifact": "a new create_markdown_artifact(markdown, key=...)",
    "prefect.artifacts.delete_artifact": "nothing (Prefect 2 has no call deleting an artifact "
    "from a flow run): remove the call",
    "prefect.artifacts.delete_artifact_new": "nothing (Prefect 2 has no call deleting an "
    "artifact from a flow run): remove the call",
    "prefect.client.Secret": "Secret.load(name).get() with Secret from prefect.blocks.system",
    "prefect.client.Client": "prefect.get_client() (an async client; get_client(sync_client=True) "
    "for a sync one) and its methods",
    "prefect.utilities.collections.DotDict": "a plain dict",
    "prefect.utilities.collections.as_nested_dict": "a plain dict (dict(...))",
    "prefect.utilities.collections.merge_dicts": "{**a, **b} (recursive where nested dicts merge)",
    "prefect.utilities.collections.flatten_seq": "a list comprehension or itertools.chain",
    "prefect.utilities.collections.CompoundKey": "a tuple key",
    "prefect.utilities.collections.Box": "a plain object",
    "prefect.utilities.collections.DictLike": "typing.Mapping",
}


def prefect1_only_name(qualified_name: str) -> str | None:
    """What replaces ``qualified_name`` when it is a Prefect 1-only name of a module Prefect 2
    also has (``prefect.artifacts.create_link``), else None."""
    found = PREFECT1_ONLY_NAMES.get(qualified_name)
    return found if found is not None else PREFECT1_ONLY_NAMES.get(canonical(qualified_name))


def canonical(qualified_name: str) -> str:
    """Fold one of Prefect's import paths onto the canonical spelling used by the rules."""
    name = qualified_name
    for prefix, replacement in _PREFIX_ALIASES:
        if name.startswith(prefix):
            name = replacement + name[len(prefix) :]
            break
    return _TOP_LEVEL_CANONICAL.get(name, name)


def is_prefect1_only_module(module: str) -> bool:
    """True for a module path (``prefect.engine.signals``) that Prefect 2 does not have."""
    for prefix in PREFECT1_ONLY_MODULES:
        if prefix.endswith("."):
            if module.startswith(prefix):
                return True
        elif module == prefix or module.startswith(prefix + "."):
            return True
    return False


def is_unknown_prefect_module(module: str) -> bool:
    """True for ``prefect.x...`` where Prefect 2 has no ``x`` at all (a module of Prefect 1 or of
    no released Prefect): importing it under Prefect 2 fails."""
    parts = module.split(".")
    return (
        len(parts) > 1
        and parts[0] == "prefect"
        and parts[1] not in PREFECT2_TOP_LEVEL
        and parts[1] not in PREFECT2_SUBMODULES
    )
