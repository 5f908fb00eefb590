from tests.legacy.conftest import base, legacy_cache, legacy_root  # noqa: F401
