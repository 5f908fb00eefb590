"""How a wave run paces its projects: Prefect global concurrency limits, and the task runs'
completions handed to the wave as they come.

A wave submits every project's task run at once (at most :data:`MAX_ALIVE` alive: each holds a
thread while it waits); Prefect global concurrency limits pace them
(:mod:`meta_flows.adapters.prefect2.concurrency`, visible and adjustable in the UI): a project
holds a ``migrating`` slot from its start until its validation ends (``max_parallel + 1``: one is
prepared while ``max_parallel`` validate, so a validation slot never waits for a rewrite) and a
``validating`` slot while it validates; a promotion or rollback holds a ``settling`` slot. A wave
run registers its limits under its flow run id, where its task runs find them (a project's run on
a worker is told its validation limit directly). The wave waits for its task runs with
:class:`Completions`, which hands each back as it finishes.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from meta_flows.core.errors import MetaFlowsError

PREPARE_AHEAD = 1  # projects prepared while max_parallel validate
MAX_ALIVE = 128  # task runs of a wave alive at once (each holds one of Prefect's worker threads)
# A wave's process takes and gives back every slot its own task runs wait for, which wakes them
# at once: the API is asked again this often only for changes made elsewhere (the UI)
LOCAL_POLL_SECONDS = 5.0


class WaveLimits:
    """One wave run's global concurrency limits, and its projects' places in the queue (the
    registry's order)."""

    def __init__(self, ledger_wave: str, max_parallel: int) -> None:
        from meta_flows.adapters.prefect2.concurrency import limit_name

        self.max_parallel = max_parallel
        self.migrating = limit_name(ledger_wave, "migrating")
        self.validating = limit_name(ledger_wave, "validating")
        self.settling = limit_name(ledger_wave, "settling")
        self.order: dict[str, int] = {}
        self._migrating_held: dict[str, object] = {}  # project -> its migrating slot
        self.stopped = False  # the wave stopped: its task runs still waiting give up

    def create(self) -> None:
        """Create the limits, or reset them (a new wave run: no slot is held by anyone)."""
        from meta_flows.adapters.prefect2.concurrency import ensure_limit

        ensure_limit(self.migrating, self.max_parallel + PREPARE_AHEAD)
        ensure_limit(self.validating, self.max_parallel)
        ensure_limit(self.settling, 1)

    def widen_settling(self) -> None:
        """Every project has migrated: ``2 x max_parallel`` promotions or rollbacks at once."""
        from meta_flows.adapters.prefect2.concurrency import resize_limit

        try:
            resize_limit(self.settling, 2 * self.max_parallel)
        except Exception as exc:  # noqa: BLE001 - one at a time is slower, not wrong
            import logging

            logging.getLogger(__name__).warning(
                "could not widen concurrency limit %s: %s: %s", self.settling,
                type(exc).__name__, exc,
            )  # fmt: skip


_LIMITS: dict[object, WaveLimits] = {}  # wave flow run id -> its limits


@contextmanager
def wave_limits(run_id: object, ledger_wave: str, max_parallel: int) -> Iterator[WaveLimits]:
    """The wave run ``run_id``'s limits, created (or reset), registered while the block runs."""
    limits = WaveLimits(ledger_wave, max_parallel)
    limits.create()
    _LIMITS[run_id] = limits
    try:
        yield limits
    except BaseException:
        # the wave stopped with task runs still going: they find it stopped, and give up
        # instead of working unpaced (Prefect waits for them before the flow run ends)
        limits.stopped = True
        from meta_flows.adapters.prefect2.concurrency import wake_waiters

        wake_waiters()
        raise
    else:
        del _LIMITS[run_id]


def active_runs() -> list[object]:
    """The wave runs holding limits now (none once every wave run has ended)."""
    return [run for run, limits in _LIMITS.items() if not limits.stopped]


class PacingError(MetaFlowsError, RuntimeError):
    """A task run of a wave could not get its slot: the wave stopped, or the API failed."""


def _acquire(limits: WaveLimits, limit: str, logger, name: str, what: str = ""):
    """A slot of ``limit`` for project ``name`` (see :func:`migrating_slot`)."""
    from meta_flows.adapters.prefect2.concurrency import Stopped, acquire

    if limits.stopped:
        raise PacingError(f"{name}: the wave stopped before it started; a re-run resumes it")

    def waiting() -> None:
        logger.info("%s: %swaiting for a slot of concurrency limit %s", name, what, limit)

    try:
        return acquire(
            limit,
            waiting,
            order=limits.order.get(name),
            stop=lambda: limits.stopped,
            poll=LOCAL_POLL_SECONDS,
        )
    except Stopped:
        raise PacingError(
            f"{name}: the wave stopped while it waited; a re-run resumes it"
        ) from None
    except Exception as exc:  # noqa: BLE001 - said as the project's outcome
        raise PacingError(
            f"{name}: could not take a slot of concurrency limit {limit}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _wave_limits() -> WaveLimits | None:
    """The limits of the wave run whose task run this thread runs (None outside a wave)."""
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    return _LIMITS.get(context.task_run.flow_run_id) if context else None


@contextmanager
def migrating_slot(logger, name: str) -> Iterator[None]:
    """Hold one of this wave's migrating slots for project ``name``: until the block ends, or its
    validation does (:func:`validation_slot` gives it back). Outside a wave run: no limit."""
    limits = _wave_limits()
    if limits is None:
        yield
        return
    held = _acquire(limits, limits.migrating, logger, name)
    limits._migrating_held[name] = held
    try:
        yield
    finally:
        limits._migrating_held.pop(name, None)
        held.release()


@contextmanager
def settling_slot(logger, name: str) -> Iterator[None]:
    """Hold one of this wave's settling slots (outside a wave run: no limit)."""
    limits = _wave_limits()
    if limits is None:
        yield
        return
    held = _acquire(limits, limits.settling, logger, name)
    try:
        yield
    finally:
        held.release()


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
    """Hold one of this wave's validation slots (none outside a wave run: no limit); when it
    ends, project ``name``'s migrating slot is given back too (the next project may start)."""
    from meta_flows.adapters.prefect2.concurrency import slot

    held = _GLOBAL_LIMIT.get()
    limits = _wave_limits()
    if held is None and limits is None:
        yield
        return
    try:
        if held is None:  # in the wave's process
            validating = _acquire(limits, limits.validating, logger, name, "prepared; ")
            try:
                yield
            finally:
                validating.release()
        else:  # a project's run on a worker
            limit, heartbeat = held

            def waiting() -> None:
                logger.info("%s: prepared; waiting for a slot of concurrency limit %s", name, limit)

            with slot(limit, waiting):
                heartbeat.holding(True)
                try:
                    yield
                finally:
                    heartbeat.holding(False)
    finally:
        migrating = limits._migrating_held.pop(name, None) if limits else None
        if migrating is not None:
            migrating.release()


def in_background(call, *args) -> Future:
    """``call(*args)`` in its own thread, with this thread's context (Prefect settings and run
    context); the future holds its result or exception."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta-flows")
    try:
        return executor.submit(contextvars.copy_context().run, call, *args)
    finally:
        executor.shutdown(wait=False)


class Completions:
    """Task runs of a wave, handed back as they finish (a thread waits on each future)."""

    def __init__(self) -> None:
        self.finished: queue.Queue[tuple[str, str, object]] = queue.Queue()
        self.alive: dict[tuple[str, str], object] = {}
        self.checked = time.monotonic()  # when the task runs' creation was last looked at

    def track(self, kind: str, name: str, future) -> None:
        """Hand back ``(kind, name, future)`` once ``future``'s task run has finished."""
        self.alive[(kind, name)] = future

        def wait() -> None:
            try:
                future.wait()
            except BaseException:  # noqa: BLE001, S110 - told by next() through the future
                pass
            self.finished.put((kind, name, future))

        threading.Thread(target=wait, name=f"meta-flows-wait-{name}", daemon=True).start()

    def __len__(self) -> int:
        return len(self.alive)

    def next(self) -> tuple[str, str, object]:
        """The next finished task run: ``(kind, name, its result)``. Raises
        :class:`ApiUnreachable` or :class:`TaskRunNotCreated` when one could not be created,
        or the task run's own error."""
        while True:
            if time.monotonic() - self.checked > SUBMIT_GRACE:
                # every SUBMIT_GRACE seconds: a task run still not created means the API may
                # have gone away (its client retries for minutes)
                self.checked = time.monotonic()
                if any(not _submitted(f) for f in self.alive.values()):
                    from meta_flows.adapters.prefect2.health import unreachable

                    reason = unreachable()
                    if reason:
                        raise ApiUnreachable(reason) from None
            try:
                kind, name, future = self.finished.get(timeout=SUBMIT_GRACE)
            except queue.Empty:
                continue
            del self.alive[(kind, name)]
            error = getattr(future, CREATION_ERROR, None)
            if error is not None:
                from meta_flows.adapters.prefect2.health import unreachable

                reason = unreachable()
                if reason:
                    raise ApiUnreachable(reason) from error
                raise TaskRunNotCreated(
                    f"{name}: its task run could not be created: {type(error).__name__}: {error}"
                ) from error
            return kind, name, future.result()


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
            except Exception as exc:  # noqa: BLE001 - kept on the future, told by Completions.next
                self.logger.error(
                    "creating task run %s failed: %s: %s",
                    getattr(future, "name", "?"), type(exc).__name__, exc,
                )  # fmt: skip
                if future is None:
                    raise
                from prefect.states import Failed

                setattr(future, CREATION_ERROR, exc)
                # a final state, so that neither Completions nor the engine (which waits for every
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
    crash the flow run: the error is kept on its future and :meth:`Completions.next` raises it
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
