"""meta_flows.adapters.prefect2.shadow._write: a 503 (SQLite busy) is retried quickly; anything else goes through.

The retry logic is exercised with plain callables; the real Prefect client is exercised against
a local HTTP endpoint that answers like Prefect's API under a busy SQLite database (a 503 with
Prefect's error body), since a real server's conflicts cannot be produced on demand."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from meta_flows.adapters.prefect2 import shadow

pytestmark = pytest.mark.prefect  # a real Prefect client, with its own retry sleeps


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

    async def __call__(self, *args, **kwargs):
        self.calls += 1
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


def test_a_dropped_connection_is_retried():
    call = Flaky(failures=2, code=httpx.ReadError)
    assert asyncio.run(shadow._write(call, 2)) == ((2,), {})
    assert call.calls == 3


def test_other_errors_are_not_retried():
    call = Flaky(failures=1, code=409)
    with pytest.raises(httpx.HTTPStatusError):
        asyncio.run(shadow._write(call))
    assert call.calls == 1


def test_a_database_that_stays_busy_fails_once_patience_runs_out(monkeypatch):
    monkeypatch.setattr(shadow, "WRITE_PATIENCE", 1.0)
    call = Flaky(failures=10_000)
    started = time.monotonic()
    with pytest.raises(httpx.HTTPStatusError) as raised:
        asyncio.run(shadow._write(call))
    assert raised.value.response.status_code == 503
    assert time.monotonic() - started >= 1.0
    assert 3 <= call.calls < 10_000  # retried for a while, then gave up


def test_a_dozen_busy_answers_in_a_row_are_outlasted():
    # a 450-flow wave met 12 in a row, which a count of 12 attempts did not survive
    call = Flaky(failures=13)
    assert asyncio.run(shadow._write(call, 3)) == ((3,), {})
    assert call.calls == 14


class BusyAPI:
    """A local HTTP endpoint answering ``POST /api/flows/`` with ``busy`` 503s (the body
    Prefect's server sends when SQLite is locked), then the new flow's id; every other path is
    a 404 (so the client finds no CSRF token endpoint, as with a server that has none)."""

    def __init__(self, busy: int) -> None:
        self.busy, self.posts = busy, []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/api/flows/":
                    return self._answer(404, {"detail": "Not Found"})
                api.posts.append((time.monotonic(), json.loads(body)))
                if len(api.posts) <= api.busy:
                    return self._answer(503, {"exception_message": "Service Unavailable"})
                self._answer(201, {"id": str(uuid.uuid4()), "name": "f", "tags": []})

            def do_GET(self):  # noqa: N802
                self._answer(404, {"detail": "Not Found"})

            def _answer(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> BusyAPI:
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()


async def _create_flow(url: str, ours: bool) -> tuple[uuid.UUID, float]:
    """(the flow id, seconds the write took) through a real Prefect client."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(url) as client:
        started = time.monotonic()
        if ours:
            flow_id = await shadow._write(client.create_flow_from_name, "f")
        else:
            flow_id = await client.create_flow_from_name("f")
        return flow_id, time.monotonic() - started


def test_a_real_client_retries_a_busy_api_without_its_own_sleep():
    with BusyAPI(busy=3) as api:
        flow_id, elapsed = asyncio.run(_create_flow(api.url, ours=True))
    assert isinstance(flow_id, uuid.UUID)
    assert [body["name"] for _, body in api.posts] == ["f"] * 4
    # Prefect 2.20's client sleeps ~2 s after a 503 even with its retries off; ours retry
    # after 50, 100, 200 ms (with jitter)
    gaps = [b[0] - a[0] for a, b in zip(api.posts, api.posts[1:], strict=False)]
    assert max(gaps) < 1.2, gaps
    assert elapsed < 3.0, elapsed


def test_the_clients_own_retries_stay_outside_meta_flows_writes():
    with BusyAPI(busy=1) as api:
        flow_id, elapsed = asyncio.run(_create_flow(api.url, ours=False))
    assert isinstance(flow_id, uuid.UUID) and len(api.posts) == 2
    # Prefect's own back-off (2 s, with jitter) between the two
    assert api.posts[1][0] - api.posts[0][0] >= 1.0 and elapsed >= 1.0
