"""Run Prefect 1 flows and report what each run did: runs INSIDE the Prefect 1 interpreter.

A standalone script for the managed Prefect 1.4.1 environment (:mod:`meta_flows.sandbox.legacy.env`),
like :mod:`meta_flows.sandbox.legacy.probe`: it imports only the standard library and Prefect 1 (never
``meta_flows`` or Prefect 2). :mod:`meta_flows.sandbox.legacy_run` runs it as
``<prefect1 python> run_probe.py`` with one request on stdin::

    {"repo": "/abs/repo", "roots": ["/abs/repo", ...], "output": "/abs/out.jsonl",
     "timeout": 60, "workdir": "/abs/tmp",
     "runs": [{"id": 0, "file": "flows/etl.py", "module": "etl", "flow": "etl",
               "case": "default", "parameters": {...}}, ...]}

All runs of a project share this ONE process (importing Prefect 1 and the flow modules once).
Isolation per run: a fresh empty working directory under ``workdir`` (the process ``chdir``s
into it), Prefect 1's in-process task caches (``prefect.context.caches``) cleared, ``random``
seeded from the flow name and case (:func:`seed_random`, as the Prefect 2 side), and
``flow.run(parameters=..., run_on_schedule=False)``; independent tasks run in the order they were
added to the flow (:func:`install_task_order`). Modules are imported once, in a scratch
directory of their own, with ``Flow.run``/``register``/``visualize`` disabled during the import
(a module that runs its flow at import time must not run it there).

A run that exceeds ``timeout`` seconds is interrupted by ``SIGALRM`` and reported with
``timed_out``; the process then exits (threads of the interrupted run may still be alive), and
the caller starts a new one for the runs after it. The output is JSON lines, flushed as written::

    {"event": "start", "id": 0}      (importing the module)
    {"event": "running", "id": 0}    (flow.run is called)
    {"event": "run", "id": 0, "capture": {... RunCapture fields ...}}

The capture has the fields of :class:`meta_flows.core.validation.model.RunCapture` (side ``legacy``).
Tasks: one entry per task of the flow, by Prefect 1 task name; a mapped task contributes one
entry per child (``map_index``) instead of its ``Mapped`` parent (a mapped task whose mapping
never happened, e.g. ``TriggerFailed``, is reported unmapped). Implicit tasks that Prefect 2
code has no task run for -- Parameters, constants, collections (List/Dict/...), operators
(GetItem, Add, ...), ``case``'s CompareValue and ``merge``'s Merge, and the tasks that start runs
of other flows (``StartFlowRun``, ``create_flow_run``, ``wait_for_flow_run``: the migrated flow calls
``run_deployment`` in its body) -- carry ``auto_generated``.

No run of another flow starts: ``StartFlowRun`` and ``create_flow_run`` are answered by stand-ins
(:func:`install_flow_run_stand_ins`) and recorded in the capture's ``effects``, as the Prefect 2
side records its ``run_deployment`` calls.
``ok`` is a success that is not a skip; ``result``/``result_repr`` are set only for ``ok`` tasks.
"""

from __future__ import annotations

import faulthandler
import functools
import hashlib
import importlib
import io
import json
import math
import os
import re
import signal
import sys
import tempfile
import time

# ------------------------------------------------------------------------- values

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class _NotJSON(Exception):
    pass


def _pandas_json(value):
    """A JSON value for a pandas DataFrame/Series, or raise _NotJSON."""
    module = type(value).__module__ or ""
    kind = type(value).__name__
    if not module.startswith("pandas") or kind not in ("DataFrame", "Series"):
        raise _NotJSON()
    try:
        data = json.loads(value.to_json(orient="split", date_format="iso"))
    except Exception as exc:  # noqa: BLE001 - objects inside a frame
        raise _NotJSON() from exc
    return {"__pandas__": kind, "split": data, "dtypes": _pandas_dtypes(value)}


def _pandas_dtypes(value):
    if type(value).__name__ == "Series":
        return str(value.dtype)
    return {str(k): str(v) for k, v in value.dtypes.items()}


def json_value(value):
    """``value`` as a plain JSON value without loss, or raise :class:`_NotJSON`.

    Tuples become lists (``result_repr`` keeps the difference); dicts need string keys; floats
    must be finite. numpy scalars/arrays and pandas DataFrames/Series are converted (a frame to
    ``{"__pandas__": "DataFrame", "split": {columns, index, data}, "dtypes": {...}}``).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        raise _NotJSON()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotJSON()
        return {k: json_value(v) for k, v in value.items()}
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        if hasattr(value, "tolist"):
            return json_value(value.tolist())
        raise _NotJSON()
    if module.startswith("pandas"):
        return _pandas_json(value)
    raise _NotJSON()


def stable_repr(value) -> str:
    """``repr`` that does not depend on insertion order or memory addresses.

    Dict keys and set members are sorted (by their own stable repr); `` at 0x...`` addresses are
    removed. Containers of the exact builtin types are rendered recursively.
    """
    if isinstance(value, dict) and type(value) in (dict,):
        items = sorted(((stable_repr(k), stable_repr(v)) for k, v in value.items()))
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if type(value) in (set, frozenset):
        members = sorted(stable_repr(v) for v in value)
        if not members:
            return "set()" if type(value) is set else "frozenset()"
        inner = "{" + ", ".join(members) + "}"
        return inner if type(value) is set else f"frozenset({inner})"
    if type(value) is list:
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    if type(value) is tuple:
        if len(value) == 1:
            return f"({stable_repr(value[0])},)"
        return "(" + ", ".join(stable_repr(v) for v in value) + ")"
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__
        text = f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"
    return _ADDRESS.sub("", text)


def result_fields(value) -> dict:
    """``result``, ``result_json`` and ``result_repr`` of a task capture for ``value``."""
    try:
        return {"result": json_value(value), "result_json": True, "result_repr": stable_repr(value)}
    except (_NotJSON, RecursionError):
        return {"result": None, "result_json": False, "result_repr": stable_repr(value)}


def file_hashes(root: str) -> dict:
    """Files under ``root``: POSIX relative path -> SHA-256 of the content (``__pycache__`` left out)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            out[os.path.relpath(path, root).replace(os.sep, "/")] = digest.hexdigest()
    return out


def run_seed(spec: dict) -> int:
    """The seed of one run's random numbers: from its flow name and case, the same on both sides
    (the Prefect 2 side is given the Prefect 1 flow name)."""
    key = f"{spec['flow']}\0{spec.get('case') or 'default'}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


_RUN_SEED = [0]  # the current run's seed (seed_random), for the task runs' own generators
_TASK_GENERATORS: dict = {}  # (task name, index) -> its random.Random in the current run


def seed_random(spec: dict) -> int:
    """Seed Python's ``random`` (and numpy's global generator, if the flows imported numpy) with
    :func:`run_seed`, right before a run: code that draws in the same order on both sides draws
    the same numbers; task runs draw from generators of their own (:func:`install_task_random`),
    seeded from this seed too."""
    import random

    seed = run_seed(spec)
    random.seed(seed)
    _RUN_SEED[0] = seed
    _TASK_GENERATORS.clear()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            numpy.random.seed(seed % 2**32)
        except Exception:  # noqa: BLE001 - a numpy without the legacy global generator
            pass
    return seed


def install_task_random(task_key) -> None:
    """Make each task run draw from a ``random.Random`` of its own, seeded from the run's seed
    (:func:`seed_random`) and ``task_key()``: the task's name and its map index, or for a task
    called several times its call number (``None`` outside a task run: the global generator).
    Task runs then draw the same numbers on both sides whatever order, or threads, they run in:
    Prefect 2 runs a map's children concurrently, Prefect 1 one after the other.

    The module-level functions of ``random`` (``random.random``, ``randint``, ``shuffle``...)
    are replaced by ones asking the current task run's generator, before the flows are imported
    (``from random import random`` takes the replacement)."""
    import random

    base = random._inst

    def generator():
        key = task_key()
        if key is None:
            return base
        found = _TASK_GENERATORS.get(key)
        if found is None:
            text = f"{_RUN_SEED[0]}\0{key[0]}\0{key[1]}".encode()
            found = random.Random(int.from_bytes(hashlib.sha256(text).digest()[:8], "big"))
            _TASK_GENERATORS[key] = found
        return found

    def dispatch(name):
        def draw(*args, **kwargs):
            return getattr(generator(), name)(*args, **kwargs)

        draw.__name__ = draw.__qualname__ = name
        draw.__doc__ = getattr(base, name).__doc__
        return draw

    for name in dir(random):
        if name.startswith("_"):
            continue
        bound = getattr(random, name)
        if callable(bound) and getattr(bound, "__self__", None) is base:
            setattr(random, name, dispatch(name))


def legacy_task_key():
    """The Prefect 1 task run being executed: (task name, map index or call number), or None."""
    import prefect

    name = prefect.context.get("task_name")
    if name is None:
        return None
    index = prefect.context.get("map_index")
    if index is None:  # copies of one task in a flow: slugs name-1, name-2...
        slug = str(prefect.context.get("task_slug") or "")
        number = slug.rsplit("-", 1)[-1]
        index = int(number) - 1 if number.isdigit() else 0
    return name, index


# ------------------------------------------------------------------------- Prefect 1 specifics


class RunTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so Prefect 1's ``except Exception`` does not eat it."""


_IMPLICIT = {
    "prefect.tasks.core.constants",
    "prefect.tasks.core.collections",
    "prefect.tasks.core.operators",
}
_IMPLICIT_CLASSES = {
    "prefect.tasks.control_flow.conditional.CompareValue",
    "prefect.tasks.control_flow.conditional.Merge",
    # starts a run of another flow: the migrated flow calls run_deployment in its body (PF013)
    "prefect.tasks.prefect.flow_run.StartFlowRun",
}
_FLOW_RUN_FUNCTIONS = {"create_flow_run", "wait_for_flow_run"}  # Prefect 1's function tasks, same


def is_secret(task) -> bool:
    """A Prefect 1 secret task (its value is never recorded)."""
    return any(c.__module__.startswith("prefect.tasks.secrets") for c in type(task).__mro__)


def is_implicit(task) -> bool:
    """A task Prefect 1 made for the user (no Prefect 2 task run corresponds to it).

    Also: ``ifelse``'s ``as_bool`` (a function task of Prefect 1's control-flow module) and
    secret tasks (the codemod turns them into plain reads, PF010).
    """
    from prefect import Parameter

    if getattr(task, "auto_generated", False) or isinstance(task, Parameter):
        return True
    if is_secret(task):
        return True
    run = getattr(task, "run", None)
    if type(task).__name__ == "FunctionTask" and getattr(run, "__module__", "").startswith(
        "prefect.tasks.control_flow"
    ):
        return True
    if (
        type(task).__name__ == "FunctionTask"
        and getattr(run, "__module__", "") == "prefect.tasks.prefect.flow_run"
        and getattr(run, "__name__", "") in _FLOW_RUN_FUNCTIONS
    ):
        return True
    cls = type(task)
    return (
        cls.__module__ in _IMPLICIT or f"{cls.__module__}.{cls.__qualname__}" in _IMPLICIT_CLASSES
    )


def task_entry(task, state, map_index, implicit: bool) -> dict:
    ok = bool(state.is_successful() and not state.is_skipped())
    entry = {
        "name": task.name,
        "map_index": map_index,
        "state": type(state).__name__,
        "ok": ok,
        "message": None if state.message is None else str(state.message),
        "result": None,
        "result_json": False,
        "result_repr": None,
        "auto_generated": implicit,
    }
    if ok and is_secret(task):
        entry["result_repr"] = "<secret: not recorded>"
    elif ok:
        result = state.result
        from prefect.engine.signals import PrefectStateSignal

        if isinstance(result, PrefectStateSignal):
            # ``raise signals.SUCCESS("msg")``: Prefect 1 keeps the signal as the result; the
            # task returned nothing (Prefect 2: ``return Completed(message="msg")``, PF011)
            result = None
        entry.update(result_fields(result))
    return entry


def task_entries(flow, flow_state) -> list:
    states = flow_state.result if isinstance(flow_state.result, dict) else {}
    entries = []
    for task in sorted(flow.tasks, key=lambda t: t.name):
        state = states.get(task)
        implicit = is_implicit(task)
        if state is None:
            continue  # never ran (Prefect 1 reports every task it ran)
        children = getattr(state, "map_states", None)
        if state.is_mapped():
            for index, child in enumerate(children or []):
                entries.append(task_entry(task, child, index, implicit))
        else:
            entries.append(task_entry(task, state, None, implicit))
    entries.sort(key=lambda e: (e["name"], -1 if e["map_index"] is None else e["map_index"]))
    return entries


CREATED: list = []  # (flow, file that created it, line)


def _creation_site() -> tuple[str, int]:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return os.path.abspath(frame.f_code.co_filename), frame.f_lineno
        frame = frame.f_back
    return "", 0


# ------------------------------------------------------------------------- runs of other flows

EFFECTS: list = []  # what the current run attempted outside itself, in order
STAND_IN_PREFIX = "meta-flows-stand-in-"  # the flow run ids the stand-ins answer
LONGEST = 300  # characters of one recorded call (as meta_flows.sandbox.effects)


def record_effect(function: str, target, parameters) -> str:
    """Record one attempted start of a flow run; the stand-in flow run id answered."""
    call = f"{function}({str(target)!r}, {stable_repr(dict(parameters or {}))})"
    if len(call) > LONGEST:
        call = call[: LONGEST - 2] + "…)"
    EFFECTS.append(call)
    return f"{STAND_IN_PREFIX}{len(EFFECTS)}"


def install_flow_run_stand_ins() -> None:
    """Prefect 1's tasks that start runs of other flows start none: ``StartFlowRun`` and
    ``create_flow_run`` record the call in the run's ``effects`` and answer a stand-in flow run
    id, as if the child run had been created and, waited for, had succeeded at once (what the
    Prefect 2 side answers its ``run_deployment``, :mod:`meta_flows.sandbox.effects`);
    ``wait_for_flow_run`` of a stand-in id sees it Success. Anything else that talks to the
    backend still fails at once (:func:`meta_flows.sandbox.legacy.env.isolated_backend`)."""
    try:
        from prefect.tasks.prefect import flow_run
    except Exception:  # noqa: BLE001 - an installation without it: nothing to replace
        return
    from types import SimpleNamespace

    from prefect.engine import signals
    from prefect.engine.state import Success
    from prefect.utilities.tasks import defaults_from_attrs

    start_original = flow_run.StartFlowRun.run

    @functools.wraps(start_original)
    def start_flow_run(self, flow_name=None, project_name=None, parameters=None, **_other):
        if flow_name is None:
            raise ValueError("Must provide a flow name.")
        if project_name is None:
            raise ValueError("Must provide a project name.")
        run_id = record_effect("StartFlowRun", flow_name, parameters)
        if not self.wait:
            return run_id
        raise signals.SUCCESS(f"{run_id} finished in state <Success>")

    flow_run.StartFlowRun.run = defaults_from_attrs(
        "flow_name",
        "project_name",
        "parameters",
        "run_config",
        "new_flow_context",
        "run_name",
        "scheduled_start_time",
    )(start_flow_run)

    create_original = flow_run.create_flow_run.run

    @functools.wraps(create_original)
    def create_flow_run(flow_id=None, flow_name=None, parameters=None, **_other):
        if flow_id is None and flow_name is None:
            raise ValueError("`flow_id` and `flow_name` are null. Provide one of the two.")
        return record_effect("create_flow_run", flow_name or flow_id, parameters)

    wait_original = flow_run.wait_for_flow_run.run

    @functools.wraps(wait_original)
    def wait_for_flow_run(flow_run_id, *args, raise_final_state=False, **kwargs):
        if not str(flow_run_id).startswith(STAND_IN_PREFIX):
            return wait_original(flow_run_id, *args, raise_final_state=raise_final_state, **kwargs)
        view = SimpleNamespace(flow_run_id=flow_run_id, name=flow_run_id, state=Success())
        if raise_final_state:
            raise signals.SUCCESS(f"{flow_run_id} finished in state <Success>", result=view)
        return view

    flow_run.create_flow_run.run = create_flow_run
    flow_run.wait_for_flow_run.run = wait_for_flow_run


def install_task_order() -> None:
    """Prefect 1 runs a flow's tasks in ``Flow.sorted_tasks()`` order, a topological sort that
    leaves independent tasks in the iteration order of a set of tasks (their memory addresses):
    any order, another one each run. Here ties go to the task added to the flow first, which is
    the order the rewritten ``@flow`` body calls them in: both sides run the tasks in one order,
    and tasks drawing random numbers (:func:`seed_random`) draw them in the same order."""
    import heapq

    from prefect import Flow

    original_add = Flow.add_task
    original_sorted = Flow.sorted_tasks

    @functools.wraps(original_add)
    def add_task(self, task):
        order = self.__dict__.setdefault("_meta_flows_order", {})
        order.setdefault(id(task), len(order))
        return original_add(self, task)

    @functools.wraps(original_sorted)
    def sorted_tasks(self, root_tasks=None):
        tasks = original_sorted(self, root_tasks)  # a valid order: the tasks to sort, no cycle
        order = self.__dict__.get("_meta_flows_order", {})
        rank = {id(t): (order.get(id(t), len(order)), i) for i, t in enumerate(tasks)}
        waiting = {id(t): 0 for t in tasks}
        downstream: dict = {id(t): [] for t in tasks}
        for edge in self.edges:
            up, down = id(edge.upstream_task), id(edge.downstream_task)
            if up in waiting and down in waiting:
                waiting[down] += 1
                downstream[up].append(edge.downstream_task)
        ready = [(rank[id(t)], t) for t in tasks if not waiting[id(t)]]
        heapq.heapify(ready)
        out = []
        while ready:
            _, task = heapq.heappop(ready)
            out.append(task)
            for child in downstream[id(task)]:
                waiting[id(child)] -= 1
                if not waiting[id(child)]:
                    heapq.heappush(ready, (rank[id(child)], child))
        return tuple(out) if len(out) == len(tasks) else tasks

    Flow.add_task = add_task
    Flow.sorted_tasks = sorted_tasks


def quiet_console() -> None:
    """Prefect 1's console handler (on the ``prefect`` logger) passes errors only: the flows'
    loggers log at the configured level (a handler a task adds gets those records), the console
    no more than a run needs."""
    import logging

    for handler in logging.getLogger("prefect").handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.ERROR)


def install_patches() -> None:
    from prefect import Flow

    install_flow_run_stand_ins()
    quiet_console()
    install_task_order()
    install_task_random(legacy_task_key)

    original_init = Flow.__init__

    @functools.wraps(original_init)
    def flow_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        CREATED.append((self, *_creation_site()))

    Flow.__init__ = flow_init
    Flow.register = lambda self, *a, **k: None
    Flow.visualize = lambda self, *a, **k: None
    Flow.run_agent = lambda self, *a, **k: None


def import_module(name: str, scratch: str):
    """Import ``name`` with cwd ``scratch`` and ``Flow.run`` disabled (module-level runs)."""
    from prefect import Flow

    original_run = Flow.run
    Flow.run = lambda self, *a, **k: None
    here = os.getcwd()
    os.chdir(scratch)
    try:
        return importlib.import_module(name)
    finally:
        os.chdir(here)
        Flow.run = original_run


def find_flow(module, path: str, name: str, line: int | None = None):
    """The flow named ``name`` the module created (at ``line`` when several have the name)."""
    from prefect import Flow

    if line:
        for flow, created_in, created_at in CREATED:
            if created_in == path and created_at == line and flow.name == name:
                return flow
    candidates = [f for f, created_in, _ in CREATED if created_in == path]
    candidates += [v for v in vars(module).values() if isinstance(v, Flow)]
    for flow in candidates:
        if flow.name == name:
            return flow
    return None


# ------------------------------------------------------------------------- one run


def _on_alarm(signum, frame):
    # where the run was, for the caller's reason (it reads the dump from our stderr)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    raise RunTimeout()


def blank_capture(side: str, spec: dict) -> dict:
    """A RunCapture (as a dict) for ``spec`` before anything ran; both sides start from it."""
    return {
        "side": side,
        "flow_name": spec["flow"],
        "case": spec.get("case") or "default",
        "parameters": spec.get("parameters") or {},
        "final_state": None,
        "ok": False,
        "error": None,
        "tasks": [],
        "files": {},
        "duration_s": None,
        "timed_out": False,
        "effects": [],
    }


def run_one(spec: dict, repo: str, workdir: str, scratch: str, timeout: float, emit) -> dict:
    import prefect

    capture = blank_capture("legacy", spec)
    capture["executor"] = None
    path = os.path.abspath(os.path.join(repo, spec["file"]))
    try:
        module = import_module(spec["module"], scratch)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a script too
        capture["error"] = f"import {spec['module']}: {type(exc).__name__}: {exc}"
        return capture
    flow = find_flow(module, path, spec["flow"], spec.get("line"))
    if flow is None:
        capture["error"] = f"no flow named {spec['flow']!r} in {spec['file']}"
        return capture
    if flow.executor is not None:
        capture["executor"] = type(flow.executor).__name__
    cwd = tempfile.mkdtemp(prefix="run-", dir=workdir)
    os.chdir(cwd)
    prefect.context["caches"] = {}
    EFFECTS.clear()
    emit({"event": "running", "id": spec["id"]})
    started = time.perf_counter()
    signal.alarm(max(1, int(math.ceil(timeout))))
    seed_random(spec)
    try:
        state = flow.run(parameters=dict(capture["parameters"]), run_on_schedule=False)
        signal.alarm(0)
        capture["duration_s"] = time.perf_counter() - started
        capture["final_state"] = type(state).__name__ if state is not None else None
        capture["ok"] = bool(state is not None and state.is_successful())
        if state is not None:
            capture["tasks"] = task_entries(flow, state)
            if not state.is_successful() and state.message:
                # The run happened and ended Failed: a result to compare, not an error.
                capture["message"] = str(state.message)
    except RunTimeout:
        capture["duration_s"] = time.perf_counter() - started
        capture["timed_out"] = True
        capture["error"] = f"the run took longer than {timeout} s"
    except BaseException as exc:  # noqa: BLE001 - flow.run refused (bad parameters, ...)
        signal.alarm(0)
        capture["duration_s"] = time.perf_counter() - started
        capture["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        os.chdir(workdir)
    capture["files"] = file_hashes(cwd)
    capture["effects"] = list(EFFECTS)
    return capture


def main() -> int:
    request = json.load(sys.stdin)
    repo = request["repo"]
    timeout = float(request.get("timeout") or 60)
    workdir = request.get("workdir") or tempfile.mkdtemp(prefix="meta-flows-p1-runs-")
    out = open(request["output"], "a", encoding="utf-8")

    def emit(event: dict) -> None:
        out.write(json.dumps(event, sort_keys=True) + "\n")
        out.flush()

    for root in reversed(request.get("roots") or [repo]):
        if root not in sys.path:
            sys.path.insert(0, root)
    sys.stdout = io.StringIO()  # the flows' own prints must not reach our caller's pipe
    scratch = tempfile.mkdtemp(prefix="import-", dir=workdir)
    os.chdir(workdir)
    install_patches()
    signal.signal(signal.SIGALRM, _on_alarm)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stuck: the caller asks where
    for spec in request["runs"]:
        emit({"event": "start", "id": spec["id"]})
        capture = run_one(spec, repo, workdir, scratch, timeout, emit)
        emit({"event": "run", "id": spec["id"], "capture": capture})
        sys.stdout = io.StringIO()
        if capture["timed_out"]:
            out.close()
            os._exit(3)  # threads of the interrupted run may live on: start afresh
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
