"""Fixtures of the estate tests: the Prefect 2 API and the Prefect 1 cache of the wave tests."""

from tests.legacy.conftest import base, legacy_cache, legacy_root  # noqa: F401
