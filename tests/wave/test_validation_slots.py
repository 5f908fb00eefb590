"""The wave's global concurrency limits: ``max_parallel`` projects validate at once while one more
is prepared, a project's migrating slot is given back when its validation ends, waiters of one
process take turns in the registry's order, and a task run outside a wave is not limited."""

from __future__ import annotations

import contextvars
import threading
import time

from prefect import flow, get_run_logger, task
from prefect.context import get_run_context

from meta_flows.adapters.prefect2 import concurrency
from meta_flows.orchestration.scheduling import (
    Completions,
    PacingError,
    active_runs,
    migrating_slot,
    validation_slot,
    wave_limits,
)


class Meter:
    """How many holders at once, at most, per stage; and the order things happened in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.top: dict[str, int] = {}
        self.events: list[str] = []

    def enter(self, stage: str, name: str) -> None:
        with self.lock:
            self.now[stage] = self.now.get(stage, 0) + 1
            self.top[stage] = max(self.top.get(stage, 0), self.now[stage])
            self.events.append(f"{stage}+{name}")

    def leave(self, stage: str, name: str) -> None:
        with self.lock:
            self.now[stage] -= 1
            self.events.append(f"{stage}-{name}")


METER = Meter()


ARRIVED: list[str] = []
MIGRATING: list[str] = []  # the wave's migrating limit, in a wave
HELD_AFTER_VALIDATION: dict[str, int] = {}


@task
def project(name: str) -> str:
    logger = get_run_logger()
    ARRIVED.append(name)
    with migrating_slot(logger, name):
        METER.enter("migrating", name)
        time.sleep(0.3)  # preparing: outside the validation slot
        with validation_slot(logger, name):
            METER.enter("validating", name)
            time.sleep(0.3)
            METER.leave("validating", name)
        if MIGRATING:  # past validation (shadow deployments): its migrating slot is back
            HELD_AFTER_VALIDATION[name] = concurrency.held(MIGRATING[0])[0]
        time.sleep(0.3)
        METER.leave("migrating", name)
    return name


LIMITS: list[tuple[int, int] | None] = []


@flow
def slotted(slots: int | None, names: list[str], block: bool = True) -> list[str]:
    if slots is None:
        return [f.result() for f in [project.submit(n) for n in names]]
    run_id = get_run_context().flow_run.id
    with wave_limits(run_id, f"test-{run_id}", slots) as limits:
        limits.order.update({n: i for i, n in enumerate(names)})
        MIGRATING[:] = [limits.migrating]
        LIMITS.extend(concurrency.held(name) for name in (limits.migrating, limits.validating))
        # the migrating slots taken until every project waits for one: they start in order
        blockers = [concurrency.acquire(limits.migrating) for _ in range(slots + 1) if block]
        runs = Completions()
        for n in names:
            runs.track("migrate", n, project.submit(n))
        while block and len(concurrency._TURNS.queues.get(limits.migrating, [])) < len(names):
            time.sleep(0.05)  # until every project waits in the queue
        for blocker in blockers:
            blocker.release()
        done = []
        while len(runs):
            done.append(runs.next()[1])
        LIMITS.extend(concurrency.held(name) for name in (limits.migrating, limits.validating))
        return done


def test_limits_bound_validation_and_preparation(prefect_api):
    global METER
    METER = Meter()
    LIMITS.clear()
    ARRIVED.clear()
    HELD_AFTER_VALIDATION.clear()
    names = ["p3", "p1", "p0", "p2"]  # the registry's order
    assert sorted(slotted(1, names)) == sorted(names)
    assert METER.top["validating"] == 1  # one validating at a time
    # the limits, in the API: 1 + 1 prepared ahead, 1 validating; none held at the end
    assert LIMITS == [(0, 2), (0, 1), (0, 2), (0, 1)]
    assert not active_runs()
    # every project waited for a migrating slot: they started in the registry's order (two
    # at a time: the two of a pair are told one after the other but record it in their threads)
    started = [e.split("+")[1] for e in METER.events if e.startswith("migrating+")]
    assert set(started[:2]) == set(names[:2]) and set(started[2:]) == set(names[2:])


def test_a_migrating_slot_is_given_back_when_validation_ends(prefect_api):
    global METER
    METER = Meter()
    ARRIVED.clear()
    HELD_AFTER_VALIDATION.clear()
    assert slotted(1, ["solo"], block=False) == ["solo"]
    # past its validation (its block not yet left), the project no longer held its slot
    assert HELD_AFTER_VALIDATION == {"solo": 0}


def test_no_limits_outside_a_wave(prefect_api):
    global METER
    METER = Meter()
    MIGRATING.clear()
    assert slotted(None, ["a", "b", "c"]) == ["a", "b", "c"]
    assert METER.top["validating"] >= 2


def test_waiters_of_one_process_take_turns_in_order_and_only_the_first_asks(
    prefect_api, monkeypatch
):
    name = "meta-flows-test-turns"
    concurrency.ensure_limit(name, 1)
    asks: list[str] = []
    real = concurrency._change

    async def counted(limit, acquire, seconds=0.0):
        if acquire and threading.current_thread().name.startswith("w"):
            asks.append(threading.current_thread().name)
        return await real(limit, acquire, seconds)

    monkeypatch.setattr(concurrency, "_change", counted)
    got: list[int] = []
    first = concurrency.acquire(name)

    def waiter(order: int) -> None:
        with concurrency.slot(name, order=order):
            got.append(order)
            time.sleep(0.1)

    threads = [  # with this thread's Prefect settings (the test server)
        threading.Thread(target=contextvars.copy_context().run, args=(waiter, o), name=f"w{o}")
        for o in (2, 0, 1)
    ]
    for t in threads:
        t.start()
    # the limit stays full until all three wait and the first of them in order has asked (however
    # late a loaded machine starts the threads), then for 1.5 s more
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        len(concurrency._TURNS.queues.get(name, ())) == 3 and "w0" in asks
    ):
        time.sleep(0.05)
    time.sleep(1.5)
    waiting = list(asks)
    first.release()
    for t in threads:
        t.join(timeout=30)
    assert got == [0, 1, 2]
    # one waiter at a time asked the API while the limit was full: once all had come, only the
    # first in order (w0), every 0.5 s (three asking would be three times as many)
    assert "w0" in waiting, waiting
    since_all = waiting[waiting.index("w0") :]
    assert set(since_all) == {"w0"} and len(since_all) <= 6, waiting
    assert concurrency.held(name) == (0, 1)


WORKED: list[str] = []
STOPPED = threading.Event()


@task
def paced(name: str) -> str:
    try:
        with migrating_slot(get_run_logger(), name):
            WORKED.append(name)
            STOPPED.wait(60)  # its slot held until the wave has stopped
        return "worked"
    except PacingError as exc:
        return str(exc)


@flow
def stopping(names: list[str]) -> list[str]:
    run_id = get_run_context().flow_run.id
    futures = []
    try:
        with wave_limits(run_id, f"stop-{run_id}", 1) as limits:  # 2 migrating slots
            limits.order.update({n: i for i, n in enumerate(names)})
            futures = [paced.submit(n) for n in names]
            while len(WORKED) < 2:
                time.sleep(0.05)
            raise RuntimeError("the API went away")
    except RuntimeError:
        STOPPED.set()
    return [f.result() for f in futures]


def test_a_stopped_wave_s_waiting_task_runs_give_up_instead_of_working_unpaced(prefect_api):
    WORKED.clear()
    STOPPED.clear()
    names = ["a", "b", "c", "d"]
    results = dict(zip(names, stopping(names), strict=True))
    assert len(WORKED) == 2  # the two with a slot; nobody else worked, paced or not
    for name, said in results.items():
        if name in WORKED:
            assert said == "worked"
        else:
            assert said.startswith(f"{name}: the wave stopped"), said
            assert said.endswith("a re-run resumes it")
    assert not active_runs()
