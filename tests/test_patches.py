"""The patches of third-party libraries (meta_flows.patches) apply only to what they were tested
with, and say so loudly when a dependency moves on.

A failure here after a dependency upgrade is the signal to review the patch against the new
version's code, then widen its ``TESTED`` range (and the pin in pyproject.toml).
"""

from __future__ import annotations

import importlib
from importlib.metadata import version

import libcst as cst
import libcst.matchers as m
import pytest

from meta_flows.patches import in_tested_range, libcst_matchers, prefect_client, prefect_tls


@pytest.mark.parametrize(
    ("module", "distribution"),
    [(libcst_matchers, "libcst"), (prefect_client, "prefect"), (prefect_tls, "prefect")],
)
def test_installed_library_is_in_the_tested_range(module, distribution):
    assert in_tested_range(distribution, module.TESTED), (
        f"{distribution} {version(distribution)} is outside {module.__name__}.TESTED "
        f"({module.TESTED}): review the patch against this version, then widen the range"
    )


def test_outside_the_range_nothing_applies():
    assert not in_tested_range("libcst", libcst_matchers.TESTED, installed="1.10.0")
    assert not in_tested_range("libcst", libcst_matchers.TESTED, installed="1.8.6")
    assert in_tested_range("libcst", libcst_matchers.TESTED, installed="1.9.3")
    assert not in_tested_range("prefect", prefect_tls.TESTED, installed="3.0.0")
    assert not in_tested_range("no-such-distribution-here", ">=0")


def test_libcst_internals_are_there_and_the_patch_is_on():
    visitors = importlib.import_module("libcst.matchers._visitors")
    missing = [name for name in libcst_matchers.INTERNALS if not hasattr(visitors, name)]
    assert missing == []
    from libcst._batched_visitor import BatchableCSTVisitor  # noqa: F401 - patched too

    assert libcst_matchers.applied()


def test_matcher_decorators_still_fire_with_the_patch():
    class Names(m.MatcherDecoratableVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        @m.visit(m.Name(value="x"))
        def only_x(self, node: cst.Name) -> None:
            self.seen.append(node.value)

    class Plain(m.MatcherDecoratableVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.seen.append(node.value)

    module = cst.parse_module("x = y + x\n")
    decorated, plain = Names(), Plain()
    module.visit(decorated)
    module.visit(plain)
    assert decorated.seen == ["x", "x"]
    assert plain.seen == ["x", "y", "x"]


def test_prefect_client_internals_are_there():
    from prefect.client.base import PrefectHttpxAsyncClient, PrefectResponse

    assert callable(getattr(PrefectHttpxAsyncClient, "_add_csrf_headers", None))
    assert callable(getattr(PrefectResponse, "from_httpx_response", None))
    assert prefect_client.APPLIES


def test_prefect_tls_internals_are_there():
    import ssl

    import prefect.client.orchestration as orchestration

    assert orchestration.ssl is ssl or prefect_tls.shared()
