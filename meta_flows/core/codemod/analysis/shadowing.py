"""Locals of a flow body that shadow a module-level name they read first (§2.1).

In a module-level ``with Flow(...)`` block, ``documents = documents()`` calls the module's
``documents`` task and then rebinds the module-level name. Moved into a function the assignment
makes ``documents`` local to the whole function, so its first read raises ``UnboundLocalError``.
Such a local is renamed (``documents_result``) from its first assignment on.
"""

from __future__ import annotations

import libcst as cst

from meta_flows.core.codemod.analysis.scope import bound_names, name_refs


def _first_assign(stmt: cst.CSTNode, name: str) -> cst.Assign | None:
    """``stmt`` as ``name = <value>`` (or ``a = name = ...``), else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and any(
        isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
    ):
        return small
    return None


class _Rename(cst.CSTTransformer):
    def __init__(self, targets: dict[int, str]) -> None:
        self.targets = targets

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.targets.get(id(original_node))
        return updated_node.with_changes(value=new) if new is not None else updated_node


def rename_shadowing_locals(
    stmts: list[cst.BaseStatement], module_names: set[str]
) -> list[cst.BaseStatement]:
    """``stmts`` (a flow body moving into a function) with every local that is read before its
    first assignment, while the module binds that name, renamed ``<name>_result`` from that
    assignment on (the reads before it keep the module-level name)."""
    local = bound_names(stmts)
    # each statement's bindings and reads, found once (not once per name: a long body has
    # hundreds of locals)
    refs = [name_refs(s) for s in stmts]
    taken = local | module_names | {r.value for rs in refs for r in rs}
    first_bound: dict[str, int] = {}
    for i, stmt in enumerate(stmts):
        for bound in bound_names([stmt]):
            first_bound.setdefault(bound, i)
    reads: dict[str, list[tuple[int, cst.Name]]] = {}
    for i, rs in enumerate(refs):
        for r in rs:
            reads.setdefault(r.value, []).append((i, r))
    targets: dict[int, str] = {}
    for name in sorted(local & module_names):
        first = first_bound.get(name)
        if first is None:
            continue
        assign = _first_assign(stmts[first], name)
        if assign is None:
            continue  # a first binding of another shape: left alone (it fails loudly)
        uses = reads.get(name, [])
        earlier = any(i < first for i, _ in uses)
        if not (earlier or any(r.value == name for r in name_refs(assign.value))):
            continue
        new = f"{name}_result"
        n = 2
        while new in taken:
            new = f"{name}_result_{n}"
            n += 1
        taken.add(new)
        for t in assign.targets:
            for r in name_refs(t.target):
                if r.value == name:
                    targets[id(r)] = new
        for i, r in uses:
            if i > first:
                targets[id(r)] = new
    if not targets:
        return stmts
    rename = _Rename(targets)
    return [s.visit(rename) for s in stmts]
