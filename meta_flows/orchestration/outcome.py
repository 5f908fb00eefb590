"""What a wave says about each project: a typed outcome, carried from step to step and reported.

:class:`Outcome` travels between the wave's tasks; :meth:`Outcome.report` is its entry in the JSON
report (``{"name", "state", "reason", "flows", "todos", "drift", "out_of_scope"}``), whose ``state`` is a :class:`ReportState`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

from meta_flows.orchestration.ledger import ProjectRecord, ProjectState

REASON_LIMIT = 1000  # characters of a reason in the report; the ledger keeps it whole


def short_reason(reason: str | None, limit: int = REASON_LIMIT) -> str | None:
    """``reason`` cut to ``limit`` characters, saying where the rest is."""
    if reason is None or len(reason) <= limit:
        return reason
    return f"{reason[:limit].rstrip()}… ({len(reason) - limit} more characters in the ledger)"


class ReportState(str, Enum):
    """A project's state in the report: the ledger's states folded into four."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    FAILED = "failed"
    PENDING = "pending"  # anything in between: validated and waiting for its batch, a dry run


@dataclass
class FlowOutcome:
    """One validation case of one flow."""

    name: str
    case: str
    verdict: str
    file: str | None = None  # the module defining it (several flows may share a name)


@dataclass
class Outcome:
    """What the wave reports for one project."""

    name: str
    state: ReportState
    reason: str | None = None
    flows: list[FlowOutcome] = field(default_factory=list)
    todos: int = 0
    branch: str | None = None
    pr_url: str | None = None
    diffstat: str = ""
    deployments: list[str] = field(default_factory=list)
    run_seconds: float = 0.0  # the flows' own run time (legacy + migrated)
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    gate_passed: bool | None = None
    details: list[str] = field(default_factory=list)  # markdown lines (TODOs, diffs)
    drift: list[str] = field(default_factory=list)  # live deployments vs prefect.yaml (verify)
    out_of_scope: dict[str, str] = field(default_factory=dict)  # file -> why left as it is

    def report(self) -> dict:
        return {
            "name": self.name,
            "state": self.state.value,
            "reason": short_reason(self.reason),
            "flows": [
                {"name": f.name, "file": f.file, "case": f.case, "verdict": f.verdict}
                for f in self.flows
            ],
            "todos": self.todos,
            "drift": self.drift,
            "out_of_scope": [
                {"file": file, "reason": reason}
                for file, reason in sorted(self.out_of_scope.items())
            ],
        }


def report_state(state: ProjectState) -> ReportState:
    """The report's state: promoted, rolled-back, failed or pending (anything in between)."""
    try:
        return ReportState(state.value)
    except ValueError:
        return ReportState.PENDING


def outcome_from_record(record: ProjectRecord) -> Outcome:
    return Outcome(
        name=record.project,
        state=report_state(record.state),
        reason=record.reason,
        flows=[FlowOutcome(f.name, f.case, f.verdict, f.file) for f in record.flows],
        todos=record.todos,
        branch=record.branch,
        pr_url=record.pr_url,
        deployments=list(record.deployment_names),
        out_of_scope=dict(record.out_of_scope),
    )


def outcome_to_dict(outcome: Outcome) -> dict:
    """Everything of ``outcome`` as JSON-able data (an outcome crossing processes)."""
    data = asdict(outcome)
    data["state"] = outcome.state.value
    return data


def outcome_from_dict(data: dict) -> Outcome:
    """The :class:`Outcome` :func:`outcome_to_dict` gave."""
    fields = dict(data)
    fields["state"] = ReportState(fields["state"])
    fields["flows"] = [FlowOutcome(**f) for f in fields.get("flows", [])]
    return Outcome(**fields)
