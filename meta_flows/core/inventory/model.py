"""The inventory of a Prefect 1 repository: every flow with its exact deployment configuration.

This is the stable, documented JSON that ``meta-flows inventory REPO_DIR --json FILE`` writes and
that the deployment translator reads. Field names follow Prefect 1's own objects (``storage``,
``run_config``, ``executor``, ``schedule`` with its ``clocks``) so a Prefect 1 user recognises them.

Values are plain JSON: datetimes are ISO 8601 strings with their UTC offset, intervals are
seconds, timezones are IANA names. Every flow records *how* it was read: ``dynamic`` (loaded and
serialized by Prefect 1.4.1 itself in the managed environment) or ``static`` (read from the
source when loading failed), and for ``static`` why the dynamic read failed. Values the static
reader cannot evaluate are strings ``"<unevaluated: EXPR>"`` (never guessed).

Producers: :func:`meta_flows.sandbox.inventory.inventory_repo` (dynamic entries come from
``meta_flows/sandbox/legacy/probe.py`` running in the managed Prefect 1.4.1 environment, static ones from
:mod:`meta_flows.core.inventory.static`).

Field notes:

- ``storage.fields``: the arguments the storage was constructed with, by parameter name (secret
  *names* such as ``access_token_secret`` are kept; credential-like values are ``"<redacted>"``;
  ``secrets`` lists the storage's secret names).
- ``run_config.fields``: every field of Prefect 1's serialized run config (``None`` when unset);
  static entries carry only the arguments written in the source.
- ``executor.fields``: the constructor arguments (classes as dotted paths).
- ``tasks``: every task of the flow, Parameters and Prefect's auto-generated tasks (constants of
  ``.map``, collections) included, each with its class (``type``) and ``auto_generated``; static
  entries list the Parameters and the task calls written directly in the ``with`` block.
- ``labels``: the run config's labels plus ``register(labels=...)``. ``project_name``:
  ``register(project_name=...)`` / ``Client().register(flow, project_name)``; a register call
  under ``if __name__ == "__main__":`` never runs on import, so it is read from the source.
- ``function_name`` is ``None`` only when the codemod does not turn the flow into a module-level
  ``@flow`` function (e.g. a flow built by a factory that takes arguments): no entrypoint exists.
- ``errors``: ``requirements`` (``file`` is the project directory; pip's reason; its flows are
  read statically), ``syntax`` (file and line; the module is skipped), ``import`` / ``timeout``
  (the module failed to load in Prefect 1; its flows are read statically), ``serialize``
  (``flow.serialize()`` failed for one flow; that flow is read statically).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterInfo(_Model):
    name: str
    default: Any = None
    required: bool = False


class TaskInfo(_Model):
    slug: str = Field(description="Unique within the flow (Prefect 1's task slug).")
    name: str
    mapped: bool = False
    type: str | None = Field(None, description="Dotted class of the task (dynamic entries).")
    auto_generated: bool = Field(False, description="Created by Prefect (constants, collections).")


class EdgeInfo(_Model):
    upstream: str = Field(description="Slug of the upstream task.")
    downstream: str
    key: str | None = Field(None, description="Keyword the upstream result is passed as.")
    mapped: bool = False


class ComponentInfo(_Model):
    """A storage, run config or executor: its Prefect 1 class and every field that was set."""

    model_config = ConfigDict(extra="forbid")
    type: str
    fields: dict[str, Any] = Field(default_factory=dict)


class ClockInfo(_Model):
    type: Literal["CronClock", "IntervalClock", "RRuleClock", "DatesClock"]
    cron: str | None = None
    day_or: bool | None = None
    interval: float | str | None = Field(
        None, description="Seconds (IntervalClock); a string only when unevaluated."
    )
    rrule: str | None = None
    dates: list[str] = Field(default_factory=list)
    start_date: str | None = None
    end_date: str | None = None
    timezone: str | None = Field(None, description="IANA name of start_date's tz, if any.")
    parameter_defaults: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    unevaluated: list[str] = Field(
        default_factory=list, description="Static reader: 'field: <unevaluated: EXPR>'."
    )


class ScheduleInfo(_Model):
    clocks: list[ClockInfo] = Field(default_factory=list)
    filters: list[str] = Field(default_factory=list)
    or_filters: list[str] = Field(default_factory=list)
    not_filters: list[str] = Field(default_factory=list)
    adjustments: list[str] = Field(default_factory=list)
    unevaluated: list[str] = Field(
        default_factory=list, description="Static reader: clocks/schedules it could not read."
    )


class FlowInfo(_Model):
    file: str = Field(description="Path of the module, relative to the repository, POSIX style.")
    line: int | None = None
    variable: str | None = Field(None, description="Module variable holding the Flow.")
    name: str = Field(description="The Prefect 1 flow name, verbatim.")
    function_name: str | None = Field(
        description="The @flow function the codemod writes for it (plan_flow_functions); None "
        "when the codemod writes no module-level function for this flow."
    )
    method: Literal["dynamic", "static"]
    dynamic_error: str | None = Field(None, description="Why the dynamic read failed.")
    parameters: list[ParameterInfo] = Field(default_factory=list)
    tasks: list[TaskInfo] = Field(default_factory=list)
    edges: list[EdgeInfo] = Field(default_factory=list)
    storage: ComponentInfo | None = None
    run_config: ComponentInfo | None = None
    executor: ComponentInfo | None = None
    schedule: ScheduleInfo | None = None
    labels: list[str] = Field(default_factory=list)
    project_name: str | None = Field(None, description="flow.register(project_name=...).")
    run_parameters: dict[str, Any] | None = Field(
        None,
        description="Parameter values the module's own flow.run(...) passes (parameters= or "
        "keyword arguments named after parameters), plain JSON only; validation runs the flow "
        "with them when no validation case is given.",
    )

    @property
    def mapped_tasks(self) -> list[TaskInfo]:
        return [t for t in self.tasks if t.mapped]


class InventoryProblem(_Model):
    file: str | None = None
    line: int | None = None
    kind: Literal["requirements", "syntax", "import", "serialize", "timeout", "static"]
    message: str


class WrapperInfo(_Model):
    """The estate's own Prefect 1 ``Flow``/``Task`` subclasses, found by loading its modules
    under Prefect 1 (its company package included): every dotted name they are reachable by."""

    flow_classes: list[str] = Field(default_factory=list)
    task_classes: list[str] = Field(default_factory=list)
    # a Flow subclass whose source shows no behaviour of its own -> the options it only stores on
    # the flow object (see meta_flows.core.codemod.analysis.wrapper_class)
    flow_metadata: dict[str, list[str]] = Field(default_factory=dict)


class Inventory(_Model):
    schema_version: int = SCHEMA_VERSION
    repo: str
    flows: list[FlowInfo] = Field(default_factory=list)
    errors: list[InventoryProblem] = Field(default_factory=list)
    wrappers: WrapperInfo = Field(default_factory=WrapperInfo)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Inventory:
        return cls.model_validate_json(text)
