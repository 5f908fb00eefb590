"""Cache LibCST's per-instance matcher introspection per class.

Every LibCST transformer instance scans ``dir(self)`` three times for matcher decorators
(~25 ms each time on this machine). The codemod creates ~50 transformer instances per file (each
rule plus LibCST's import visitors), so that scan alone would cost over a second per file. The
answer only depends on the class, so we compute it once per class and re-bind per instance.
Behaviour is identical; if LibCST's internals change shape, the original functions stay in place.
"""

from __future__ import annotations

import inspect

try:
    from libcst.matchers import _visitors as _mv
except ImportError:  # pragma: no cover - LibCST reorganised; keep its own behaviour
    _mv = None

_cache: dict[tuple[type, str], tuple[str, ...]] = {}


def _names_with(cls: type, attrs: tuple[str, ...]) -> tuple[str, ...]:
    key = (cls, "|".join(attrs))
    names = _cache.get(key)
    if names is None:
        found = []
        for name in dir(cls):
            value = inspect.getattr_static(cls, name, None)
            if isinstance(value, property):
                continue
            func = getattr(cls, name, None)
            if any(getattr(func, attr, None) for attr in attrs):
                found.append(name)
        names = _cache[key] = tuple(found)
    return names


def _install() -> None:
    if _mv is None or not all(
        hasattr(_mv, n)
        for n in (
            "_gather_matchers",
            "_gather_constructed_visit_funcs",
            "_gather_constructed_leave_funcs",
            "VISIT_POSITIVE_MATCHER_ATTR",
            "VISIT_NEGATIVE_MATCHER_ATTR",
            "CONSTRUCTED_VISIT_MATCHER_ATTR",
            "CONSTRUCTED_LEAVE_MATCHER_ATTR",
        )
    ):
        return
    original_matchers = _mv._gather_matchers
    original_visit = _mv._gather_constructed_visit_funcs
    original_leave = _mv._gather_constructed_leave_funcs
    gating = (_mv.VISIT_POSITIVE_MATCHER_ATTR, _mv.VISIT_NEGATIVE_MATCHER_ATTR)

    def gather_matchers(obj):
        names = _names_with(type(obj), gating)
        if not names:
            return {}
        return original_matchers(obj)

    def constructed(attr, original):
        def gather(obj):
            names = _names_with(type(obj), (attr,))
            if not names:
                return {}
            return original(obj)

        return gather

    _mv._gather_matchers = gather_matchers
    _mv._gather_constructed_visit_funcs = constructed(
        _mv.CONSTRUCTED_VISIT_MATCHER_ATTR, original_visit
    )
    _mv._gather_constructed_leave_funcs = constructed(
        _mv.CONSTRUCTED_LEAVE_MATCHER_ATTR, original_leave
    )


_install()


def _install_batched() -> None:
    """``BatchableCSTVisitor.get_visitors`` (metadata providers) scans ``inspect.getmembers``."""
    try:
        from libcst._batched_visitor import BatchableCSTVisitor
    except ImportError:  # pragma: no cover
        return
    names_by_class: dict[type, tuple[str, ...]] = {}
    original = BatchableCSTVisitor.get_visitors

    def get_visitors(self):
        cls = type(self)
        names = names_by_class.get(cls)
        if names is None:
            names = names_by_class[cls] = tuple(original(self))
        return {name: getattr(self, name) for name in names}

    BatchableCSTVisitor.get_visitors = get_visitors


_install_batched()
