"""PF001 imports: Prefect imports end up valid for Prefect 2 (docs/spec.md §1).

Runs last, after every other rule has rewritten what it can:

- Prefect 1 import paths of objects that Prefect 2 still has move to their Prefect 2 home
  (A)::

      from prefect.utilities.edges import unmapped      ->  from prefect import unmapped
      from prefect.utilities.tasks import task          ->  from prefect import task

- A Prefect import that nothing uses any more is removed (A), ``import prefect`` included: a
  Prefect 1-only one always (it would break the import), a Prefect 2-valid one only when the
  original source used it (its uses were rewritten away); a user's own unused import stays.
- A Prefect 1-only import that is still used cannot stay (the module would not import under
  Prefect 2): it is commented out under a TODO, and every statement still using the name gets a
  TODO too (H).
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
"""

from __future__ import annotations

import ast
import builtins

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    GlobalScope,
    ParentNodeProvider,
    ScopeProvider,
)

from meta_flows.core.codemod.base import SCRATCH_ORIGINAL, Rule, dotted_name, module_code
from meta_flows.core.codemod.names import (
    PREFECT1_STAR_EXPORTS,
    PREFECT2_FLOW_OPTIONS,
    PREFECT2_TOP_LEVEL,
    is_prefect1_only_module,
)
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
    if is_prefect1_only_module(module):
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
        start = module_code(self.context, tree)
        self._originally_used = _used_names(original) if original else _used_names(start)
        tree = super().transform_module(tree)  # moves, plus removal of unused imports
        flag = _FlagLeftovers(self.context)
        tree = flag.transform_module(tree)
        body = _parse(original) if original else None
        if body is None:
            body = _parse(start) or []
        bound = module_bindings(body)
        if has_star_import(body, prefect=True):
            bound |= PREFECT1_STAR_EXPORTS
        return _DeadNames(self.context, bound, set(flag.flagged_names)).transform_module(tree)

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


class _FlagLeftovers(Rule):
    """Second pass of PF001: what is still Prefect 1-only after every rule ran."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.flagged_names: dict[str, str] = {}
        self.flagged_modules: set[str] = set()
        self._star_needs: set[str] = set()
        self._star_p1_used: set[str] = set()

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
        return super().visit_Module(node)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        stmt = updated_node.body[0] if len(updated_node.body) == 1 else None
        if isinstance(stmt, cst.ImportFrom):
            replaced = self._import_from(updated_node, stmt)
            if replaced is not None:
                return replaced
        elif isinstance(stmt, cst.Import):
            replaced = self._import(updated_node, stmt)
            if replaced is not None:
                return replaced
        return updated_node

    def _import(self, line: cst.SimpleStatementLine, node: cst.Import):
        """``import prefect.engine.state`` (still used): commented out, uses flagged."""
        keep, drop = [], []
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            if _is_prefect_module(name) and is_prefect1_only_module(name):
                drop.append(alias)
                if alias.asname is not None:
                    self.flagged_names[alias.asname.name.value] = name
                else:
                    self.flagged_modules.add(name)
            else:
                keep.append(alias)
        if not drop:
            return None
        names = ", ".join(f"`{dotted_name(a.name)}`" for a in drop)
        commented = self.comment_out(
            line.with_changes(body=[node.with_changes(names=_fix_commas(drop))]),
            f"{names} is a Prefect 1-only module: rewrite its uses by hand (see "
            "the meta-flows migration spec, docs/spec.md §1)",
        )
        if not keep:
            return commented
        kept_line = line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])
        return cst.FlattenSentinel([kept_line, commented])

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not self._statement_stack:
            return
        if (
            isinstance(node.value, cst.Name)
            and node.attr.value in PREFECT1_STAR_EXPORTS
            and node.attr.value not in PREFECT2_TOP_LEVEL
            and self.prefect_name(node) == f"prefect.{node.attr.value}"
        ):  # ``prefect.Client``, ``prefect.Parameter`` through ``import prefect``
            self.add_todo(f"`prefect.{node.attr.value}` is Prefect 1 API: rewrite for Prefect 2")
            return
        if not self.flagged_modules:
            return
        name = dotted_name(node)
        if name is None:
            return
        for module in self.flagged_modules:
            if name == module or name.startswith(module + "."):
                parent = self.get_metadata_parent(node)
                if not isinstance(parent, (cst.ImportAlias, cst.Import)):
                    self.add_todo(
                        f"uses Prefect 1 module `{module}` (its import is commented out): "
                        "rewrite for Prefect 2"
                    )
                return

    def _import_from(self, line: cst.SimpleStatementLine, node: cst.ImportFrom):
        module = _import_module_name(node)
        if module is None or not _is_prefect_module(module):
            return None
        moved = self.context.scratch.get("PF001.moved", set())
        if isinstance(node.names, cst.ImportStar):
            if is_prefect1_only_module(module) or module == "prefect":
                if module == "prefect" and not self._star_p1_used:
                    return self._explicit_star(line, node)
                if module == "prefect":
                    for name in sorted(self._star_needs):
                        self.add_import("prefect", name)
                p1 = ", ".join(f"`{n}`" for n in sorted(self._star_p1_used))
                return self.comment_out(
                    line,
                    f"`from {module} import *` binds Prefect 1 names"
                    + (f" (used here: {p1})" if p1 else "")
                    + ": import the Prefect 2 names this module uses explicitly",
                )
            return None
        keep, drop = [], []
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            asname = alias.asname.name.value if alias.asname else None
            if (module, name, asname) in moved:
                drop.append((alias, name, asname, True))
            elif _p1_only(module, name):
                drop.append((alias, name, asname, False))
            else:
                keep.append(alias)
        if not drop:
            return None
        leftover = [d for d in drop if not d[3]]
        if not leftover:
            if not keep:
                return cst.RemovalSentinel.REMOVE
            return line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])
        names = ", ".join(f"`{n}`" for _, n, _, _ in leftover)
        for _, name, asname, _ in leftover:
            self.flagged_names[asname or name] = f"{module}.{name}"
        removed = node.with_changes(names=_fix_commas([a for a, *_ in leftover]))
        commented = self.comment_out(
            line.with_changes(body=[removed]),
            f"{names} from `{module}` is Prefect 1 API with no automatic Prefect 2 "
            "equivalent: rewrite its uses by hand (see the meta-flows migration spec, docs/spec.md §1)",
        )
        if not keep:
            return commented
        kept_line = line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])
        return cst.FlattenSentinel([kept_line, commented])

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.flagged_names and self._statement_stack:
            parent = self.get_metadata_parent(node)
            if isinstance(parent, (cst.ImportAlias, cst.Attribute)) and not (
                isinstance(parent, cst.Attribute) and parent.value is node
            ):
                return
            self.add_todo(
                f"uses Prefect 1 `{self.flagged_names[node.value]}` (its import is commented "
                "out): rewrite for Prefect 2"
            )

    def get_metadata_parent(self, node: cst.CSTNode):
        return self.get_metadata(ParentNodeProvider, node, None)

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


# ---------------------------------------------------------------------- dead names
#
# A rule that comments out a Prefect 1 import or definition (``from prefect import *``,
# ``slack_notifier``, an ``S3Result``, a library task instance...) leaves its name unbound. A
# statement that still reads the name at import time would make the module fail with NameError,
# so PF001 comments such module-level statements out too (transitively: what they bound becomes
# unbound in turn); a use inside a function body only gets a TODO (the module still imports).


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
    """Third pass of PF001: statements that read names a rule commented out (see above)."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(
        self, context: CodemodContext, original_bound: set[str], flagged: set[str]
    ) -> None:
        super().__init__(context)
        self.original_bound = original_bound
        self.flagged = flagged
        self.dead: set[str] = set()
        self.plan: dict[int, list[str]] = {}
        self._inside = 0
        self._lazy = False

    # -------------------------------------------------------------- the plan

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        body = _parse(module_code(self.context, node))
        if body is None or has_star_import(body, prefect=False):
            return False
        self._lazy = any(
            isinstance(s, ast.ImportFrom)
            and s.module == "__future__"
            and any(a.name == "annotations" for a in s.names)
            for s in body
        )
        candidates = self.original_bound - module_bindings(body) - _BUILTINS
        if not candidates:
            return False
        self._facts: dict[int, tuple[set[str], set[str]]] = {}
        for _ in range(50):  # each round comments out at least one more statement
            bound: set[str] = set()
            self._bindings(node.body, bound)
            self.dead = self.original_bound - bound - _BUILTINS
            if not self._mark(node.body):
                break
        return bool(self.dead)

    def _facts_of(self, stmt: cst.CSTNode) -> tuple[set[str], set[str]]:
        """(names read at import time, names bound) of a statement, header only for blocks."""
        key = id(stmt)
        if key in self._facts:
            return self._facts[key]
        loads: set[str] = set()
        stores: set[str] = set()
        if isinstance(stmt, _BLOCKS) and isinstance(stmt.body, cst.IndentedBlock):
            for expr, is_target in self._header(stmt):
                parsed = _parse_expr(self.code_for(expr))
                if parsed is None:
                    continue
                if is_target:
                    # a target like ``x.attr`` or ``x[i]`` reads x; a plain name binds it
                    target = parsed.body
                    if isinstance(target, ast.Name):
                        stores.add(target.id)
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        stores |= {e.id for e in ast.walk(target) if isinstance(e, ast.Name)}
                    else:
                        loads |= import_time_loads(target, self._lazy)
                else:
                    loads |= import_time_loads(parsed, self._lazy)
        else:
            body = _parse(self.code_for(stmt.with_changes(leading_lines=[])))
            for node in body or ():
                loads |= import_time_loads(node, self._lazy)
                _stores(node, stores)
        self._facts[key] = (loads, stores)
        return loads, stores

    def _header(self, stmt: cst.CSTNode):
        """(expression, is a binding target) pairs of a block statement's header(s)."""
        if isinstance(stmt, cst.If):
            yield stmt.test, False
            orelse = stmt.orelse
            while isinstance(orelse, cst.If):  # elif tests belong to this statement
                yield orelse.test, False
                orelse = orelse.orelse
        elif isinstance(stmt, cst.While):
            yield stmt.test, False
        elif isinstance(stmt, cst.For):
            yield stmt.iter, False
            yield stmt.target, True
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                yield item.item, False
                if item.asname is not None:
                    yield item.asname.name, True
        elif isinstance(stmt, cst.Try):
            for handler in stmt.handlers:
                if handler.type is not None:
                    yield handler.type, False
                if handler.name is not None:
                    yield handler.name.name, True

    def _blocks(self, stmt: cst.CSTNode):
        """The indented bodies of a block statement (elif/else/except/finally included)."""
        parts = [stmt.body]
        if isinstance(stmt, cst.If):
            orelse = stmt.orelse
            while isinstance(orelse, cst.If):
                parts.append(orelse.body)
                orelse = orelse.orelse
            if orelse is not None:
                parts.append(orelse.body)
        elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
            parts.append(stmt.orelse.body)
        elif isinstance(stmt, cst.Try):
            parts += [h.body for h in stmt.handlers]
            if stmt.orelse is not None:
                parts.append(stmt.orelse.body)
            if stmt.finalbody is not None:
                parts.append(stmt.finalbody.body)
        return [p.body for p in parts if isinstance(p, cst.IndentedBlock)]

    def _is_block(self, stmt: cst.CSTNode) -> bool:
        return isinstance(stmt, _BLOCKS) and isinstance(stmt.body, cst.IndentedBlock)

    def _bindings(self, body, bound: set[str]) -> None:
        for stmt in body:
            if id(stmt) in self.plan:
                continue
            bound |= self._facts_of(stmt)[1]
            if self._is_block(stmt):
                for block in self._blocks(stmt):
                    self._bindings(block, bound)

    def _mark(self, body) -> bool:
        changed = False
        for stmt in body:
            if id(stmt) in self.plan:
                continue
            used = self._facts_of(stmt)[0] & self.dead
            if used:
                self.plan[id(stmt)] = sorted(used)
                changed = True
            elif self._is_block(stmt):
                for block in self._blocks(stmt):
                    changed |= self._mark(block)
        return changed

    # -------------------------------------------------------------- the rewrite

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.plan:
            self._inside += 1
        return super().on_visit(node)

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        result = super().on_leave(original_node, updated_node)
        names = self.plan.get(id(original_node))
        if names is None:
            return result
        self._inside -= 1
        quoted = ", ".join(f"`{n}`" for n in names)
        return self.comment_out(
            result,
            f"reads {quoted}, no longer defined at module level (its Prefect 1 import or "
            "definition was commented out, or moved into a flow function): the module would "
            "fail to import (NameError); rewrite for Prefect 2",
        )

    def visit_Name(self, node: cst.Name) -> None:
        if self._inside or node.value not in self.dead or node.value in self.flagged:
            return
        if not self._statement_stack:
            return
        if self.get_metadata(ExpressionContextProvider, node, None) != ExpressionContext.LOAD:
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or isinstance(scope, GlobalScope):
            return  # module level: planned above, or not read at import time
        if any(not isinstance(a.scope, GlobalScope) for a in scope[node.value]):
            return  # a local of the same name
        self.add_todo(
            f"uses `{node.value}`, no longer defined at module level (its Prefect 1 import or "
            "definition was commented out, or moved into a flow function): rewrite for Prefect 2"
        )


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
