"""The base every rule builds on: name resolution, TODO comments, and import bookkeeping.

A rule is a LibCST ``VisitorBasedCodemodCommand`` subclass of :class:`Rule` with a stable ``CODE``.
It must only rewrite objects that resolve to Prefect (``self.prefect_name(node)``), leave everything
else byte for byte, and flag what it cannot prove safe with ``# TODO(prefect2-migration): CODE ...``
on the line above the affected statement (``self.add_todo``) -- never a silent change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import ClassVar

import libcst as cst
from libcst._metadata_dependent import LazyValue
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    ParentNodeProvider,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
)

from meta_flows.core.codemod.import_order import (
    RemoveImports,
    SpacingCarry,
    add_imports,
    wrap_long_imports,
)
from meta_flows.core.codemod.metadata import SharedMetadataWrapper, transform_with
from meta_flows.core.codemod.names import PREFECT1_STAR_EXPORTS, canonical
from meta_flows.core.codemod.project import ProjectIndex
from meta_flows.core.codemod.stubs import same_todo
from meta_flows.patches.libcst_matchers import has_attribute_hooks, is_plain

TODO_PREFIX = "# TODO(prefect2-migration):"
SCRATCH_PROJECT = "meta_flows.project"
SCRATCH_APPLIED = "meta_flows.applied"
SCRATCH_REQUIREMENTS = "meta_flows.requirements"
SCRATCH_BLOCKS = "meta_flows.blocks"
SCRATCH_WRAPPER = "meta_flows.wrapper"
SCRATCH_ORIGINAL = "meta_flows.original_source"
SCRATCH_CODE = "meta_flows.code"
# canonical qualified name of a Prefect 1 object a rule gave up on -> (rule code, reason): PF001
# writes the one TODO of that construct above its stand-in (stubs.py), with this code and reason.
SCRATCH_UNMIGRATED = "meta_flows.unmigrated"
SCRATCH_DISABLED = "meta_flows.disabled"  # the rule codes switched off for this run
# module-level @task functions whose Prefect 1 trigger was not the default (PF009 -> PF005: their
# upstream edges carry the trigger's meaning, not just an order)
SCRATCH_TRIGGERED = "meta_flows.triggered"
# module-level classes (PF006 helpers of former Task subclasses) whose ``__init__`` keeps its
# ``**kwargs`` for itself (PF006 -> PF004: their constructor keywords are not task options)
SCRATCH_OWN_KWARGS = "meta_flows.own_kwargs"


def todo_text(code: str, message: str) -> str:
    """The exact comment text of a TODO (one line)."""
    message = " ".join(message.split())
    return f"{TODO_PREFIX} {code} {message}"


def has_comment(lines: Iterable[cst.EmptyLine], text: str) -> bool:
    return any(line.comment is not None and same_todo(line.comment.value, text) for line in lines)


def with_leading_comments(node: cst.CSTNode, comments: Sequence[str]) -> cst.CSTNode:
    """Return ``node`` (a statement) with comment lines added above it, skipping ones present.

    Works for simple statements, compound statements and decorated definitions (the comment goes
    above the decorators). Idempotent: a comment already above the statement is not added again.
    "Moved to prefect.yaml" markers (:func:`moved_comment`) merge into one line per statement.
    """
    if not hasattr(node, "leading_lines"):
        return node
    existing = list(node.leading_lines)
    moved = [kind for text in comments for kind in moved_kinds(text) or ()]
    new = [
        cst.EmptyLine(indent=True, comment=cst.Comment(text))
        for text in comments
        if moved_kinds(text) is None and not has_comment(existing, text)
    ]
    if moved:
        at = _marker_line(existing)
        if at is None:
            new.insert(0, cst.EmptyLine(indent=True, comment=cst.Comment(moved_comment(*moved))))
        else:
            text = moved_comment(*moved_kinds(existing[at].comment.value), *moved)
            if text != existing[at].comment.value:
                existing[at] = existing[at].with_changes(comment=cst.Comment(text))
    if not new and existing == list(node.leading_lines):
        return node
    return node.with_changes(leading_lines=[*existing, *new])


def _marker_line(lines: Sequence[cst.EmptyLine]) -> int | None:
    """Index of the statement's own "moved to prefect.yaml" marker: one among the comment lines
    right above it that only TODOs follow (not a marker above commented-out code)."""
    for i in range(len(lines) - 1, -1, -1):
        comment = lines[i].comment
        if comment is None:
            return None
        if moved_kinds(comment.value) is not None:
            return i
        if not comment.value.startswith(TODO_PREFIX):
            return None
    return None


def with_todo(node: cst.CSTNode, code: str, message: str) -> cst.CSTNode:
    """Return the statement ``node`` with ``# TODO(prefect2-migration): CODE message`` above it."""
    return with_leading_comments(node, [todo_text(code, message)])


_MISSING = object()
_STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
_SCOPE_TYPES = (cst.FunctionDef, cst.Lambda)
# node type -> (is a statement, opens a function body); isinstance on LibCST's abstract base
# classes is slow, and every pass asks for every node.
_NODE_KINDS: dict[type, tuple[bool, bool]] = {}


def _kind(node: cst.CSTNode) -> tuple[bool, bool]:
    kind = _NODE_KINDS.get(type(node))
    if kind is None:
        kind = _NODE_KINDS[type(node)] = (
            isinstance(node, _STATEMENT_TYPES),
            isinstance(node, _SCOPE_TYPES),
        )
    return kind


class Rule(VisitorBasedCodemodCommand):
    """Base class of every rewrite rule.

    Subclasses set ``CODE`` (``"PF00x"``), ``NAME`` (the construct, as in the file name) and a
    one-line ``DESCRIPTION``; ``TRIGGERS`` lists substrings of which at least one must occur in the
    source for the rule to run at all (a cheap pre-filter: an empty tuple means always run).
    """

    CODE: ClassVar[str] = "PF000"
    NAME: ClassVar[str] = "base"
    DESCRIPTION: ClassVar[str] = ""
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    APPLY_REMOVALS: ClassVar[bool] = False

    # Metadata is resolved lazily, on first use (see get_metadata): most rules find nothing to do
    # in most files, and resolving scopes is most of a rule's cost.
    METADATA_DEPENDENCIES = ()

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self._statement_stack: list[cst.CSTNode] = []
        self._pending: dict[int, list[str]] = {}
        self._star_modules: set[str] = set()
        self._held: list[cst.CSTNode] = []
        self._spacing = SpacingCarry()
        # How many function/lambda bodies enclose the node being visited (0 = import time).
        self.function_depth = 0
        self.source_module: cst.Module | None = None

    # ------------------------------------------------------------------ running

    @classmethod
    def wants(cls, source: str) -> bool:
        return not cls.TRIGGERS or any(t in source for t in cls.TRIGGERS)

    @property
    def project(self) -> ProjectIndex:
        return self.context.scratch.get(SCRATCH_PROJECT) or ProjectIndex()

    def mark_applied(self) -> None:
        """Record that this rule changed the module (shown in reports and commit messages)."""
        self.context.scratch.setdefault(SCRATCH_APPLIED, set()).add(self.CODE)

    def require_package(self, requirement: str) -> None:
        """Record a Prefect 2 package the migrated project must add to its requirements."""
        self.context.scratch.setdefault(SCRATCH_REQUIREMENTS, set()).add(requirement)

    def require_block(self, block: str) -> None:
        """Record a Prefect 2 block (``"Secret block 'github-token'"``) an operator must create."""
        self.context.scratch.setdefault(SCRATCH_BLOCKS, set()).add(block)

    def give_up(self, qualified: str, reason: str) -> bool:
        """Record that this rule cannot migrate (some uses of) the Prefect 1 object ``qualified``
        (canonical name) for ``reason`` ("could not be rewritten ...: rewrite it as ...").

        The construct then gets one TODO, written by PF001 above the stand-in it binds the name
        to (stubs.py), naming this rule, the reason and every line using the name -- not one TODO
        per use. Returns False when PF001 is switched off: the rule must flag the uses itself.
        """
        if "PF001" in self.context.scratch.get(SCRATCH_DISABLED, ()):
            return False
        known = self.context.scratch.setdefault(SCRATCH_UNMIGRATED, {})
        code, text = known.get(qualified, (self.CODE, ""))
        if reason not in text.split("; "):
            text = f"{text}; {reason}" if text else reason
        known[qualified] = (code, text)
        self.mark_applied()
        return True

    def add_import(self, module: str, name: str | None = None, asname: str | None = None) -> None:
        AddImportsVisitor.add_needed_import(self.context, module, name, asname)
        self.mark_applied()

    def remove_import_if_unused(self, module: str, name: str | None = None) -> None:
        RemoveImportsVisitor.remove_unused_import(self.context, module, name)

    def first_party(self) -> frozenset[str]:
        """Top-level module names that are this project's own (isort's first-party section)."""
        return first_party_of(self.context, self.project)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """Run the rule, then the import fixes it asked for.

        Unlike LibCST's ``CodemodCommand.transform_module`` this reuses the metadata computed by
        the previous rule when that rule left the tree unchanged (metadata resolution is most of
        a rule's cost), adds the imports *this* rule asked for right away (later rules resolve
        names through them), and defers removing unused imports: requests pile up and are applied
        once, by the rule with ``APPLY_REMOVALS`` (PF001, last) or by the engine at the end (an
        unused import changes no other rule's resolution, and removal needs a scope analysis).
        """
        cached = self.context.scratch.get(SCRATCH_WRAPPER)
        if cached is not None and cached.module is tree:
            wrapper = cached
        else:
            wrapper = SharedMetadataWrapper(tree)
        self.context.scratch[SCRATCH_WRAPPER] = wrapper
        before = module_code(self.context, tree)
        remember_code(self.context, wrapper.module, before)  # the same tree, or a deep copy
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            try:
                new_tree = self.transform_module_impl(wrapper.module)
            finally:
                self.context = replace(self.context, wrapper=None)
        if module_code(self.context, new_tree) == before:
            new_tree = wrapper.module  # unchanged: the next rule reuses this metadata
        if self.context.scratch.get(AddImportsVisitor.CONTEXT_KEY):
            # In isort order, into the existing import block (import_order.py).
            new_tree = add_imports(self.context, new_tree, self.first_party())
        self.context.scratch.pop(AddImportsVisitor.CONTEXT_KEY, None)
        if self.APPLY_REMOVALS:
            new_tree = apply_pending_removals(self.context, new_tree)
        return new_tree

    def get_metadata(self, key, node, default=_MISSING):  # type: ignore[override]
        if key not in self.metadata:
            wrapper = self.context.wrapper
            if wrapper is None:
                raise KeyError(f"metadata {key.__name__} requested outside transform_module")
            self.metadata = {**self.metadata, key: wrapper.resolve(key)}
        value = (
            self.metadata[key][node]
            if default is _MISSING
            else self.metadata[key].get(node, default)
        )
        if isinstance(value, LazyValue):
            value = value()
        return value

    def new_node_id(self, node: cst.CSTNode) -> int:
        """``id(node)`` for a node made during this pass, with ``node`` held until the pass ends.

        Record nodes the rule built (or updated nodes) by this, not by ``id``: Python reuses a
        freed object's id, so a node the tree later dropped could be mistaken for a new one.
        """
        self._held.append(node)
        return id(node)

    # ------------------------------------------------------------------ resolution

    def visit_Module(self, node: cst.Module) -> bool:
        self.source_module = node
        for stmt in node.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.ImportFrom) and isinstance(
                        small.names, cst.ImportStar
                    ):
                        mod = dotted_name(small.module) if small.module else None
                        if mod and (mod == "prefect" or mod.startswith("prefect.")):
                            self._star_modules.add(mod)
        return True

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Every canonical qualified name ``node`` may refer to (empty when unknown)."""
        try:
            qnames: set[QualifiedName] = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            qnames = set()
        out: set[str] = set()
        for q in qnames:
            name = q.name
            if q.source == QualifiedNameSource.LOCAL:
                # A wrapper defined in this very module (``class MyFlow(Flow)``).
                local = f"{self.context.full_module_name or '__main__'}.{name}"
                followed = self.project.follow(local)
                if followed != local:
                    out.add(canonical(followed))
                continue
            if name.startswith("."):
                name = self.project.absolute(self.context.full_module_name, name)
            out.add(canonical(self.project.follow(name)))
        if not out and self._star_modules:
            dotted = dotted_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
            if dotted:
                head = dotted.split(".", 1)[0]
                if head in PREFECT1_STAR_EXPORTS and not self._is_bound_locally(node):
                    for mod in self._star_modules:
                        out.add(canonical(f"{mod}.{dotted}"))
        return out

    def _is_bound_locally(self, node: cst.CSTNode) -> bool:
        try:
            qnames = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            return False
        return any(q.source == QualifiedNameSource.LOCAL for q in qnames)

    def prefect_name(self, node: cst.CSTNode | None) -> str | None:
        """The canonical qualified name of a Name/Attribute/Call's callee, if it is Prefect's."""
        if node is None:
            return None
        if isinstance(node, cst.Call):
            node = node.func
        if isinstance(node, cst.Decorator):
            node = node.decorator
            if isinstance(node, cst.Call):
                node = node.func
        for name in sorted(self.qualified_names(node)):
            if name == "prefect" or name.startswith("prefect."):
                return name
        return None

    def is_prefect(self, node: cst.CSTNode | None, *names: str) -> bool:
        """True when ``node`` resolves to one of the canonical ``names`` (``"prefect.Flow"``)."""
        resolved = self.prefect_name(node)
        return resolved is not None and resolved in names

    def stands_alone(self, node: cst.CSTNode) -> bool:
        """True when ``node`` is a whole assigned/returned value or argument: an expression put in
        its place needs no parentheses."""
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return, cst.Arg)) and (
            getattr(parent, "value", None) is node
        )

    def resolves_under(self, node: cst.CSTNode | None, *prefixes: str) -> bool:
        resolved = self.prefect_name(node)
        return resolved is not None and any(
            resolved == p or resolved.startswith(p + ".") for p in prefixes
        )

    def binds_at_module_level(self, node: cst.BaseExpression, names) -> bool:
        """``node`` is a ``Name`` in ``names`` that refers to this module's own module-level
        binding (not a local that shadows it, nor an import)."""
        if not isinstance(node, cst.Name) or node.value not in names:
            return False
        try:
            qnames = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            return False
        return any(q.name == node.value and q.source == QualifiedNameSource.LOCAL for q in qnames)

    def code_for(self, node: cst.CSTNode) -> str:
        module = self.source_module or cst.Module(body=[])
        return module.code_for_node(node)

    # ------------------------------------------------------------------ TODOs

    def add_todo(self, message: str) -> None:
        """Flag the innermost statement being visited with a TODO comment on the line above."""
        if not self._statement_stack:
            raise RuntimeError("add_todo called outside any statement")
        key = id(self._statement_stack[-1])
        text = todo_text(self.CODE, message)
        pending = self._pending.setdefault(key, [])
        if text not in pending:
            pending.append(text)
        self.mark_applied()

    def comment_out(
        self,
        stmt: cst.CSTNode,
        message: str | None,
        note: str | None = None,
        code: str | None = None,
    ) -> cst.SimpleStatementLine:
        """Replace a statement that cannot stay with ``pass``, its code kept as comments above.

        The TODOs inside the statement go (no TODO inside commented-out code), and the ``pass``
        is dropped at the end of the run wherever its block has other statements
        (:func:`drop_placeholder_passes`): it only stands for the commented-out code.
        ``message`` None: no TODO of its own (one above covers it, e.g. a run of such statements,
        or the TODO of the construct it depends on); ``note``: an informational line instead
        (``# prefect2-migration: note``), saying where that TODO is; ``code``: the TODO's rule
        code when another rule's (default: this rule's).
        """
        source = self.code_for(
            stmt.with_changes(leading_lines=[]) if hasattr(stmt, "leading_lines") else stmt
        )
        comments = [todo_text(code or self.CODE, message)] if message is not None else []
        if note is not None:
            comments.append(f"{INFO_PREFIX} {' '.join(note.split())}")
        comments += [
            "# " + line if line.strip() else "#"
            for line in source.rstrip("\n").splitlines()
            # TODOs about code that is no longer code go with it: none inside commented-out code
            if not line.strip().startswith(TODO_PREFIX)
        ]
        self.mark_applied()
        return cst.SimpleStatementLine(
            body=[cst.Pass()],
            leading_lines=[
                *getattr(stmt, "leading_lines", ()),
                *(cst.EmptyLine(indent=True, comment=cst.Comment(c)) for c in comments),
            ],
        )

    # Fast path: a rule without matcher decorators (all of ours) skips LibCST's per-node matcher
    # bookkeeping, and per-attribute hooks are only looked up when the class defines any besides
    # LibCST's no-op stubs. Same calls as LibCST makes, minus the bookkeeping and the stubs (over
    # half of a pass's time). _speedups gives LibCST's own matcher-decoratable visitors the same.

    def on_visit(self, node: cst.CSTNode) -> bool:
        statement, scope = _kind(node)
        if statement:
            self._statement_stack.append(node)
        if scope:
            self.function_depth += 1
        if is_plain(self):
            return cst.CSTTransformer.on_visit(self, node)
        return super().on_visit(node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if is_plain(self) and not has_attribute_hooks(type(self)):
            return
        super().on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if is_plain(self) and not has_attribute_hooks(type(self)):
            return
        super().on_leave_attribute(original_node, attribute)

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        if is_plain(self):
            result = cst.CSTTransformer.on_leave(self, original_node, updated_node)
        else:
            result = super().on_leave(original_node, updated_node)
        statement, scope = _kind(original_node)
        if scope:
            self.function_depth -= 1
        if statement:
            self._statement_stack.pop()
            pending = self._pending.pop(id(original_node), None)
            if pending:
                result = self._attach(result, pending)
            if not self._statement_stack:
                # a module-level import line removed: its blank lines stay (a section boundary)
                result = self._spacing.step(original_node, result)
        return result

    def _attach(self, result, comments: list[str]):
        if isinstance(result, cst.FlattenSentinel):
            nodes = list(result.nodes)
            if nodes:
                nodes[0] = with_leading_comments(nodes[0], comments)
                return cst.FlattenSentinel(nodes)
        elif isinstance(result, cst.RemovalSentinel):
            if self._statement_stack:
                parent = self._pending.setdefault(id(self._statement_stack[-1]), [])
                parent.extend(c for c in comments if c not in parent)
            return result
        elif hasattr(result, "leading_lines"):
            return with_leading_comments(result, comments)
        return result


def module_code(context: CodemodContext, module: cst.Module) -> str:
    """``module.code``, remembered: rules hand most modules on to the next one unchanged."""
    known = context.scratch.get(SCRATCH_CODE, {}).get(id(module))
    if known is not None and known[0] is module:
        return known[1]
    code = module.code
    remember_code(context, module, code)
    return code


def remember_code(context: CodemodContext, module: cst.Module, code: str) -> None:
    """Record ``module.code`` (a few modules per file: the last ones the rules passed on)."""
    known = context.scratch.setdefault(SCRATCH_CODE, {})
    if len(known) >= 8:
        known.clear()
    known[id(module)] = (module, code)  # holding the module keeps its id from being reused


def first_party_of(context: CodemodContext, project: ProjectIndex | None) -> frozenset[str]:
    """The project's top-level modules (``ProjectIndex.first_party``) and the package of the
    module being rewritten (ruff's ``detect-same-package``)."""
    names = set(project.first_party) if project is not None else set()
    module = context.full_module_name
    if module and "." in module:
        names.add(module.split(".", 1)[0])
    return frozenset(names)


def apply_pending_removals(context: CodemodContext, tree: cst.Module) -> cst.Module:
    """Remove the imports rules asked to remove if unused (LibCST's RemoveImportsVisitor, keeping
    the blank lines between isort sections: import_order.RemoveImports), then wrap the import lines
    the rewrite made too long (import_order.wrap_long_imports).

    Reuses the last rule's metadata when that rule left ``tree`` as it found it.
    """
    if context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY):
        cached = context.scratch.get(SCRATCH_WRAPPER)
        wrapper = cached if cached is not None and cached.module is tree else None
        tree = transform_with(RemoveImports(context), wrapper or SharedMetadataWrapper(tree))
    context.scratch.pop(RemoveImportsVisitor.CONTEXT_KEY, None)
    return wrap_long_imports(tree, context.scratch.get(SCRATCH_ORIGINAL))


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def get_arg(call: cst.Call, keyword: str, position: int | None = None) -> cst.Arg | None:
    """The argument passed as ``keyword=`` or at ``position`` (when no keyword came first)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    if position is not None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if position < len(positional):
            return positional[position]
    return None


def code_of(node: cst.CSTNode) -> str:
    """The source text of ``node`` (default formatting of an empty module)."""
    return cst.Module(body=[]).code_for_node(node)


def literal_value(node: cst.BaseExpression | None):
    """The Python value of a literal expression (numbers, strings, lists, dicts...), or raise."""
    import ast

    if node is None:
        raise ValueError("no expression")
    return ast.literal_eval(code_of(node).strip())


def is_literal(node: cst.BaseExpression | None) -> bool:
    try:
        literal_value(node)
    except Exception:
        return False
    return True


INFO_PREFIX = "# prefect2-migration:"
# The deployment settings that leave the code, in the order the marker names them.
MOVED_KINDS = ("storage", "run_config", "schedule", "environment")
_MOVED_RE = re.compile(
    re.escape(INFO_PREFIX) + r" ([a-z_, ]+) moved to prefect\.yaml(?: \(meta-flows deployments\))?$"
)


def moved_comment(*what: str) -> str:
    """The informational (non-TODO) comment left where deployment settings left the code: one
    line for all of them, ``# prefect2-migration: storage, run_config and schedule moved to
    prefect.yaml``."""
    kinds = sorted(
        set(what), key=lambda k: (MOVED_KINDS.index(k), k) if k in MOVED_KINDS else (9, k)
    )
    listed = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"
    return f"{INFO_PREFIX} {listed} moved to prefect.yaml"


def moved_kinds(text: str) -> list[str] | None:
    """The settings a :func:`moved_comment` line names (None: not such a line)."""
    match = _MOVED_RE.match(text)
    if match is None:
        return None
    kinds = [w for w in re.split(r",\s*|\s+and\s+", match.group(1).strip()) if w]
    return kinds if kinds and all(k.isidentifier() for k in kinds) else None


def remove_p1_imports(rule: Rule, module: cst.Module, wanted) -> None:
    """Schedule removal (if unused) of every top-level ``from x import y`` whose y is in ``wanted``.

    ``wanted(qualified_name) -> bool`` decides on the canonical qualified name of each import.
    """
    from meta_flows.core.codemod.names import canonical

    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                if small.relative or small.module is None:
                    continue
                mod = dotted_name(small.module)
                for alias in small.names:
                    name = dotted_name(alias.name)
                    if mod and name and wanted(canonical(f"{mod}.{name}")):
                        asname = (
                            alias.asname.name.value
                            if alias.asname and isinstance(alias.asname.name, cst.Name)
                            else None
                        )
                        RemoveImportsVisitor.remove_unused_import(rule.context, mod, name, asname)


def insert_helper(module: cst.Module, name: str, code: str) -> cst.Module:
    """Insert the function or class ``name`` (source ``code``) once, after the module's leading
    imports."""
    from meta_flows.core.codemod.analysis.scope import is_docstring  # it imports this module

    body = list(module.body)
    if any(isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value == name for s in body):
        return module
    position = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
        ):
            position = i + 1
        elif isinstance(stmt, cst.SimpleStatementLine) and i == 0 and is_docstring(stmt):
            position = 1
        elif not isinstance(stmt, (cst.If, cst.Try)):
            break
    helper = cst.parse_statement(code).with_changes(
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()]
    )
    if position < len(body):
        nxt = body[position]
        blank = sum(1 for line in nxt.leading_lines if line.comment is None)
        if blank < 2:
            nxt = nxt.with_changes(
                leading_lines=[*(cst.EmptyLine() for _ in range(2 - blank)), *nxt.leading_lines]
            )
        body[position] = nxt
    body.insert(position, helper)
    return module.with_changes(body=body)
