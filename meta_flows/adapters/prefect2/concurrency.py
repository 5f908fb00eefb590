"""Prefect global concurrency limits that pace a wave's validation.

A wave run creates (or resets) one limit per wave, ``meta-flows-validating-<wave>``, whose
``limit`` is the wave's ``max_parallel``: visible in the UI's Concurrency page while the wave
runs, and adjustable there. Each project holds one slot while it validates, in the wave's process
or in its ``migrate-project`` flow run on a worker.

Slots are taken with the API's own increment call, asked again every half second while the limit
is full (Prefect 2.20's ``concurrency()`` waits as long as its ``Retry-After`` says: the average
occupancy times the waiters, tens of seconds for validation slots).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

POLL_SECONDS = 0.5


def limit_name(ledger_wave: str) -> str:
    """The global concurrency limit of a wave's validation slots."""
    return f"meta-flows-validating-{ledger_wave}"


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


@contextmanager
def slot(name: str, waiting=None) -> Iterator[None]:
    """Hold one slot of the global concurrency limit ``name`` while the block runs; ``waiting()``
    is called once when the slot is not free at once."""
    told = False
    while not _change_retrying(name, True):
        if not told and waiting is not None:
            waiting()
            told = True
        time.sleep(POLL_SECONDS)
    started = time.monotonic()
    try:
        yield
    finally:
        _change_retrying(name, False, time.monotonic() - started)


def release(name: str) -> None:
    """Give back one slot of ``name`` held by a flow run that is gone."""
    _change_retrying(name, False)


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
