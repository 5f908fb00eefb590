"""Every change meta-flows makes to a third-party library's behaviour, one module each.

=========================  =====================================  =============================
module                     what it changes                        applies to
=========================  =====================================  =============================
:mod:`.pyast`              ``ast.parse`` takes a process-wide      CPython 3.11 < 3.11.9 and
                           lock (a thread race in CPython)         3.12 < 3.12.4 only
:mod:`.libcst_matchers`    LibCST's per-instance matcher scans     libcst in its ``TESTED`` range
                           are cached per class
:mod:`.prefect_tls`        Prefect's API clients share one TLS     prefect in its ``TESTED`` range
                           context per CA file
:mod:`.prefect_client`     one client's request sent once, where   prefect in its ``TESTED`` range
                           meta-flows retries it itself
=========================  =====================================  =============================

Each is version-guarded: outside the versions it was tested with, or when the internals it
relies on are missing, it leaves the library as it is (meta-flows then works, only slower).
``tests/test_patches.py`` fails when an installed library leaves a tested range, so a dependency
upgrade is noticed and the patch reviewed before the range is widened.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet
from packaging.version import Version


def in_tested_range(distribution: str, tested: str, installed: str | None = None) -> bool:
    """Whether ``distribution`` (or the ``installed`` version given) is in ``tested``, a version
    specifier such as ``">=1.9,<1.10"``."""
    if installed is None:
        try:
            installed = version(distribution)
        except PackageNotFoundError:
            return False
    return Version(installed) in SpecifierSet(tested)
