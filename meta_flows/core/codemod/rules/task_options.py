"""PF004 task_options: Prefect 1 task options become Prefect 2.20 ``task()`` options (§3).

Applies to ``@task(...)`` decorators, ``task(fn, ...)`` calls and the constructor kwargs of
repository ``Task`` subclasses that stay classes::

    @task(max_retries=3, retry_delay=timedelta(minutes=1), log_stdout=True, nout=2)
    ->  @task(retries=3, retry_delay_seconds=60, log_prints=True)

- A: ``max_retries`` -> ``retries`` (``max_retries=0`` is dropped, §18.8), ``retry_delay`` ->
  ``retry_delay_seconds`` (a literal ``timedelta`` is evaluated, else
  ``int(expr.total_seconds())``), ``timeout`` -> ``timeout_seconds``, ``log_stdout`` ->
  ``log_prints``, ``checkpoint`` -> ``persist_result``, ``nout``/``slug`` dropped, string
  ``task_run_name`` kept.
- C: ``cache_for``/``cache_validator`` -> ``cache_key_fn=task_input_hash`` (input validators) or a
  constant key (``duration_only``) + ``cache_expiration``; ``cache_key="k"`` ->
  ``cache_key_fn=lambda *_: "k"``; ``result=LocalResult(dir=d)`` -> ``persist_result=True,
  result_storage=LocalFileSystem(basepath=d)``; ``target=`` -> ``result_storage_key=`` with
  Prefect 2 template fields (TODO where a field has no equivalent, and because Prefect 2 does not
  skip the task when the key exists).
- H (removed with a TODO quoting it): callable ``task_run_name``, cloud ``result=`` objects,
  ``skip_on_upstream_skip``.
- Safety net: PF004 runs after PF012 (state handlers) and PF009 (triggers); any keyword still on a
  Prefect ``task(...)`` call that Prefect 2.20's ``prefect.task`` does not accept is removed with a
  TODO quoting it, so the module always imports.

The mapping itself is :func:`meta_flows.core.codemod.options.convert_options`, which PF005
(``task_args=``) and PF006 (``Task`` subclasses) reuse.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from meta_flows.core.codemod.base import Rule, is_literal, literal_value
from meta_flows.core.codemod.options import P2_TASK_OPTIONS, convert_options


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
        for q in qnames:
            name = f"{module}.{q.name}" if q.source.name == "LOCAL" else q.name
            if name in classes:
                return True
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if self.is_prefect(func, "prefect.task"):
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
        # Resolve names on the original nodes (metadata is keyed on them).
        converted = convert_options(
            self, original_node.args, label=label, params=params, allowed=allowed
        )
        for todo in converted.todos:
            self.add_todo(todo)
        if not converted.changed:
            return updated_node
        self.mark_applied()
        return updated_node.with_changes(args=converted.args)


RULE = TaskOptionsRule
