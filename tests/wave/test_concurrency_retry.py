"""Slot changes of the wave's global concurrency limit are asked again when the server is busy
(SQLite answers 503 under concurrent writes) or the connection failed, not on other errors."""

from __future__ import annotations

import httpx
import pytest

from meta_flows.adapters.prefect2 import concurrency


def _status(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/api/v2/concurrency_limits/increment")
    return httpx.HTTPStatusError(
        "busy", request=request, response=httpx.Response(code, request=request)
    )


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(concurrency.time, "sleep", lambda seconds: None)


def _calls(errors):
    made = []

    def call():
        async def once():
            made.append(1)
            if errors:
                raise errors.pop(0)
            return "done"

        return once()

    return call, made


def test_busy_server_and_lost_connections_are_asked_again():
    call, made = _calls([_status(503), httpx.ConnectError("refused"), _status(429)])
    assert concurrency._retrying(call) == "done"
    assert len(made) == 4


def test_other_errors_are_raised_at_once():
    call, made = _calls([_status(404)])
    with pytest.raises(httpx.HTTPStatusError):
        concurrency._retrying(call)
    assert len(made) == 1


def test_a_server_that_stays_busy_is_given_up_on():
    call, made = _calls([_status(503)] * (concurrency.TRIES + 2))
    with pytest.raises(httpx.HTTPStatusError):
        concurrency._retrying(call)
    assert len(made) == concurrency.TRIES
