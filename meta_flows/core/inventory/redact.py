"""Credential-like values are never written into an inventory.

Standard library only: the Prefect 1 probe (:mod:`meta_flows.sandbox.legacy.probe`), a standalone
script in the managed Prefect 1 interpreter, loads this file by its path, and the static reader
imports it, so both sides of the inventory redact alike.
"""

from __future__ import annotations

import re

_SECRET_KEY = re.compile(
    r"(.*_)?(password|passwd|token|api_key|secret_access_key|session_token|private_key"
    r"|connection_string|credentials|sas_token|account_key|client_secret)",
    re.IGNORECASE,
)
REDACTED = "<redacted>"


def redact(value, key: str | None = None):
    """Replace values of credential-like keys (``token``, ``password``, ...).

    Prefect 1 storages take secret *names* (``access_token_secret``, ``git_token_secret_name``):
    keys ending in ``_secret``/``_secret_name`` are names and stay.
    """
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if key is not None and value not in (None, "", [], {}) and _SECRET_KEY.fullmatch(key):
        return REDACTED
    return value
