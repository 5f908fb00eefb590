"""LibCST metadata for the rules, resolved with less work and the same answers.

The pipeline resolves metadata (qualified names above all) once for every rule that changed the
module, so resolution is much of its cost. :class:`SharedMetadataWrapper` cuts it three ways:

- LibCST's ``QualifiedNameProvider`` walks the whole module after the scope analysis only to
  attach ``scope.get_qualified_names_for(node)`` to every node, which costs as much as the scope
  analysis itself. :class:`LazyQualifiedNames` asks the scope analysis per node, when a rule
  asks: a node that has a scope gets exactly the names LibCST would give it; any other node (one
  the scope analysis did not visit, or one not in the module, such as a node a rule just built)
  gets an empty set when that is the default asked for -- LibCST's answer either way -- and
  otherwise LibCST's own provider's answer, computed on first such request.
- Providers that do all their work in ``visit_Module`` (expression contexts, scopes, parents),
  and providers that are not batchable (positions), are resolved without the extra batched walk
  of the whole module LibCST makes around them.
- The module is deep-copied only when some node object occurs in it twice (see
  :func:`nodes_unique`), the one case the copy is for.

:func:`transform_with` runs a LibCST codemod transformer (``RemoveImportsVisitor``) against a
wrapper the caller already has, instead of a fresh deep copy with its metadata computed again.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Collection, Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType

import libcst as cst
from libcst._metadata_dependent import LazyValue
from libcst.codemod import Codemod
from libcst.metadata import (
    BatchableMetadataProvider,
    MetadataWrapper,
    QualifiedNameProvider,
    ScopeProvider,
)


class LazyQualifiedNames(Mapping):
    """``QualifiedNameProvider``'s mapping for one module, computed per node when asked."""

    __slots__ = ("_module", "_scopes", "_values", "_complete")

    def __init__(self, module: cst.Module, scopes: Mapping[cst.CSTNode, object]) -> None:
        self._module = module
        self._scopes = scopes
        self._values: dict[cst.CSTNode, LazyValue] = {}
        self._complete: Mapping[cst.CSTNode, object] | None = None

    def __getitem__(self, node: cst.CSTNode) -> object:
        value = self._lazy(node)
        if value is None:
            # Not visited by the scope analysis, or not in this module: LibCST's own answer
            # (an empty set, or KeyError).
            return self.complete()[node]
        return value

    def get(self, node: cst.CSTNode, default: object = None) -> object:
        value = self._lazy(node)
        if value is not None:
            return value
        if isinstance(default, set) and not default:
            # LibCST answers an empty set for a node without a scope and ``default`` for a
            # node not in the module: here both are an empty set, so no need to tell which.
            return default
        return self.complete().get(node, default)

    def _lazy(self, node: cst.CSTNode) -> LazyValue | None:
        """The (lazy) names of a node the scope analysis visited, else None."""
        value = self._values.get(node)
        if value is None:
            scope = self._scopes.get(node)
            if not scope:
                return None
            value = self._values[node] = LazyValue(lambda: scope.get_qualified_names_for(node))
        return value

    def complete(self) -> Mapping[cst.CSTNode, object]:
        """LibCST's provider over the same module (same node identities), computed once."""
        if self._complete is None:
            plain = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._complete = plain.resolve(QualifiedNameProvider)
        return self._complete

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self.complete())

    def __len__(self) -> int:
        return len(self.complete())


_MODULE_ONLY: dict[type, bool] = {}


def _module_only(provider: type) -> bool:
    """Is ``provider`` batchable with ``visit_Module`` as its only visitor method?

    Such providers (expression contexts, scopes, parents) do all their work in ``visit_Module``
    with a visitor of their own; LibCST still walks the whole module once more around them.
    """
    found = _MODULE_ONLY.get(provider)
    if found is None:
        hooks = {
            name
            for name, member in inspect.getmembers(provider, inspect.isfunction)
            if name.startswith(("visit_", "leave_")) and not getattr(member, "_is_no_op", False)
        }
        found = _MODULE_ONLY[provider] = issubclass(provider, BatchableMetadataProvider) and (
            hooks == {"visit_Module"}
        )
    return found


class SharedMetadataWrapper(MetadataWrapper):
    """A ``MetadataWrapper`` that resolves the rules' metadata with fewer walks of the module.

    ``QualifiedNameProvider`` is :class:`LazyQualifiedNames`; a batchable provider that only
    implements ``visit_Module`` gets that one call instead of a batched walk of every node that
    calls nothing else; a provider that is not batchable (positions) is computed without the
    empty batched walk LibCST makes after it. Each mapping holds what LibCST's would.

    The module is deep-copied (as LibCST does) only when some node object occurs in it twice,
    the case the copy exists for: metadata is looked up by node identity. So ``module`` is
    usually ``wrapper.module`` itself.
    """

    __slots__ = ()

    def __init__(self, module: cst.Module) -> None:
        super().__init__(module, unsafe_skip_copy=nodes_unique(module))

    def resolve_many(self, providers: Collection) -> Mapping:
        for provider in providers:
            self._resolve_direct(provider)
        return super().resolve_many(providers)

    def _resolve_direct(self, provider: type) -> None:
        if provider in self._metadata:
            return
        for dependency in provider.METADATA_DEPENDENCIES:
            self._resolve_direct(dependency)
        if provider is QualifiedNameProvider:
            scopes = self._metadata[ScopeProvider]
            self._metadata[provider] = LazyQualifiedNames(self.module, scopes)
        elif _module_only(provider):
            instance = provider(self._cache.get(provider)) if provider.gen_cache else provider()
            with instance.resolve(self):
                instance.visit_Module(self.module)
            self._metadata[provider] = MappingProxyType(dict(instance._computed))
        elif not issubclass(provider, BatchableMetadataProvider):
            # As LibCST does, minus the batched walk it then makes with no visitor at all.
            instance = provider(self._cache.get(provider)) if provider.gen_cache else provider()
            self._metadata[provider] = instance._gen(self)
        # Any other provider: LibCST's batched resolution (in resolve_many).


_FIELDS: dict[type, tuple[str, ...]] = {}


def nodes_unique(module: cst.Module) -> bool:
    """True when no node object occurs twice in ``module`` (as in any tree fresh from parsing).

    A rule may put one node object in two places; LibCST's ``MetadataWrapper`` deep-copies
    every module for that reason. Checking is several times cheaper than copying.
    """
    seen: set[int] = set()
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        names = _FIELDS.get(type(node))
        if names is None:
            names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
        for name in names:
            value = getattr(node, name)
            children = value if isinstance(value, (list, tuple)) else (value,)
            for child in children:
                if isinstance(child, cst.CSTNode):
                    if id(child) in seen:
                        return False
                    seen.add(id(child))
                    stack.append(child)
    return True


def transform_with(codemod: Codemod, wrapper: MetadataWrapper) -> cst.Module:
    """``codemod.transform_module(wrapper.module)``, reusing ``wrapper`` and its metadata.

    Same steps as LibCST's ``Codemod.transform_module`` for a single-pass codemod, minus the
    fresh deep copy and wrapper. The caller vouches for ``wrapper``: its module holds each node
    once (a :class:`SharedMetadataWrapper`), or the codemod needs no metadata at all.
    """
    if codemod.should_allow_multiple_passes() or codemod.context.metadata_manager is not None:
        return codemod.transform_module(wrapper.module)
    previous = codemod.context.wrapper
    with codemod.resolve(wrapper):
        codemod.context = replace(codemod.context, wrapper=wrapper)
        try:
            return codemod.transform_module_impl(wrapper.module)
        finally:
            codemod.context = replace(codemod.context, wrapper=previous)
