"""Where the imports the rewrite adds and removes go: isort order, as ruff's ``I001`` checks it.

Rules ask for imports with ``Rule.add_import`` / ``Rule.remove_import_if_unused`` (LibCST's
``AddImportsVisitor`` / ``RemoveImportsVisitor`` requests in the codemod context); this module
carries them out, once for every rule:

- :func:`add_imports` puts each missing import into the module's existing import block at the
  place ruff's isort with its default settings wants it: sections future / standard library
  (``sys.stdlib_module_names``) / third party / first party / relative, a blank line between
  sections; within a section ``import x`` lines before ``from x import y`` lines, each sorted by
  module (case-insensitive, natural order); names inside ``from x import a, b`` sorted constants,
  then classes, then the rest (``order-by-type``); ``from x import a as b`` on its own line
  (``combine-as-imports = false``). A name joins an existing ``from x import ...`` line at its
  sorted place. First party: the project's top-level modules and packages
  (``ProjectIndex.first_party``), as ruff's default ``src = ["."]`` finds them, and the module's
  own package.
- :class:`RemoveImports` removes unused imports (LibCST's visitor) and keeps the blank line that
  separated a removed import from the statement before it (a section boundary), as rules that
  remove a whole import line do (:class:`SpacingCarry`); a wrapped ``from x import (...)`` keeps
  its trailing comma.
- :func:`wrap_long_imports`, once the removals are done, wraps a ``from`` line the rewrite made or
  changed in parentheses, one name a line, when it ends up longer than 88 characters.

Only the rewrite's own additions and removals move: the user's import lines keep their order and
text, so a file that was isort-clean stays isort-clean, and one that was not is not reordered.
Imports inside ``try:`` / ``if TYPE_CHECKING:`` blocks and inside functions are left alone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem, RemoveImportsVisitor

# ruff's default ``line-length``: a ``from`` import longer than this is wrapped (with a trailing
# comma, which ruff's isort keeps expanded whatever the project's own line length).
LINE_LENGTH = 88
INDENT = "    "

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL_FOLDER = range(5)
STDLIB_MODULES = frozenset(sys.stdlib_module_names)

_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
_DIGITS = re.compile(r"(\d+)")


# ---------------------------------------------------------------------- sort keys


def _natural(text: str) -> tuple:
    """A key ordering ``text`` as ruff's natural order (digit runs compare as numbers)."""
    out: list[tuple[str, int]] = []
    for i, part in enumerate(_DIGITS.split(text)):
        if i % 2:
            out.append(("0", int(part)))  # any digit sorts like "0" against other characters
        else:
            out.extend((c, 0) for c in part)
    return tuple(out)


def _opt(value) -> tuple:
    """Rust's ``Option`` order: ``None`` first."""
    return (0,) if value is None else (1, value)


def member_type(name: str) -> int:
    """ruff's ``order-by-type``: CONSTANTS (0), Classes (1), everything else (2)."""
    if len(name) > 1 and name.isupper():
        return 0
    if name[:1].isupper():
        return 1
    return 2


def member_key(name: str, asname: str | None = None) -> tuple:
    """Sort key of a name inside ``from x import ...`` (ruff's ``MemberKey``, default settings)."""
    return (
        name != "*",
        member_type(name),
        _natural(name.lower()),
        _natural(name),
        _opt(_natural(asname) if asname else None),
    )


def _dotted(node: cst.CSTNode | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def import_of(stmt: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    """The import of a module-level ``import ...`` / ``from ... import ...`` line, else None."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and stmt.body
        and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body)
    ):
        return stmt.body[0]
    return None


def statement_key(node: cst.Import | cst.ImportFrom) -> tuple:
    """Sort key of an import statement within its section (ruff's ``ModuleKey``, with
    ``force-sort-within-sections = false``: ``import x`` lines before ``from x import`` lines)."""
    if isinstance(node, cst.Import):
        alias = node.names[0]
        name = _dotted(alias.name) or ""
        asname = _asname(alias)
        return (
            0,
            (2,),
            _opt(_natural(name.lower())),
            _opt(_natural(name)),
            _opt(None),
            _opt(_natural(asname) if asname else None),
        )
    level = len(node.relative)
    module = _dotted(node.module) if node.module is not None else None
    if isinstance(node.names, cst.ImportStar):
        first = member_key("*")
    else:
        first = min(member_key(_dotted(a.name) or "", _asname(a)) for a in node.names)
    return (
        1,
        (1, -level) if level else (2,),  # relative imports: furthest first
        _opt(_natural(module.lower()) if module else None),
        _opt(_natural(module) if module else None),
        _opt(first),
        _opt(None),
    )


def section(node: cst.Import | cst.ImportFrom, first_party: Collection[str]) -> int:
    """ruff's section of an import: future, standard library, third party, first party, or
    relative (``local-folder``)."""
    if isinstance(node, cst.ImportFrom):
        if node.relative:
            return LOCAL_FOLDER
        module = _dotted(node.module) or ""
    else:
        module = _dotted(node.names[0].name) or ""
    top = module.split(".", 1)[0]
    if top == "__future__":
        return FUTURE
    if top in STDLIB_MODULES:
        return STDLIB
    if top in first_party:
        return FIRST_PARTY
    return THIRD_PARTY


# ---------------------------------------------------------------------- the module's layout


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _prelude(body: Sequence[cst.CSTNode]) -> tuple[int, int]:
    """``(start, end)``: the module's leading import lines lie in ``body[start:end]``, after
    the docstring and up to the first statement that is not an import line (``if`` and ``try``
    blocks -- ``if TYPE_CHECKING:``, ``try: import x`` -- are passed over, not entered)."""
    start = 1 if body and _is_docstring(body[0]) else 0
    end = start
    while end < len(body) and (
        import_of(body[end]) is not None or isinstance(body[end], (cst.If, cst.Try))
    ):
        end += 1
    # trailing blocks are not part of it: they may be code (``if __name__ == "__main__":``)
    while end > start and import_of(body[end - 1]) is None:
        end -= 1
    return start, end


prelude = _prelude  # the module's leading import lines (rules insert code after them)


def _runs(body: Sequence[cst.CSTNode], start: int, end: int) -> list[tuple[int, int]]:
    """The runs of consecutive import lines in ``body[start:end]`` (ruff's import blocks)."""
    runs: list[tuple[int, int]] = []
    i = start
    while i < end:
        if import_of(body[i]) is None:
            i += 1
            continue
        j = i
        while j < end and import_of(body[j]) is not None:
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _blank_count(lines: Iterable[cst.EmptyLine]) -> int:
    return sum(1 for line in lines if line.comment is None)


def _split_blank_prefix(lines: Sequence[cst.EmptyLine]):
    """(the blank lines before the first comment, the rest)."""
    k = 0
    while k < len(lines) and lines[k].comment is None:
        k += 1
    return list(lines[:k]), list(lines[k:])


def _with_blank_lines(stmt, count: int):
    """``stmt`` with at least ``count`` blank lines among its leading lines (added on top)."""
    have = _blank_count(stmt.leading_lines)
    if have >= count:
        return stmt
    extra = [cst.EmptyLine() for _ in range(count - have)]
    return stmt.with_changes(leading_lines=[*extra, *stmt.leading_lines])


with_blank_lines = _with_blank_lines


def _lines_after_imports(stmt: cst.CSTNode) -> int:
    """Blank lines ruff wants between an import block and ``stmt`` (``lines-after-imports``)."""
    return 2 if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) else 1


# ---------------------------------------------------------------------- adding


class _Existing:
    """What the module's leading import lines already import."""

    def __init__(self, lines: Iterable[cst.CSTNode]) -> None:
        self.modules: set[tuple[str, str | None]] = set()  # import x [as y]
        self.names: dict[str, set[tuple[str, str | None]]] = {}  # from x import a [as b]
        for stmt in lines:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for node in stmt.body:
                if isinstance(node, cst.Import):
                    for alias in node.names:
                        self.modules.add((_dotted(alias.name) or "", _asname(alias)))
                elif isinstance(node, cst.ImportFrom) and not node.relative and node.module:
                    names = self.names.setdefault(_dotted(node.module) or "", set())
                    if isinstance(node.names, cst.ImportStar):
                        names.add(("*", None))
                    else:
                        names.update((_dotted(a.name) or "", _asname(a)) for a in node.names)

    def has(self, item: ImportItem) -> bool:
        if item.obj_name is None:
            return (item.module, item.alias) in self.modules
        names = self.names.get(item.module, set())
        if item.alias is None and ("*", None) in names:
            return True
        return (item.obj_name, item.alias) in names


def _merge_target(body, start: int, end: int, module: str) -> int | None:
    """Index of the first leading ``from module import a, b`` line (no star, no ``as``) that a
    new name can join."""
    for i in range(start, end):
        node = import_of(body[i])
        if (
            isinstance(node, cst.ImportFrom)
            and len(body[i].body) == 1
            and not node.relative
            and node.module is not None
            and _dotted(node.module) == module
            and not isinstance(node.names, cst.ImportStar)
            and all(a.asname is None for a in node.names)
        ):
            return i
    return None


def _is_wrapped(node: cst.ImportFrom) -> bool:
    return node.lpar is not None and isinstance(
        node.lpar.whitespace_after, cst.ParenthesizedWhitespace
    )


def _newline_comma(indent: str) -> cst.Comma:
    return cst.Comma(
        whitespace_after=cst.ParenthesizedWhitespace(
            last_line=cst.SimpleWhitespace(indent), indent=True
        )
    )


def _wrapped(node: cst.ImportFrom) -> cst.ImportFrom:
    """``from x import (`` one name a line, with a trailing comma ``)`` -- ruff's wrapping."""
    names = [a.with_changes(comma=_newline_comma(INDENT)) for a in node.names]
    names[-1] = names[-1].with_changes(comma=_newline_comma(""))
    return node.with_changes(
        names=names,
        lpar=cst.LeftParen(
            whitespace_after=cst.ParenthesizedWhitespace(
                last_line=cst.SimpleWhitespace(INDENT), indent=True
            )
        ),
        rpar=cst.RightParen(),
    )


def _insert_name(stmt: cst.SimpleStatementLine, name: str) -> cst.SimpleStatementLine:
    """``stmt`` (``from x import ...``) with ``name`` added at its sorted place."""
    node = stmt.body[0]
    names = list(node.names)
    key = member_key(name)
    at = next(
        (i for i, a in enumerate(names) if member_key(_dotted(a.name) or "", _asname(a)) > key),
        len(names),
    )
    wrapped = _is_wrapped(node)
    if wrapped:
        indent = node.lpar.whitespace_after.last_line.value
        middle = _newline_comma(indent)
    else:
        middle = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    new = cst.ImportAlias(name=cst.Name(name))
    if at < len(names):
        names.insert(at, new.with_changes(comma=middle))
    else:
        last = names[-1]
        if wrapped and isinstance(last.comma, cst.Comma):
            # ``a,  # note\n)``: ``a`` keeps its comma and comment, the new name ends the list
            after = last.comma.whitespace_after
            if isinstance(after, cst.ParenthesizedWhitespace):
                names[-1] = last.with_changes(
                    comma=last.comma.with_changes(
                        whitespace_after=after.with_changes(last_line=cst.SimpleWhitespace(indent))
                    )
                )
                new = new.with_changes(
                    comma=last.comma.with_changes(
                        whitespace_after=after.with_changes(first_line=cst.TrailingWhitespace())
                    )
                )
            else:
                names[-1] = last.with_changes(comma=middle)
                new = new.with_changes(comma=last.comma)
        else:
            names[-1] = last.with_changes(comma=middle)
            new = new.with_changes(comma=last.comma)
        names.append(new)
    return stmt.with_changes(body=[node.with_changes(names=names), *stmt.body[1:]])


def _new_statement(item: ImportItem, names: Sequence[str] = ()) -> cst.SimpleStatementLine:
    if item.obj_name is None:
        text = f"import {item.module}" + (f" as {item.alias}" if item.alias else "")
        return cst.parse_statement(text + "\n")
    if item.alias:
        text = f"from {item.module} import {item.obj_name} as {item.alias}"
        return cst.parse_statement(text + "\n")
    ordered = sorted(names, key=member_key)
    return cst.parse_statement(f"from {item.module} import {', '.join(ordered)}\n")


class _Layout:
    """The module body being edited, and where a new import line goes in it."""

    def __init__(self, module: cst.Module, first_party: Collection[str]) -> None:
        self.header = list(module.header)
        self.body = list(module.body)
        self.first_party = first_party
        self.start, self.end = _prelude(self.body)

    def _section(self, stmt) -> int:
        return section(import_of(stmt), self.first_party)

    def _key(self, stmt) -> tuple:
        return statement_key(import_of(stmt))

    def place(self, stmt: cst.SimpleStatementLine) -> None:
        """Insert the new import line ``stmt`` (no leading lines) at its isort place."""
        sec, key = self._section(stmt), self._key(stmt)
        runs = _runs(self.body, self.start, self.end)
        if not runs:
            self._insert(self.start, stmt, new_section=False, take_over=True)
            return
        run = next(
            (r for r in runs if any(self._section(self.body[i]) == sec for i in range(*r))),
            runs[0],
        )
        same = [i for i in range(*run) if self._section(self.body[i]) == sec]
        if same:
            later = [i for i in same if self._key(self.body[i]) > key]
            if later:
                at = later[0]
                self._insert(at, stmt, new_section=False, take_over=at == same[0])
            else:
                self._insert(same[-1] + 1, stmt, new_section=False, take_over=False)
            return
        before = [i for i in range(*run) if self._section(self.body[i]) < sec]
        if before:
            self._insert(before[-1] + 1, stmt, new_section=True, take_over=False)
        else:
            self._insert(run[0], stmt, new_section=True, take_over=True)

    def _insert(self, at: int, stmt, *, new_section: bool, take_over: bool) -> None:
        body = self.body
        follower = body[at] if at < len(body) else None
        if take_over and follower is not None:
            # the new line takes over the blank lines above the one it now precedes, which
            # keeps its comments (ruff moves a comment with the import below it)
            blank, rest = _split_blank_prefix(follower.leading_lines)
            if at == 0 and not blank:
                rest = self._attached_header() + rest
            stmt = stmt.with_changes(leading_lines=blank)
            if new_section and import_of(follower) is not None:
                rest = [cst.EmptyLine(), *rest]
            body[at] = follower.with_changes(leading_lines=rest)
        elif new_section:
            stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(at, stmt)
        self.end += 1
        # as LibCST's AddImportsVisitor did: the code after a block that got a new import line
        # is separated from it (by as many blank lines as ruff's isort wants)
        after = at
        while after < len(body) and import_of(body[after]) is not None:
            after += 1
        if after < len(body) and not _blank_count(body[after].leading_lines):
            body[after] = _with_blank_lines(body[after], _lines_after_imports(body[after]))

    def _attached_header(self) -> list[cst.EmptyLine]:
        """Comment lines at the end of the module header, right above the first statement and
        below a blank line: they belong to that statement (a new first line goes above them)."""
        k = len(self.header)
        while k > 0 and self.header[k - 1].comment is not None:
            k -= 1
        if k == 0 or k == len(self.header):
            return []  # no comment there, or the file's opening comments (a shebang, a licence)
        attached = self.header[k:]
        self.header = self.header[:k]
        return attached

    def merge(self, module: str) -> int | None:
        return _merge_target(self.body, self.start, self.end, module)


def add_imports(
    context: CodemodContext, module: cst.Module, first_party: Collection[str] = ()
) -> cst.Module:
    """Carry out the ``AddImportsVisitor`` requests in ``context``: every import not already
    among the module's leading imports goes to its isort place (see the module docstring)."""
    items: list[ImportItem] = list(context.scratch.get(AddImportsVisitor.CONTEXT_KEY) or [])
    context.scratch.pop(AddImportsVisitor.CONTEXT_KEY, None)
    if not items:
        return module
    package = context.full_package_name
    items = [i.resolve_relative(package) if i.relative else i for i in items]
    layout = _Layout(module, first_party)
    existing = _Existing(layout.body[layout.start : layout.end])
    wanted: list[ImportItem] = []
    for item in items:
        if item.module == "__future__" and item.obj_name is None:
            raise ValueError("Cannot import __future__ directly!")
        if not existing.has(item) and item not in wanted:
            wanted.append(item)
    if not wanted:
        return module
    plain: dict[str, list[str]] = {}
    lines: list[cst.SimpleStatementLine] = []
    for item in wanted:
        if item.obj_name is not None and item.alias is None:
            plain.setdefault(item.module, []).append(item.obj_name)
        else:
            lines.append(_new_statement(item))
    for mod, names in plain.items():
        target = layout.merge(mod)
        if target is None:
            lines.append(_new_statement(ImportItem(mod, names[0], None, 0), names))
            continue
        stmt = layout.body[target]
        for name in names:
            stmt = _insert_name(stmt, name)
        layout.body[target] = stmt
    for stmt in sorted(lines, key=lambda s: (section(import_of(s), first_party), _key(s))):
        layout.place(stmt)
    return module.with_changes(header=layout.header, body=layout.body)


def _key(stmt: cst.SimpleStatementLine) -> tuple:
    return statement_key(import_of(stmt))


def wrap_long_imports(module: cst.Module, original: str | None) -> cst.Module:
    """Wrap the module-level ``from x import ...`` lines the rewrite made or changed that are
    longer than ruff's default line length (or than the longest ``from`` line of the original, if
    longer), as ruff's isort wraps them: in parentheses, one name a line, a trailing comma. Runs
    after the removals, so a line that only grew on the way is not wrapped for nothing; lines the
    original source has as they are stay as they are."""
    known = set(original.splitlines()) if original is not None else set()
    # a file with longer import lines than that is written for a longer line length
    limit = max([LINE_LENGTH, *(len(line) for line in known if line.startswith("from "))])
    body = list(module.body)
    changed = False
    for i, stmt in enumerate(body):
        node = import_of(stmt)
        if (
            not isinstance(node, cst.ImportFrom)
            or len(stmt.body) != 1
            or isinstance(node.names, cst.ImportStar)
            or _is_wrapped(node)
        ):
            continue
        code = cst.Module(body=[stmt.with_changes(leading_lines=[])]).code.rstrip("\n")
        if "\n" in code or len(code) <= limit or code in known:
            continue
        body[i] = stmt.with_changes(body=[_wrapped(node)])
        changed = True
    return module.with_changes(body=body) if changed else module


# ---------------------------------------------------------------------- removing


class SpacingCarry:
    """Keeps the blank lines above module-level import lines that get removed.

    A blank line above an import separates isort sections (or the import block from code).
    When a rule removes a whole import line, the next statement at module level gets at least
    as many blank lines as the removed line had, so ``import os`` / blank / ``import prefect``
    / ``import requests`` minus ``import prefect`` keeps ``requests`` in its own section.
    Comments above a removed import go with it, as before.
    """

    def __init__(self) -> None:
        self.blank = 0

    def step(self, original: cst.CSTNode, result):
        """Call with each module-level statement as it is left, in order; returns ``result``."""
        if _removed(result):
            if import_of(original) is not None:
                self.blank = max(self.blank, _blank_count(original.leading_lines))
            return result
        if not self.blank:
            return result
        count, self.blank = self.blank, 0
        if isinstance(result, cst.FlattenSentinel):
            nodes = list(result.nodes)
            if nodes and hasattr(nodes[0], "leading_lines"):
                nodes[0] = _with_blank_lines(nodes[0], count)
                return cst.FlattenSentinel(nodes)
            return result
        if hasattr(result, "leading_lines"):
            return _with_blank_lines(result, count)
        return result


def _removed(result) -> bool:
    if isinstance(result, cst.RemovalSentinel):
        return True
    if isinstance(result, cst.FlattenSentinel):
        return not result.nodes
    return isinstance(result, cst.SimpleStatementLine) and not result.body


class RemoveImports(RemoveImportsVisitor):
    """LibCST's ``RemoveImportsVisitor``, keeping section blank lines (see SpacingCarry)."""

    def __init__(self, context: CodemodContext, unused_imports=()) -> None:
        super().__init__(context, unused_imports)
        self._depth = 0
        self._carry = SpacingCarry()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _STATEMENTS):
            self._depth += 1
        return super().on_visit(node)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        result = super().leave_ImportFrom(original_node, updated_node)
        if (
            not isinstance(result, cst.ImportFrom)
            or isinstance(result.names, cst.ImportStar)
            or not _is_wrapped(original_node)
            or not isinstance(original_node.names[-1].comma, cst.Comma)
            or result.names[-1].comma is not cst.MaybeSentinel.DEFAULT
        ):
            return result
        # ``from x import (\n    a,\n    b,\n)`` minus ``b``: LibCST drops ``a``'s comma, which
        # would leave ``a)``; ``a`` keeps its own comma (and comment), ending the lines as ``b``'s did
        last = result.names[-1]
        ending = original_node.names[-1].comma.whitespace_after
        own = next(
            (
                a.comma
                for a in updated_node.names
                if a.name.deep_equals(last.name) and _asname(a) == _asname(last)
            ),
            None,
        )
        if isinstance(own, cst.Comma) and isinstance(
            own.whitespace_after, cst.ParenthesizedWhitespace
        ):
            comma = own.with_changes(
                whitespace_after=own.whitespace_after.with_changes(
                    last_line=getattr(ending, "last_line", cst.SimpleWhitespace(""))
                )
            )
        else:
            comma = original_node.names[-1].comma
            if isinstance(ending, cst.ParenthesizedWhitespace):
                comma = comma.with_changes(
                    whitespace_after=ending.with_changes(first_line=cst.TrailingWhitespace())
                )
        return result.with_changes(names=[*result.names[:-1], last.with_changes(comma=comma)])

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, _STATEMENTS):
            self._depth -= 1
            if self._depth == 0:
                result = self._carry.step(original_node, result)
        return result
