"""Prefect global concurrency limits that pace a wave.

A wave run creates (or resets) three limits per wave, visible in the UI's Concurrency page while
the wave runs and adjustable there:

- ``meta-flows-migrating-<wave>``: ``max_parallel + 1`` slots; a project holds one from its start
  until its validation ends (so one project is prepared while ``max_parallel`` validate);
- ``meta-flows-validating-<wave>``: ``max_parallel`` slots; a project holds one while it validates,
  in the wave's process or in its ``migrate-project`` flow run on a worker;
- ``meta-flows-settling-<wave>``: promotions and rollbacks, one at a time while projects still
  migrate, then ``2 x max_parallel``.

Slots are taken with the API's own increment call, asked again every half second while the limit
is full (Prefect 2.20's ``concurrency()`` waits as long as its ``Retry-After`` says: the average
occupancy times the waiters, tens of seconds for validation slots). Within one process the
waiters for a limit take turns in the order they were given (a wave's registry order): only the
first asks the API, and a slot given back in the process wakes it at once, so a hundred waiting
projects cost the API no more than one. A wave's own process, which gives back every slot its
task runs wait for, asks again only every few seconds (for changes made in the UI); a project's
run on a worker, whose slot is given back by another process, every half second.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

POLL_SECONDS = 0.5

Kind = Literal["migrating", "validating", "settling"]


def limit_name(ledger_wave: str, kind: Kind = "validating") -> str:
    """The global concurrency limit of a wave's ``kind`` slots."""
    return f"meta-flows-{kind}-{ledger_wave}"


def _run(coro):
    return asyncio.run(coro)


async def _ensure(name: str, limit: int) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit, active=True)
            )
            return
        # a new wave run: no slot is held by anyone yet (the workspace lock makes it the only one)
        await client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=limit, active=True, active_slots=0)
        )


def ensure_limit(name: str, limit: int) -> None:
    """Create the global concurrency limit ``name`` with ``limit`` slots, or set an existing one
    to ``limit`` slots, active, none held."""
    _retrying(lambda: _ensure(name, limit))


async def _resize(name: str, limit: int) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    async with get_client() as client:
        await client.update_global_concurrency_limit(
            name, GlobalConcurrencyLimitUpdate(limit=limit)
        )


def resize_limit(name: str, limit: int) -> None:
    """Set the global concurrency limit ``name`` to ``limit`` slots (the slots held stay held);
    waiters in this process try again at once."""
    _retrying(lambda: _resize(name, limit))
    _TURNS.wake()


async def _change(name: str, acquire: bool, seconds: float = 0.0) -> bool:
    import httpx
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        if not acquire:
            await client.release_concurrency_slots([name], 1, seconds)
            return True
        try:
            await client.increment_concurrency_slots([name], 1, "concurrency")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 423:  # full
                return False
            raise
        return True


TRIES = 8  # calls of a slot change before its error is raised (a busy server answers 503)


def _transient(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


def _change_retrying(name: str, acquire: bool, seconds: float = 0.0) -> bool:
    return _retrying(lambda: _change(name, acquire, seconds))


def _retrying(call):
    """``call()``'s coroutine run, made again (with a growing pause) when the server is busy or
    the connection failed; the last error is raised."""
    for attempt in range(TRIES):
        try:
            return _run(call())
        except Exception as exc:
            if not _transient(exc) or attempt + 1 == TRIES:
                raise
            time.sleep(min(0.25 * 2**attempt, 4.0))
    raise AssertionError("unreachable")  # pragma: no cover


class _Turns:
    """The waiters of each limit in this process, in order: only the first asks the API."""

    def __init__(self) -> None:
        self.changed = threading.Condition()  # the waiters changed
        self.given_back = threading.Condition()
        self.woken = 0  # slots given back so far
        self.queues: dict[str, list[tuple[float, int]]] = {}
        self.arrivals = itertools.count()

    @contextmanager
    def queued(self, name: str, order: float | None) -> Iterator[tuple[float, int]]:
        """Join ``name``'s waiters (by ``order``, then arrival) while the block runs."""
        arrival = next(self.arrivals)
        me = (float(arrival) if order is None else order, arrival)
        with self.changed:
            heapq.heappush(self.queues.setdefault(name, []), me)
        try:
            yield me
        finally:
            with self.changed:
                queue = self.queues[name]
                queue.remove(me)
                heapq.heapify(queue)
                if not queue:
                    del self.queues[name]
                self.changed.notify_all()

    def wait_first(self, name: str, me: tuple[float, int], stop=None) -> None:
        """Wait until ``me`` is the first of ``name``'s waiters (or ``stop()`` says so)."""
        with self.changed:
            while self.queues[name][0] != me and not (stop is not None and stop()):
                self.changed.wait(POLL_SECONDS if stop is not None else None)

    def pause(self, seconds: float, since: int) -> None:
        """Sleep up to ``seconds``, less when a slot is given back in this process (at once
        when one was given back since :meth:`wakes` said ``since``)."""
        with self.given_back:
            if self.woken == since:
                self.given_back.wait(seconds)

    def wakes(self) -> int:
        with self.given_back:
            return self.woken

    def wake(self) -> None:
        """A slot was given back (or a limit widened) in this process: the first waiters ask."""
        with self.given_back:
            self.woken += 1
            self.given_back.notify_all()


_TURNS = _Turns()


class Held:
    """One slot of a limit, held until :meth:`release` (called again: nothing happens)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.released = False

    def release(self) -> None:
        """Give the slot back; never raises: a slot the API cannot take back is logged (the
        next wave run resets its limits)."""
        with self._lock:
            if self.released:
                return
            try:
                _change_retrying(self.name, False, time.monotonic() - self.started)
            except Exception as exc:  # noqa: BLE001 - the work it paced is done either way
                logging.getLogger(__name__).warning(
                    "could not give back a slot of concurrency limit %s: %s: %s (it stays "
                    "held until the limit is reset, by the next wave run or in the UI)",
                    self.name, type(exc).__name__, exc,
                )  # fmt: skip
                return
            self.released = True
        _TURNS.wake()


class Stopped(RuntimeError):
    """The waiter was told to stop waiting (its wave stopped)."""


def acquire(
    name: str,
    waiting=None,
    order: float | None = None,
    stop: Callable[[], bool] | None = None,
    poll: float = POLL_SECONDS,
) -> Held:
    """One slot of the global concurrency limit ``name``, once free; ``waiting()`` is called
    once when it is not free at once. Waiters of this process take turns by ``order`` (then
    arrival) and ask again every ``poll`` seconds, at once when a slot is given back in this
    process. Raises :class:`Stopped` when ``stop()`` says so while it waits."""
    told = False
    with _TURNS.queued(name, order) as me:
        while True:
            _TURNS.wait_first(name, me, stop)  # a waiter that came later may be ahead
            if stop is not None and stop():
                raise Stopped(name)
            since = _TURNS.wakes()  # a slot given back while this one asks is not missed
            if _change_retrying(name, True):
                held = Held(name)
                if stop is not None and stop():  # told while its ask was on its way
                    held.release()
                    raise Stopped(name)
                return held
            if not told and waiting is not None:
                waiting()
                told = True
            _TURNS.pause(poll, since)


@contextmanager
def slot(name: str, waiting=None, order: float | None = None) -> Iterator[None]:
    """Hold one slot of the global concurrency limit ``name`` while the block runs (see
    :func:`acquire`)."""
    held = acquire(name, waiting, order)
    try:
        yield
    finally:
        held.release()


def release(name: str) -> None:
    """Give back one slot of ``name`` held by a flow run that is gone."""
    _change_retrying(name, False)
    _TURNS.wake()


def held(name: str) -> tuple[int, int] | None:
    """(slots held, limit) of ``name``, or None when there is no such limit."""
    return _run(_read(name))


async def _read(name: str) -> tuple[int, int] | None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            found = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None
    return found.active_slots, found.limit


def wake_waiters() -> None:
    """Have every waiter of this process look again now (at its ``stop``, at the queue)."""
    _TURNS.wake()
    with _TURNS.changed:
        _TURNS.changed.notify_all()
