"""One managed Prefect 1 environment cache per test session (shared by xdist workers)."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def legacy_cache(tmp_path_factory) -> Path:
    """A META_FLOWS_CACHE directory: $META_FLOWS_CACHE if set, else one under pytest's basetemp.

    Under xdist every worker gets the same directory (the basetemp's parent), so the base
    environment is built once per session; the file lock in env.py serialises the builders.
    """
    if os.environ.get("META_FLOWS_CACHE"):
        return Path(os.environ["META_FLOWS_CACHE"])
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / "meta-flows-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def legacy_root(legacy_cache) -> Path:
    """The ``root`` argument of meta_flows.sandbox.legacy.env functions (``$META_FLOWS_CACHE/legacy``)."""
    return legacy_cache / "legacy"


@pytest.fixture(scope="session")
def base(legacy_root):
    from meta_flows.sandbox.legacy.env import base_env

    return base_env(legacy_root)
