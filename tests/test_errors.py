"""Every error class meta-flows defines shares one base, and records are not named errors."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import meta_flows
from meta_flows.core.errors import MetaFlowsError, StepError

# Standalone scripts run inside the Prefect 1 interpreter: they may not import meta_flows.
STANDALONE = {"meta_flows.sandbox.legacy.probe", "meta_flows.sandbox.legacy.run_probe"}


def _classes():
    for info in pkgutil.walk_packages(meta_flows.__path__, "meta_flows."):
        if info.name in STANDALONE:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name:
                yield info.name, name, cls


def test_every_error_class_is_a_meta_flows_error():
    found = [(m, n, c) for m, n, c in _classes() if n.endswith("Error")]
    assert len(found) >= 12
    strays = [f"{m}.{n}" for m, n, c in found if not issubclass(c, MetaFlowsError)]
    assert strays == []


def test_classes_named_error_are_exceptions():
    records = [
        f"{m}.{n}"
        for m, n, c in _classes()
        if n.endswith("Error") and not issubclass(c, BaseException)
    ]
    assert records == []


def test_step_error_is_still_a_runtime_error():
    assert issubclass(StepError, RuntimeError) and issubclass(StepError, MetaFlowsError)
