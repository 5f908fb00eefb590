"""Removing statements a rule dropped, and the blocks they leave empty.

A rule that removes statements (``flow.run()``, ``flow.storage = ...``, a schedule variable) keeps
their comments and blank lines on the next statement, and an ``if __name__ == "__main__":`` block
left with nothing in it goes too.
"""

from __future__ import annotations

import libcst as cst


def sweep_removed(body, removed: set[int]) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
    """Drop the statements whose id is in ``removed``, moving their comments/blank lines onto the
    next statement; returns the new body and the lines left over at the end (comments only)."""
    out: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for stmt in body:
        if id(stmt) in removed:
            carried += list(getattr(stmt, "leading_lines", ()))
            continue
        if carried:
            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
            carried = []
        out.append(stmt)
    return out, [line for line in carried if line.comment is not None]


MAIN_GUARD = '__name__ == "__main__"'


def is_main_guard(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.If) or not isinstance(node.test, cst.Comparison):
        return False
    code = cst.Module(body=[]).code_for_node(node.test)
    return " ".join(code.replace("'", '"').split()) in (MAIN_GUARD, '"__main__" == __name__')


def sweep_block(rule, block: cst.IndentedBlock) -> cst.IndentedBlock:
    """Remove ``rule.removed`` statements from a block (``pass`` if it empties, recorded in
    ``rule.emptied``)."""
    if not any(id(s) in rule.removed for s in block.body):
        return block
    body, rest = sweep_removed(block.body, rule.removed)
    if not body:
        new = block.with_changes(
            body=[cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=rest)]
        )
        rule.emptied.add(rule.new_node_id(new))
        return new
    return block.with_changes(body=body, footer=[*rest, *block.footer])


def drop_emptied_main_guard(rule, original_node: cst.If, updated_node: cst.If):
    """Remove an ``if __name__ == "__main__":`` whose body ``sweep_block`` emptied."""
    if (
        id(updated_node.body) in rule.emptied
        and is_main_guard(original_node)
        and updated_node.orelse is None
    ):
        return cst.RemovalSentinel.REMOVE
    return updated_node


def sweep_module(rule, module: cst.Module) -> cst.Module:
    if not any(id(s) in rule.removed for s in module.body):
        return module
    body, rest = sweep_removed(module.body, rule.removed)
    return module.with_changes(body=body, footer=[*rest, *module.footer])
