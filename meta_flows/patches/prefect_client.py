"""Let a Prefect API client send a request once, without its own retries, where meta-flows
retries it itself.

Prefect 2.20's ``PrefectHttpxAsyncClient.send`` sleeps ~2 s after a ``503`` even when told to make no
retry (``PREFECT_CLIENT_MAX_RETRIES=0``: it waits, then returns the response). The wave's
deployment writes take turns and retry a busy API within 50 ms, so those sleeps held up every
write of the wave. :func:`send_once` wraps one client's ``send``: while :data:`ONCE` is set in
the calling context, the request goes out once through httpx (with Prefect's CSRF header and
response type); every other request of that client keeps Prefect's own retries.

Patched: ``prefect.client.base.PrefectHttpxAsyncClient`` (its ``send``, ``_add_csrf_headers``,
``csrf_token``, ``enable_csrf_support``, ``raise_on_all_errors``) and
``prefect.client.base.PrefectResponse.from_httpx_response``, for the Prefect versions in
:data:`TESTED`; outside them, or when those internals are missing, the client is left alone.
"""

from __future__ import annotations

import contextvars

from meta_flows.patches import in_tested_range

TESTED = ">=2.20,<3"  # Prefect 2.20 is the last 2.x line
APPLIES = in_tested_range("prefect", TESTED)


ONCE: contextvars.ContextVar[bool] = contextvars.ContextVar("meta_flows_once", default=False)
"""True while meta-flows sends a request it retries itself (see :func:`send_once`)."""


def send_once(http) -> None:
    """Let ``http`` (a Prefect client's ``PrefectHttpxAsyncClient``) send a request once, without
    Prefect's retries, while :data:`ONCE` is set (the Prefect adapter's own retried writes); the
    client's other requests keep Prefect's retries.

    Prefect 2.20's client sleeps 2 s after a ``503`` even when told to make no retry
    (``PREFECT_CLIENT_MAX_RETRIES=0``: it waits, then returns the response). A wave writes while
    its validation runs write, so the API answers ``503`` to between one deployment upsert in four
    and one in two (on SQLite, another write came between the upsert's read and its write); those 2 s
    sleeps, inside the wave's one-write-at-a-time turn, were most of the time its deployment
    writes took (a 450-flow wave: ~550 of 660 s).
    """
    if getattr(http, "_meta_flows_once", False) or not APPLIES:
        return
    add_csrf = getattr(http, "_add_csrf_headers", None)
    if add_csrf is None:  # not the client this was written for: keep its own behaviour
        return
    import httpx
    from prefect.client.base import PrefectResponse

    retrying = http.send

    async def send(request, *args, **kwargs):
        if not ONCE.get():
            return await retrying(request, *args, **kwargs)
        if getattr(http, "enable_csrf_support", False) and request.method in _CHANGES:
            await add_csrf(request=request)
        response = await httpx.AsyncClient.send(http, request, *args, **kwargs)
        if response.status_code == 403 and "Invalid CSRF token" in response.text:
            http.csrf_token = None  # fetched again on the next attempt
            response.status_code = 503
        response = PrefectResponse.from_httpx_response(response)
        if getattr(http, "raise_on_all_errors", True):
            response.raise_for_status()
        return response

    http.send = send
    http._meta_flows_once = True


_CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
