"""Cache LibCST's per-instance matcher introspection per class.

Every LibCST transformer instance scans ``dir(self)`` three times for matcher decorators
(~25 ms each time on this machine). The codemod creates ~50 transformer instances per file (each
rule plus LibCST's import visitors), so that scan alone would cost over a second per file. The
answer only depends on the class, so we compute it once per class and re-bind per instance.
Behaviour is identical.

Patched (for the LibCST versions in :data:`TESTED`; outside them, or when an internal below is
missing, LibCST is left as it is): ``libcst.matchers._visitors._gather_matchers``,
``_gather_constructed_visit_funcs``, ``_gather_constructed_leave_funcs``, the ``on_visit``/
``on_leave`` dispatch of ``MatcherDecoratableTransformer``/``MatcherDecoratableVisitor``, and
``libcst._batched_visitor.BatchableCSTVisitor.get_visitors``.
"""

from __future__ import annotations

import inspect

from meta_flows.patches import in_tested_range

TESTED = ">=1.9,<1.10"
APPLIES = in_tested_range("libcst", TESTED)
INTERNALS = (
    "_gather_matchers",
    "_gather_constructed_visit_funcs",
    "_gather_constructed_leave_funcs",
    "VISIT_POSITIVE_MATCHER_ATTR",
    "VISIT_NEGATIVE_MATCHER_ATTR",
    "CONSTRUCTED_VISIT_MATCHER_ATTR",
    "CONSTRUCTED_LEAVE_MATCHER_ATTR",
    "MatcherDecoratableTransformer",
    "MatcherDecoratableVisitor",
)

try:
    from libcst.matchers import _visitors as _mv
except ImportError:  # pragma: no cover - LibCST reorganised; keep its own behaviour
    _mv = None
if _mv is None or not APPLIES or not all(hasattr(_mv, n) for n in INTERNALS):
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
    if _mv is None:
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
    if _mv is None:
        return
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


_ATTRIBUTE_HOOKS: dict[type, bool] = {}


def has_attribute_hooks(cls: type) -> bool:
    """Does ``cls`` define ``visit_<Node>_<attribute>``/``leave_...`` hooks?

    LibCST's typed visitor bases declare a stub for every one of them, marked as no-ops (as its
    batched visitors skip them); only the others count. Errs on the side of yes: any other
    ``visit_``/``leave_`` name with a capitalised node name and something after it counts.
    """
    found = _ATTRIBUTE_HOOKS.get(cls)
    if found is None:
        found = _ATTRIBUTE_HOOKS[cls] = any(
            name.count("_") >= 2
            and name.split("_", 2)[1][:1].isupper()
            and not getattr(getattr(cls, name, None), "_is_no_op", False)
            for name in dir(cls)
            if name.startswith(("visit_", "leave_"))
        )
    return found


def is_plain(visitor) -> bool:
    """A matcher-decoratable visitor with no matcher decorators (answer kept per instance).

    For such a visitor LibCST's per-node matcher bookkeeping always allows every call, so the
    plain ``CSTVisitor``/``CSTTransformer`` dispatch does exactly the same.
    """
    plain = visitor.__dict__.get("_meta_flows_plain")
    if plain is None:
        plain = not (visitor._matchers or visitor._extra_visit_funcs or visitor._extra_leave_funcs)
        visitor.__dict__["_meta_flows_plain"] = plain
    return plain


def _install_plain_dispatch() -> None:
    """Give LibCST's matcher-decoratable visitors (the import helpers among them) the fast path
    our rules have (see ``Rule.on_visit``): without matcher decorators, plain dispatch."""
    if _mv is None:
        return
    from libcst import CSTTransformer, CSTVisitor

    for cls, plain_cls in (
        (_mv.MatcherDecoratableTransformer, CSTTransformer),
        (_mv.MatcherDecoratableVisitor, CSTVisitor),
    ):
        _route(cls, plain_cls, "on_visit")
        _route(cls, plain_cls, "on_leave")
        _route(cls, plain_cls, "on_visit_attribute", attribute=True)
        _route(cls, plain_cls, "on_leave_attribute", attribute=True)


def _route(cls: type, plain_cls: type, name: str, attribute: bool = False) -> None:
    matcher_path = getattr(cls, name)
    plain_path = getattr(plain_cls, name)

    def dispatch(self, *args):
        if not is_plain(self):
            return matcher_path(self, *args)
        if attribute and not has_attribute_hooks(type(self)):
            return None
        return plain_path(self, *args)

    dispatch.__name__ = dispatch.__qualname__ = name
    setattr(cls, name, dispatch)


_install_plain_dispatch()


def applied() -> bool:
    """Whether this module's patches are in effect in this process."""
    return (
        _mv is not None
        and getattr(_mv.MatcherDecoratableVisitor.on_visit, "__module__", "") == __name__
    )
