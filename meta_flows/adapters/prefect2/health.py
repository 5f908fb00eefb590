"""Whether the Prefect 2 API the wave talks to answers at all.

A wave whose API goes away mid-run sees it as errors of whatever step met it first (a flow run
that cannot be created, a deployment that cannot be written); :func:`unreachable` tells that
apart from a real failure of the step, so the project's reason names the API instead.
"""

from __future__ import annotations

import os

import httpx

TIMEOUT = 10.0  # seconds the health endpoint may take to answer


def api_url() -> str | None:
    """The API the wave and its validation children use (None: an ephemeral API)."""
    url = os.environ.get("PREFECT_API_URL")
    if url is None:
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value()
    return url.rstrip("/") if url else None


def unreachable() -> str | None:
    """``the Prefect 2 API at <url> is unreachable (<why>)``, or None when it answers (or there
    is no API server to reach)."""
    url = api_url()
    if not url:
        return None
    try:
        response = httpx.get(f"{url}/health", timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return f"the Prefect 2 API at {url} is unreachable ({type(exc).__name__}: {exc})"
    if response.status_code >= 500:
        return f"the Prefect 2 API at {url} is unreachable (HTTP {response.status_code})"
    return None
