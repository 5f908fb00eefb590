"""Find Prefect 1 API left in (migrated) code outside a ``TODO(prefect2-migration)``.

Used by the integration test and the corpus measurement: after the codemod, every remaining use of
a Prefect 1 object must sit under a TODO. ``prefect1_leftovers(code)`` lists the others:

- imports from modules only Prefect 1 has (``prefect.engine.signals``, ``prefect.tasks.*``, ...)
  and names ``from prefect import X`` that Prefect 2 does not export (``Parameter``, ``case``);
- any other reference resolving to those (``signals.FAIL``, ``prefect.Parameter``, ``case(...)``,
  names bound by ``from prefect import *`` that Prefect 2 lacks);
- ``Flow(...)`` called (as a context manager or not), ``Flow`` subclasses, ``Task`` subclasses with a
  ``run`` method;
- ``prefect.context`` used the Prefect 1 way (``.get(...)``, ``.logger``, ``["x"]``, ``(...)``);
- ``.run()``/``.register()``/``.storage = ...`` and friends on a flow variable;
- ``@task(...)``/``@flow(...)`` options Prefect 2.20 rejects (``max_retries``, ``trigger``,
  ``state_handlers``, ``checkpoint``, ``executor``, ...), and ``upstream_tasks=``/``task_args=``,
  ``.set_upstream``/``.set_downstream`` on tasks;
- names both versions have modules for but only Prefect 1 defines (``prefect.artifacts.create_link``,
  ``prefect.client.Client``, ``prefect.utilities.collections.DotDict``...), ``task.copy(...)``
  and ``.is_successful()`` (Prefect 2: ``with_options``, ``is_completed``).

Names are resolved through imports (LibCST's ``QualifiedNameProvider``), never matched as bare
words: a local ``case`` function or another library's ``Flow`` is not reported.

"Under a TODO" means the finding is in a comment (commented-out code is not code), its innermost
statement (for a compound statement: its header, decorators included) is directly preceded by a
comment block containing a ``# TODO(prefect2-migration):`` line, or it is on a line a TODO names
(``... used at lines 40, 52``), or its statement is one of the N after a statement whose TODO
covers "this and the N statements below": one TODO per root cause says where its consequences
are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    QualifiedNameSource,
)

from meta_flows.core.codemod.names import (
    PREFECT1_STAR_EXPORTS,
    PREFECT2_FLOW_OPTIONS,
    PREFECT2_SUBMODULES,
    PREFECT2_TASK_OPTIONS,
    PREFECT2_TOP_LEVEL,
    canonical,
    is_prefect1_only_module,
    prefect1_only_name,
)

TODO_MARK = "# TODO(prefect2-migration):"

# What Prefect 2's ``prefect.tasks`` offers (in Prefect 1 the task library lives under it).
_PREFECT2_TASKS_API = frozenset(
    f"prefect.tasks.{name}" for name in ("task", "Task", "task_input_hash", "exponential_backoff")
)

# What ``prefect.context`` offers in Prefect 2.20 (anything else is Prefect 1's context object).
_PREFECT2_CONTEXT_API = frozenset(
    {
        "get_run_context",
        "get_settings_context",
        "root_settings_context",
        "use_profile",
        "tags",
        "FlowRunContext",
        "TaskRunContext",
        "SettingsContext",
        "EngineContext",
        "RunContext",
        "TagsContext",
        "ContextModel",
        "MissingContextError",
        "PrefectObjectRegistry",
        "GLOBAL_SETTINGS_CONTEXT",
    }
)


# Methods and attributes of a Prefect 1 ``Flow`` object that a Prefect 2 flow does not have.
_FLOW_OBJECT_P1_METHODS = frozenset(
    {
        "run",
        "register",
        "run_agent",
        "serialize",
        "add_task",
        "add_edge",
        "set_dependencies",
        "set_reference_tasks",
        "chain",
        "update",
        "get_tasks",
        "save",
        "load",
        "diagnostics",
        "upstream_tasks",
        "downstream_tasks",
        "terminal_tasks",
        "root_tasks",
        "reference_tasks",
    }
)
_FLOW_OBJECT_P1_ATTRIBUTES = frozenset(
    {"storage", "run_config", "schedule", "executor", "environment", "result"}
)
_TASK_CALL_P1_KEYWORDS = frozenset({"upstream_tasks", "task_args", "mapped", "flow"})
_TASK_P1_METHODS = frozenset({"set_upstream", "set_downstream", "set_dependencies", "bind"})


@dataclass(frozen=True)
class Leftover:
    """One Prefect 1 use outside a TODO: 1-based ``line``, that line's stripped ``text``, ``what``."""

    line: int
    text: str
    what: str


def prefect1_leftovers(code: str) -> list[Leftover]:
    """Every Prefect 1 API use in ``code`` that is not under a TODO, sorted by line."""
    try:
        module = cst.parse_module(code)
    except Exception as exc:  # a module that does not parse cannot be audited
        message = " ".join(str(exc).split())[:200]
        return [Leftover(0, "", f"cannot parse: {message}")]
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    auditor = _Auditor(code.splitlines())
    wrapper.visit(auditor)
    unique = {(f.line, f.what): f for f in auditor.found}
    return sorted(unique.values(), key=lambda f: (f.line, f.what))


_RUN = re.compile(r"\bthis and the (\d+) statements? below\b")
_LINES = re.compile(r"\blines? (\d+(?:, (?:line )?\d+)*)")


def listed_lines(lines: list[str]) -> set[int]:
    """The line numbers that TODO comments name (``used at lines 12, 30``): the places where the
    consequences of the TODO's root cause are, which that TODO covers."""
    out: set[int] = set()
    for text in lines:
        at = text.find(TODO_MARK)
        if at < 0:
            continue
        for match in _LINES.finditer(text, at):
            out.update(int(n) for n in re.findall(r"\d+", match.group(1)))
    return out


def _dotted(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _prefect_qname_problem(name: str) -> str | None:
    """Why the canonical qualified ``name`` (``prefect....``) is Prefect 1 API, or None."""
    if name == "prefect":
        return None
    if not name.startswith("prefect."):
        return None
    if name == "prefect.client.Secret":
        return "prefect.client.Secret (Prefect 1 secret API)"
    if (instead := prefect1_only_name(name)) is not None:
        return f"{name} (Prefect 1 only; Prefect 2: {instead})"
    if name in _PREFECT2_TASKS_API:
        return None
    parts = name.split(".")
    for i in range(2, len(parts) + 1):
        if is_prefect1_only_module(".".join(parts[:i])):
            return f"{name} (Prefect 1-only module {'.'.join(parts[:i])})"
    top = parts[1]
    if top not in PREFECT2_TOP_LEVEL and top not in PREFECT2_SUBMODULES:
        return f"prefect.{top} (not in Prefect 2)"
    if top == "context" and len(parts) > 2 and parts[2] not in _PREFECT2_CONTEXT_API:
        return f"prefect.context.{parts[2]} (Prefect 1 context)"
    return None


class _Auditor(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, PositionProvider)

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines
        self.found: list[Leftover] = []
        self.module: cst.Module | None = None
        self.star = False
        self.flow_vars: set[str] = set()
        self.task_names: set[str] = set()
        self.task_results: set[str] = set()
        self.listed = listed_lines(lines)

    # ------------------------------------------------------------------ helpers

    def report(self, node: cst.CSTNode, what: str) -> None:
        if self._under_todo(node):
            return
        line = self.get_metadata(PositionProvider, node).start.line
        if line in self.listed:  # a TODO names this line as a consequence of its root cause
            return
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.found.append(Leftover(line, text, what))

    def _statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current: cst.CSTNode | None = node
        while current is not None:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            current = self.get_metadata(ParentNodeProvider, current, None)
        return None

    def _under_todo(self, node: cst.CSTNode) -> bool:
        stmt = self._statement_of(node)
        if stmt is None:
            return False
        lines = list(getattr(stmt, "leading_lines", ()))
        if (
            not lines
            and self.module is not None
            and self.module.body
            and stmt is self.module.body[0]
        ):
            lines = list(self.module.header)
        for empty in reversed(lines):
            if empty.comment is None:
                break
            if empty.comment.value.startswith(TODO_MARK):
                return True
        return self._in_todo_run(stmt)

    def _in_todo_run(self, stmt: cst.CSTNode) -> bool:
        """Whether a statement before ``stmt`` in its block carries a TODO for itself "and the
        N statements below", ``stmt`` among them (one TODO for a run of statements)."""
        block = self.get_metadata(ParentNodeProvider, stmt, None)
        body = getattr(block, "body", None)
        if not isinstance(body, (list, tuple)) or stmt not in body:
            return False
        at = body.index(stmt)
        for distance in range(1, at + 1):
            for empty in getattr(body[at - distance], "leading_lines", ()):
                text = empty.comment.value if empty.comment is not None else ""
                found = _RUN.search(text) if text.startswith(TODO_MARK) else None
                if found and int(found.group(1)) >= distance:
                    return True
        return False

    def qnames(self, node: cst.CSTNode) -> set[str]:
        """Canonical qualified names of ``node`` that are Prefect's (star imports included)."""
        try:
            raw = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            raw = set()
        out = {
            canonical(q.name)
            for q in raw
            if q.source == QualifiedNameSource.IMPORT
            and (q.name == "prefect" or q.name.startswith("prefect."))
        }
        if not raw and self.star:
            dotted = _dotted(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
            if dotted and dotted.split(".", 1)[0] in PREFECT1_STAR_EXPORTS:
                out.add(canonical(f"prefect.{dotted}"))
        return out

    def is_prefect(self, node: cst.CSTNode | None, *names: str) -> bool:
        if node is None:
            return False
        if isinstance(node, cst.Call):
            node = node.func
        return bool(self.qnames(node) & set(names))

    def _callee_name(self, call: cst.Call) -> str | None:
        """``t`` for ``t(...)`` and ``t.map(...)``; None otherwise."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "map":
            func = func.value
        return func.value if isinstance(func, cst.Name) else None

    # ------------------------------------------------------------------ first pass: bindings

    def visit_Module(self, node: cst.Module) -> bool:
        self.module = node
        for stmt in node.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if (
                        isinstance(small, cst.ImportFrom)
                        and isinstance(small.names, cst.ImportStar)
                        and (_dotted(small.module) or "").split(".")[0] == "prefect"
                    ):
                        self.star = True
        return True

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            name = _dotted(alias.name) or ""
            if name.split(".")[0] == "prefect" and is_prefect1_only_module(canonical(name)):
                self.report(node, f"import of Prefect 1-only module {name}")
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.relative:
            return False
        module = _dotted(node.module) or ""
        if module.split(".")[0] != "prefect":
            return False
        if is_prefect1_only_module(canonical(module)) or is_prefect1_only_module(module):
            what = f"import from Prefect 1-only module {module}"
            if not isinstance(node.names, cst.ImportStar):
                what += ": " + ", ".join(f"{module}.{_dotted(a.name)}" for a in node.names)
            self.report(node, what)
            return False
        if isinstance(node.names, cst.ImportStar):
            return False
        for alias in node.names:
            name = _dotted(alias.name) or ""
            full = canonical(f"{module}.{name}")
            if module == "prefect":
                if name not in PREFECT2_TOP_LEVEL and name not in PREFECT2_SUBMODULES:
                    self.report(node, f"from prefect import {name} (not in Prefect 2)")
            elif problem := _prefect_qname_problem(full):
                self.report(node, f"import of {problem}")
        return False

    # ------------------------------------------------------------------ names

    def visit_Name(self, node: cst.Name) -> None:
        self._check_reference(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._check_reference(node)

    def _check_reference(self, node: cst.Name | cst.Attribute) -> None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        # Only the outermost node of a dotted chain, and never the attribute name itself.
        if isinstance(parent, cst.Attribute) and (parent.value is node or parent.attr is node):
            return
        if isinstance(parent, (cst.ImportAlias, cst.ImportFrom, cst.Import)):
            return
        for name in sorted(self.qnames(node)):
            problem = _prefect_qname_problem(name)
            if problem:
                self.report(node, problem)
                return
        if self.is_prefect(node, "prefect.context"):
            if isinstance(parent, cst.Subscript) and parent.value is node:
                self.report(node, "prefect.context[...] (Prefect 1 context)")
            elif isinstance(parent, cst.Call) and parent.func is node:
                self.report(node, "prefect.context(...) (Prefect 1 context manager)")

    # ------------------------------------------------------------------ calls

    def visit_Call(self, node: cst.Call) -> None:
        if self.is_prefect(node, "prefect.Flow"):
            if not any(a.keyword is not None and a.keyword.value == "fn" for a in node.args):
                self.report(node, "Flow(...) (Prefect 1 flow construction)")
        elif self.is_prefect(node, "prefect.task"):
            self._check_options(node, PREFECT2_TASK_OPTIONS, "task")
        elif self.is_prefect(node, "prefect.flow"):
            self._check_options(node, PREFECT2_FLOW_OPTIONS, "flow")
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            receiver, method = func.value.value, func.attr.value
            if receiver in self.flow_vars and method in _FLOW_OBJECT_P1_METHODS:
                self.report(node, f"{receiver}.{method}(...) on a flow (Prefect 1 Flow API)")
            if method in _TASK_P1_METHODS and (
                receiver in self.task_names or receiver in self.task_results
            ):
                self.report(node, f"{receiver}.{method}(...) (Prefect 1 task dependency API)")
            if method == "copy" and receiver in self.task_names:
                self.report(
                    node, f"{receiver}.copy(...) (Prefect 1 Task.copy; Prefect 2: with_options)"
                )
            if method == "is_successful":
                self.report(
                    node, f"{receiver}.is_successful() (Prefect 1 State; Prefect 2: is_completed)"
                )
        callee = self._callee_name(node)
        if callee is not None and callee in self.task_names:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in _TASK_CALL_P1_KEYWORDS:
                    self.report(node, f"{arg.keyword.value}= in a task call (Prefect 1)")

    def _check_options(self, call: cst.Call, allowed: frozenset[str], kind: str) -> None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value not in allowed:
                self.report(call, f"@{kind}({arg.keyword.value}=...) not accepted by Prefect 2")

    # ------------------------------------------------------------------ definitions and bindings

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for dec in node.decorators:
            target = dec.decorator
            if self.is_prefect(target, "prefect.task"):
                self.task_names.add(node.name.value)
            elif self.is_prefect(target, "prefect.flow"):
                self.flow_vars.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if any(self.is_prefect(base.value, "prefect.Flow") for base in node.bases):
            self.report(node, f"class {node.name.value}(Flow) (subclass of Prefect 1's Flow)")
        if not any(self.is_prefect(base.value, "prefect.Task") for base in node.bases):
            return
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        if any(isinstance(s, cst.FunctionDef) and s.name.value == "run" for s in body):
            self.report(node, f"class {node.name.value}(Task) with run() (Prefect 1 task class)")

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if self.is_prefect(item.item, "prefect.Flow") and item.asname is not None:
                name = item.asname.name
                if isinstance(name, cst.Name):
                    self.flow_vars.add(name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
        is_flow = (isinstance(value, cst.Call) and self.is_prefect(value, "prefect.Flow")) or (
            isinstance(value, cst.Name) and value.value in self.flow_vars
        )
        if is_flow:
            self.flow_vars.update(names)
        if isinstance(value, cst.Call):
            if self.is_prefect(value, "prefect.task"):
                self.task_names.update(names)
            callee = self._callee_name(value)
            if callee is not None and callee in self.task_names:
                self.task_results.update(names)
        for target in node.targets:
            tgt = target.target
            if (
                isinstance(tgt, cst.Attribute)
                and isinstance(tgt.value, cst.Name)
                and tgt.value.value in self.flow_vars
                and tgt.attr.value in _FLOW_OBJECT_P1_ATTRIBUTES
            ):
                self.report(node, f"{tgt.value.value}.{tgt.attr.value} = ... (Prefect 1 Flow)")
