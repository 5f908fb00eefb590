"""The wave's validation slots: ``max_parallel`` projects validate at once while one more is
prepared, and a task run outside a wave (no slots registered) is not limited."""

from __future__ import annotations

import threading
import time

from prefect import flow, get_run_logger, task
from prefect.context import get_run_context

from meta_flows.orchestration.scheduling import active_runs, validation_slot, wave_slots


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
        with validation_slot(get_run_logger(), f"p{i}"):
            METER.enter("inside")
            time.sleep(0.3)
            METER.leave("inside")
    finally:
        METER.leave("alive")
    return i


VALIDATED: set[str] = set()


@flow
def slotted(slots: int | None, n: int) -> list[int]:
    if slots is None:
        return [f.result() for f in [project.submit(i) for i in range(n)]]
    run_id = get_run_context().flow_run.id
    with wave_slots(run_id, slots, f"meta-flows-test-{run_id}") as held:
        try:
            return [f.result() for f in [project.submit(i) for i in range(n)]]
        finally:
            VALIDATED.update(held.validated)


def test_slots_bound_validation_not_preparation(prefect_api):
    global METER
    METER = Meter()
    assert slotted(1, 3) == [0, 1, 2]
    assert METER.max_inside == 1  # one validating at a time...
    assert METER.max_alive >= 2  # ...while the others were preparing alongside
    assert not active_runs()
    assert VALIDATED == {"p0", "p1", "p2"}  # each marked past validation


def test_no_slots_outside_a_wave(prefect_api):
    global METER
    METER = Meter()
    assert slotted(None, 3) == [0, 1, 2]
    assert METER.max_inside >= 2


class _Future:
    def __init__(self) -> None:
        self.finished = threading.Event()

    def wait(self, timeout=None):
        return "done" if self.finished.wait(timeout) else None

    def result(self):
        return {}


class _Task:
    def __init__(self) -> None:
        self.futures: dict[str, _Future] = {}

    def submit(self, name: str) -> _Future:
        self.futures[name] = _Future()
        return self.futures[name]


def _until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _window(task_, calls, limit, done):
    from meta_flows.orchestration.scheduling import Window

    window = Window(task_, limit, done)
    for project, kwargs in calls:
        window.add(project, kwargs)
    while window.busy:
        window.poll()


def test_window_admits_the_next_project_once_one_is_past_validation():
    from types import SimpleNamespace

    task_, done = _Task(), set()
    calls = [(SimpleNamespace(name=n), {"name": n}) for n in "abc"]
    runner = threading.Thread(target=_window, args=(task_, calls, 1), kwargs={"done": done})
    runner.start()
    assert _until(lambda: list(task_.futures) == ["a"])
    time.sleep(0.5)
    assert list(task_.futures) == ["a"]  # limit 1: b waits
    done.add("a")  # a is past validation, still running (its deployments)
    assert _until(lambda: list(task_.futures) == ["a", "b"])
    done.add("b")  # 2 alive = 2 x limit: c waits although a and b are done validating
    time.sleep(0.5)
    assert list(task_.futures) == ["a", "b"]
    task_.futures["a"].finished.set()
    assert _until(lambda: list(task_.futures) == ["a", "b", "c"])
    for future in task_.futures.values():
        future.finished.set()
    runner.join(timeout=5)
    assert not runner.is_alive()
