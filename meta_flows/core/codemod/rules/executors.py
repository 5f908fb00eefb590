"""PF014 executors: Prefect 1 executors become Prefect 2 task runners (docs/spec.md §13).

Runs after PF002, so a flow's executor is a keyword of its decorator (``@flow(name=..., executor=X)``);
``Flow(..., executor=X)`` calls that PF002 left (functional API) get the same rewrite::

    @flow(name="etl", executor=LocalExecutor())                  ->  @flow(name="etl")
    @flow(name="etl", executor=LocalDaskExecutor())              ->  @flow(name="etl", task_runner=ConcurrentTaskRunner())
    LocalDaskExecutor(scheduler="threads", num_workers=8)        ->  ConcurrentTaskRunner()
    LocalDaskExecutor(scheduler="synchronous")                   ->  SequentialTaskRunner()
    LocalDaskExecutor(scheduler="processes", num_workers=4)      ->  DaskTaskRunner(cluster_kwargs={"n_workers": 4})
    DaskExecutor(address=a, cluster_class=c, cluster_kwargs=k,   ->  DaskTaskRunner(address=a, cluster_class=c,
                 adapt_kwargs=d, client_kwargs=e)                        cluster_kwargs=k, adapt_kwargs=d, client_kwargs=e)

``ConcurrentTaskRunner``/``SequentialTaskRunner`` come from ``prefect.task_runners``;
``DaskTaskRunner`` from ``prefect_dask`` (recorded with ``require_package("prefect-dask")``).
``cluster_class`` is kept as written (an import-path string or a class: DaskTaskRunner accepts both).

An executor held in a module variable (``executor = LocalDaskExecutor()`` ... ``executor=executor``)
is followed when the variable is assigned once, at module level: the assignment's value is rewritten
to the task runner and the keyword becomes ``task_runner=executor``. A ``LocalExecutor`` variable is
removed when nothing but ``executor=`` keywords used it.

``flow.run(executor=X)`` (PF015 made it ``etl.with_options(executor=X)(...)``) gets the same
rewrite: ``etl.with_options(task_runner=<runner>)(...)``, or ``etl(...)`` for a ``LocalExecutor``.

Flagged (the ``executor=`` option is removed, with a TODO): any other executor, non-literal
``scheduler=``, and executor expressions the rule cannot follow (function calls, attributes,
variables assigned more than once). Options without a Prefect 2 equivalent (``debug=``,
``performance_report_path=``, LocalDaskExecutor's dask ``**kwargs``) are dropped with a TODO;
``num_workers`` of a thread pool is dropped silently (no ConcurrentTaskRunner option; see below).

Concurrency (§4): a Prefect 1 flow on a Dask executor ran independent tasks in parallel; after the
migration its plain task calls run one after another. The outputs are the same, so the calls are
kept sequential and not flagged; users who want the parallelism back add ``.submit()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ParentNodeProvider

from meta_flows.core.codemod.base import Rule, dotted_name, get_arg, literal_value
from meta_flows.core.codemod.names import canonical

EXECUTORS = "prefect.executors"
_LOCAL = f"{EXECUTORS}.LocalExecutor"
_LOCAL_DASK = f"{EXECUTORS}.LocalDaskExecutor"
_DASK = f"{EXECUTORS}.DaskExecutor"

_DASK_RUNNER_KWARGS = (
    "address",
    "cluster_class",
    "cluster_kwargs",
    "adapt_kwargs",
    "client_kwargs",
)
_THREADS = {"threads", "thread", "threading"}
_PROCESSES = {"processes", "process", "multiprocessing"}
_SYNC = {"synchronous", "sync", "single-threaded"}


@dataclass(frozen=True)
class Translation:
    """What one executor expression becomes: a task runner expression, or nothing (``None``)."""

    runner: cst.BaseExpression | None
    todo: str | None = None
    imports: tuple[tuple[str, str], ...] = ()
    package: str | None = None


def _kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def _strip_trailing_comma(args: list[cst.Arg]) -> list[cst.Arg]:
    """Drop the last argument's comma unless the call is laid out one argument per line."""
    if args and isinstance(args[-1].comma, cst.Comma):
        if not isinstance(args[-1].comma.whitespace_after, cst.ParenthesizedWhitespace):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def keep_args(call: cst.Call, kept: list[cst.Arg]) -> list[cst.Arg]:
    """``kept`` (a subsequence of ``call.args``, possibly renamed) with the layout of the end fixed.

    When the original last argument was dropped, the new last one takes its comma (and with it the
    whitespace before the closing parenthesis).
    """
    kept = list(kept)
    if kept and call.args and len(kept) < len(call.args):
        kept[-1] = kept[-1].with_changes(comma=call.args[-1].comma)
        kept = _strip_trailing_comma(kept)
    return kept


def remove_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """``call`` without ``arg``, keeping the other arguments' layout."""
    if call.args and call.args[-1] is not arg:
        return call.with_changes(args=[a for a in call.args if a is not arg])
    return call.with_changes(args=keep_args(call, [a for a in call.args if a is not arg]))


def _scheduler(call: cst.Call) -> str | None:
    """The literal ``scheduler`` of a LocalDaskExecutor ("threads" when absent); None if unknown."""
    arg = get_arg(call, "scheduler", 0)
    if arg is None:
        return "threads"
    try:
        value = literal_value(arg.value)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _local_dask(call: cst.Call, code_for) -> Translation:
    scheduler = _scheduler(call)
    known = {"scheduler", "num_workers"}
    positional = [a for a in call.args if a.keyword is None and not a.star]
    extra = [
        code_for(a)
        for a in call.args
        if a.star or (a.keyword is not None and a.keyword.value not in known)
    ] + [code_for(a) for a in positional[2:]]
    extra_todo = (
        f"LocalDaskExecutor options {', '.join(e.strip().rstrip(',') for e in extra)} have no "
        "Prefect 2 task runner equivalent and were dropped"
        if extra
        else None
    )
    if scheduler in _THREADS:
        return Translation(
            cst.parse_expression("ConcurrentTaskRunner()"),
            extra_todo,
            (("prefect.task_runners", "ConcurrentTaskRunner"),),
        )
    if scheduler in _SYNC:
        return Translation(
            cst.parse_expression("SequentialTaskRunner()"),
            extra_todo,
            (("prefect.task_runners", "SequentialTaskRunner"),),
        )
    if scheduler in _PROCESSES:
        workers = get_arg(call, "num_workers", 1)
        runner = cst.parse_expression("DaskTaskRunner()")
        if workers is not None:
            kwargs = cst.Dict([cst.DictElement(cst.SimpleString('"n_workers"'), workers.value)])
            runner = runner.with_changes(args=[_kwarg("cluster_kwargs", kwargs)])
        return Translation(
            runner, extra_todo, (("prefect_dask", "DaskTaskRunner"),), "prefect-dask"
        )
    return Translation(
        None,
        f"executor {code_for(call)} removed: choose a Prefect 2 task runner for its scheduler "
        "(ConcurrentTaskRunner for threads, prefect_dask.DaskTaskRunner for processes)",
    )


def _dask(call: cst.Call, code_for) -> Translation:
    args: list[cst.Arg] = []
    dropped: list[str] = []
    positional = 0
    for arg in call.args:
        if arg.star:
            dropped.append(code_for(arg))
        elif arg.keyword is None:
            if positional == 0:  # DaskExecutor(address, ...); DaskTaskRunner's first is cluster
                args.append(_kwarg("address", arg.value).with_changes(comma=arg.comma))
            else:
                dropped.append(code_for(arg))
            positional += 1
        elif arg.keyword.value in _DASK_RUNNER_KWARGS:
            args.append(arg)
        else:
            dropped.append(code_for(arg))
    runner = call.with_changes(func=cst.Name("DaskTaskRunner"), args=keep_args(call, args))
    todo = (
        f"DaskExecutor options {', '.join(d.strip().rstrip(',') for d in dropped)} have no "
        "DaskTaskRunner equivalent and were dropped"
        if dropped
        else None
    )
    return Translation(runner, todo, (("prefect_dask", "DaskTaskRunner"),), "prefect-dask")


class ExecutorsRule(Rule):
    """Executors become task runners (§13)."""

    CODE = "PF014"
    NAME = "executors"
    DESCRIPTION = "executors become task runners (§13)"
    TRIGGERS = ("Executor",)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._variables: dict[str, cst.Call] = {}  # module variable -> its executor call
        self._variable_uses: dict[str, int] = {}
        self._consumed: dict[str, int] = {}  # executor= keywords that took the variable
        self._executor_imports: list[tuple[str, str]] = []
        self._changed = False

    # ------------------------------------------------------------------ module scan

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        assigned: dict[str, int] = {}
        for stmt in node.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    module = dotted_name(small.module) if small.module else None
                    for alias in small.names:
                        name = dotted_name(alias.name)
                        if (
                            module
                            and name
                            and canonical(f"{module}.{name}").startswith(EXECUTORS + ".")
                        ):
                            self._executor_imports.append((module, name))
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    if isinstance(target, cst.Name):
                        assigned[target.value] = assigned.get(target.value, 0) + 1
                        if (
                            isinstance(small, cst.Assign)
                            and len(small.targets) == 1
                            and isinstance(small.value, cst.Call)
                            and self.resolves_under(small.value.func, EXECUTORS)
                        ):
                            self._variables[target.value] = small.value
        # Variables assigned more than once are not followed.
        self._variables = {k: v for k, v in self._variables.items() if assigned.get(k) == 1}
        if self._variables:
            counter = _NameCounter(set(self._variables))
            node.visit(counter)
            self._variable_uses = counter.counts
            for call in counter.calls:
                arg = get_arg(call, "executor")
                variable = self._module_variable(arg.value) if arg else None
                if variable and self._takes_executor(call):
                    self._consumed[variable] = self._consumed.get(variable, 0) + 1
        return True

    def _takes_executor(self, call: cst.Call) -> bool:
        """``@flow(...)``/``Flow(...)``, or ``f.with_options(executor=...)``: PF015's rewrite of
        ``flow.run(executor=...)`` (Prefect 2's ``with_options`` has no ``executor``)."""
        if self.is_prefect(call.func, "prefect.flow", "prefect.Flow"):
            return True
        return (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "with_options"
            and get_arg(call, "executor") is not None
        )

    def _module_variable(self, node: cst.BaseExpression) -> str | None:
        """The module-level executor variable ``node`` refers to, if any."""
        return node.value if self.binds_at_module_level(node, self._variables) else None

    # ------------------------------------------------------------------ translation

    def translate(self, expr: cst.BaseExpression) -> Translation:
        """The task runner for an executor expression (a call of a Prefect 1 executor)."""
        if isinstance(expr, cst.Call):
            name = self.prefect_name(expr.func)
            if name == _LOCAL:
                return Translation(None)
            if name == _LOCAL_DASK:
                return _local_dask(expr, self._code)
            if name == _DASK:
                return _dask(expr, self._code)
        return Translation(
            None,
            f"executor={self._code(expr)} removed: pick the matching Prefect 2 task runner "
            "(task_runner=ConcurrentTaskRunner() or prefect_dask.DaskTaskRunner(...))",
        )

    def _code(self, node: cst.CSTNode) -> str:
        return " ".join(self.code_for(node).split())

    def _apply(self, translation: Translation) -> None:
        for module, name in translation.imports:
            self.add_import(module, name)
        if translation.package:
            self.require_package(translation.package)
        if translation.todo:
            self.add_todo(translation.todo)
        self._changed = True
        self.mark_applied()

    # ------------------------------------------------------------------ rewriting

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self._takes_executor(original_node):
            return updated_node
        new = self._executor_keyword(original_node, updated_node)
        if (
            new is not updated_node
            and isinstance(new, cst.Call)
            and isinstance(new.func, cst.Attribute)
            and new.func.attr.value == "with_options"
            and not new.args
        ):
            return new.func.value  # f.with_options()(...): f(...)
        return new

    def _executor_keyword(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        original_arg = get_arg(original_node, "executor")
        if original_arg is None:
            return updated_node
        # Resolve on the original nodes (metadata), rewrite the updated ones.
        arg = updated_node.args[list(original_node.args).index(original_arg)]
        variable = self._module_variable(original_arg.value)
        if variable is not None:
            translation = self.translate(self._variables[variable])
            self._changed = True
            self.mark_applied()
            if translation.runner is not None:
                new_arg = arg.with_changes(keyword=cst.Name("task_runner"))
                return updated_node.with_changes(
                    args=[new_arg if a is arg else a for a in updated_node.args]
                )
            if translation.todo:
                self.add_todo(translation.todo)
            return remove_arg(updated_node, arg)
        translation = self.translate(original_arg.value)
        self._apply(translation)
        if translation.runner is None:
            return remove_arg(updated_node, arg)
        new_arg = arg.with_changes(keyword=cst.Name("task_runner"), value=translation.runner)
        return updated_node.with_changes(
            args=[new_arg if a is arg else a for a in updated_node.args]
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ):
        if not self._variables or len(updated_node.body) != 1:
            return updated_node
        small = updated_node.body[0]
        if not (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(self.get_metadata(ParentNodeProvider, original_node, None), cst.Module)
        ):
            return updated_node
        name = small.targets[0].target.value
        call = self._variables.get(name)
        if call is None or original_node.body[0].value is not call:
            return updated_node
        translation = self.translate(call)
        other_uses = self._variable_uses.get(name, 0) - self._consumed.get(name, 0)
        if translation.runner is not None:
            self._apply(translation)
            return updated_node.with_changes(body=[small.with_changes(value=translation.runner)])
        self._changed = True
        if other_uses <= 0:
            # Only executor= keywords used it (they were dropped, with their TODO if any).
            self.mark_applied()
            return cst.RemovalSentinel.REMOVE
        return self.comment_out(
            updated_node,
            translation.todo
            or f"{name} was a Prefect 1 LocalExecutor: Prefect 2 flows use the default task "
            "runner; drop the remaining uses of this variable",
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._changed:
            for module, name in self._executor_imports:
                self.remove_import_if_unused(module, name)
        return updated_node


class _NameCounter(cst.CSTVisitor):
    """Counts loads of the given names (assignment targets excluded) and collects the calls."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.counts: dict[str, int] = {}
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        return not isinstance(node.target, cst.Name)

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # not the keyword
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # not the attribute name
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.counts[node.value] = self.counts.get(node.value, 0) + 1


RULE = ExecutorsRule
