"""The local name of Prefect 2's ``flow`` / ``task`` decorators in a migrated module (§1).

Prefect 1 code may use ``flow`` or ``task`` as names of its own: ``task = load_config()``,
``flow = "nightly"``, ``def task(): ...``, ``from mylib import task``. Importing Prefect 2's
decorator under that name would shadow them (or be shadowed by them, whichever comes last), so
such a module gets ``from prefect import flow as prefect_flow`` and ``@prefect_flow(...)``.

Bindings that are not the user's own: Prefect's own import (``from prefect import task``, also
``prefect.utilities.tasks``), and for ``flow`` a Prefect 1 flow object (``with Flow(...) as
flow``, ``flow = Flow(...)``, ``flow = build_flow()`` of a flow factory of the module), which PF002
handles itself (``flow = <function>`` at the end of the module, §2.1).
"""

from __future__ import annotations

import ast

from meta_flows.core.codemod.base import SCRATCH_ORIGINAL, Rule
from meta_flows.patches import pyast

DECORATORS = ("flow", "task")
_SCRATCH = "meta_flows.user_decorator_names"


def decorator_name(rule: Rule, name: str) -> str:
    """The name migrated code of ``rule``'s module uses for Prefect 2's ``name`` (``"flow"`` or
    ``"task"``); schedules its import (``from prefect import flow as prefect_flow`` when the
    module binds ``flow`` itself)."""
    local = f"prefect_{name}" if name in user_bound(rule) else name
    rule.add_import("prefect", name, None if local == name else local)
    return local


def user_bound(rule: Rule) -> frozenset[str]:
    """Which of ``flow`` / ``task`` the original module binds at module level as its own."""
    scratch = rule.context.scratch
    known = scratch.get(_SCRATCH)
    if known is None:
        known = scratch[_SCRATCH] = _user_bound(scratch.get(SCRATCH_ORIGINAL))
    return known


def _user_bound(source: str | None) -> frozenset[str]:
    if not source or not any(n in source for n in DECORATORS):
        return frozenset()
    try:
        tree = pyast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    factories = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and "Flow(" in (ast.get_source_segment(source, node) or "")
    }
    found: set[str] = set()
    for stmt, name in _module_bindings(tree.body):
        if name in DECORATORS and not _prefect_binding(stmt, name, factories):
            found.add(name)
    return frozenset(found)


def _module_bindings(body: list[ast.stmt]):
    """(statement, name) for every name bound at module level (not in function or class bodies;
    ``global`` names assigned in functions included)."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield stmt, stmt.name
            if not isinstance(stmt, ast.ClassDef):
                declared = {n for x in ast.walk(stmt) if isinstance(x, ast.Global) for n in x.names}
                for x in ast.walk(stmt):
                    if (
                        isinstance(x, ast.Name)
                        and isinstance(x.ctx, ast.Store)
                        and x.id in declared
                    ):
                        yield x, x.id
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                if alias.name != "*":
                    yield stmt, alias.asname or alias.name.split(".")[0]
            continue
        for x in _own_nodes(stmt):
            if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store):
                yield stmt, x.id
        for field in ("body", "orelse", "finalbody"):
            nested = getattr(stmt, field, None)
            if isinstance(nested, list):
                yield from _module_bindings(nested)
        for handler in getattr(stmt, "handlers", ()):
            if handler.name:
                yield handler, handler.name
            yield from _module_bindings(handler.body)


def _own_nodes(node: ast.AST):
    """The expressions of a statement, without its nested statements and comprehensions."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.stmt, ast.excepthandler, ast.comprehension, ast.Lambda)):
            continue
        yield child
        yield from _own_nodes(child)


def _prefect_binding(stmt: ast.AST, name: str, factories: set[str]) -> bool:
    """``stmt`` binds ``name`` to Prefect's own object (an import) or, for ``flow``, to a
    Prefect 1 flow PF002 converts."""
    if isinstance(stmt, ast.ImportFrom):
        module = stmt.module or ""
        return (
            not stmt.level
            and (module == "prefect" or module.startswith("prefect."))
            and any(a.name == name and a.asname is None for a in stmt.names)
        )
    if name != "flow":
        return False
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return any(isinstance(item.context_expr, ast.Call) for item in stmt.items)
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return callee.endswith("Flow") or callee in factories
    return False
