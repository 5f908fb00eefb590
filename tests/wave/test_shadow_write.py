"""meta_flows.shadow._write: a 503 (SQLite busy) is retried quickly; anything else goes through."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES

from meta_flows import shadow


def _status_error(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/api/deployments/")
    response = httpx.Response(code, request=request, json={"exception_message": "x"})
    return httpx.HTTPStatusError(f"{code}", request=request, response=response)


class Flaky:
    """Fails with ``code`` (a status, or an exception class) ``failures`` times, then returns
    its arguments."""

    def __init__(self, failures: int, code=503) -> None:
        self.failures = failures
        self.code = code
        self.calls = 0
        self.client_retries: list[int] = []

    async def __call__(self, *args, **kwargs):
        self.calls += 1
        self.client_retries.append(PREFECT_CLIENT_MAX_RETRIES.value())
        if self.calls <= self.failures:
            if isinstance(self.code, int):
                raise _status_error(self.code)
            raise self.code("connection reset")
        return args, kwargs


def test_busy_database_is_retried_quickly_without_the_clients_own_backoff():
    call = Flaky(failures=3)
    started = time.monotonic()
    assert asyncio.run(shadow._write(call, 1, name="x")) == ((1,), {"name": "x"})
    elapsed = time.monotonic() - started
    assert call.calls == 4
    assert elapsed < 1.5  # Prefect's client alone would have slept 2 + 4 + 8 s
    assert call.client_retries == [0, 0, 0, 0]  # its own retries are off inside


def test_a_dropped_connection_is_retried():
    call = Flaky(failures=2, code=httpx.ReadError)
    assert asyncio.run(shadow._write(call, 2)) == ((2,), {})
    assert call.calls == 3


def test_other_errors_are_not_retried():
    call = Flaky(failures=1, code=409)
    with pytest.raises(httpx.HTTPStatusError):
        asyncio.run(shadow._write(call))
    assert call.calls == 1


def test_a_database_that_stays_busy_fails_after_the_last_attempt():
    call = Flaky(failures=shadow.WRITE_ATTEMPTS)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        asyncio.run(shadow._write(call))
    assert raised.value.response.status_code == 503
    assert call.calls == shadow.WRITE_ATTEMPTS
