"""What one run of a flow produced, on either side of a migration, in one comparable shape.

The legacy side (Prefect 1.4.1, in the managed environment) and the migrated side (Prefect 2, a
real flow run against the current API) each produce a :class:`RunCapture`; the comparators turn a
pair of captures into a :class:`CaseVerdict`.

Task results travel as JSON when they are JSON-able (``result``), and always as a stable textual
representation (``result_repr``: ``repr`` with dict keys and sets sorted) so that values that cannot
be serialized still compare. Files are those written under the run's temporary working directory,
by POSIX relative path, with the SHA-256 of their content.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Side = Literal["legacy", "migrated"]
Verdict = Literal["equal", "different", "legacy-error", "migrated-error", "skipped"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCapture(_Model):
    name: str = Field(description="Task name as Prefect named it (P1 task name / P2 task name).")
    map_index: int | None = Field(None, description="Index of a mapped child; None if unmapped.")
    state: str = Field(description="Final state type, e.g. Success/Completed, Failed, Skipped.")
    ok: bool = Field(description="True when the state is a success (P1 Success, P2 Completed).")
    message: str | None = None
    result: Any = None
    result_json: bool = Field(False, description="True when `result` holds the JSON value.")
    result_repr: str | None = None
    auto_generated: bool = Field(
        False,
        description="A task Prefect 1 created implicitly (Parameter, Constant, List/Tuple/Set/Dict, "
        "operators such as GetItem/Add, case's CompareValue, merge's Merge, resource manager "
        "tasks); see meta_flows.core.validation.compare.P1_AUTO_TASK_CLASSES. Never compared.",
    )
    attempts: int | None = Field(
        None, description="How many times the task ran, retries included (None if unknown)."
    )


class RunCapture(_Model):
    side: Side
    flow_name: str
    case: str = "default"
    parameters: dict[str, Any] = Field(default_factory=dict)
    final_state: str | None = None
    ok: bool = False
    error: str | None = Field(None, description="Why the run could not happen or crashed.")
    message: str | None = Field(
        None, description="The final state's message (e.g. why a run that happened ended Failed)."
    )
    tasks: list[TaskCapture] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict, description="relpath -> sha256")
    duration_s: float | None = None
    timed_out: bool = False
    executor: str | None = Field(
        None,
        description="Legacy side: the executor class name (e.g. LocalDaskExecutor); "
        "a Dask executor makes parallelism (§18.4) a candidate explanation of a difference.",
    )
    effects: list[str] = Field(
        default_factory=list,
        description="Calls outside the run the sandbox stopped, in order, as they were made "
        "(e.g. \"run_deployment('child/child', {'day': 1})\"; on the legacy side "
        "\"StartFlowRun('child', {'day': 1})\" or create_flow_run): runs of deployments or "
        "flows it would have started. Reported with the verdict; they do not change it.",
    )


class CaseVerdict(_Model):
    flow_name: str
    case: str
    verdict: Verdict
    file: str | None = Field(None, description="The module defining the flow (repository path).")
    diff: list[str] = Field(default_factory=list, description="Readable lines of what differs.")
    notes: list[str] = Field(
        default_factory=list, description="Known semantic differences (§18) that explain it."
    )
    legacy_duration_s: float | None = None
    migrated_duration_s: float | None = None
    reason: str | None = Field(None, description="Why skipped / which side errored.")
    effects: list[str] = Field(
        default_factory=list,
        description="What either run attempted outside itself and the sandbox stopped, "
        "prefixed with its side (\"migrated: run_deployment('child/child', {})\").",
    )


class ValueOptions(_Model):
    """How two task results are compared (a case's defaults, or one task's overrides)."""

    rel_tol: float = Field(0.0, description="Relative tolerance for floats (math.isclose).")
    abs_tol: float = Field(0.0, description="Absolute tolerance for floats (math.isclose).")
    unordered: bool | list[str] = Field(
        False,
        description="Compare lists as multisets: everywhere (True) or at these dotted paths "
        "(segments are fnmatch patterns; '*' matches any key or list index). DataFrame rows too.",
    )
    check_dtype: bool = Field(True, description="DataFrames: column dtypes must match.")
    comparator: str | None = Field(
        None,
        description="'pkg.module:function' called with (legacy_value, migrated_value), "
        "returning bool or (bool, message); replaces the built-in comparison.",
    )


class CompareOptions(ValueOptions):
    """Per-case comparison options (what a validation case may say about comparing it)."""

    skip: str | None = Field(None, description="Do not compare this case; the reason.")
    ignore_tasks: list[str] = Field(default_factory=list, description="Task name globs.")
    ignore_keys: list[str] = Field(
        default_factory=list,
        description="Dotted paths inside results, optionally scoped to tasks: 'meta.created_at' "
        "(every task) or 'extract:meta.*' (task-name glob before ':'); 'parameters:x' for "
        "parameters. Segments are fnmatch patterns; '*' matches any key or list index.",
    )
    ignore_files: list[str] = Field(
        default_factory=list,
        description="Globs on POSIX relative paths (fnmatch: '*' also matches '/').",
    )
    compare_files: bool = True
    compare_parameters: bool = True
    tasks: dict[str, ValueOptions] = Field(
        default_factory=dict,
        description="Per task-name glob overrides of the value options (fields set there win).",
    )
