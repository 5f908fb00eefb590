"""Test-wide settings: an isolated Prefect home so tests never touch a user's profile or API."""

import os
import tempfile

_home = tempfile.mkdtemp(prefix="meta-flows-test-prefect-")
os.environ.setdefault("PREFECT_HOME", _home)
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
