"""Load the CA bundle once per process for Prefect's API clients, not once per client.

Prefect 2.20 makes a new API client for every flow run, and one more for every event it emits
(to look up the run's related resources: three events per task run). Each client builds a fresh
``ssl.SSLContext`` from the CA bundle (``ssl.create_default_context(cafile=certifi.where())``),
which parses ~150 certificates: ~50 ms of CPU on this machine, even when the API is plain HTTP
and no TLS handshake ever happens. A small flow run with three tasks made ten of them: 0.49 s
of the 0.68 s of CPU its run cost the calling process. (Upstream, PrefectHQ/prefect#19106
proposes letting callers pass one context; encode/httpx#3473 caches httpx's default one.)

:func:`share` makes ``prefect.client.orchestration`` reuse one context per CA file within the
process. The shared context is the one each call would have built: same file, same defaults. An
``SSLContext`` is made to be shared by many connections; Prefect hands it to httpx and never
changes it. Only calls that name a CA file are shared: the ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``
path, which switches verification off on the context it gets, still gets a new one each time.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from meta_flows.patches import in_tested_range

TESTED = ">=2.20,<3"  # Prefect 2.20 is the last 2.x line


class _SharedContexts:
    """Stands in for the ``ssl`` module inside ``prefect.client.orchestration``."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._lock = threading.Lock()
        self._contexts: dict[tuple[Any, str], ssl.SSLContext] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def create_default_context(
        self,
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: Any = None,
    ) -> ssl.SSLContext:
        if cafile is None or capath is not None or cadata is not None:
            return self._module.create_default_context(
                purpose, cafile=cafile, capath=capath, cadata=cadata
            )
        key = (purpose, str(cafile))
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                context = self._module.create_default_context(purpose, cafile=cafile)
                self._contexts[key] = context
            return context


def share() -> None:
    """Make Prefect's API clients in this process share one TLS context per CA file.
    Idempotent; harmless where Prefect is a version without this code path."""
    if not in_tested_range("prefect", TESTED):
        return
    import prefect.client.orchestration as orchestration

    module = getattr(orchestration, "ssl", None)
    if module is ssl:
        orchestration.ssl = _SharedContexts(ssl)


def shared() -> bool:
    """Whether :func:`share` is in effect in this process."""
    import prefect.client.orchestration as orchestration

    return isinstance(getattr(orchestration, "ssl", None), _SharedContexts)
