"""Prefect's API clients share one TLS context per CA file once meta_flows.patches.prefect_tls is on."""

from __future__ import annotations

import ssl

import prefect.client.orchestration as orchestration
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, temporary_settings

from meta_flows.patches import prefect_tls

API = "http://127.0.0.1:9/api"  # never contacted: the clients are only built


def _context(client: PrefectClient) -> ssl.SSLContext:
    return client._client._transport._pool._ssl_context


@pytest.fixture
def loads(monkeypatch):
    """Share on, its cache emptied, and every CA bundle load counted."""
    prefect_tls.share()
    monkeypatch.setattr(orchestration.ssl, "_contexts", {})
    count = []
    real = ssl.create_default_context

    def counted(*args, **kwargs):
        count.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return count


def test_clients_share_one_verified_context(loads):
    clients = [PrefectClient(API) for _ in range(3)]
    contexts = {id(_context(c)) for c in clients}
    assert len(contexts) == 1
    assert len(loads) == 1 and loads[0]  # one load, of a named CA file
    context = _context(clients[0])
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert prefect_tls.shared()


def test_share_is_idempotent(loads):
    proxy = orchestration.ssl
    prefect_tls.share()
    assert orchestration.ssl is proxy


def test_insecure_clients_still_get_their_own_context(loads):
    shared = _context(PrefectClient(API))
    with temporary_settings(updates={PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        insecure = [_context(PrefectClient(API)) for _ in range(2)]
    assert insecure[0] is not insecure[1]
    assert all(c.verify_mode == ssl.CERT_NONE for c in insecure)
    # switching verification off on those did not touch the shared, verifying one
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert _context(PrefectClient(API)) is shared
