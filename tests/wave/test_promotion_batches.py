"""Promotion batches are decided while the wave is still migrating, with the decisions the
finished wave would take."""

from __future__ import annotations

import random

import pytest

from meta_flows.core.registry import GatePolicy
from meta_flows.orchestration.gate import Decision, PromotionBatches
from meta_flows.orchestration.outcome import Outcome, ReportState


def passed(reason: str = "all equal") -> Outcome:
    return Outcome("p", ReportState.PENDING, gate_passed=True, reason=reason)


def refused(reason: str = "a flow differs") -> Outcome:
    return Outcome("p", ReportState.PENDING, gate_passed=False, reason=reason)


FAILED = Outcome("p", ReportState.FAILED, reason="clone: unreachable")
DONE_BEFORE = Outcome("p", ReportState.PROMOTED)  # settled by an earlier run of the wave


def test_per_project_settles_each_project_the_moment_it_finishes():
    batches = PromotionBatches(GatePolicy(batch_size=2), ["a", "b", "c", "d"])
    assert batches.finish("c", refused()) == [[Decision("c", False, "a flow differs")]]
    assert batches.finish("b", FAILED) == []
    assert batches.finish("d", DONE_BEFORE) == []
    assert batches.finish("a", passed()) == [[Decision("a", True, "all equal")]]


def test_all_or_nothing_waits_for_the_batch_in_registry_order():
    policy = GatePolicy(batch_size=2, batch_policy="all-or-nothing")
    batches = PromotionBatches(policy, ["a", "b", "c", "d", "e"])
    assert batches.finish("b", refused("b differs")) == []  # a, before it, still migrating
    assert batches.finish("a", passed()) == [
        [
            Decision("a", False, "batch rolled back (all-or-nothing): b refused"),
            Decision("b", False, "b differs"),
        ]
    ]
    assert batches.finish("c", FAILED) == []  # in no batch: d and e make the next one
    assert batches.finish("e", passed("e ok")) == []
    assert batches.finish("d", passed("d ok")) == [
        [Decision("d", True, "d ok"), Decision("e", True, "e ok")]
    ]


def test_the_last_batch_may_be_short_and_settles_when_the_wave_has_finished():
    policy = GatePolicy(batch_size=2, batch_policy="all-or-nothing")
    batches = PromotionBatches(policy, ["a", "b", "c"])
    assert batches.finish("a", passed()) == []
    assert batches.finish("c", passed("c ok")) == []
    assert batches.finish("b", FAILED) == [
        [Decision("a", True, "all equal"), Decision("c", True, "c ok")]
    ]


def test_batch_size_zero_all_or_nothing_is_the_whole_wave():
    policy = GatePolicy(batch_policy="all-or-nothing")
    batches = PromotionBatches(policy, ["a", "b", "c"])
    assert batches.finish("a", passed()) == []
    assert batches.finish("b", passed()) == []
    assert batches.finish("c", refused()) == [
        [
            Decision("a", False, "batch rolled back (all-or-nothing): c refused"),
            Decision("b", False, "batch rolled back (all-or-nothing): c refused"),
            Decision("c", False, "a flow differs"),
        ]
    ]


def _at_the_end(policy: GatePolicy, order: list[str], outcomes: dict) -> dict[str, Decision]:
    """The decisions taken once the whole wave has finished (how the wave used to settle)."""
    ready = [n for n in order if outcomes[n].state == "pending"]
    decisions = {}
    for batch in policy.batches(ready):
        refusals = [n for n in batch if not outcomes[n].gate_passed]
        for n in batch:
            ok, why = outcomes[n].gate_passed, outcomes[n].reason
            if ok and refusals and policy.batch_policy == "all-or-nothing":
                ok, why = (
                    False,
                    f"batch rolled back (all-or-nothing): {', '.join(refusals)} refused",
                )
            decisions[n] = Decision(n, ok, why)
    return decisions


@pytest.mark.parametrize("seed", range(40))
def test_same_decisions_as_settling_the_finished_wave(seed):
    rng = random.Random(seed)
    order = [f"p{i}" for i in range(rng.randint(1, 12))]
    outcomes = {
        n: rng.choice(
            [passed(f"{n} ok"), passed(f"{n} ok"), refused(f"{n} no"), FAILED, DONE_BEFORE]
        )
        for n in order
    }
    policy = GatePolicy(
        batch_size=rng.randint(0, 4), batch_policy=rng.choice(["per-project", "all-or-nothing"])
    )
    batches = PromotionBatches(policy, order)
    decided: dict[str, Decision] = {}
    finishing = rng.sample(order, len(order))
    for index, name in enumerate(finishing):
        for batch in batches.finish(name, outcomes[name]):
            for decision in batch:
                assert decision.project not in decided  # each project is settled once
                # only finished projects are settled
                assert decision.project in finishing[: index + 1]
                decided[decision.project] = decision
    assert decided == _at_the_end(policy, order, outcomes)
