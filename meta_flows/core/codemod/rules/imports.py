"""PF001 imports: Prefect imports end up valid for Prefect 2 (docs/spec.md §1).

Runs last, after every other rule has rewritten what it can:

- Prefect 1 import paths of objects that Prefect 2 still has move to their Prefect 2 home
  (A)::

      from prefect.utilities.edges import unmapped      ->  from prefect import unmapped
      from prefect.utilities.tasks import task          ->  from prefect import task

- ``prefect.artifacts.create_link`` / ``create_markdown`` take their Prefect 2 names,
  ``create_link_artifact`` / ``create_markdown_artifact``, in imports and uses, ``artifacts.x``
  included (A); a Prefect 1-only function of ``prefect.artifacts`` read as an attribute of the
  module (``artifacts.update_link(...)``) gets one TODO at its first use, naming every line (H).
- An import from a ``prefect.x`` module Prefect 2 lacks altogether (of Prefect 1, or of no
  released version: ``prefect.runtimes``) is treated as Prefect 1-only (below).
- A Prefect import that nothing uses any more is removed (A), ``import prefect`` included: a
  Prefect 1-only one always (it would break the import), a Prefect 2-valid one only when the
  original source used it (its uses were rewritten away); a user's own unused import stays.
- A Prefect 1-only name still used after every rule ran (a ``case`` outside a flow, a ``merge``
  PF008 could not place, a Prefect 1 result or schedule class...) cannot stay imported (the module
  would not import under Prefect 2), but its uses stay code: the name is bound to a *stand-in*
  (``meta_flows.core.codemod.stubs``), an instance of a small class ``_Prefect1Stub`` the rewrite
  writes once into the module, after its imports. Called at import time (module-level code) a
  stand-in returns another stand-in, so the module imports; called from a function -- a flow or
  task run -- or from a script, it raises ``NotImplementedError`` naming the Prefect 1 object. The
  construct gets ONE TODO, above its stand-in: the rule that gave up on it (``Rule.give_up``: PF008
  for ``case``/``merge``, else PF001), the reason, and every line using it -- not one TODO per
  use, nothing commented out, no ``pass`` (H).
- ``import prefect.x.y`` of a Prefect 1-only module (no ``as``: the name bound is ``prefect``) is
  commented out under one TODO naming the lines using the module.
- A name the module defined that a rule commented out (a library task instance, ``state =
  flow.run()``...) or moved into a flow function, and that code still reads, becomes a stand-in
  too: in place of the commented-out definition, its TODO extended with the lines using it; else
  before the first statement reading it, under a TODO of its own. Statements reading it stay code
  (before, each was commented out, transitively, with a TODO of its own).
- ``prefect.Client`` and other Prefect 1 attributes of ``import prefect``: one TODO at the first
  use, naming every line.
- Safety net for options: ``@flow(...)`` keywords that Prefect 2's ``flow()`` does not accept
  (e.g. ``executor=`` when PF014 is disabled) are removed with a TODO quoting them.

Every rule's import changes (this one's and the others') land where ruff's isort check (``I001``,
default settings) wants them (``import_order.py``): a new import goes into the existing import
block, in its section (standard library / third party / first party -- the repository's own
top-level packages), sorted by module, and a new name into ``from x import a, b`` at its sorted
place; a removed import line keeps the blank line that separated its section. The user's import
lines keep their order and text, and imports inside ``try:`` / ``if TYPE_CHECKING:`` blocks are
left alone, so a file that passed ``ruff check --select I`` still does (A).

Before::

    import json
    from datetime import timedelta

    import prefect
    from prefect import Flow, Parameter, task
    from prefect.tasks.secrets import EnvVarSecret

    from flows.util import helper

After (``timedelta`` and the Prefect 1 names no longer used; ``os`` for ``EnvVarSecret``)::

    import json
    import os

    from prefect import flow, get_run_logger, task

    from flows.util import helper

A Prefect 1 name with no automatic equivalent, before::

    from prefect import flow
    from prefect.engine.results import LocalResult

    RESULT = LocalResult(dir="/data")

    @flow
    def etl():
        return RESULT.read("x")

After (nothing commented out; ``RESULT`` is a stand-in built at import time, and the flow fails
with ``NotImplementedError`` where the TODO says)::

    import inspect

    from prefect import flow


    class _Prefect1Stub:
        ...


    # TODO(prefect2-migration): PF001 `LocalResult` (Prefect 1
    # `prefect.engine.results.LocalResult`, used at line 41) has no automatic Prefect 2
    # equivalent: rewrite those lines for Prefect 2 (...). Until then `LocalResult` is a
    # stand-in (_Prefect1Stub) that raises NotImplementedError when a flow or task calls it
    LocalResult = _Prefect1Stub("prefect.engine.results.LocalResult")


    RESULT = LocalResult(dir="/data")
    ...

(each TODO is one line in the file.)
"""

from __future__ import annotations

import ast
import builtins

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider

from meta_flows.core.codemod.base import (
    INFO_PREFIX,
    SCRATCH_ORIGINAL,
    SCRATCH_UNMIGRATED,
    TODO_PREFIX,
    Rule,
    dotted_name,
    module_code,
    todo_text,
)
from meta_flows.core.codemod.import_order import prelude, with_blank_lines
from meta_flows.core.codemod.names import (
    PREFECT1_STAR_EXPORTS,
    PREFECT2_FLOW_OPTIONS,
    PREFECT2_TOP_LEVEL,
    canonical,
    is_prefect1_only_module,
    is_unknown_prefect_module,
    prefect1_only_name,
)
from meta_flows.core.codemod.stubs import (
    STUB_CLASS,
    STUB_IMPORT,
    defines_stub_class,
    lines_of,
    stub_binding,
    stub_class,
    use_lines_of,
)
from meta_flows.core.codemod.sweep import is_placeholder
from meta_flows.patches import pyast

# (Prefect 1 module, name) -> Prefect 2 module for the same object.
MOVED = {
    ("prefect.utilities.edges", "unmapped"): "prefect",
    ("prefect.utilities.tasks", "task"): "prefect",
    ("prefect.utilities.tasks", "tags"): "prefect",
    ("prefect.core", "Task"): "prefect",
}

# Prefect 2 names that rules add with ``add_import("prefect", name)``: when the module had
# ``from prefect import *`` those requests were no-ops, so PF001 imports them explicitly when it
# comments the star import out. (``Flow``, ``Task``, ``context``... are left out on purpose: used
# after the rewrite they are Prefect 1 leftovers, not Prefect 2 code.)
STAR_REPLACEMENTS = frozenset(
    {
        "flow",
        "task",
        "unmapped",
        "allow_failure",
        "get_run_logger",
        "get_client",
        "tags",
        "runtime",
        "pause_flow_run",
        "resume_flow_run",
        "suspend_flow_run",
    }
)

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__"}
_BUILTINS |= {"__builtins__", "__loader__", "__package__", "__path__", "__annotations__"}

# Keywords accepted by prefect.flow() in Prefect 2.20.
FLOW_OPTIONS = PREFECT2_FLOW_OPTIONS


def _used_names(source: str) -> set[str]:
    """Names the source reads (``x`` in ``x(...)``, ``x.y``), ignoring the imports themselves."""
    try:
        tree = pyast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _is_prefect_module(module: str) -> bool:
    return module == "prefect" or module.startswith("prefect.")


def _import_module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return dotted_name(node.module)


def _p1_only(module: str, name: str) -> bool:
    if is_prefect1_only_module(module) or prefect1_only_name(f"{module}.{name}") is not None:
        return True
    if is_unknown_prefect_module(module):
        return True
    return module == "prefect" and name not in PREFECT2_TOP_LEVEL


class ImportsRule(Rule):
    """Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged (§1)."""

    CODE = "PF001"
    NAME = "imports"
    DESCRIPTION = "Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged"
    TRIGGERS = ("prefect",)
    APPLY_REMOVALS = True  # every rule's deferred import removals are applied here, once

    def transform_module(self, tree: cst.Module) -> cst.Module:
        original = self.context.scratch.get(SCRATCH_ORIGINAL)
        if "flow" in module_code(self.context, tree):
            tree = _FlowOptions(self.context).transform_module(tree)
        start = module_code(self.context, tree)
        self._originally_used = _used_names(original) if original else _used_names(start)
        if "artifacts" in start:
            tree = _Artifacts(self.context).transform_module(tree)
        tree = super().transform_module(tree)  # moves, plus removal of unused imports
        flag = _FlagLeftovers(self.context)
        tree = flag.transform_module(tree)
        body = _parse(original) if original else None
        if body is None:
            body = _parse(start) or []
        bound = module_bindings(body)
        if has_star_import(body, prefect=True):
            bound |= PREFECT1_STAR_EXPORTS
        return _DeadNames(self.context, bound).transform_module(tree)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        module = _import_module_name(updated_node)
        if module is None or not _is_prefect_module(module):
            return updated_node
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        for alias in updated_node.names:
            name = dotted_name(alias.name)
            asname = alias.asname.name.value if alias.asname else None
            if name is None:
                continue
            target = MOVED.get((module, name))
            if target is not None:
                self.add_import(target, name, asname)
                self.context.scratch.setdefault("PF001.moved", set()).add((module, name, asname))
            if _p1_only(module, name) or (asname or name) in self._originally_used:
                RemoveImportsVisitor.remove_unused_import(self.context, module, name, asname)
        return updated_node

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import):
        for alias in updated_node.names:
            name = dotted_name(alias.name)
            if name and _is_prefect_module(name) and alias.asname is None:
                if is_prefect1_only_module(name) or name.split(".")[0] in self._originally_used:
                    self.remove_import_if_unused(name)
        return updated_node


# Prefect 1 functions whose Prefect 2 namesake, under another name, does the same.
RENAMED = {
    "prefect.artifacts.create_link": "create_link_artifact",
    "prefect.artifacts.create_markdown": "create_markdown_artifact",
}


class _Artifacts(Rule):
    """Pass of PF001 for ``prefect.artifacts``: ``create_link``/``create_markdown`` become
    ``create_link_artifact``/``create_markdown_artifact`` (imports and uses, ``artifacts.x``
    included); a Prefect 1-only function read as an attribute of the module
    (``artifacts.update_link(...)``), which no stand-in can replace, gets one TODO at its first
    use listing every line using it."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(self, context) -> None:
        super().__init__(context)
        self._renamed: dict[str, str] = {}  # local name -> Prefect 2 name
        self._imported: set[int] = set()  # ids of the names in import statements
        self._flagged: set[str] = set()

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        module = _import_module_name(node)
        if module is None or isinstance(node.names, cst.ImportStar):
            return False
        for alias in node.names:
            self._imported.add(id(alias.name))
            name = dotted_name(alias.name) or ""
            if f"{module}.{name}" in RENAMED and alias.asname is None:
                self._renamed[name] = RENAMED[f"{module}.{name}"]
        return False

    def leave_ImportFrom(self, original_node, updated_node):
        module = _import_module_name(updated_node)
        if module is None or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        names = []
        for alias in updated_node.names:
            new = RENAMED.get(f"{module}.{dotted_name(alias.name)}")
            if new is not None:
                alias = alias.with_changes(name=cst.Name(new))
                self.mark_applied()
            names.append(alias)
        return updated_node.with_changes(names=names)

    def leave_Name(self, original_node, updated_node):
        new = self._renamed.get(original_node.value)
        if new is None or id(original_node) in self._imported:
            return updated_node
        if f"prefect.artifacts.{original_node.value}" not in self.qualified_names(original_node):
            return updated_node
        return updated_node.with_changes(value=new)

    def leave_Attribute(self, original_node, updated_node):
        qualified = self.prefect_name(original_node)
        if qualified is None or not qualified.startswith("prefect.artifacts."):
            return updated_node
        if qualified in RENAMED:
            self.mark_applied()
            return updated_node.with_changes(attr=cst.Name(RENAMED[qualified]))
        instead = prefect1_only_name(qualified)
        code = self.code_for(original_node)
        if instead is not None and code not in self._flagged and self._statement_stack:
            self._flagged.add(code)
            self.add_todo(
                f"`{code}` (Prefect 1 `{qualified}`, used at {lines_of(code)}) does not exist "
                f"in Prefect 2: use {instead}"
            )
        return updated_node


class _FlagLeftovers(Rule):
    """Second pass of PF001: what is still Prefect 1-only after every rule ran becomes a stand-in."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.flagged_names: dict[str, str] = {}  # local name -> Prefect 1 object it stands for
        self.flagged_modules: set[str] = set()
        self._star_needs: set[str] = set()
        self._star_p1_used: set[str] = set()
        self._prelude: set[int] = set()
        self._top_stubs: list[tuple[str, str]] = []  # (name, Prefect 1 object): after the imports
        self._in_place = False
        self._attributes: set[str] = set()
        self._removed_for_stubs: set[int] = set()
        self._orphans: list[cst.EmptyLine] = []

    def _explicit_star(self, line: cst.SimpleStatementLine, node: cst.ImportFrom):
        """``from prefect import *`` -> ``from prefect import <the Prefect 2 names used>``."""
        self.mark_applied()
        if not self._star_needs:
            return cst.RemovalSentinel.REMOVE
        names = [cst.ImportAlias(name=cst.Name(n)) for n in sorted(self._star_needs)]
        names = [
            a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for a in names[:-1]
        ] + names[-1:]
        return line.with_changes(body=[node.with_changes(names=names)])

    def visit_Module(self, node: cst.Module) -> bool:
        code = module_code(self.context, node)
        try:
            tree = pyast.parse(code)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            unbound = _used_names(code) - module_bindings(tree.body)
            self._star_needs = unbound & STAR_REPLACEMENTS
            self._star_p1_used = (unbound & PREFECT1_STAR_EXPORTS) - STAR_REPLACEMENTS
        start, end = prelude(node.body)
        self._prelude = {id(s) for s in node.body[start:end]}
        return super().visit_Module(node)

    # -------------------------------------------------------------- stand-ins

    def _stand_ins(self, original_node, pairs: list[tuple[str, str]]) -> list:
        """Bind each ``(name, Prefect 1 object)`` to a stand-in: after the module's imports for
        an import line of the module's leading imports (returns nothing), else in place (returns
        the binding statements)."""
        for name, qualified in pairs:
            self.flagged_names[name] = qualified
        self.mark_applied()
        if id(original_node) in self._prelude:
            self._top_stubs += pairs
            self._removed_for_stubs.add(id(original_node))
            return []
        self._in_place = True
        return [stand_in(self.context, name, qualified) for name, qualified in pairs]

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        """Comments above an import line that goes (its names became stand-ins after the
        imports) stay, on the next statement."""
        top = len(self._statement_stack) == 1 and self._statement_stack[-1] is original_node
        result = super().on_leave(original_node, updated_node)
        if not top:
            return result
        if isinstance(result, cst.RemovalSentinel):
            if id(original_node) in self._removed_for_stubs:
                self._orphans += _split_blank(original_node.leading_lines)[1]
            return result
        if self._orphans and hasattr(result, "leading_lines"):
            blank, rest = _split_blank(result.leading_lines)
            result = result.with_changes(leading_lines=[*blank, *self._orphans, *rest])
            self._orphans = []
        return result

    def leave_Module(self, original_node, updated_node):
        if self._orphans:
            updated_node = updated_node.with_changes(footer=[*self._orphans, *updated_node.footer])
        if not self._top_stubs and not self._in_place:
            return updated_node
        bindings = [stand_in(self.context, n, q) for n, q in self._top_stubs]
        return insert_stand_ins(self, updated_node, [(None, bindings)] if bindings else [])

    # -------------------------------------------------------------- imports

    def leave_SimpleStatementLine(self, original_node, updated_node):
        stmt = updated_node.body[0] if len(updated_node.body) == 1 else None
        if isinstance(stmt, cst.ImportFrom):
            replaced = self._import_from(original_node, updated_node, stmt)
            if replaced is not None:
                return replaced
        elif isinstance(stmt, cst.Import):
            replaced = self._import(original_node, updated_node, stmt)
            if replaced is not None:
                return replaced
        return updated_node

    def _replace(self, line, node, keep: list, bindings: list):
        """The import line with only the ``keep`` names, followed by ``bindings``."""
        out = [line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])] if keep else []
        if bindings and out:
            out += bindings
        elif bindings:
            out = [bindings[0].with_changes(leading_lines=line.leading_lines), *bindings[1:]]
        if not out:
            return cst.RemovalSentinel.REMOVE
        return out[0] if len(out) == 1 else cst.FlattenSentinel(out)

    def _import(self, original_node, line: cst.SimpleStatementLine, node: cst.Import):
        """``import prefect.engine.state as state``: a stand-in. Without ``as`` (the name bound
        is ``prefect``): commented out, one TODO naming the lines using the module."""
        keep, drop, stubs = [], [], []
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            if _is_prefect_module(name) and is_prefect1_only_module(name):
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    stubs.append((alias.asname.name.value, name))
                else:
                    drop.append(alias)
                    self.flagged_modules.add(name)
            else:
                keep.append(alias)
        if not drop and not stubs:
            return None
        bindings = self._stand_ins(original_node, stubs) if stubs else []
        if not drop:
            return self._replace(line, node, keep, bindings)
        names = ", ".join(
            f"`{dotted_name(a.name)}` (used at {lines_of(dotted_name(a.name) or '')})" for a in drop
        )
        commented = self.comment_out(
            line.with_changes(body=[node.with_changes(names=_fix_commas(drop))]),
            f"{names} is a Prefect 1-only module: rewrite its uses by hand (see "
            "the meta-flows migration spec, docs/spec.md §1)",
        )
        kept = self._replace(line, node, keep, bindings)
        if isinstance(kept, cst.RemovalSentinel):
            return commented
        nodes = list(kept.nodes) if isinstance(kept, cst.FlattenSentinel) else [kept]
        return cst.FlattenSentinel([*nodes, commented])

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not self._statement_stack:
            return
        if (
            isinstance(node.value, cst.Name)
            and node.attr.value in PREFECT1_STAR_EXPORTS
            and node.attr.value not in PREFECT2_TOP_LEVEL
            and self.prefect_name(node) == f"prefect.{node.attr.value}"
        ):  # ``prefect.Client``, ``prefect.Parameter`` through ``import prefect``: one TODO
            dotted = f"{node.value.value}.{node.attr.value}"
            if dotted not in self._attributes:
                self._attributes.add(dotted)
                self.add_todo(
                    f"`prefect.{node.attr.value}` is Prefect 1 API (used at {lines_of(dotted)}): "
                    "rewrite for Prefect 2"
                )

    def _import_from(self, original_node, line: cst.SimpleStatementLine, node: cst.ImportFrom):
        module = _import_module_name(node)
        if module is None or not _is_prefect_module(module):
            return None
        moved = self.context.scratch.get("PF001.moved", set())
        if isinstance(node.names, cst.ImportStar):
            if module == "prefect":
                bindings = self._stand_ins(
                    original_node, [(n, f"prefect.{n}") for n in sorted(self._star_p1_used)]
                )
                explicit = self._explicit_star(line, node)
                if not bindings:
                    return explicit
                if isinstance(explicit, cst.RemovalSentinel):
                    first = bindings[0].with_changes(leading_lines=line.leading_lines)
                    return cst.FlattenSentinel([first, *bindings[1:]])
                return cst.FlattenSentinel([explicit, *bindings])
            if is_prefect1_only_module(module):
                return self.comment_out(
                    line,
                    f"`from {module} import *` binds Prefect 1 names: import the Prefect 2 names "
                    "this module uses explicitly",
                )
            return None
        keep, stubs, moved_away = [], [], False
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            asname = alias.asname.name.value if alias.asname else None
            if (module, name, asname) in moved:
                moved_away = True
            elif _p1_only(module, name):
                stubs.append((asname or name, f"{module}.{name}"))
            else:
                keep.append(alias)
        if not stubs and not moved_away:
            return None
        bindings = self._stand_ins(original_node, stubs) if stubs else []
        return self._replace(line, node, keep, bindings)

    def get_metadata_parent(self, node: cst.CSTNode):
        return self.get_metadata(ParentNodeProvider, node, None)


class _FlowOptions(Rule):
    """First pass of PF001: ``@flow(...)`` keywords Prefect 2's ``flow()`` rejects are removed
    (before deciding which Prefect 1 imports are still used)."""

    CODE = "PF001"
    NAME = "imports"

    def leave_Decorator(self, original_node: cst.Decorator, updated_node: cst.Decorator):
        call = updated_node.decorator
        if not isinstance(call, cst.Call) or not self.is_prefect(original_node, "prefect.flow"):
            return updated_node
        bad = [
            a for a in call.args if a.keyword is not None and a.keyword.value not in FLOW_OPTIONS
        ]
        if not bad:
            return updated_node
        quoted = ", ".join(f"`{self.code_for(a).strip().rstrip(',')}`" for a in bad)
        self.add_todo(
            f"removed Prefect 1 flow option(s) {quoted}: no automatic Prefect 2 equivalent"
        )
        args = [a for a in call.args if a not in bad]
        return updated_node.with_changes(decorator=call.with_changes(args=_fix_commas(args)))


# ---------------------------------------------------------------------- stand-ins

DEFAULT_REASON = (
    "has no automatic Prefect 2 equivalent: rewrite those lines for Prefect 2 (see the "
    "meta-flows migration spec, docs/spec.md §1)"
)


def stand_in_todo(context: CodemodContext, name: str, qualified: str) -> str:
    """The one TODO of a Prefect 1 object the rewrite could not migrate: the rule that gave up
    (``Rule.give_up``, else PF001), why, and the lines using it."""
    known = context.scratch.get(SCRATCH_UNMIGRATED, {})
    instead = prefect1_only_name(qualified)
    default = (
        f"does not exist in Prefect 2 (the module does, without it): use {instead}"
        if instead
        else DEFAULT_REASON
    )
    code, reason = known.get(canonical(qualified), ("PF001", default))
    return todo_text(
        code,
        f"`{name}` (Prefect 1 `{qualified}`, used at {lines_of(name)}) {reason}. Until then "
        f"`{name}` is a stand-in ({STUB_CLASS}) that raises NotImplementedError when a flow or "
        "task calls it",
    )


def stand_in(context: CodemodContext, name: str, qualified: str) -> cst.SimpleStatementLine:
    """``name = _Prefect1Stub("qualified")`` under its TODO."""
    return with_todo_text(stub_binding([name], qualified), stand_in_todo(context, name, qualified))


def with_todo_text(stmt: cst.SimpleStatementLine, text: str) -> cst.SimpleStatementLine:
    line = cst.EmptyLine(indent=True, comment=cst.Comment(text))
    return stmt.with_changes(leading_lines=[*stmt.leading_lines, line])


def _holds_stand_in(stmt: cst.CSTNode) -> bool:
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == STUB_CLASS:
                found.append(node)

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return node.name.value != STUB_CLASS

    stmt.visit(_Find())
    return bool(found)


def insert_stand_ins(
    rule: Rule, module: cst.Module, insertions: list[tuple[int | None, list]]
) -> cst.Module:
    """``module`` with the stand-in statements of ``insertions`` (``(index in module.body or
    None for after the imports, statements)``) and, once, the stand-in class before the first
    of them (after the module's imports, or before the first statement holding a stand-in)."""
    body = list(module.body)
    start, end = prelude(body)
    places = [end if at is None else at for at, _ in insertions]
    defined = next(
        (
            i
            for i, s in enumerate(body)
            if isinstance(s, cst.ClassDef) and s.name.value == STUB_CLASS
        ),
        None,
    )
    if defined is not None:  # a stand-in goes after the class (another rule wrote it first)
        places = [max(place, defined + 1) for place in places]
    holders = [i for i, stmt in enumerate(body) if _holds_stand_in(stmt)]
    first = min([end, *places, *holders])
    for (_at, stmts), place in sorted(
        zip(insertions, places, strict=True), key=lambda p: p[1], reverse=True
    ):
        if not stmts:
            continue
        if place == end:
            stmts = [with_blank_lines(stmts[0], 2 if place else 0), *stmts[1:]]
        if place < len(body):
            body[place] = with_blank_lines(body[place], 2 if place == end else 0)
        body[place:place] = stmts
    if not defines_stub_class(module):
        cls = stub_class().with_changes(
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()] if first else []
        )
        if first < len(body):
            body[first] = with_blank_lines(body[first], 2)
        body.insert(first, cls)
        rule.add_import(STUB_IMPORT)
    return module.with_changes(body=body)


# ---------------------------------------------------------------------- dead names
#
# A rule that comments out a Prefect 1 definition (a library task instance, ``state =
# flow.run()``...) or moves it into a flow function leaves its name unbound. A statement still
# reading the name would fail with NameError (at import time: the module would not import), so
# PF001 binds the name to a stand-in: in place of the commented-out definition, whose TODO gains
# the lines using it, else before the first statement reading it. Nothing else is commented out.


def _stores(node: ast.AST, out: set[str]) -> None:
    """Names ``node`` binds in the scope it runs in (not inside nested functions or classes)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.add(node.name)
        return
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                out.add(alias.asname or alias.name.split(".")[0])
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        out.add(node.id)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        out.add(node.name)
    elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        out.add(node.name)
    elif isinstance(node, ast.MatchMapping) and node.rest:
        out.add(node.rest)
    for child in ast.iter_child_nodes(node):
        _stores(child, out)


def module_bindings(body: list[ast.stmt]) -> set[str]:
    """Every name the module-level statements ``body`` bind (``global`` declarations included)."""
    out: set[str] = set()
    for stmt in body:
        _stores(stmt, out)
        for node in ast.walk(stmt):
            if isinstance(node, ast.Global):
                out.update(node.names)
    return out


def has_star_import(body: list[ast.stmt], prefect: bool) -> bool:
    """Whether ``body`` has a (non-)Prefect ``from x import *`` at module level."""
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and any(a.name == "*" for a in sub.names):
                is_prefect = (sub.module or "").split(".")[0] == "prefect" and not sub.level
                if is_prefect == prefect:
                    return True
    return False


def import_time_loads(node: ast.AST, lazy_annotations: bool = False) -> set[str]:
    """Names read when ``node`` runs at module level: not function or lambda bodies."""
    out: set[str] = set()

    def visit(n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(n, ast.Lambda):
                for dec in n.decorator_list:
                    visit(dec)
                if not lazy_annotations and n.returns is not None:
                    visit(n.returns)
            args = n.args
            for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
                visit(default)
            if not lazy_annotations and not isinstance(n, ast.Lambda):
                every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                for arg in every:
                    if arg is not None and arg.annotation is not None:
                        visit(arg.annotation)
            return
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            bound: set[str] = set()
            for gen in n.generators:
                _stores(gen.target, bound)
            inner: set[str] = set()
            for child in ast.iter_child_nodes(n):
                inner |= import_time_loads(child, lazy_annotations)
            out.update(inner - bound)
            return
        if isinstance(n, ast.AnnAssign) and lazy_annotations:
            visit(n.target)
            if n.value is not None:
                visit(n.value)
            return
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            out.add(n.id)
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return out


def _parse(code: str) -> list[ast.stmt] | None:
    try:
        return pyast.parse(code).body
    except (SyntaxError, ValueError):
        return None


def _parse_expr(code: str) -> ast.AST | None:
    try:
        return pyast.parse(f"({code})", mode="eval")
    except (SyntaxError, ValueError):
        return None


_BLOCKS = (cst.If, cst.For, cst.While, cst.With, cst.Try)


class _DeadNames(Rule):
    """Third pass of PF001: names a rule commented out or moved away become stand-ins (above)."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(self, context: CodemodContext, original_bound: set[str]) -> None:
        super().__init__(context)
        self.original_bound = original_bound

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        code = module_code(self.context, tree)
        try:
            parsed = pyast.parse(code)
        except (SyntaxError, ValueError):
            return tree
        if has_star_import(parsed.body, prefect=False):
            return tree
        dead = self.original_bound - module_bindings(parsed.body) - _BUILTINS
        used = sorted(name for name, lines in use_lines_of(parsed, dead).items() if lines)
        if not used:
            return tree
        body = list(tree.body)
        start, end = prelude(body)
        left = set(used)
        # where a rule commented the definition out: the stand-in takes the place of its `pass`
        for index in range(len(body) - 1, end - 1, -1):
            new = self._at_placeholders(body[index], left)
            if isinstance(new, cst.FlattenSentinel):
                body[index : index + 1] = list(new.nodes)
            else:
                body[index] = new
        parsed_body = parsed.body if len(body) == len(parsed.body) else _parse(_code(body)) or []
        insertions: list[tuple[int | None, list]] = []
        for name in used:
            if name not in left:
                continue
            at = next(
                (
                    i
                    for i in range(end, len(parsed_body))
                    if name in import_time_loads(parsed_body[i])
                ),
                None,
            )
            stmt = with_todo_text(stub_binding([name], name), gone_todo(self.CODE, name))
            insertions.append((at, [stmt]))
        self.mark_applied()
        return insert_stand_ins(self, tree.with_changes(body=body), insertions)

    def _at_placeholders(self, stmt: cst.CSTNode, left: set[str]) -> cst.CSTNode:
        """``stmt`` with each placeholder ``pass`` (``Rule.comment_out``) whose commented-out
        code bound a name of ``left`` replaced by stand-ins, at import-time block depth."""
        if is_placeholder(stmt):
            names = sorted(left & _commented_bindings(stmt.leading_lines))
            if not names:
                return stmt
            left -= set(names)
            lines = list(stmt.leading_lines)
            bindings = [stub_binding([n], n) for n in names]
            if _has_todo(lines):  # the TODO of the commented-out definition gains the uses
                lines = _extend_last_todo(
                    lines,
                    "; "
                    + ", ".join(f"`{n}`" for n in names)
                    + f" {'is a stand-in' if len(names) == 1 else 'are stand-ins'} now "
                    f"({STUB_CLASS}), used at " + ", ".join(lines_of(n) for n in names),
                )
            else:  # commented out under another statement's TODO: one of its own
                bindings = [
                    with_todo_text(b, gone_todo(self.CODE, n))
                    for b, n in zip(bindings, names, strict=True)
                ]
            bindings[0] = bindings[0].with_changes(
                leading_lines=[*lines, *bindings[0].leading_lines]
            )
            return cst.FlattenSentinel(bindings) if len(bindings) > 1 else bindings[0]
        if not isinstance(stmt, _BLOCKS) or not isinstance(stmt.body, cst.IndentedBlock):
            return stmt
        return stmt.visit(_Placeholders(self, left))


def gone_todo(code: str, name: str) -> str:
    return todo_text(
        code,
        f"`{name}` is no longer defined at module level (its Prefect 1 definition was removed, "
        f"commented out or moved into a flow function); used at {lines_of(name)}: rewrite those "
        f"lines for Prefect 2. Until then `{name}` is a stand-in ({STUB_CLASS}) that raises "
        "NotImplementedError when a flow or task calls it",
    )


def _has_todo(lines) -> bool:
    """A TODO among the comment lines right above the commented-out code."""
    for line in reversed(list(lines)):
        if line.comment is None:
            return False
        if line.comment.value.startswith(TODO_PREFIX):
            return True
    return False


def _split_blank(lines):
    """(the blank lines before the first comment, the rest)."""
    lines = list(lines)
    k = 0
    while k < len(lines) and lines[k].comment is None:
        k += 1
    return lines[:k], lines[k:]


def _code(body) -> str:
    return cst.Module(body=body).code


class _Placeholders(cst.CSTTransformer):
    """Stand-ins for placeholders inside a module-level block (not in functions or classes)."""

    def __init__(self, owner: _DeadNames, left: set[str]) -> None:
        self.owner, self.left = owner, left

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def leave_SimpleStatementLine(self, original_node, updated_node):
        return self.owner._at_placeholders(updated_node, self.left)


def _commented_bindings(lines) -> set[str]:
    """Names the code commented out under the last TODO (or note) of ``lines`` bound."""
    code: list[str] = []
    for line in reversed(list(lines)):
        text = line.comment.value if line.comment is not None else None
        if text is None or text.startswith((TODO_PREFIX, INFO_PREFIX)):
            break
        code.append(text[2:] if text.startswith("# ") else text[1:])
    body = _parse("\n".join(reversed(code)) + "\n")
    return module_bindings(body) if body else set()


def _extend_last_todo(lines: list[cst.EmptyLine], extra: str) -> list[cst.EmptyLine]:
    for i in range(len(lines) - 1, -1, -1):
        comment = lines[i].comment
        if comment is not None and comment.value.startswith(TODO_PREFIX):
            lines[i] = lines[i].with_changes(comment=cst.Comment(comment.value + extra))
            break
    return lines


def _fix_commas(items: list) -> list:
    """Re-join import aliases or call args so the last one has no trailing comma."""
    if not items:
        return items
    fixed = list(items)
    last = fixed[-1]
    if isinstance(last, (cst.ImportAlias, cst.Arg)) and last.comma is not cst.MaybeSentinel.DEFAULT:
        fixed[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return fixed


RULE = ImportsRule
