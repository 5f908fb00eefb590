"""The gate: whether a validated project may be promoted, and the promotion batches of a wave.

The policy itself (``require_equal``, ``allow_skipped``, ``max_todos``) is the registry's
:func:`~meta_flows.core.registry.gate`; this module adds the reasons a refusal reports and cuts the
projects that reach the gate into batches (``batch_size``, ``batch_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass

from meta_flows.core.registry import GatePolicy, gate
from meta_flows.core.validation.model import CaseVerdict
from meta_flows.orchestration.outcome import Outcome, ReportState


def decide(policy: GatePolicy, verdicts: list[CaseVerdict], todos: int) -> tuple[bool, str]:
    """The gate's decision; a refusal also says why each erroring run failed (timeouts...)."""
    passed, why = gate(
        policy, verdicts=[(v.flow_name, v.case, v.verdict) for v in verdicts], todos=todos
    )
    if not passed:
        errors = [
            f"{v.flow_name}: {v.reason}"
            for v in verdicts
            if v.verdict in ("legacy-error", "migrated-error") and v.reason
        ]
        if errors:
            why += " (" + "; ".join(e if len(e) < 300 else e[:299] + "…" for e in errors) + ")"
    return passed, why


@dataclass(frozen=True)
class Decision:
    """Promote a validated project, or roll it back; ``reason`` is what the report says."""

    project: str
    promote: bool
    reason: str


class PromotionBatches:
    """The wave's promotion batches, decided while the wave's projects are still migrating.

    The gate policy cuts the projects that reach the gate (outcome state ``pending``), in the
    registry's order, into batches of ``batch_size`` (0: the whole wave). :meth:`finish` takes
    each project's outcome as it finishes and returns the batches that can be settled now:

    - ``per-project``: each project is promoted on its own gate, so it settles the moment it
      finishes (batches only group the report);
    - ``all-or-nothing``: a batch settles once every project up to its last member has finished
      (a failed project is in no batch, so the batches are those of the finished wave), and one
      refused member rolls the whole batch back.

    The decisions are the same as taking them once the whole wave has finished, only earlier.
    """

    def __init__(self, policy: GatePolicy, order: list[str]) -> None:
        self.policy = policy
        self.order = list(order)
        self.outcomes: dict[str, Outcome] = {}
        self._seen = 0  # order[:_seen] have finished, and their ready ones are queued or batched
        self._queued: list[str] = []  # ready, in the registry's order, not yet in a batch

    def finish(self, name: str, outcome: Outcome) -> list[list[Decision]]:
        self.outcomes[name] = outcome
        if self.policy.batch_policy == "per-project":
            return [[self._own(name)]] if self._ready(name) else []
        while self._seen < len(self.order) and self.order[self._seen] in self.outcomes:
            if self._ready(self.order[self._seen]):
                self._queued.append(self.order[self._seen])
            self._seen += 1
        batches = []
        size = self.policy.batch_size
        while size and len(self._queued) >= size:
            batches.append(self._all_or_nothing(self._queued[:size]))
            del self._queued[:size]
        if self._seen == len(self.order) and self._queued:
            batches.append(self._all_or_nothing(self._queued))
            self._queued = []
        return batches

    def _ready(self, name: str) -> bool:
        return self.outcomes[name].state == ReportState.PENDING

    def _own(self, name: str) -> Decision:
        outcome = self.outcomes[name]
        return Decision(name, bool(outcome.gate_passed), outcome.reason or "")

    def _all_or_nothing(self, batch: list[str]) -> list[Decision]:
        own = [self._own(name) for name in batch]
        refused = [d.project for d in own if not d.promote]
        if not refused:
            return own
        why = f"batch rolled back (all-or-nothing): {', '.join(refused)} refused"
        return [d if not d.promote else Decision(d.project, False, why) for d in own]
