"""Static fallback of the inventory: read a Prefect 1 module's flows from its source (``ast``).

Used for modules that cannot be loaded in the Prefect 1 environment (import error, requirements
that do not install, timeout). It produces the same dictionaries as the dynamic probe
(:mod:`meta_flows.sandbox.legacy.probe`) as far as literals allow:

- ``with Flow("name", storage=..., run_config=..., executor=..., schedule=...) as v:`` and
  ``v = Flow("name", ...)``; later ``v.storage = ...`` style assignments;
- ``Parameter("x", default=<literal>, required=...)`` and the task calls written directly in the
  ``with`` block (``a(x)``, ``b.map(xs, y=unmapped(z))``, ``upstream_tasks=[...]``), with Prefect
  1's slugs (``name-1``, ``name-2``) and edges;
- storages, run configs and executors with their keyword (and positional) arguments; clocks and
  schedules (``CronClock``/``IntervalClock``/``DatesClock``, ``CronSchedule``/``IntervalSchedule``,
  ``Schedule(clocks=[...], filters=[...], adjustments=[...])``) with ``timedelta`` /
  ``pendulum.duration`` and ``pendulum.datetime(..., tz=...)`` / ``datetime(...)`` literals;
- module-level constants, also imported from another module of the repository (a shared
  ``schedules.py``);
- ``v.register(project_name=..., labels=[...])`` anywhere at module level (also under
  ``if __name__ == "__main__":``).

Whatever it cannot evaluate is recorded honestly as the string ``"<unevaluated: EXPR>"``.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meta_flows.core.codemod.names import canonical
from meta_flows.patches import pyast

UTC = dt.timezone.utc

# Positional parameters of Prefect 1.4.1's constructors (read from the real signatures).
POSITIONAL = {
    "Flow": ("name", "schedule", "executor", "run_config", "storage"),
    "Parameter": ("name", "default", "required", "tags"),
    "GitHub": ("repo", "path", "ref", "access_token_secret", "base_url"),
    "Git": (
        "flow_path",
        "repo",
        "repo_host",
        "flow_name",
        "git_token_secret_name",
        "git_token_username",
        "git_clone_url_secret_name",
        "branch_name",
        "tag",
        "commit",
        "clone_depth",
        "use_ssh",
        "format_access_token",
    ),
    "Local": ("directory", "validate", "path", "stored_as_script"),
    "Docker": (
        "registry_url",
        "base_image",
        "dockerfile",
        "dockerignore",
        "python_dependencies",
        "image_name",
        "image_tag",
        "env_vars",
        "files",
    ),
    "GitLab": ("repo", "host", "path", "ref", "access_token_secret"),
    "Bitbucket": ("project", "repo", "workspace", "host", "path", "ref", "access_token_secret"),
    "S3": ("bucket", "key", "stored_as_script", "local_script_path", "client_options"),
    "GCS": ("bucket", "key", "project", "stored_as_script", "local_script_path"),
    "Azure": ("container", "connection_string_secret", "blob_name", "overwrite"),
    "Module": ("module",),
    "UniversalRun": ("env", "labels"),
    "LocalDaskExecutor": ("scheduler",),
    "DaskExecutor": ("address", "cluster_class", "cluster_kwargs", "adapt_kwargs", "client_kwargs"),
    "Schedule": ("clocks", "filters", "or_filters", "not_filters", "adjustments"),
    "CronSchedule": ("cron", "start_date", "end_date", "day_or"),
    "IntervalSchedule": ("start_date", "interval", "end_date"),
    "CronClock": ("cron", "start_date", "end_date", "parameter_defaults", "labels", "day_or"),
    "IntervalClock": ("interval", "start_date", "end_date", "parameter_defaults", "labels"),
    "DatesClock": ("dates", "parameter_defaults", "labels"),
    "RRuleClock": ("rrule_obj", "start_date", "end_date", "parameter_defaults", "labels"),
}
# Closure factories of prefect.schedules.filters, with their parameter names.
FILTER_FACTORIES = {
    "between_times": ("start", "end"),
    "between_dates": ("start_month", "start_day", "end_month", "end_day"),
    "on_date": ("month", "day"),
    "on_datetime": ("dt",),
    "at_time": ("t",),
}
STORAGE_MODULE = "prefect.storage"
RUN_CONFIG_MODULE = "prefect.run_configs"
EXECUTOR_MODULE = "prefect.executors"
CLOCKS = {"CronClock", "IntervalClock", "DatesClock", "RRuleClock"}
SCHEDULES = {"Schedule", "CronSchedule", "IntervalSchedule", "RRuleSchedule"}
COMPONENT_ATTRS = ("storage", "run_config", "executor", "schedule")


@dataclass(frozen=True)
class Unevaluated:
    """An expression the static reader cannot evaluate; rendered ``<unevaluated: EXPR>``."""

    text: str

    def __str__(self) -> str:
        return f"<unevaluated: {self.text}>"


@dataclass
class PrefectObject:
    """A call of a Prefect 1 constructor: its class name and the arguments, by name."""

    qualname: str
    kwargs: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class FunctionRef:
    name: str


@dataclass(frozen=True)
class TaskRef:
    slug: str


@dataclass
class StaticFlow:
    variable: str | None
    line: int
    kwargs: dict[str, Any]
    parameters: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    register: dict[str, Any] | None = None


# --------------------------------------------------------------------------- JSON conversion


def jsonable(value: Any) -> Any:
    """The probe's conventions: ISO datetimes with offset, seconds, plain containers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, FunctionRef):
        return value.name
    if isinstance(value, PrefectObject):
        return f"<unevaluated: {value.kind}(...)>"
    return str(value)


def _tz_name(value: Any) -> str | None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return None
    return getattr(value.tzinfo, "key", None) or value.tzname()


def _as_utc_if_naive(value: Any) -> Any:
    """Prefect 1 clocks treat naive datetimes as UTC (``pendulum.instance``)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# --------------------------------------------------------------------------- the evaluator


class ModuleReader:
    """Reads one module's top level; resolves names imported from the repository's modules."""

    def __init__(self, repo: StaticRepo, module: str, tree: ast.Module, source: str) -> None:
        self.repo = repo
        self.module = module
        self.tree = tree
        self.source = source
        self.imports: dict[str, str] = {}
        self.scope: dict[str, Any] = {}
        self.task_defs: dict[str, tuple[str, list[str]]] = {}  # local name -> (task name, args)
        self.flows: list[StaticFlow] = []
        self.functions: dict[str, list[str]] = {
            stmt.name: [a.arg for a in [*stmt.args.posonlyargs, *stmt.args.args]]
            for stmt in tree.body
            if isinstance(stmt, ast.FunctionDef)
        }
        self._done = False

    # ----------------------------------------------------------------- names

    def qualify(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def prefect_qualname(self, node: ast.expr) -> str | None:
        qual = self.qualify(node)
        if qual and (qual == "prefect" or qual.startswith("prefect.")):
            return canonical(qual)
        return None

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.dump(node)

    # ----------------------------------------------------------------- evaluation

    def evaluate(self, node: ast.expr, local: dict[str, Any] | None = None) -> Any:
        try:
            return self._evaluate(node, local or {})
        except (ValueError, TypeError, ArithmeticError, OverflowError, ZoneInfoNotFoundError):
            return Unevaluated(self.text(node))

    def _evaluate(self, node: ast.expr, local: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [self._evaluate(e, local) for e in node.elts]
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                return Unevaluated(self.text(node))
            return {
                self._evaluate(k, local): self._evaluate(v, local)
                for k, v in zip(node.keys, node.values, strict=True)
            }
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self._evaluate(node.operand, local)
            return -value if isinstance(value, (int, float, dt.timedelta)) else value
        if isinstance(node, ast.BinOp):
            left, right = self._evaluate(node.left, local), self._evaluate(node.right, local)
            if isinstance(left, Unevaluated) or isinstance(right, Unevaluated):
                return Unevaluated(self.text(node))
            ops = {ast.Add: lambda a, b: a + b, ast.Mult: lambda a, b: a * b}
            if type(node.op) in ops:
                return ops[type(node.op)](left, right)
            return Unevaluated(self.text(node))
        if isinstance(node, ast.Name):
            if node.id in local:
                return local[node.id]
            if node.id in self.scope:
                return self.scope[node.id]
            if node.id in self.imports:
                owner, _, name = self.imports[node.id].rpartition(".")
                found = self.repo.lookup(owner, name)
                if found is not None:
                    return found
            if node.id in {"True", "False", "None"}:
                return {"True": True, "False": False, "None": None}[node.id]
            return self._reference(node)
        if isinstance(node, ast.Attribute):
            qual = self.qualify(node)
            if qual:
                owner, _, name = qual.rpartition(".")
                found = self.repo.lookup(owner, name)
                if found is not None:
                    return found
            return self._reference(node)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, local)
        if isinstance(node, ast.Call):
            return self._call(node, local)
        return Unevaluated(self.text(node))

    def _fstring(self, node: ast.JoinedStr, local: dict[str, Any]) -> Any:
        """``f"flows/{NAME}.py"`` whose parts are literals (or names bound to them)."""
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            if not isinstance(value, ast.FormattedValue):
                return Unevaluated(self.text(node))
            inner = self._evaluate(value.value, local)
            spec = self._evaluate(value.format_spec, local) if value.format_spec else ""
            if not isinstance(inner, (str, int, float, bool)) or not isinstance(spec, str):
                return Unevaluated(self.text(node))
            if value.conversion == ord("r"):
                inner = repr(inner)
            elif value.conversion == ord("a"):
                inner = ascii(inner)
            parts.append(format(inner, spec))
        return "".join(parts)

    def _builtin(self, name: str, node: ast.Call) -> bool:
        """``node`` calls the builtin ``name`` (not a name the module binds or imports)."""
        return (
            isinstance(node.func, ast.Name)
            and node.func.id == name
            and name not in self.scope
            and name not in self.imports
        )

    def _reference(self, node: ast.expr) -> Any:
        """A bare reference: a Prefect filter/adjustment function, or unevaluated."""
        qual = self.prefect_qualname(node)
        if qual and (".schedules.filters." in qual or ".schedules.adjustments." in qual):
            return FunctionRef(qual)
        return Unevaluated(self.text(node))

    def _args(self, node: ast.Call, names: tuple[str, ...], local) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred) or i >= len(names):
                kwargs[f"<arg {i}>"] = Unevaluated(self.text(arg))
            else:
                kwargs[names[i]] = self._evaluate(arg, local)
        for kw in node.keywords:
            if kw.arg is None:
                value = self._evaluate(kw.value, local)
                if isinstance(value, dict):
                    kwargs.update({str(k): v for k, v in value.items()})
                else:
                    kwargs["**"] = Unevaluated(self.text(kw.value))
            else:
                kwargs[kw.arg] = self._evaluate(kw.value, local)
        return kwargs

    def _call(self, node: ast.Call, local) -> Any:
        if self._builtin("dict", node) and len(node.args) <= 1:
            base = self._evaluate(node.args[0], local) if node.args else {}
            if not isinstance(base, dict):
                return Unevaluated(self.text(node))
            return {**base, **self._args(node, (), local)}
        qual = self.qualify(node.func) or ""
        short = qual.rsplit(".", 1)[-1]
        if qual in ("datetime.timedelta", "pendulum.duration"):
            kw = self._args(node, ("days", "seconds", "microseconds", "milliseconds"), local)
            return _need(dt.timedelta(**kw) if qual.startswith("datetime") else _duration(kw))
        if qual in ("datetime.time",):
            return dt.time(**_need(self._args(node, ("hour", "minute", "second"), local)))
        if qual in ("datetime.datetime", "pendulum.datetime"):
            names = ("year", "month", "day", "hour", "minute", "second", "microsecond")
            kw = _need(self._args(node, names, local))
            tz = kw.pop("tz", "UTC" if qual.startswith("pendulum") else None)
            tzinfo = kw.pop("tzinfo", None)
            value = dt.datetime(**kw)
            if isinstance(tz, str):
                value = value.replace(tzinfo=ZoneInfo(tz))
            elif isinstance(tzinfo, dt.tzinfo):
                value = value.replace(tzinfo=tzinfo)
            elif tz is not None or tzinfo is not None:
                raise ValueError("unknown tz")
            return value
        if qual in ("zoneinfo.ZoneInfo", "pendulum.timezone"):
            (name,) = [self._evaluate(a, local) for a in node.args]
            return ZoneInfo(_need(name))
        pq = self.prefect_qualname(node.func)
        if pq is None:
            return Unevaluated(self.text(node))
        short = pq.rsplit(".", 1)[-1]
        if ".schedules.filters." in pq and short in FILTER_FACTORIES:
            kw = _need(self._args(node, FILTER_FACTORIES[short], local))
            args = ", ".join(f"{k}={_json(jsonable(kw[k]))}" for k in sorted(kw))
            return FunctionRef(f"prefect.schedules.filters.{short}({args})")
        names = POSITIONAL.get(short, ())
        return PrefectObject(pq, self._args(node, names, local))

    # ----------------------------------------------------------------- the module's statements

    def read(self) -> None:
        if self._done:
            return
        self._done = True
        for stmt in self.tree.body:
            self._statement(stmt)

    def _statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.imports[head] = head
        elif isinstance(stmt, ast.ImportFrom):
            base = stmt.module or ""
            if stmt.level:
                parts = self.module.split(".")
                parent = parts[: max(len(parts) - stmt.level, 0)]
                base = ".".join([*parent, base] if base else parent)
            for alias in stmt.names:
                if alias.name != "*":
                    self.imports[alias.asname or alias.name] = (
                        f"{base}.{alias.name}" if base else alias.name
                    )
        elif isinstance(stmt, ast.FunctionDef):
            self._task_def(stmt)
        elif isinstance(stmt, ast.Assign):
            self._assign(stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value and isinstance(stmt.target, ast.Name):
            self.scope[stmt.target.id] = self.evaluate(stmt.value)
        elif isinstance(stmt, ast.With):
            self._with(stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self._register(stmt.value)
        elif isinstance(stmt, ast.If) and is_main_guard(stmt.test):
            for inner in stmt.body:
                if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Call):
                    self._register(inner.value)

    def _task_def(self, stmt: ast.FunctionDef) -> None:
        for deco in stmt.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            if self.prefect_qualname(call.func if call else deco) == "prefect.task":
                name = stmt.name
                if call:
                    for kw in call.keywords:
                        if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                            name = kw.value.value
                args = [a.arg for a in [*stmt.args.posonlyargs, *stmt.args.args]]
                self.task_defs[stmt.name] = (name, args)

    def _assign(self, stmt: ast.Assign) -> None:
        value_node = stmt.value
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                if isinstance(value_node, ast.Call) and self._is_flow(value_node.func):
                    flow = self._new_flow(value_node, target.id, stmt.lineno)
                    self.scope[target.id] = flow
                    continue
                task = self._task_instance(value_node)
                if task:
                    self.task_defs[target.id] = task
                    continue
                self.scope[target.id] = self.evaluate(value_node)
            elif (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and isinstance(self.scope.get(target.value.id), StaticFlow)
                and target.attr in COMPONENT_ATTRS
            ):
                self.scope[target.value.id].kwargs[target.attr] = self.evaluate(value_node)

    def _task_instance(self, node: ast.expr) -> tuple[str, list[str]] | None:
        """``x = task(fn)`` / ``x = task(name="n")(fn)`` / ``x = SomeTask(name="n")``."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if self.prefect_qualname(func) == "prefect.task" and node.args:
            fn = node.args[0]
            name = _kw_literal(node, "name")
            if isinstance(fn, ast.Name) and fn.id in self.functions:
                return name or fn.id, self.functions[fn.id]
            return name or self.text(fn), []
        if isinstance(func, ast.Call) and self.prefect_qualname(func.func) == "prefect.task":
            name = _kw_literal(func, "name")
            fn = node.args[0] if node.args else None
            args = self.functions.get(getattr(fn, "id", ""), [])
            return name or getattr(fn, "id", "task"), args
        pq = self.prefect_qualname(func)
        if pq and (pq == "prefect.Task" or pq.startswith("prefect.tasks.")):
            return _kw_literal(node, "name") or pq.rsplit(".", 1)[-1], []
        return None

    def _is_flow(self, func: ast.expr) -> bool:
        return self.prefect_qualname(func) == "prefect.Flow"

    def _new_flow(self, call: ast.Call, variable: str | None, line: int) -> StaticFlow:
        kwargs = self._args(call, POSITIONAL["Flow"], {})
        flow = StaticFlow(variable=variable, line=line, kwargs=kwargs)
        self.flows.append(flow)
        return flow

    def _with(self, stmt: ast.With) -> None:
        for item in stmt.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and self._is_flow(call.func):
                var = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
                flow = self._new_flow(call, var, stmt.lineno)
                if var:
                    self.scope[var] = flow
                _FlowBody(self, flow).read(stmt.body)

    def _register(self, call: ast.Call) -> None:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "register"
            and isinstance(func.value, ast.Name)
            and isinstance(self.scope.get(func.value.id), StaticFlow)
        ):
            kw = self._args(call, ("project_name", "build", "labels"), {})
            self.scope[func.value.id].register = kw


class _FlowBody:
    """The task graph written directly in a ``with Flow(...)`` block."""

    def __init__(self, reader: ModuleReader, flow: StaticFlow) -> None:
        self.reader = reader
        self.flow = flow
        self.local: dict[str, Any] = {}
        self.counters: dict[str, int] = {}
        self.slugs: set[str] = set()

    def read(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                result = self.expr(stmt.value)
                if isinstance(stmt.targets[0], ast.Name):
                    self.local[stmt.targets[0].id] = result
            elif isinstance(stmt, ast.Expr):
                self.expr(stmt.value)

    def expr(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name) and node.id in self.local:
            return self.local[node.id]
        if not isinstance(node, ast.Call):
            return None
        reader = self.reader
        if reader.prefect_qualname(node.func) == "prefect.Parameter":
            kw = reader._args(node, POSITIONAL["Parameter"], {})
            name = kw.get("name")
            if not isinstance(name, str):
                return None
            default = kw.get("default")
            required = kw.get("required", False)
            self.flow.parameters.append(
                {"name": name, "default": jsonable(default), "required": bool(required)}
            )
            self._add_task(name, name, "prefect.core.parameter.Parameter")
            return TaskRef(name)
        func, mapped = node.func, False
        if isinstance(func, ast.Attribute) and func.attr == "map":
            func, mapped = func.value, True
        task = None
        if isinstance(func, ast.Name):
            task = reader.task_defs.get(func.id) or reader.repo.imported_task(reader, func.id)
        if task is None:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.expr(arg)
            return None
        name, argnames = task
        slug = self._slug(name)
        self._add_task(slug, name, None, mapped)
        for i, arg in enumerate(node.args):
            key = argnames[i] if i < len(argnames) else None
            self._edge(arg, slug, key, mapped)
        for kw in node.keywords:
            if kw.arg == "upstream_tasks" and isinstance(kw.value, (ast.List, ast.Tuple)):
                for element in kw.value.elts:
                    self._edge(element, slug, None, False, as_key=False)
            elif kw.arg is not None and kw.arg not in ("task_args", "flow", "mapped"):
                self._edge(kw.value, slug, kw.arg, mapped)
        return TaskRef(slug)

    def _edge(self, arg, slug, key, mapped, as_key=True) -> None:
        if (
            isinstance(arg, ast.Call)
            and self.reader.prefect_qualname(arg.func) == "prefect.unmapped"
            and arg.args
        ):
            arg, mapped = arg.args[0], False
        upstream = self.expr(arg)
        if isinstance(upstream, TaskRef):
            self.flow.edges.append(
                {
                    "upstream": upstream.slug,
                    "downstream": slug,
                    "key": key if as_key else None,
                    "mapped": mapped,
                }
            )

    def _slug(self, name: str) -> str:
        while True:
            self.counters[name] = self.counters.get(name, 0) + 1
            slug = f"{name}-{self.counters[name]}"
            if slug not in self.slugs:
                return slug

    def _add_task(self, slug, name, type_, mapped=False) -> None:
        self.slugs.add(slug)
        self.flow.tasks.append(
            {"slug": slug, "name": name, "mapped": mapped, "type": type_, "auto_generated": False}
        )


# --------------------------------------------------------------------------- the repository


class StaticRepo:
    """The statically readable modules of one repository, by dotted module name."""

    def __init__(self, sources: dict[str, tuple[Path, str]]) -> None:
        self.sources = sources
        self.readers: dict[str, ModuleReader] = {}
        self._reading: set[str] = set()

    def reader(self, module: str) -> ModuleReader | None:
        if module in self.readers:
            return self.readers[module]
        if module not in self.sources or module in self._reading:
            return None
        path, source = self.sources[module]
        try:
            tree = pyast.parse(source, filename=str(path))
        except SyntaxError:
            return None
        reader = ModuleReader(self, module, tree, source)
        self._reading.add(module)
        try:
            reader.read()
        finally:
            self._reading.discard(module)
        self.readers[module] = reader
        return reader

    def lookup(self, module: str, name: str) -> Any:
        """The static value of ``module.name`` for a module of this repository (else None)."""
        reader = self.reader(module)
        if reader is None:
            return None
        return reader.scope.get(name)

    def imported_task(self, reader: ModuleReader, local: str) -> tuple[str, list[str]] | None:
        qual = reader.imports.get(local)
        if not qual:
            return None
        owner, _, name = qual.rpartition(".")
        other = self.reader(owner)
        return other.task_defs.get(name) if other else None


# --------------------------------------------------------------------------- output


def _component(value: Any, redact: bool = False) -> dict | None:
    if value is None:
        return None
    if isinstance(value, PrefectObject):
        fields = {k: jsonable(v) for k, v in value.kwargs.items()}
        if redact:
            from meta_flows.core.inventory.redact import redact as redact_values

            fields = redact_values(fields)
        return {"type": value.kind, "fields": fields}
    return {"type": str(Unevaluated(_text_of(value))), "fields": {}}


def _text_of(value: Any) -> str:
    return value.text if isinstance(value, Unevaluated) else repr(value)


_CLOCK_TYPES = {
    "start_date": dt.datetime,
    "end_date": dt.datetime,
    "parameter_defaults": dict,
    "labels": list,
    "cron": str,
    "interval": dt.timedelta,
    "rrule_obj": str,
    "dates": list,
    "day_or": bool,
}


def _clock(obj: PrefectObject) -> dict:
    kw = dict(obj.kwargs)
    notes = []
    for key, expected in _CLOCK_TYPES.items():
        value = kw.get(key)
        if value is not None and not isinstance(value, expected):
            if key == "rrule_obj":  # dateutil rrule(...) objects are not evaluated statically
                kw[key] = str(Unevaluated(_text_of(value)))
                continue
            notes.append(f"{key}: {Unevaluated(_text_of(value))}")
            kw.pop(key)
    start = _as_utc_if_naive(kw.get("start_date"))
    end = _as_utc_if_naive(kw.get("end_date"))
    out: dict[str, Any] = {
        "type": obj.kind,
        "start_date": jsonable(start),
        "end_date": jsonable(end),
        "timezone": _tz_name(start),
        "parameter_defaults": jsonable(kw.get("parameter_defaults") or {}),
        "labels": jsonable(kw.get("labels") or []),
        "unevaluated": notes,
    }
    if obj.kind == "CronClock":
        out["cron"] = kw.get("cron")
        out["day_or"] = bool(kw.get("day_or", True))
    elif obj.kind == "IntervalClock":
        out["interval"] = jsonable(kw.get("interval"))
    elif obj.kind == "RRuleClock":
        out["rrule"] = kw.get("rrule_obj")
    elif obj.kind == "DatesClock":
        dates = [_as_utc_if_naive(d) for d in kw.get("dates") or []]
        known = [d for d in dates if isinstance(d, dt.datetime)]
        out["dates"] = jsonable(known)
        if len(known) != len(dates):
            notes.append("dates: " + ", ".join(str(d) for d in dates if d not in known))
        if known:
            out["start_date"] = jsonable(min(known))
            out["end_date"] = jsonable(max(known))
            out["timezone"] = _tz_name(min(known))
    return out


def _schedule(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, PrefectObject) or value.kind not in SCHEDULES:
        return {"clocks": [], "unevaluated": [str(Unevaluated(_text_of(value)))]}
    kw = dict(value.kwargs)
    if value.kind == "Schedule":
        clocks = kw.get("clocks") or []
    else:  # CronSchedule / IntervalSchedule / RRuleSchedule: one clock
        clock_kind = {
            "CronSchedule": "CronClock",
            "IntervalSchedule": "IntervalClock",
            "RRuleSchedule": "RRuleClock",
        }[value.kind]
        keys = ("cron", "interval", "rrule_obj", "start_date", "end_date", "day_or")
        clocks = [
            PrefectObject(
                f"prefect.schedules.clocks.{clock_kind}", {k: kw[k] for k in keys if k in kw}
            )
        ]
    out: dict[str, Any] = {"clocks": [], "unevaluated": []}
    for clock in clocks if isinstance(clocks, list) else [clocks]:
        if isinstance(clock, PrefectObject) and clock.kind in CLOCKS:
            out["clocks"].append(_clock(clock))
        else:
            out["unevaluated"].append(str(Unevaluated(_text_of(clock))))
    for key in ("filters", "or_filters", "not_filters", "adjustments"):
        items = kw.get(key) or []
        out[key] = [str(jsonable(f)) for f in (items if isinstance(items, list) else [items])]
    return out


def _flow_dict(flow: StaticFlow) -> dict:
    kw = flow.kwargs
    run_config = _component(kw.get("run_config"))
    labels = (run_config or {}).get("fields", {}).get("labels") or []
    labels = [str(x) for x in labels] if isinstance(labels, list) else [str(labels)]
    register = flow.register or {}
    extra = jsonable(register.get("labels")) or []
    for label in extra if isinstance(extra, list) else [str(extra)]:
        if label not in labels:
            labels.append(label)
    name = kw.get("name")
    schedule = _schedule(kw.get("schedule"))
    return {
        "name": name if isinstance(name, str) else str(Unevaluated(_text_of(name))),
        "variable": flow.variable,
        "line": flow.line,
        "parameters": sorted(flow.parameters, key=lambda p: p["name"]),
        "tasks": sorted(flow.tasks, key=lambda t: t["slug"]),
        "edges": sorted(flow.edges, key=lambda e: (e["upstream"], e["downstream"], e["key"] or "")),
        "storage": _component(kw.get("storage"), redact=True),
        "run_config": run_config,
        "executor": _component(kw.get("executor")),
        "schedule": schedule,
        "labels": labels,
        "project_name": jsonable(register.get("project_name")),
        "registered": flow.register is not None,
    }


def read_module(repo: StaticRepo, module: str) -> list[dict]:
    """The flows of ``module`` as the probe's dictionaries (``[]`` if it cannot be parsed)."""
    reader = repo.reader(module)
    if reader is None:
        return []
    return [_flow_dict(f) for f in reader.flows]


# --------------------------------------------------------------------------- small helpers


class _NotLiteral(ValueError):
    pass


def _need(value: Any) -> Any:
    """Raise (-> Unevaluated) when a value, or anything inside it, is not evaluated."""
    if isinstance(value, Unevaluated):
        raise _NotLiteral(value.text)
    if isinstance(value, dict):
        for v in value.values():
            _need(v)
    return value


def _duration(kw: dict[str, Any]) -> dt.timedelta:
    weeks = kw.pop("weeks", 0)
    return dt.timedelta(weeks=weeks, **kw)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _kw_literal(call: ast.Call, name: str) -> str | None:
    for kw in call.keywords:
        if (
            kw.arg == name
            and isinstance(kw.value, ast.Constant)
            and isinstance(kw.value.value, str)
        ):
            return kw.value.value
    return None


def is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
