"""Read the flows of a Prefect 1 repository by loading them: runs INSIDE the Prefect 1 interpreter.

This file is a standalone script for the managed Prefect 1.4.1 environment
(:mod:`meta_flows.sandbox.legacy.env`). It imports only the standard library and Prefect 1 -- never
``meta_flows`` or Prefect 2 -- so :mod:`meta_flows.sandbox.inventory` runs it as
``<prefect1 python> probe.py`` with one request on stdin::

    {"repo": "/abs/repo", "roots": ["/abs/repo", ...], "output": "/abs/out.jsonl",
     "module_timeout": 60, "modules": [{"file": "flows/etl.py", "module": "etl"}, ...]}

All modules of a repository are imported in this ONE process. ``Flow.run``, ``Flow.register``,
``Flow.visualize`` and ``Client.register``/``create_project`` are patched into harmless
recorders (``register(project_name=..., labels=...)`` is what the inventory wants from them);
``Flow.__init__`` is wrapped to note which module's import created each flow, and the
``__init__`` of every storage, run config and executor class to note the arguments the user
passed. Each flow is described with Prefect 1's own objects and ``flow.serialize()``.

The output is JSON lines, flushed as they are written, so a module that kills the interpreter
(``os._exit``, a segfault) loses nothing already read; the caller sees which module was being
imported and carries on without it::

    {"event": "start", "file": ...}
    {"event": "flow", "file": ..., "flow": {...}}
    {"event": "error", "file": ..., "kind": "import" | "syntax" | "serialize" | "timeout",
     "line": ..., "message": ...}
    {"event": "done", "file": ...}
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib
import inspect
import io
import json
import os
import signal
import sys
import traceback


def _load_redact():
    """:func:`meta_flows.core.inventory.redact.redact`, loaded by path (no ``meta_flows`` here)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "core" / "inventory" / "redact.py"
    spec = importlib.util.spec_from_file_location("_meta_flows_redact", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REDACT = _load_redact()
REDACTED = _REDACT.REDACTED
redact = _REDACT.redact


class ModuleTimeout(Exception):
    pass


# ------------------------------------------------------------------------- plain JSON values


def dotted(obj) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}" if module else name


def jsonable(value):
    """A plain JSON value for ``value`` (datetimes ISO with offset, intervals in seconds)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismethod(value):
        return dotted(value)
    return f"<unserializable: {type(value).__name__} {value!r}>"


def tz_name(dt) -> str | None:
    tz = getattr(dt, "tzinfo", None)
    if tz is None:
        return None
    name = getattr(tz, "name", None) or getattr(tz, "zone", None) or getattr(tz, "key", None)
    return name or dt.tzname()


# ------------------------------------------------------------------------- recorders (patches)

REGISTERED: dict[int, dict] = {}  # id(flow) -> register kwargs
RUN_PARAMETERS: dict[int, dict] = {}  # id(flow) -> parameters its module's flow.run() passed
CREATED: list[tuple[object, str, int]] = []  # (flow, file that created it, line)
_INIT_ARGS = "_meta_flows_init_args"


def _creation_site() -> tuple[str, int]:
    """The module being imported when a Flow was created: first ``<module>`` frame outwards."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return os.path.abspath(frame.f_code.co_filename), frame.f_lineno
        frame = frame.f_back
    return "", 0


def _record_register(flow, args, kwargs) -> None:
    names = ["project_name", "build", "labels", "set_schedule_active", "version_group_id"]
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    REGISTERED[id(flow)] = bound


def _record_run(flow, parameters, kwargs) -> None:
    """The parameter values a module's own ``flow.run(...)`` gives (Prefect 1 also took keyword
    arguments named after parameters): the first call giving any, when they are plain JSON."""
    if id(flow) in RUN_PARAMETERS:
        return
    try:
        names = {p.name for p in flow.parameters()}
    except Exception:  # noqa: BLE001 - a broken flow: nothing to record
        return
    given = dict(parameters) if isinstance(parameters, dict) else {}
    given.update({k: v for k, v in kwargs.items() if k in names})
    given = {k: v for k, v in given.items() if k in names}
    try:
        plain = json.loads(json.dumps(given))
    except (TypeError, ValueError):
        return
    if given and plain == given:
        RUN_PARAMETERS[id(flow)] = plain


def _wrap_init(cls) -> None:
    original = cls.__dict__.get("__init__")
    if original is None or getattr(original, "_meta_flows", False):
        return
    try:
        signature = inspect.signature(original)
    except (TypeError, ValueError):
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        if not hasattr(self, _INIT_ARGS):
            try:
                bound = signature.bind(self, *args, **kwargs)
                given = dict(bound.arguments)
                given.pop(next(iter(signature.parameters)), None)  # self
                for name, param in signature.parameters.items():
                    if param.kind is inspect.Parameter.VAR_KEYWORD and name in given:
                        given.update(given.pop(name))
                    elif param.kind is inspect.Parameter.VAR_POSITIONAL and name in given:
                        given[name] = list(given[name])
                # Snapshot now: constructors may mutate what they were given.
                object.__setattr__(self, _INIT_ARGS, {k: jsonable(v) for k, v in given.items()})
            except TypeError:
                pass
        original(self, *args, **kwargs)

    __init__._meta_flows = True
    cls.__init__ = __init__


def _all_subclasses(cls):
    seen, todo = [], [cls]
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.append(c)
            todo.extend(c.__subclasses__())
    return seen


def install_patches() -> None:
    import prefect
    from prefect import Flow

    original_flow_init = Flow.__init__

    @functools.wraps(original_flow_init)
    def flow_init(self, *args, **kwargs):
        original_flow_init(self, *args, **kwargs)
        CREATED.append((self, *_creation_site()))

    def register(self, *args, **kwargs):
        _record_register(self, args, kwargs)
        return None

    def run(self, parameters=None, *args, **kwargs):
        _record_run(self, parameters, kwargs)
        return None

    Flow.__init__ = flow_init
    Flow.register = register
    Flow.run = run
    Flow.visualize = lambda self, *a, **k: None
    Flow.run_agent = lambda self, *a, **k: None

    def client_register(self, flow, *args, **kwargs):
        _record_register(flow, args, kwargs)
        return None

    prefect.Client.register = client_register
    prefect.Client.create_project = lambda self, *a, **k: None

    # Every storage, run config and executor class (incl. ones a module defines later:
    # __init_subclass__ is not available on all bases, so wrap what exists and re-wrap later).
    wrap_components()


def _component_bases():
    from prefect.executors.base import Executor
    from prefect.run_configs.base import RunConfig
    from prefect.storage.base import Storage

    return Storage, RunConfig, Executor


def wrap_components() -> None:
    for base in _component_bases():
        for cls in _all_subclasses(base):
            _wrap_init(cls)


# ------------------------------------------------------------------------- describing a flow


def component(obj, serialized: dict | None = None, *, every_field: bool = False):
    if obj is None:
        return None
    fields = dict(getattr(obj, _INIT_ARGS, {}) or {})
    if every_field and serialized:
        for key, value in serialized.items():
            if key not in ("__version__", "type"):
                fields.setdefault(key, value)
    fields = {k: jsonable(v) for k, v in fields.items()}
    return {"type": type(obj).__name__, "fields": fields}


def storage_info(storage) -> dict | None:
    info = component(storage)
    if info is None:
        return None
    secrets = list(getattr(storage, "secrets", None) or [])
    if secrets:
        info["fields"]["secrets"] = secrets
    info["fields"] = redact(info["fields"])
    return info


def _function_ref(fn) -> str:
    """``prefect.schedules.filters.is_weekday``; closures: ``...between_times(end=..., start=...)``."""
    qualname = getattr(fn, "__qualname__", "")
    module = getattr(fn, "__module__", "") or ""
    if "<locals>" not in qualname:
        return f"{module}.{qualname}" if module else qualname
    factory = qualname.split(".<locals>", 1)[0]
    owner = sys.modules.get(module)
    params = []
    try:
        params = list(inspect.signature(getattr(owner, factory)).parameters)
    except (AttributeError, TypeError, ValueError):
        pass
    cells = dict(
        zip(fn.__code__.co_freevars, [c.cell_contents for c in fn.__closure__ or ()], strict=True)
    )
    args = ", ".join(
        f"{name}={json.dumps(jsonable(cells[name]))}" for name in sorted(params) if name in cells
    )
    return f"{module}.{factory}({args})"


def clock_info(clock) -> dict:
    kind = type(clock).__name__
    start = getattr(clock, "start_date", None)
    out = {
        "type": kind,
        "start_date": jsonable(start),
        "end_date": jsonable(getattr(clock, "end_date", None)),
        "timezone": tz_name(start),
        "parameter_defaults": jsonable(dict(getattr(clock, "parameter_defaults", None) or {})),
        "labels": list(getattr(clock, "labels", None) or []),
    }
    if kind == "CronClock":
        out["cron"] = clock.cron
        out["day_or"] = bool(clock.day_or)
    elif kind == "IntervalClock":
        out["interval"] = clock.interval.total_seconds()
    elif kind == "RRuleClock":
        rule = clock.rrule_obj
        out["rrule"] = str(rule)
        dtstart = getattr(rule, "_dtstart", None)
        if start is None and dtstart is not None:
            out["start_date"] = jsonable(dtstart)
            out["timezone"] = tz_name(dtstart)
        until = getattr(rule, "_until", None)
        if out["end_date"] is None and until is not None:
            out["end_date"] = jsonable(until)
    elif kind == "DatesClock":
        out["dates"] = [jsonable(d) for d in clock.dates]
    return out


def schedule_info(schedule) -> dict | None:
    if schedule is None:
        return None
    return {
        "clocks": [clock_info(c) for c in schedule.clocks],
        "filters": [_function_ref(f) for f in schedule.filters],
        "or_filters": [_function_ref(f) for f in schedule.or_filters],
        "not_filters": [_function_ref(f) for f in schedule.not_filters],
        "adjustments": [_function_ref(f) for f in schedule.adjustments],
    }


def describe(flow, variable: str | None, line: int) -> dict:
    serialized = flow.serialize()  # Prefect 1's own view; raises if the flow cannot serialize
    mapped_slugs = {e.downstream_task.slug for e in flow.edges if e.mapped}
    tasks = [
        {
            "slug": t.slug,
            "name": t.name,
            "mapped": t.slug in mapped_slugs,
            "type": dotted(type(t)),
            "auto_generated": bool(getattr(t, "auto_generated", False)),
        }
        for t in sorted(flow.tasks, key=lambda t: t.slug)
    ]
    edges = [
        {
            "upstream": e.upstream_task.slug,
            "downstream": e.downstream_task.slug,
            "key": e.key,
            "mapped": bool(e.mapped),
        }
        for e in sorted(
            flow.edges,
            key=lambda e: (e.upstream_task.slug, e.downstream_task.slug, e.key or ""),
        )
    ]
    parameters = [
        {"name": p.name, "default": jsonable(p.default), "required": bool(p.required)}
        for p in sorted(flow.parameters(), key=lambda p: p.name)
    ]
    register = REGISTERED.get(id(flow))
    labels = list(getattr(flow.run_config, "labels", None) or [])
    register_labels = list((register or {}).get("labels") or [])
    for label in register_labels:
        if label not in labels:
            labels.append(label)
    return {
        "name": flow.name,
        "variable": variable,
        "line": line,
        "parameters": parameters,
        "tasks": tasks,
        "edges": edges,
        "storage": storage_info(flow.storage),
        "run_config": component(flow.run_config, serialized.get("run_config"), every_field=True),
        "executor": component(flow.executor) if flow.executor is not None else None,
        "schedule": schedule_info(flow.schedule),
        "labels": labels,
        "project_name": (register or {}).get("project_name"),
        "registered": register is not None,
        "register_kwargs": jsonable(register) if register is not None else None,
        "run_parameters": RUN_PARAMETERS.get(id(flow)),
    }


# ------------------------------------------------------------------------- the main loop


def _error_line(exc: BaseException, path: str) -> int | None:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == path:
            line = frame.lineno
    return line


def _on_alarm(signum, frame):
    raise ModuleTimeout()


def main() -> int:
    request = json.load(sys.stdin)
    repo = request["repo"]
    timeout = int(request.get("module_timeout") or 60)
    out = open(request["output"], "a", encoding="utf-8")

    def emit(event: dict) -> None:
        out.write(json.dumps(event, sort_keys=True) + "\n")
        out.flush()

    os.chdir(repo)
    for root in reversed(request.get("roots") or [repo]):
        if root not in sys.path:
            sys.path.insert(0, root)
    # The modules' own prints must not reach our caller's pipe.
    sys.stdout = io.StringIO()
    install_patches()
    signal.signal(signal.SIGALRM, _on_alarm)

    for entry in request["modules"]:
        rel, name = entry["file"], entry["module"]
        path = os.path.abspath(os.path.join(repo, rel))
        emit({"event": "start", "file": rel})
        signal.alarm(timeout)
        try:
            importlib.import_module(name)
        except ModuleTimeout:
            emit(
                {
                    "event": "error",
                    "file": rel,
                    "kind": "timeout",
                    "line": None,
                    "message": f"importing the module took longer than {timeout} s",
                }
            )
            continue
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a script too
            kind = "syntax" if isinstance(exc, SyntaxError) else "import"
            emit(
                {
                    "event": "error",
                    "file": rel,
                    "kind": kind,
                    "line": _error_line(exc, path),
                    "message": f"{type(exc).__name__}: {exc}",
                }
            )
            continue
        finally:
            signal.alarm(0)
        wrap_components()  # classes the module defined (its own Storage subclass, ...)
        module = sys.modules.get(name)
        bound: dict[int, str] = {}
        from prefect import Flow

        for var, value in list(vars(module).items()) if module else []:
            if id(value) not in bound and isinstance(value, Flow):
                bound[id(value)] = var
        seen: set[int] = set()
        for flow, created_in, line in CREATED:
            if created_in != path or id(flow) in seen:
                continue
            seen.add(id(flow))
            try:
                emit(
                    {
                        "event": "flow",
                        "file": rel,
                        "flow": describe(flow, bound.get(id(flow)), line),
                    }
                )
            except Exception as exc:  # noqa: BLE001
                emit(
                    {
                        "event": "error",
                        "file": rel,
                        "kind": "serialize",
                        "line": line,
                        "flow": getattr(flow, "name", None),
                        "variable": bound.get(id(flow)),
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                )
        emit({"event": "done", "file": rel})
    emit({"event": "wrappers", **wrapper_names()})
    out.close()
    return 0


def wrapper_names() -> dict:
    """The estate's own ``Flow`` and ``Task`` subclasses, loaded with its modules (its company
    package included): every dotted name they are reachable by in a loaded module, so the
    rewrite recognises ``from acme_platform import Flow`` however it was imported."""
    from prefect import Flow, Task

    def own(cls) -> bool:
        module = getattr(cls, "__module__", "") or ""
        return not (module == "prefect" or module.startswith("prefect."))

    kinds = {}
    for base, kind in ((Flow, "flow_classes"), (Task, "task_classes")):
        for cls in _all_subclasses(base):
            if cls is not base and own(cls):
                kinds[id(cls)] = (cls, kind)
    found: dict[str, set] = {"flow_classes": set(), "task_classes": set()}
    names_of: dict[int, set] = {}
    for key, (cls, _kind) in kinds.items():
        names_of.setdefault(key, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    for name, module in list(sys.modules.items()):
        if module is None or name == "prefect" or name.startswith(("prefect.", "_")):
            continue
        try:
            items = list(vars(module).items())
        except Exception:  # noqa: BLE001 - a lazy module that refuses to be read
            continue
        for attr, value in items:
            hit = kinds.get(id(value))
            if hit is not None and hit[0] is value:
                names_of[id(value)].add(f"{name}.{attr}")
    sources: dict[str, list] = {}
    for key, (cls, kind) in kinds.items():
        found[kind] |= names_of[key]
        if kind == "flow_classes":
            chain = _own_sources(cls, own)
            if chain is not None:
                sources.update({name: chain for name in names_of[key]})
    return {
        **{kind: sorted(names) for kind, names in found.items()},
        "flow_class_sources": sources,
    }


def _own_sources(cls, own) -> list | None:
    """The source of each of the estate's own classes ``cls`` inherits from (itself first), so
    meta-flows can tell whether a wrapper adds behaviour; None: one cannot be read."""
    try:
        return [inspect.getsource(c) for c in cls.__mro__ if c is not object and own(c)]
    except (OSError, TypeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
