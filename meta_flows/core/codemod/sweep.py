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


# ---------------------------------------------------------------------- placeholders

_TODO_PREFIX = "# TODO(prefect2-migration):"
_INFO_PREFIX = "# prefect2-migration:"


def is_placeholder(stmt: cst.CSTNode) -> bool:
    """``pass`` left by ``Rule.comment_out``: a TODO (or a ``# prefect2-migration:`` note), the
    commented-out code, then ``pass``."""
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Pass)
        and stmt.trailing_whitespace.comment is None
    ):
        return False
    lines = list(stmt.leading_lines)
    if not lines or lines[-1].comment is None or lines[-1].comment.value.startswith(_TODO_PREFIX):
        return False
    for line in reversed(lines):
        if line.comment is None:
            return False
        if line.comment.value.startswith((_TODO_PREFIX, _INFO_PREFIX)):
            return True
    return False


def _is_todo(line: cst.EmptyLine) -> bool:
    return line.comment is not None and line.comment.value.startswith(_TODO_PREFIX)


def _is_bare_pass(stmt: cst.CSTNode) -> bool:
    """``pass`` under comment lines only (commented-out code without a TODO of its own)."""
    lines = list(getattr(stmt, "leading_lines", ()))
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Pass)
        and stmt.trailing_whitespace.comment is None
        and bool(lines)
        and all(line.comment is not None for line in lines)
    )


def placeholder_flags(body) -> list[bool]:
    """Which statements of ``body`` are placeholders: :func:`is_placeholder`, or a bare ``pass``
    under commented-out code right after one (a run of statements sharing one TODO)."""
    flags: list[bool] = []
    for stmt in body:
        flags.append(is_placeholder(stmt) or (bool(flags) and flags[-1] and _is_bare_pass(stmt)))
    return flags


def _without_placeholders(body, keep_one: bool):
    """``body`` without placeholder ``pass`` statements, their comment lines carried onto the
    next statement; (new body, lines left at the end). ``keep_one``: a block keeps a statement."""
    flags = placeholder_flags(body)
    if not any(flags):
        return None
    out: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    previous: str | None = None  # the TODO of the placeholder just before, if any
    for stmt, flag in zip(body, flags, strict=True):
        if flag:
            lines = list(stmt.leading_lines)
            todos = [ln.comment.value for ln in lines if _is_todo(ln)]
            if previous is not None and todos == [previous] and all(ln.comment for ln in lines):
                # the same TODO as the statement just above: one TODO for the run
                stmt = stmt.with_changes(leading_lines=[ln for ln in lines if not _is_todo(ln)])
            previous = todos[-1] if todos else previous
        else:
            previous = None
        if flag and not (keep_one and stmt is body[-1] and all(flags)):
            carried += list(stmt.leading_lines)
            continue
        if carried:
            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
            carried = []
        out.append(stmt)
    return out, carried


class _DropPlaceholders(cst.CSTTransformer):
    def leave_IndentedBlock(self, original_node, updated_node):
        found = _without_placeholders(updated_node.body, keep_one=True)
        if found is None:
            return updated_node
        body, rest = found
        return updated_node.with_changes(body=body, footer=[*rest, *updated_node.footer])

    def leave_Module(self, original_node, updated_node):
        found = _without_placeholders(updated_node.body, keep_one=False)
        if found is None:
            return updated_node
        body, rest = found
        return updated_node.with_changes(body=body, footer=[*rest, *updated_node.footer])


def drop_placeholder_passes(module: cst.Module, code: str | None = None) -> cst.Module:
    """Without the ``pass`` statements ``Rule.comment_out`` left where their block has other
    statements (the commented-out code and its TODO stay, above the next statement): a statement
    the rewrite could not keep is never replaced by ``pass`` unless Python needs one there.
    ``code``: the module's text, when known (a module without ``pass`` is returned as is)."""
    if code is not None and "pass" not in code:
        return module
    return module.visit(_DropPlaceholders())
