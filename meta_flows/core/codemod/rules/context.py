"""PF007 context: Prefect 1's ``prefect.context`` becomes ``get_run_logger()`` / ``prefect.runtime``.

Spec: docs/spec.md §6 (and the ``get_logger`` row of §1). Each form of reading a key --
``prefect.context.get("k"[, default])``, ``prefect.context.k``, ``prefect.context["k"]``, also via
``from prefect import context`` -- is rewritten by key:

Before::

    @task
    def report():
        logger = prefect.context.get("logger")
        logger.info("run %s of %s", prefect.context.flow_run_id, prefect.context.flow_name)

After::

    @task
    def report():
        logger = get_run_logger()
        logger.info("run %s of %s", runtime.flow_run.id, runtime.flow_run.flow_name)


- ``logger`` -> ``get_run_logger()`` inside any function (a helper called from a task runs inside
  the run too); at module level -> ``_Prefect1Logger(__name__)``, a small class written once into
  the module: used inside a flow or task run it logs through that run's logger (the records reach
  the run logs, as those of Prefect 1's logger did), elsewhere through
  ``logging.getLogger(__name__)`` (A). ``prefect.utilities.logging.get_logger(...)`` likewise
  (``_Prefect1Logger(name)`` outside functions).
  What only a ``logging.Logger`` has (``addHandler``, ``removeHandler``, ``handlers``,
  ``propagate``, filters...), used on the run logger or on a name the function binds to it
  only, goes to the adapter's logger: ``logger.logger.addHandler(handler)`` (A). The function's
  logger is then ``_prefect1_task_logger()`` (a helper written once into the module): the run
  logger's adapter on a child logger of the task's own, as Prefect 1's task logger
  ``prefect.<task name>`` was, so the handler gets that task's records only -- not Prefect 2's
  engine messages (``Finished in state ...``) nor other tasks' records, which all go through the
  one shared run logger -- while its records still reach the run logs, shown as the run
  logger's.
- ``parameters``, ``scheduled_start_time``, ``date``, ``flow_run_id``, ``flow_run_name``,
  ``flow_name`` -> ``runtime.flow_run.parameters / scheduled_start_time / id / name / flow_name``;
  ``task_run_id``, ``task_name``, ``task_run_name`` -> ``runtime.task_run.id / task_name / name``
  (``from prefect import runtime``). A ``.get(k, default)`` default is kept as ``(value or default)``
  for the values that are None outside a run (ids and names).
- ``today``, ``yesterday``, ``tomorrow`` (and ``*_nodash``) -> ``_prefect1_today(offset, fmt)``, one
  small helper added after the imports that formats ``runtime.flow_run.scheduled_start_time`` (C).
- ``task_loop_result`` / ``task_loop_count`` (any form) in the body of a ``@task`` that raises
  ``LOOP``: left to PF011, which makes the body loop and reads them from the loop's locals
  (spec §10.2). ``.get(...)`` of them in another function -> the default (None without one),
  their value in a task that does not loop, when Prefect 1 had not set them; under PF011's TODO
  on the function's ``raise LOOP(...)``, or one of this rule's without it (H).
- ``map_index``, other reads of ``task_loop_*`` outside a looping task, ``secrets``, dynamic keys, ``with prefect.context(...)`` and any
  other use of the Prefect 1 context -> H: a TODO (``prefect.context`` is a different module in
  Prefect 2); at module level the statement is commented out so the module still imports.

Prefect 1's configuration (spec §6.1): ``prefect.config`` (``from prefect import config``,
``prefect.configuration.config``) and the context's ``config`` (``prefect.context.config``,
``.get("config")``, ``["config"]``):

- a key whose Prefect 2 setting means the same (:data:`CONFIG_SETTINGS`: ``logging.level``,
  ``flows.checkpointing``, ``debug``...) -> that setting's value,
  ``PREFECT_LOGGING_LEVEL.value()`` (``from prefect.settings import ...``) (C);
- any other read -> the same code on ``prefect1_config``, a stand-in written once after the
  imports (``stubs.CONFIG_SOURCE``, a subclass of ``_Prefect1Stub``) that reads
  ``section.key`` from the environment variable ``PREFECT__SECTION__KEY`` as Prefect 1 did, so
  a module reading its config at import time still imports; ONE TODO above it names the lines
  reading it (H)::

      BUCKET = prefect.config.context.bucket    ->    BUCKET = prefect1_config.context.bucket
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import RemoveImportsVisitor

from meta_flows.core.codemod.base import (
    Rule,
    get_arg,
    insert_helper,
    literal_value,
    remove_p1_imports,
    todo_text,
)
from meta_flows.core.codemod.rules.imports import insert_stand_ins
from meta_flows.core.codemod.stubs import (
    CONFIG_CLASS,
    CONFIG_NAME,
    config_class,
    lines_of,
)

CONTEXT = "prefect.context"
CONFIG = "prefect.config"
# Prefect 1 configuration keys whose Prefect 2 setting means the same (``prefect.settings``):
# path under ``prefect.config`` -> (setting, the value wrapped in ``str()``: Prefect 1's was one).
CONFIG_SETTINGS: dict[tuple[str, ...], tuple[str, bool]] = {
    ("logging", "level"): ("PREFECT_LOGGING_LEVEL", False),
    ("logging", "extra_loggers"): ("PREFECT_LOGGING_EXTRA_LOGGERS", False),
    ("logging", "log_to_cloud"): ("PREFECT_LOGGING_TO_API_ENABLED", False),
    ("flows", "checkpointing"): ("PREFECT_RESULTS_PERSIST_BY_DEFAULT", False),
    ("debug",): ("PREFECT_DEBUG_MODE", False),
    ("home_dir",): ("PREFECT_HOME", True),
}
_CONFIG_ROOTS = (CONFIG, f"{CONTEXT}.config", "prefect.configuration.config")
GET_LOGGER = "prefect.utilities.logging.get_logger"
TODAY_HELPER = "_prefect1_today"

FLOW_RUN = {
    "parameters": "parameters",
    "scheduled_start_time": "scheduled_start_time",
    "date": "scheduled_start_time",
    "flow_run_id": "id",
    "flow_run_name": "name",
    "flow_name": "flow_name",
}
TASK_RUN = {"task_run_id": "id", "task_name": "task_name", "task_run_name": "name"}
TASK_RUN["task_run_count"] = "run_count"  # 1 on the first attempt, +1 per retry (both versions)
# Values that are None outside a run: a ``.get(k, default)`` default keeps its meaning.
NULLABLE = {
    "flow_run_id",
    "flow_run_name",
    "flow_name",
    "task_run_id",
    "task_name",
    "task_run_name",
}
DATES = {
    "today": (0, None),
    "yesterday": (-1, None),
    "tomorrow": (1, None),
    "today_nodash": (0, "%Y%m%d"),
    "yesterday_nodash": (-1, "%Y%m%d"),
    "tomorrow_nodash": (1, "%Y%m%d"),
}
# The context keys read from prefect.runtime (:func:`runtime_code`), in this order.
RUNTIME_KEYS = (*FLOW_RUN, *TASK_RUN, *DATES)
# Every key Prefect 1.4.1 put into its context during a run (prefect.utilities.context, the flow
# and task runners, Cloud/Server's): the ones of RUNTIME_KEYS and those with no Prefect 2 value.
PREFECT1_KEYS = frozenset(
    {
        *RUNTIME_KEYS,
        "logger", "config", "map_index", "task_full_name", "task_slug", "task_tags",
        "task_loop_count", "task_loop_result", "flow_id", "flow_run_version", "task_id",
        "task_run_version", "resume", "project_name", "project_id", "running_with_backend",
        "checkpointing", "caches", "secrets",
    }
)  # fmt: skip
HUMAN = {
    "map_index": "context map_index has no Prefect 2 equivalent: pass the index to the task "
    "explicitly (e.g. map over enumerate(...))",
    "task_loop_result": "context task_loop_result belongs to the LOOP signal: read it in the body "
    "of the @task that raises LOOP, where PF011 makes the body loop and carries the loop result",
    "task_loop_count": "context task_loop_count belongs to the LOOP signal: read it in the body of "
    "the @task that raises LOOP, where PF011 makes the body loop and counts its iterations",
    "secrets": "Prefect 1 context secrets: read each secret with "
    "Secret.load('<lowercase-dashed-name>').get() (from prefect.blocks.system) and create the "
    "Secret block",
}
# What a ``logging.Logger`` has and the ``LoggerAdapter`` that ``get_run_logger()`` returns has
# not: on the run logger they go to the adapter's ``.logger`` (the logger it logs through).
LOGGER_ONLY = frozenset(
    {
        "addHandler",
        "removeHandler",
        "handlers",
        "addFilter",
        "removeFilter",
        "filters",
        "filter",
        "propagate",
        "level",
        "disabled",
        "parent",
        "handle",
        "callHandlers",
        "getChild",
    }
)
# Set by Prefect 1 only from a task's second run on (after ``raise LOOP``): absent in its first.
LOOP_KEYS = ("task_loop_result", "task_loop_count")
LOOP_FIRST = (
    "this read gives its value in the task's first run, the default (Prefect 2 has no LOOP)"
)
_CONTEXT_METHODS = {"get", "update", "to_dict", "setdefault", "keys", "items", "values"}
# What Prefect 2.20's ``prefect.context`` module offers: already-migrated code, left alone.
P2_CONTEXT_NAMES = frozenset(
    {
        "get_run_context",
        "get_settings_context",
        "FlowRunContext",
        "TaskRunContext",
        "SettingsContext",
        "TagsContext",
        "EngineContext",
        "RunContext",
        "ContextModel",
        "PrefectObjectRegistry",
        "tags",
        "use_profile",
        "root_settings_context",
        "serialize_context",
        "hydrated_context",
    }
)

LOGGER_HELPER = "_Prefect1Logger"
LOGGER_HELPER_CODE = f'''class {LOGGER_HELPER}:
    """Prefect 1's logger kept at module level: inside a flow or task run it logs through that
    run's logger (the run logs, as Prefect 1's did), elsewhere through a standard logger."""

    def __init__(self, name):
        self._logger = logging.getLogger(name)

    def __getattr__(self, attribute):
        try:
            logger = get_run_logger()
        except MissingContextError:
            logger = self._logger
        return getattr(logger, attribute)
'''

OWN_LOGGER_HELPER = "_prefect1_task_logger"
OWN_LOGGER_HELPER_CODE = f'''def {OWN_LOGGER_HELPER}():
    """Prefect 1's task logger (``prefect.<task name>``): the run's logger, logging through a
    logger of this task's own, so that a handler or filter added to it sees this task's records
    only; Prefect 2's run logger is shared by every task run and also logs the engine's
    messages. Its records still reach the run logs."""
    run_logger = get_run_logger()
    name = run_logger.extra.get("task_name") or run_logger.extra.get("flow_name")
    own = run_logger.logger.getChild(name)
    if not own.filters:  # its records read as the run logger's (how they are shown)
        run_name = run_logger.logger.name
        own.addFilter(lambda record: setattr(record, "name", run_name) or True)
    return type(run_logger)(own, run_logger.extra)
'''

TODAY_HELPER_CODE = f'''def {TODAY_HELPER}(offset_days=0, fmt="%Y-%m-%d"):
    """Prefect 1's context ``today`` (+/- days): the flow run's scheduled start date."""
    from datetime import timedelta

    return (runtime.flow_run.scheduled_start_time + timedelta(days=offset_days)).strftime(fmt)
'''


def runtime_code(key: str) -> str:
    """The Prefect 2 code this rule writes for a read of the Prefect 1 context ``key`` (one of
    :data:`RUNTIME_KEYS`): ``runtime.flow_run.id``, ``_prefect1_today(-1)`` ... (the date keys
    call :data:`TODAY_HELPER_CODE`'s helper; both need ``from prefect import runtime``)."""
    if key in DATES:
        offset, fmt = DATES[key]
        args = [str(offset)] if offset or fmt else []
        if fmt:
            args.append(f'"{fmt}"')
        return f"{TODAY_HELPER}({', '.join(args)})"
    if key in FLOW_RUN:
        return f"runtime.flow_run.{FLOW_RUN[key]}"
    return f"runtime.task_run.{TASK_RUN[key]}"


def _string_key(node: cst.BaseExpression | None) -> str | None:
    try:
        value = literal_value(node)
    except Exception:
        return None
    return value if isinstance(value, str) else None


class ContextRule(Rule):
    """Prefect.context becomes get_run_logger() / prefect.runtime (§6)."""

    CODE = "PF007"
    NAME = "context"
    DESCRIPTION = "prefect.context becomes get_run_logger() / prefect.runtime (§6)"
    TRIGGERS = ("context", "get_logger", "config")

    def __init__(self, context) -> None:
        super().__init__(context)
        self._plan: dict[
            int, tuple[str, cst.BaseExpression | None]
        ] = {}  # node id -> (key, default)
        self._consumed: set[int] = set()
        self._comment_out: dict[int, str] = {}
        self._need_today = False
        self._need_logger = False
        self._need_own_logger = False
        self._own_logger: list[bool] = []  # per enclosing def: Logger-only API on its logger
        self._own_reads: set[int] = set()  # logger reads given Logger-only API directly
        self._need_config = False
        self._changed = False
        self._logger_names: list[frozenset[str]] = []  # per enclosing def: run logger names
        self._loops: list[bool] = []  # per enclosing def: it raises Prefect 1's LOOP signal
        # per enclosing def: a @task whose own body raises LOOP; PF011 makes the body loop and
        # rewrites its reads of the loop keys (§10.2)
        self._loop_tasks: list[bool] = []

    # ------------------------------------------------------------------ scopes

    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    # ------------------------------------------------------------------ run logger names

    def _is_logger_read(self, node: cst.CSTNode) -> bool:
        """``node`` reads the Prefect 1 context logger (or calls ``get_logger()``)."""
        if isinstance(node, cst.Call):
            func = node.func
            if self.is_prefect(func, GET_LOGGER):
                return True
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value == "get"
                and self._is_context(func.value)
                and bool(node.args)
                and _string_key(get_arg(node, "key", 0).value) == "logger"
            )
        if isinstance(node, cst.Attribute):
            return node.attr.value == "logger" and self._is_context(node.value)
        if isinstance(node, cst.Subscript) and len(node.slice) == 1:
            index = node.slice[0].slice
            return (
                isinstance(index, cst.Index)
                and _string_key(index.value) == "logger"
                and self._is_context(node.value)
            )
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._logger_names.append(_logger_names(node, self._is_logger_read))
        inherited = bool(self._own_logger) and self._own_logger[-1]
        self._own_logger.append(inherited or _logger_only_use(node, self._is_logger_read))
        from meta_flows.core.codemod.rules.signals import is_task, raises_loop

        self._loops.append(raises_loop(self, node))
        self._loop_tasks.append(self._loops[-1] and is_task(self, node))

    def leave_FunctionDef(self, original_node, updated_node):
        self._logger_names.pop()
        self._own_logger.pop()
        self._loops.pop()
        self._loop_tasks.pop()
        return updated_node

    def _logger_attribute(self, original: cst.Attribute, updated: cst.Attribute):
        """``logger.addHandler`` -> ``logger.logger.addHandler`` on the run logger."""
        if original.attr.value not in LOGGER_ONLY or not self._logger_names:
            return None
        value = original.value
        bound = isinstance(value, cst.Name) and value.value in self._logger_names[-1]
        if not bound and not (
            id(value) in self._plan and self._plan[id(value)][0] in ("logger", "get_logger")
        ):
            return None
        self.mark_applied()
        return updated.with_changes(
            value=cst.Attribute(value=updated.value, attr=cst.Name("logger"))
        )

    # ------------------------------------------------------------------ finding reads

    def _is_context(self, node: cst.CSTNode) -> bool:
        return self.prefect_name(node) == CONTEXT

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.is_prefect(func, GET_LOGGER):
            self._plan[id(node)] = ("get_logger", None)
            return
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and self._is_context(func.value)
        ):
            self._consumed.add(id(func))
            key = _string_key(get_arg(node, "key", 0).value) if node.args else None
            default = get_arg(node, "default", 1)
            if key in LOOP_KEYS and self._in_loop_task(func.value):
                return
            if key in LOOP_KEYS and self.function_depth:
                self._first_iteration(node, func.value, key, default)
                return
            self._claim(node, func.value, key, default.value if default else None)

    def _config_path(self, node: cst.CSTNode) -> tuple[str, ...] | None:
        """The keys ``node`` reads under Prefect 1's ``prefect.config`` (also reached as
        ``prefect.context.config``): ``()`` for the config itself, None when it is no such read."""
        name = self.prefect_name(node)
        for root in _CONFIG_ROOTS if name else ():
            if name == root or name.startswith(root + "."):
                return tuple(name[len(root) + 1 :].split(".")) if name != root else ()
        return None

    def _visit_config(self, node: cst.Attribute | cst.Name) -> bool:
        """Plan the rewrite of a read of Prefect 1's config: a key with a Prefect 2 setting of
        the same meaning becomes that setting's value, the config itself ``prefect1_config``."""
        path = self._config_path(node)
        if path is None or (path and path not in CONFIG_SETTINGS):
            return False
        self._plan[id(node)] = ("config:" + ".".join(path), None)
        inner: cst.BaseExpression = node
        while isinstance(inner, cst.Attribute):
            inner = inner.value
            self._consumed.add(id(inner))
        return True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in LOGGER_ONLY:
            self._own_reads.add(id(node.value))
        if id(node) in self._consumed or self._visit_config(node):
            return
        if node.attr.value in P2_CONTEXT_NAMES and self._is_context(node.value):
            self._consumed.add(id(node.value))
        elif self._is_context(node.value) and node.attr.value not in _CONTEXT_METHODS:
            self._claim(node, node.value, node.attr.value, None)
        elif self._is_context(node) and id(node) not in self._consumed:
            self._flag(
                f"Prefect 1 context `{self.code_for(node)}` is a different module in "
                "Prefect 2: use prefect.runtime or get_run_logger()"
            )

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self._is_context(node.value) and len(node.slice) == 1:
            index = node.slice[0].slice
            key = _string_key(index.value) if isinstance(index, cst.Index) else None
            self._claim(node, node.value, key, None)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._consumed or self._visit_config(node):
            return
        if self._is_context(node):
            self._flag(
                f"Prefect 1 context `{node.value}` is a different module in Prefect 2: "
                "use prefect.runtime or get_run_logger()"
            )

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and self._is_context(call.func):
                self._consumed.add(id(call.func))
                self.add_todo(
                    "`with prefect.context(...)` has no Prefect 2 equivalent: pass the values as "
                    "flow/task parameters instead (the block below still uses Prefect 1 context)"
                )

    def _first_iteration(self, node: cst.Call, ctx, key: str, default: cst.Arg | None) -> None:
        """``prefect.context.get("task_loop_result", default)`` in a function: the value of the
        task's first run, when Prefect 1 had not set the key (``default``, else None). The TODO
        is PF011's on the function's ``raise LOOP(...)``, or this rule's when it has none."""
        self._consumed.add(id(ctx))
        self._plan[id(node)] = ("first-iteration", default.value if default else None)
        if not (self._loops and self._loops[-1]):
            self.add_todo(f"{HUMAN[key]}: {LOOP_FIRST}")

    def _in_loop_task(self, ctx: cst.CSTNode) -> bool:
        """In a @task whose own body raises LOOP: PF011 rewrites the reads of the loop keys."""
        if self._loop_tasks and self._loop_tasks[-1]:
            self._consumed.add(id(ctx))
            return True
        return False

    def _claim(self, node, ctx, key: str | None, default) -> None:
        """Plan the rewrite of a read of ``key``, or flag it."""
        if key in LOOP_KEYS and self._in_loop_task(ctx):
            return
        self._consumed.add(id(ctx))
        if key == "config":
            self._plan[id(node)] = ("config:", None)
            return
        if key is not None and (
            key in ("logger",) or key in FLOW_RUN or key in TASK_RUN or key in DATES
        ):
            self._plan[id(node)] = (key, default)
            return
        if key in HUMAN:
            message = HUMAN[key]
        elif key is None:
            message = (
                f"`{self.code_for(node)}` reads a computed key of the Prefect 1 context: "
                "map it to prefect.runtime by hand"
            )
        else:
            message = (
                f"Prefect 1 context key {key!r} has no direct Prefect 2 equivalent: "
                "use prefect.runtime / get_run_context() by hand"
            )
        self._flag(message)

    def _flag(self, message: str) -> None:
        self.add_todo(message)
        if self.function_depth == 0:
            stmt = self._statement_stack[-1]
            if isinstance(stmt, cst.SimpleStatementLine):
                self._comment_out[id(stmt)] = message

    # ------------------------------------------------------------------ rewriting

    def _replacement(self, key: str, default, args, own: bool = False) -> cst.BaseExpression:
        self._changed = True
        self.mark_applied()
        if key.startswith("config:"):
            return self._config_replacement(key[len("config:") :])
        if key == "first-iteration":
            return cst.Name("None") if default is None else default
        if key in ("logger", "get_logger"):
            if self.function_depth:
                self.add_import("prefect", "get_run_logger")
                if key == "logger" and (own or (self._own_logger and self._own_logger[-1])):
                    self._need_own_logger = True
                    return cst.Call(func=cst.Name(OWN_LOGGER_HELPER))
                return cst.Call(func=cst.Name("get_run_logger"))
            # a logger kept at module level: the run's logger when used in a run
            self.add_import("logging")
            self.add_import("prefect", "get_run_logger")
            self.add_import("prefect.exceptions", "MissingContextError")
            self._need_logger = True
            name = args[0].value if key == "get_logger" and args else cst.Name("__name__")
            return cst.Call(func=cst.Name(LOGGER_HELPER), args=[cst.Arg(name)])
        self.add_import("prefect", "runtime")
        if key in DATES:
            self._need_today = True
            return cst.parse_expression(runtime_code(key))
        value = cst.parse_expression(runtime_code(key))
        if default is not None and key in NULLABLE:
            return cst.BooleanOperation(left=value, operator=cst.Or(), right=default)
        return value

    def _config_replacement(self, path: str) -> cst.BaseExpression:
        if not path:
            self._need_config = True
            return cst.Name(CONFIG_NAME)
        setting, as_text = CONFIG_SETTINGS[tuple(path.split("."))]
        self.add_import("prefect.settings", setting)
        value = cst.Call(func=cst.Attribute(value=cst.Name(setting), attr=cst.Name("value")))
        return cst.Call(func=cst.Name("str"), args=[cst.Arg(value)]) if as_text else value

    def _leave_expr(self, original_node, updated_node):
        planned = self._plan.get(id(original_node))
        if planned is None:
            return updated_node
        args = original_node.args if isinstance(original_node, cst.Call) else ()
        new = self._replacement(planned[0], planned[1], args, id(original_node) in self._own_reads)
        if isinstance(new, cst.BooleanOperation) and not self.stands_alone(original_node):
            new = new.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return new

    def leave_Call(self, original_node, updated_node):
        return self._leave_expr(original_node, updated_node)

    def leave_Attribute(self, original_node, updated_node):
        handled = self._logger_attribute(original_node, updated_node)
        if handled is not None:
            return handled
        return self._leave_expr(original_node, updated_node)

    def leave_Name(self, original_node, updated_node):
        return self._leave_expr(original_node, updated_node)

    def leave_Subscript(self, original_node, updated_node):
        return self._leave_expr(original_node, updated_node)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        message = self._comment_out.pop(id(original_node), None)
        if message is None:
            return updated_node
        self._pending.pop(id(original_node), None)  # the TODO goes with the commented code
        return self.comment_out(original_node, message)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._changed:
            return updated_node
        remove_p1_imports(self, original_node, lambda q: q in (CONTEXT, GET_LOGGER, CONFIG))
        RemoveImportsVisitor.remove_unused_import(self.context, "prefect")
        if self._need_today:
            updated_node = insert_helper(updated_node, TODAY_HELPER, TODAY_HELPER_CODE)
        if self._need_logger:
            updated_node = insert_helper(updated_node, LOGGER_HELPER, LOGGER_HELPER_CODE)
        if self._need_own_logger:
            updated_node = insert_helper(updated_node, OWN_LOGGER_HELPER, OWN_LOGGER_HELPER_CODE)
        if self._need_config:
            updated_node = self._add_config(updated_node)
        return updated_node

    def _add_config(self, module: cst.Module) -> cst.Module:
        """Define ``prefect1_config`` once, after the imports: the class reading Prefect 1's
        config from the environment and the binding, under the module's one TODO about it."""
        if any(isinstance(s, cst.ClassDef) and s.name.value == CONFIG_CLASS for s in module.body):
            return module
        todo = todo_text(
            self.CODE,
            f"Prefect 1 `prefect.config` is read at {lines_of(CONFIG_NAME)}: Prefect 2 has no "
            f"`prefect.config`. `{CONFIG_NAME}` reads each key from the environment variable "
            "Prefect 1 read it from (`prefect.config.section.key`: PREFECT__SECTION__KEY) and "
            "fails at run time for a key not set there (Prefect 1 may have read it from "
            "config.toml): set those variables (a deployment's job_variables env) or move the "
            "values to Prefect 2 Variables or blocks",
        )
        binding = cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(target=cst.Name(CONFIG_NAME))],
                    value=cst.Call(func=cst.Name(CONFIG_CLASS)),
                )
            ],
            leading_lines=[
                cst.EmptyLine(),
                cst.EmptyLine(),
                cst.EmptyLine(indent=True, comment=cst.Comment(todo)),
            ],
        )
        stmts = [config_class().with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])]
        return insert_stand_ins(self, module, [(None, [*stmts, binding])])


class _Bindings(cst.CSTVisitor):
    """Every binding of a name in one function body (nested functions and classes left out)."""

    def __init__(self) -> None:
        self.assigned: dict[str, list[cst.BaseExpression | None]] = {}

    def bind(self, name: str, value: cst.BaseExpression | None = None) -> None:
        self.assigned.setdefault(name, []).append(value)

    def bind_target(self, target: cst.CSTNode) -> None:
        for node in _target_names(target):
            self.bind(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.bind(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.bind(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.bind(node.targets[0].target.value, node.value)
        else:
            for target in node.targets:
                self.bind_target(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.bind_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.bind_target(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind_target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.bind_target(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.bind_target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.bind_target(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self.bind_target(node.name.name)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.bind(item.name.value)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.bind(item.name.value)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        name = node.asname.name if node.asname is not None else node.name
        while isinstance(name, cst.Attribute):
            name = name.value
        self.bind_target(name)

    def visit_Del(self, node: cst.Del) -> None:
        self.bind_target(node.target)


def _target_names(target: cst.CSTNode) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in _target_names(el.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _logger_only_use(function: cst.FunctionDef, is_logger_read) -> bool:
    """Whether ``function`` (nested functions included) uses what only a ``logging.Logger`` has
    on the Prefect 1 context logger: on a read of it, or on a name assigned one."""
    bound: set[str] = set()
    used: list[cst.BaseExpression] = []

    class _Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if is_logger_read(node.value):
                bound.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if node.attr.value in LOGGER_ONLY:
                used.append(node.value)

    function.body.visit(_Finder())
    return any(
        (isinstance(value, cst.Name) and value.value in bound) or is_logger_read(value)
        for value in used
    )


def _logger_names(function: cst.FunctionDef, is_logger_read) -> frozenset[str]:
    """The names ``function`` binds to the Prefect 1 context logger and to nothing else."""
    bindings = _Bindings()
    for param in (
        *function.params.params,
        *function.params.posonly_params,
        *function.params.kwonly_params,
    ):
        bindings.bind(param.name.value)
    for star in (function.params.star_arg, function.params.star_kwarg):
        if isinstance(star, cst.Param):
            bindings.bind(star.name.value)
    function.body.visit(bindings)
    return frozenset(
        name
        for name, values in bindings.assigned.items()
        if all(v is not None and is_logger_read(v) for v in values)
    )


RULE = ContextRule
