"""The wave's validation slots: ``max_parallel`` projects validate at once while one more is
prepared, and a task run outside a wave (no slots registered) is not limited."""

from __future__ import annotations

import threading
import time

from prefect import flow, get_run_logger, task
from prefect.context import get_run_context

from meta_flows.flows.wave import _VALIDATION_SLOTS, _validation_slot


class Meter:
    """How many holders at once, at most; and how many task runs were alive at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = self.alive = 0
        self.max_inside = self.max_alive = 0

    def enter(self, attr: str) -> None:
        with self.lock:
            setattr(self, attr, getattr(self, attr) + 1)
            top = f"max_{attr}"
            setattr(self, top, max(getattr(self, top), getattr(self, attr)))

    def leave(self, attr: str) -> None:
        with self.lock:
            setattr(self, attr, getattr(self, attr) - 1)


METER = Meter()


@task
def project(i: int) -> int:
    METER.enter("alive")
    try:
        time.sleep(0.3)  # "preparing": outside the slot
        with _validation_slot(get_run_logger(), f"p{i}"):
            METER.enter("inside")
            time.sleep(0.3)
            METER.leave("inside")
    finally:
        METER.leave("alive")
    return i


@flow
def slotted(slots: int | None, n: int) -> list[int]:
    run = get_run_context().flow_run.id
    if slots is not None:
        _VALIDATION_SLOTS[run] = threading.BoundedSemaphore(slots)
    try:
        return [f.result() for f in [project.submit(i) for i in range(n)]]
    finally:
        _VALIDATION_SLOTS.pop(run, None)


def test_slots_bound_validation_not_preparation(prefect_api):
    global METER
    METER = Meter()
    assert slotted(1, 3) == [0, 1, 2]
    assert METER.max_inside == 1  # one validating at a time...
    assert METER.max_alive >= 2  # ...while the others were preparing alongside
    assert not _VALIDATION_SLOTS


def test_no_slots_outside_a_wave(prefect_api):
    global METER
    METER = Meter()
    assert slotted(None, 3) == [0, 1, 2]
    assert METER.max_inside >= 2
