"""PF004 task_options: Prefect 1 task options become Prefect 2.20 ``task()`` options (§3).

Applies to ``@task(...)`` decorators, ``task(fn, ...)`` calls and the constructor kwargs of
repository ``Task`` subclasses that stay classes::

    @task(max_retries=3, retry_delay=timedelta(minutes=1), log_stdout=True, nout=2)
    ->  @task(retries=3, retry_delay_seconds=60, log_prints=True)

- A: ``max_retries`` -> ``retries`` (``max_retries=0`` is dropped, §18.8), ``retry_delay`` ->
  ``retry_delay_seconds`` (a literal ``timedelta`` is evaluated, else
  ``int(expr.total_seconds())``), ``timeout`` -> ``timeout_seconds``, ``log_stdout`` ->
  ``log_prints``, ``checkpoint`` -> ``persist_result``, ``nout``/``slug`` dropped, string
  ``task_run_name`` kept. A number, arithmetic on numbers (``5 * 60``) or a module constant bound
  once to either stays seconds; a constant bound to a literal ``timedelta`` becomes
  ``int(NAME.total_seconds())``. Only a ``timeout`` of unknown type gets a TODO, whose suggestion
  is valid code for it (``int((a + b).total_seconds())``; never ``.total_seconds()`` on a
  number).
- C: ``cache_for``/``cache_validator`` -> ``cache_key_fn=task_input_hash`` (input validators) or a
  constant key (``duration_only``) + ``cache_expiration``; ``cache_key="k"`` ->
  ``cache_key_fn=lambda *_: "k"``; ``result=LocalResult(dir=d)`` -> ``persist_result=True,
  result_storage=LocalFileSystem(basepath=d)``; ``target=`` -> ``result_storage_key=`` with
  Prefect 2 template fields (TODO where a field has no equivalent, and because Prefect 2 does not
  skip the task when the key exists).
- A: ``task_run_name=lambda **kw: f"item-{kw['val']}"`` (a callable that only formats the
  task's inputs: an f-string of ``kw['<parameter>']``, ``kw['<parameter>']`` or
  ``str(kw['<parameter>'])``) -> ``task_run_name="item-{val}"``, which Prefect 2 formats with the
  task's parameters.
- H (removed with a TODO quoting it): other callable ``task_run_name``, cloud ``result=``
  objects, ``skip_on_upstream_skip``.
- Safety net: PF004 runs after PF012 (state handlers) and PF009 (triggers); any keyword still on a
  Prefect ``task(...)`` call that Prefect 2.20's ``prefect.task`` does not accept is removed with a
  TODO quoting it, so the module always imports.
- A task decorator factory or configured decorator standing for Prefect 1's ``task`` whose source
  is not in the repository (declared: ``meta-flows rewrite --task-factory
  acme_platform.tasks.acme_task``, ``task-factories`` in ``[tool.meta-flows]``) becomes
  ``task``; the options neither Prefect 1's nor Prefect 2's ``task`` takes are its own, removed
  with one TODO naming them (C). A factory of the repository stays (it is migrated itself); only
  its Prefect 1 options are renamed.

- Options set as attributes after the definition (``fetch.max_retries = 3``, ``.retry_delay``,
  ``.name``, ``.tags``...; Prefect 2 tasks read no such attribute): at module level, for a
  ``@task`` of the module, folded into its decorator (``@task(retries=3)``) when the value reads
  only names bound before the task and no module-level statement in between reads the task (A);
  otherwise ``fetch = fetch.with_options(retries=3)`` in place (A). Inside a function, or for a
  task of another module of the project: one TODO per task (H).

The mapping itself is :func:`meta_flows.core.codemod.options.convert_options`, which PF005
(``task_args=``) and PF006 (``Task`` subclasses) reuse.
"""

from __future__ import annotations

import builtins

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from meta_flows.core.codemod.analysis.decorators import decorator_name
from meta_flows.core.codemod.analysis.scope import (
    bound_names,
    name_refs,
    raw_qualified_names,
)
from meta_flows.core.codemod.base import SCRATCH_OWN_KWARGS, Rule, is_literal, literal_value
from meta_flows.core.codemod.options import (
    P1_TASK_OPTIONS,
    P2_TASK_OPTIONS,
    P2_WITH_OPTIONS,
    convert_options,
)


def _direct_prefect(rule: Rule, func: cst.BaseExpression, name: str) -> bool:
    """``func`` is Prefect's ``name`` itself (imported), not a repository wrapper of it."""
    if not rule.is_prefect(func, name):
        return False
    try:
        qnames = rule.get_metadata(QualifiedNameProvider, func, set())
    except KeyError:
        qnames = set()
    if not qnames:
        return True  # star import
    return any(q.name == "prefect" or q.name.startswith("prefect.") for q in qnames)


class TaskOptionsRule(Rule):
    """@task / Task(...) options are renamed for Prefect 2 (§3)."""

    CODE = "PF004"
    NAME = "task-options"
    DESCRIPTION = "@task / Task(...) options are renamed for Prefect 2 (§3)"
    TRIGGERS = ("task", "Task")

    def __init__(self, context) -> None:
        super().__init__(context)
        self._decorated: dict[int, cst.FunctionDef] = {}
        # attribute edits after definition (§3): id(original decorator expression) -> the
        # options folded into it; id(statement) -> "fold" (goes), "rebind" (t = t.with_options)
        # or a TODO message (None: under the TODO of an earlier edit of the same task)
        self._folded: dict[int, list[cst.Arg]] = {}
        self._edits: dict[int, str | None] = {}

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._plan_attribute_edits(node)
        return True

    def _plan_attribute_edits(self, module: cst.Module) -> None:
        """``t.max_retries = 3`` and the like after ``t`` is defined: Prefect 1 tasks are
        objects whose options are attributes, Prefect 2 tasks read none of them."""
        defs: dict[str, tuple[int, cst.FunctionDef]] = {}
        flagged: set[str] = set()
        for index, stmt in enumerate(module.body):
            if isinstance(stmt, cst.FunctionDef):
                task_decorators = [
                    d
                    for d in stmt.decorators
                    if _direct_prefect(self, _callee(d.decorator), "prefect.task")
                ]
                if len(task_decorators) == 1:
                    defs[stmt.name.value] = (index, stmt)
                else:
                    defs.pop(stmt.name.value, None)
                continue
            edit = _attribute_edit(stmt)
            if edit is None:
                for name in bound_names([stmt]):
                    defs.pop(name, None)
                continue
            name, attr, value = edit
            if name in defs and self._foldable(module, defs[name], index, value):
                fn = defs[name][1]
                decorator = next(
                    d.decorator
                    for d in fn.decorators
                    if _direct_prefect(self, _callee(d.decorator), "prefect.task")
                )
                self._folded.setdefault(id(decorator), []).append(
                    cst.Arg(keyword=cst.Name(attr), value=value, equal=_EQ)
                )
                self._edits[id(stmt)] = "fold"
            elif name in defs:
                self._edits[id(stmt)] = "rebind"
            elif self._names_task(stmt.body[0].targets[0].target.value):
                if name in flagged:
                    self._edits[id(stmt)] = None
                else:
                    flagged.add(name)
                    self._edits[id(stmt)] = (
                        f"`{name}.{attr} = ...` (and any other attribute edit of {name} below) "
                        f"changes a Prefect 1 task option as an attribute, which Prefect 2 tasks "
                        f"do not read: give the option to @task where {name} is defined, or use "
                        f"{name}.with_options(...) where it is called (§3)"
                    )
        # edits inside functions and classes: flagged where they are (leave_SimpleStatementLine)

    def _names_task(self, node: cst.BaseExpression) -> bool:
        """``node`` names a task the project knows (one of another module)."""
        return bool(raw_qualified_names(self, node) & self.project.tasks)

    def _foldable(self, module, definition, index: int, value: cst.BaseExpression) -> bool:
        """The edit at ``module.body[index]`` can move into the decorator of ``definition``:
        its value reads only names bound before the definition, and nothing at module level
        between them reads the task (a copy made there would keep the old option)."""
        at, fn = definition
        before = bound_names(module.body[:at])
        for ref in name_refs(value):
            if ref.value not in before and ref.value not in _BUILTINS:
                return False
        for stmt in module.body[at + 1 : index]:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)):
                continue
            if self._edits.get(id(stmt)) == "fold":
                continue  # an earlier edit of the same task, folded too
            if any(r.value == fn.name.value for r in name_refs(stmt)):
                return False
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for dec in node.decorators:
            self._decorated[id(dec.decorator)] = node

    def _is_task_class(self, func: cst.BaseExpression) -> bool:
        classes = self.project.task_classes
        if not classes:
            return False
        module = self.context.full_module_name or "__main__"
        try:
            qnames = self.get_metadata(QualifiedNameProvider, func, set())
        except KeyError:
            return False
        own_kwargs = self.context.scratch.get(SCRATCH_OWN_KWARGS, ())
        for q in qnames:
            if q.source.name == "LOCAL" and q.name in own_kwargs:
                return False  # its keywords are the class's own (PF006)
            name = f"{module}.{q.name}" if q.source.name == "LOCAL" else q.name
            if name in classes:
                return True
        return False

    def _installed_factory(self, func: cst.BaseExpression) -> str | None:
        """The qualified name of a task decorator factory standing for ``prefect.task`` whose
        source is not in the repository (declared: ``--task-factory``), else None."""
        if not self.is_prefect(func, "prefect.task") or _direct_prefect(self, func, "prefect.task"):
            return None
        for q in sorted(raw_qualified_names(self, func)):
            if self.project.is_wrapper(q) and self.project.is_external(q):
                return q
        return None

    def _to_prefect_task(self, func: cst.BaseExpression, factory: str) -> cst.Name:
        decorator = decorator_name(self, "task")
        module, _, name = factory.rpartition(".")
        if isinstance(func, cst.Name):
            self.remove_import_if_unused(module, name)
        self.mark_applied()
        return cst.Name(decorator)

    def leave_Decorator(self, original_node: cst.Decorator, updated_node: cst.Decorator):
        """A bare ``@acme_task`` of an installed factory: ``@task``."""
        target = original_node.decorator
        if isinstance(target, cst.Call):
            return updated_node
        folded = self._folded.get(id(target))
        if folded is not None:
            return updated_node.with_changes(
                decorator=self._with_folded(original_node, updated_node.decorator, [])
            )
        factory = self._installed_factory(target)
        if factory is None:
            return updated_node
        return updated_node.with_changes(decorator=self._to_prefect_task(target, factory))

    def _factory_call(self, original_node: cst.Call, factory: str) -> list[cst.Arg]:
        """The arguments of an installed factory's call without its own options (named in one
        TODO): what ``prefect.task`` takes."""
        kept, extras = [], []
        positional = 0
        for arg in original_node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if arg.star or (keyword is None and positional > 0):
                extras.append(arg)
            elif keyword is None:
                positional += 1
                kept.append(arg)
            elif keyword in P1_TASK_OPTIONS or keyword in P2_TASK_OPTIONS:
                kept.append(arg)
            else:
                extras.append(arg)
        if extras:
            listed = ", ".join(
                self.code_for(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip()
                for a in extras
            )
            self.add_todo(
                f"built with {factory}, a task decorator standing for Prefect 1's task: its own "
                f"options ({listed}) are not carried over to @task; re-apply them by hand"
            )
        return kept

    def _with_folded(self, decorator: cst.Decorator, target, args) -> cst.Call:
        """A bare ``@task`` given the options of later attribute edits: ``@task(retries=3)``."""
        fn = self._decorated.get(id(decorator.decorator))
        folded = self._folded[id(decorator.decorator)]
        label = fn.name.value if fn is not None else None
        for arg in folded:
            if arg.keyword.value == "name" and is_literal(arg.value):
                label = str(literal_value(arg.value))
        folded = [
            *(a.with_changes(comma=_COMMA) for a in folded[:-1]),
            folded[-1],
        ]
        converted = convert_options(self, folded, label=label, allowed=P2_TASK_OPTIONS)
        for todo in converted.todos:
            self.add_todo(todo)
        self.mark_applied()
        return cst.Call(func=target, args=converted.args)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        plan = self._edits.get(id(original_node), "")
        if plan == "fold":
            self.mark_applied()
            return cst.RemovalSentinel.REMOVE
        edit = _attribute_edit(original_node)
        if edit is None:
            return updated_node
        name, attr, value = edit
        if plan == "rebind":
            arg = cst.Arg(keyword=cst.Name(attr), value=value, equal=_EQ)
            converted = convert_options(self, [arg], allowed=P2_WITH_OPTIONS)
            for todo in converted.todos:
                self.add_todo(todo)
            self.mark_applied()
            return updated_node.with_changes(
                body=[
                    cst.Assign(
                        targets=[cst.AssignTarget(target=cst.Name(name))],
                        value=cst.Call(
                            func=cst.Attribute(value=cst.Name(name), attr=cst.Name("with_options")),
                            args=converted.args,
                        ),
                    )
                ]
            )
        if plan is None:
            return updated_node
        if plan:
            self.add_todo(plan)
            return updated_node
        if self.function_depth and self._names_local_task(
            original_node.body[0].targets[0].target.value
        ):
            self.add_todo(
                f"`{name}.{attr} = ...` changes a Prefect 1 task option as an attribute, which "
                f"Prefect 2 tasks do not read: give the option to @task where {name} is "
                f"defined, or call {name}.with_options(...) (§3)"
            )
        return updated_node

    def _names_local_task(self, node: cst.BaseExpression) -> bool:
        """``node`` names a module-level ``@task`` of this module or a task of the project."""
        if self._names_task(node):
            return True
        module = self.source_module
        if module is None or not isinstance(node, cst.Name):
            return False
        if not self.binds_at_module_level(node, {node.value}):
            return False
        return any(
            isinstance(stmt, cst.FunctionDef)
            and stmt.name.value == node.value
            and any(self.is_prefect(d.decorator, "prefect.task") for d in stmt.decorators)
            for stmt in module.body
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        factory = self._installed_factory(func)
        args = original_node.args
        trailing = bool(args) and isinstance(args[-1].comma, cst.Comma)
        if factory is not None:
            args = self._factory_call(original_node, factory)
            trailing = trailing and bool(args) and args[-1] is original_node.args[-1]
            updated_node = updated_node.with_changes(
                func=self._to_prefect_task(func, factory), args=_commas(args, trailing)
            )
            allowed = P2_TASK_OPTIONS
        elif self.is_prefect(func, "prefect.task"):
            allowed = P2_TASK_OPTIONS if _direct_prefect(self, func, "prefect.task") else None
        elif self._is_task_class(func):
            allowed = None
        else:
            return updated_node
        label, params = None, None
        fn = self._decorated.get(id(original_node))
        if fn is not None:
            label = fn.name.value
            params = [
                p.name.value
                for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)
            ]
        else:
            first = next((a for a in original_node.args if a.keyword is None and not a.star), None)
            if first is not None and isinstance(first.value, cst.Name):
                label = first.value.value
        name_arg = next(
            (a for a in original_node.args if a.keyword and a.keyword.value == "name"), None
        )
        if name_arg is not None and is_literal(name_arg.value):
            label = str(literal_value(name_arg.value))
        folded = self._folded.get(id(original_node), [])
        if folded:
            by_kw = {a.keyword.value: a for a in folded}
            args = [a for a in args if a.keyword is None or a.keyword.value not in by_kw]
            args = [*args, *folded]
            if args[:-1]:
                args = [
                    *(a.with_changes(comma=_COMMA) for a in args[:-1]),
                    args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT),
                ]
            self.mark_applied()
        # Resolve names on the original nodes (metadata is keyed on them).
        converted = convert_options(self, args, label=label, params=params, allowed=allowed)
        for todo in converted.todos:
            self.add_todo(todo)
        if not converted.changed:
            return updated_node.with_changes(args=args) if folded else updated_node
        self.mark_applied()
        if factory is not None:
            return updated_node.with_changes(args=_commas(converted.args, trailing))
        return updated_node.with_changes(args=converted.args)


def _commas(args: list[cst.Arg], trailing: bool) -> list[cst.Arg]:
    """``args`` as an argument list: a comma after each but the last, which has one only when
    ``trailing`` (the call had a trailing comma)."""
    out = [a if isinstance(a.comma, cst.Comma) else a.with_changes(comma=_COMMA) for a in args[:-1]]
    if args:
        last = args[-1]
        if not (trailing and isinstance(last.comma, cst.Comma)):
            last = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        out.append(last)
    return out


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)
_BUILTINS = frozenset(dir(builtins))
# Task attributes of Prefect 1 that are constructor options (Task.copy and attribute edits).
EDITABLE = P1_TASK_OPTIONS - {"nout"}


def _callee(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.func if isinstance(node, cst.Call) else node


def _attribute_edit(stmt: cst.CSTNode) -> tuple[str, str, cst.BaseExpression] | None:
    """(task, option, value) of a statement ``task.option = value``, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if not (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.attr.value in EDITABLE
    ):
        return None
    return target.value.value, target.attr.value, small.value


RULE = TaskOptionsRule
