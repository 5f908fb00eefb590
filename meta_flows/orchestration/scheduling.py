"""How a wave run paces its projects: validation slots, a sliding window of task runs, background
work.

A wave's projects validate ``max_parallel`` at a time while one more is prepared (cloned,
rewritten, pushed), so a slot never waits for a rewrite; a project past validation (finishing its
shadow deployments in the background) no longer counts against the window. The slots are those
of a Prefect global concurrency limit (:mod:`meta_flows.adapters.prefect2.concurrency`), which
the UI shows and can change while the wave runs; a wave run registers its limit under its flow
run id, where its task runs find it (a project's run on a worker is told it directly).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.registry import Project

PREPARE_AHEAD = 1  # projects prepared while max_parallel validate


class ValidationSlots:
    """One wave run's validation slots: the Prefect global concurrency limit that holds them,
    and the projects past validation (a project's task run may still be finishing its shadow
    deployments; it no longer counts against the window)."""

    def __init__(self, limit: str) -> None:
        self.limit = limit
        self.validated: set[str] = set()


_SLOTS: dict[object, ValidationSlots] = {}  # wave flow run id -> its slots


@contextmanager
def wave_slots(run_id: object, size: int, limit: str) -> Iterator[ValidationSlots]:
    """Validation slots for the wave run ``run_id`` while the block runs: ``size`` slots of the
    global concurrency limit ``limit`` (created, or reset to ``size`` slots with none held)."""
    from meta_flows.adapters.prefect2.concurrency import ensure_limit

    ensure_limit(limit, size)
    slots = _SLOTS[run_id] = ValidationSlots(limit)
    try:
        yield slots
    finally:
        del _SLOTS[run_id]


def slots_of(run_id: object) -> ValidationSlots | None:
    return _SLOTS.get(run_id)


def active_runs() -> list[object]:
    """The wave runs holding slots now (none once every wave run has ended)."""
    return list(_SLOTS)


_GLOBAL_LIMIT: contextvars.ContextVar[tuple[str, object] | None] = contextvars.ContextVar(
    "meta_flows_global_limit", default=None
)


@contextmanager
def global_validation_slots(limit: str, heartbeat) -> Iterator[None]:
    """While the block runs, :func:`validation_slot` holds a slot of the Prefect global
    concurrency limit ``limit`` (a project run on a worker; ``heartbeat.holding(bool)`` is told
    when it holds one). An empty ``limit``: no change."""
    if not limit:
        yield
        return
    token = _GLOBAL_LIMIT.set((limit, heartbeat))
    try:
        yield
    finally:
        _GLOBAL_LIMIT.reset(token)


@contextmanager
def validation_slot(logger, name: str) -> Iterator[None]:
    """Hold one of this wave's validation slots (none outside a wave run: no limit)."""
    from prefect.context import TaskRunContext

    from meta_flows.adapters.prefect2.concurrency import slot

    held = _GLOBAL_LIMIT.get()
    context = TaskRunContext.get()
    slots = _SLOTS.get(context.task_run.flow_run_id) if context else None
    if held is None and slots is None:
        yield
        return
    limit, heartbeat = held if held is not None else (slots.limit, None)

    def waiting() -> None:
        logger.info("%s: prepared; waiting for a slot of concurrency limit %s", name, limit)

    try:
        with slot(limit, waiting):
            if heartbeat is not None:
                heartbeat.holding(True)
            try:
                yield
            finally:
                if heartbeat is not None:
                    heartbeat.holding(False)
    finally:
        if slots is not None:
            slots.validated.add(name)


def in_background(call, *args) -> Future:
    """``call(*args)`` in its own thread, with this thread's context (Prefect settings and run
    context); the future holds its result or exception."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta-flows")
    try:
        return executor.submit(contextvars.copy_context().run, call, *args)
    finally:
        executor.shutdown(wait=False)


class Window:
    """Task runs of one task, one per (project, keyword arguments) added, at most ``limit`` at a
    time: a new task run starts as soon as one finishes (no waiting for the slowest of a
    group). Projects in ``done`` (a live set: past their heavy part) no longer count against
    ``limit``; at most ``2 * limit`` task runs are alive at once."""

    def __init__(self, task_, limit: int, done=frozenset()) -> None:
        self.task, self.limit, self.done = task_, limit, done
        self.pending: list[tuple[Project, dict]] = []
        self.running: dict[str, object] = {}
        self.checked = time.monotonic()  # when the API was last asked whether it answers

    def add(self, project: Project, kwargs: dict) -> None:
        self.pending.append((project, kwargs))

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.running)

    def poll(self, seconds: float = 0.25) -> list[tuple[str, object]]:
        """Start what may start, wait up to about ``seconds`` in all; (name, result) finished."""
        while (
            self.pending
            and len([n for n in self.running if n not in self.done]) < self.limit
            and len(self.running) < 2 * self.limit
        ):
            project, kwargs = self.pending.pop(0)
            self.running[project.name] = self.task.submit(**kwargs)
        finished = []
        each = min(max(seconds / max(len(self.running), 1), 0.02), seconds)
        waited = False
        for name, future in list(self.running.items()):
            error = getattr(future, CREATION_ERROR, None)
            if error is not None:
                from meta_flows.adapters.prefect2.health import unreachable

                reason = unreachable()
                if reason:
                    raise ApiUnreachable(reason) from error
                raise TaskRunNotCreated(
                    f"{name}: its task run could not be created: {type(error).__name__}: {error}"
                ) from error
            if not _submitted(future):
                continue  # its task run is still being created (see _submitted)
            waited = True
            if future.wait(timeout=each) is not None:
                finished.append((name, future.result()))
                del self.running[name]
        if not waited:
            time.sleep(min(seconds, 0.1))
        if self.running and time.monotonic() - self.checked > SUBMIT_GRACE:
            self.checked = time.monotonic()
            if any(not _submitted(f) for f in self.running.values()):
                from meta_flows.adapters.prefect2.health import unreachable

                reason = unreachable()
                if reason:
                    raise ApiUnreachable(reason)
        return finished


SUBMIT_GRACE = 10.0  # seconds a task run may take to be created before the API is asked


class ApiUnreachable(MetaFlowsError, RuntimeError):
    """The Prefect 2 API the wave's task runs are created in does not answer."""


class TaskRunNotCreated(MetaFlowsError, RuntimeError):
    """Prefect could not create a task run of the wave (other than the API being away)."""


CREATION_ERROR = "meta_flows_creation_error"  # set on a future whose task run was not created


class _GuardedTaskGroup:
    """The flow run's background task group, with each background call's exception kept on its
    future (``CREATION_ERROR``, and a Failed final state) instead of raised into the group (which
    crashes the flow run)."""

    def __init__(self, group, logger) -> None:
        self.group, self.logger = group, logger

    def start_soon(self, func, *args, name=None):
        future = getattr(func, "keywords", {}).get("future")

        async def guarded(*args):
            try:
                await func(*args)
            except Exception as exc:  # noqa: BLE001 - kept on the future, told by Window.poll
                self.logger.error(
                    "creating task run %s failed: %s: %s",
                    getattr(future, "name", "?"), type(exc).__name__, exc,
                )  # fmt: skip
                if future is None:
                    raise
                from prefect.states import Failed

                setattr(future, CREATION_ERROR, exc)
                # a final state, so that neither Window nor the engine (which waits for every
                # task run at the flow run's end) waits for a submission that never comes
                future._final_state = Failed(
                    message=f"its task run could not be created: {type(exc).__name__}: {exc}",
                    data=exc,
                )
                future._submitted.set()

        return self.group.start_soon(guarded, *args, name=name)

    def __getattr__(self, attribute):
        return getattr(self.group, attribute)


@contextmanager
def task_run_creation_guarded(logger) -> Iterator[None]:
    """While the block runs, a task run of this flow run that cannot be created (Prefect 2.20
    creates it in the flow run's background task group after ``Task.submit`` returned) does not
    crash the flow run: the error is kept on its future and :meth:`Window.poll` raises it
    (:class:`ApiUnreachable` when the API does not answer), so the wave can say what it knows."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.background_tasks is None:
        yield
        return
    original = context.background_tasks
    context.background_tasks = _GuardedTaskGroup(original, logger)
    try:
        yield
    finally:
        context.background_tasks = original


def _submitted(future) -> bool:
    """Whether ``future``'s task run was created and submitted. Prefect 2.20 creates it in the
    background after ``Task.submit`` returned; when that fails (the API went away) the future's
    ``wait(timeout)`` waits for the submission forever, whatever its timeout: such a future is
    not waited on, and the API is asked instead."""
    event = getattr(future, "_submitted", None)
    return event is None or event.is_set()
