"""What the interpreters meta-flows starts may see of its environment: an allow-list.

Validation and the flow descriptions run the estate's code in child interpreters. Whatever
their environment holds, that code can use: the wave's own Prefect API key, cloud credentials
(``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_*``), a ``GITHUB_TOKEN``, Prefect 1's
backend settings. :func:`allowed` copies only the names a Python interpreter needs to run
(:data:`SYSTEM`, ``LC_*``, ``PYTHON*``) and those a caller adds; everything else is left out,
whatever its name.

``HOME`` is not the operator's: it is a directory of meta-flows' cache (:func:`isolated_home`),
so the credential files tools look for there (``~/.aws/credentials``,
``~/.config/gcloud``, ``~/.netrc``, ``~/.prefect/profiles.toml``, ``~/.git-credentials``) are not
found either.

``$META_FLOWS_CHILD_ENV`` names more variables to pass (comma- or space-separated): settings the
estate's flows read that the operator chooses to give them (``REGION,REPORT_BUCKET``).
"""

from __future__ import annotations

import os
import site
from collections.abc import Iterable, Mapping
from pathlib import Path

from meta_flows.sandbox.legacy.env import cache_root

# what an interpreter needs to run (where programs are, language, time zone, temporary files,
# which CA certificates to trust); no credentials
SYSTEM = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NO_PROXY",
    "no_proxy",
)
SYSTEM_PREFIXES = ("LC_", "PYTHON")


def isolated_home() -> Path:
    """The children's home directory, in meta-flows' cache (created on first use)."""
    home = cache_root() / "child-home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def allowed(
    names: Iterable[str] = (),
    prefixes: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables of ``environ`` (default ``os.environ``) named in :data:`SYSTEM`,
    ``names`` or ``$META_FLOWS_CHILD_ENV``, or starting with a prefix of :data:`SYSTEM_PREFIXES` or ``prefixes``; ``HOME``
    set to :func:`isolated_home`.

    Python's user site directory lives under the home directory: when it is in use, its
    location is kept (``PYTHONUSERBASE``) so that packages installed there still import.
    """
    source = os.environ if environ is None else environ
    chosen = source.get("META_FLOWS_CHILD_ENV", "").replace(",", " ").split()
    keep = {*SYSTEM, *names, *chosen}
    starts = (*SYSTEM_PREFIXES, *prefixes)
    env = {k: v for k, v in source.items() if k in keep or k.startswith(starts)}
    home = str(isolated_home())
    env["HOME"] = home
    if site.ENABLE_USER_SITE and "PYTHONUSERBASE" not in env:
        env["PYTHONUSERBASE"] = site.getuserbase()
    return env
