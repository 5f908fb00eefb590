"""Run Prefect 2 flows and report what the API recorded: runs in a child process of meta-flows.

:mod:`meta_flows.sandbox.migrated_run` runs :func:`main` in a child of meta-flows' own
interpreter (forked from a warm one, :mod:`meta_flows.sandbox.zygote`, or started afresh) with one
request on stdin: the migrated repo's import roots (put first on ``sys.path``), the directory
results are persisted to, and the runs::

    {"output": "/abs/out.jsonl", "workdir": "/abs/tmp", "roots": ["/abs/repo", ...],
     "storage": "/abs/results",
     "runs": [{"id": 0, "file": "flows/etl.py", "module": "etl", "function": "etl",
               "flow": "etl", "case": "default", "parameters": {...}}, ...]}

A run with ``"flow_run_id"`` happened elsewhere (a worker ran a shadow deployment): it is only
read back.

Each run: the module is imported once (cwd: a scratch directory), the process ``chdir``s into a
fresh empty directory, seeds ``random`` as the Prefect 1 side does (``seed_random``) and calls
the flow with ``return_state=True`` -- a real flow run against
the current API (``PREFECT_API_URL``). Then everything is read back through the API with a new
client: the flow run's state, its task runs, and each task run's persisted result
(``state.result()`` from result storage).

The API records neither a task run's task name (only ``name`` = ``<task name>-<dynamic key>``,
or a custom ``task_run_name``) nor a mapped child's index. Two thin wrappers say it:
``prefect.engine.create_task_run`` notes each task run's task name, ``begin_task_map`` notes the
task run of every map index. Without them (another engine) the name is the run name minus its
``-<dynamic_key>`` suffix and ``map_index`` stays None.

Nothing the flows do starts a run of a real deployment: ``run_deployment`` and the client's
``create_flow_run_from_deployment`` are answered by stand-ins and recorded as the run's
``effects`` (:mod:`meta_flows.sandbox.effects`; a call made while the module was imported is
marked ``(at import)``).

Output JSON lines, flushed as written: ``{"event": "start", "id"}``, ``{"event": "running",
"id"}`` (right before the flow is called: the caller's time limit starts here) and
``{"event": "run", "id", "capture": {... RunCapture fields ...}}``.
"""

from __future__ import annotations

import faulthandler
import functools
import importlib
import io
import json
import os
import signal
import sys
import tempfile
import time
from typing import Any
from uuid import UUID

from meta_flows.patches import prefect_tls
from meta_flows.sandbox import effects
from meta_flows.sandbox.legacy.run_probe import (
    blank_capture,
    file_hashes,
    install_task_random,
    result_fields,
    seed_random,
)

TASK_NAMES: dict[UUID, str] = {}  # task run id -> task name
TASK_KEYS: dict[str, list[str]] = {}  # task name -> the keys of its tasks, in first-call order
MAPS: list[tuple[str, list[Any]]] = []  # (task name, futures/states by map index)
FINAL_STATES: dict[UUID, Any] = {}  # task run id -> the final state, as the engine returned it
RESULT_FILES: set[str] = set()  # files Prefect wrote as persisted results (not compared)


def migrated_task_key():
    """The Prefect 2 task run being executed: (task name, index), or None. The index is the task
    run's dynamic key (the map index of a mapped child, the call number of a task called several
    times: Prefect 2 numbers them in call order, a map's children in map-index order), plus the
    number of other tasks of that name the flow run used first (functions rewritten from
    instances of one Task class, each its own task): Prefect 1's map index, or call number of the
    copies of one task."""
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    if context is None:
        return None
    key = str(context.task_run.dynamic_key)
    if not key.isdigit():
        return context.task.name, key
    keys = TASK_KEYS.get(context.task.name, [])
    rank = keys.index(context.task.task_key) if context.task.task_key in keys else 0
    return context.task.name, rank + int(key)


def install_result_file_log() -> None:
    """Note each file a local result storage writes (``LocalFileSystem.write_path``). A task
    persisting its result under the run's directory (``result_storage=LocalFileSystem(
    basepath="./results")``, Prefect 1's ``LocalResult(dir="./results")`` rewritten) writes a
    file that a local Prefect 1 run, without checkpointing, does not: such files are the engine's
    bookkeeping, not what the flow writes, and are left out of the comparison."""
    from prefect.filesystems import LocalFileSystem

    original = LocalFileSystem.write_path

    @functools.wraps(original)
    async def write_path(self, path, content):
        written = await original(self, path, content)
        RESULT_FILES.add(os.path.realpath(str(written)))
        return written

    LocalFileSystem.write_path = write_path


def flow_files(cwd: str) -> dict[str, str]:
    """The files a run wrote under ``cwd`` (:func:`file_hashes`), persisted results left out."""
    return {
        rel: digest
        for rel, digest in file_hashes(cwd).items()
        if os.path.realpath(os.path.join(cwd, rel)) not in RESULT_FILES
    }


def install_patches() -> None:
    import prefect.engine as engine

    install_task_random(migrated_task_key)
    install_result_file_log()

    original_create = engine.create_task_run
    original_map = engine.begin_task_map
    original_begin = engine.begin_task_run

    @functools.wraps(original_create)
    async def create_task_run(task, *args, **kwargs):
        task_run = await original_create(task, *args, **kwargs)
        TASK_NAMES[task_run.id] = task.name
        keys = TASK_KEYS.setdefault(task.name, [])
        if task.task_key not in keys:
            keys.append(task.task_key)
        return task_run

    @functools.wraps(original_map)
    async def begin_task_map(task, *args, **kwargs):
        items = await original_map(task, *args, **kwargs)
        MAPS.append((task.name, list(items)))
        return items

    @functools.wraps(original_begin)
    async def begin_task_run(task, task_run, *args, **kwargs):
        state = await original_begin(task, task_run, *args, **kwargs)
        FINAL_STATES[task_run.id] = state
        return state

    engine.create_task_run = create_task_run
    engine.begin_task_run = begin_task_run
    engine.begin_task_map = begin_task_map
    try:  # the run names Prefect makes (an in-process API too) draw from their own generator,
        # not from the seeded ``random`` the flow's tasks draw from (seed_random)
        import random

        import coolname

        coolname.replace_random(random.Random())
    except Exception:  # noqa: BLE001 - another coolname: names draw from ``random``
        pass


def map_indices() -> dict[Any, int]:
    """Task run id (or run name, when the id is not known) -> map index, for this run's maps."""
    out: dict[Any, int] = {}
    for _name, items in MAPS:
        for index, item in enumerate(items):
            task_run = getattr(item, "task_run", None)
            details = getattr(item, "state_details", None)
            if task_run is not None:
                out[task_run.id] = index
            elif details is not None and details.task_run_id is not None:
                out[details.task_run_id] = index
            elif getattr(item, "name", None):
                out[item.name] = index
    return out


def task_name(task_run) -> str:
    if task_run.id in TASK_NAMES:
        return TASK_NAMES[task_run.id]
    suffix = f"-{task_run.dynamic_key}"
    name = task_run.name
    return name[: -len(suffix)] if name.endswith(suffix) else name


class _Unreadable:
    def __init__(self, reason: str) -> None:
        self.reason = reason


STORAGE_BLOCKS: dict[UUID, Any] = {}  # result storage block id -> the block, read once


async def read_persisted(result, client) -> Any:
    """The value a ``PersistedResult`` stored: the blob read from its storage block, then
    deserialized with the serializer it was written with. Unlike ``PersistedResult.get``, the
    block document is read and instantiated once per block, not once per result, and a block
    class already imported is used as it is (Prefect's lookup rescans every installed package's
    entry points first: ~0.3 s each time). ``client`` is awaited for a client only when the block
    is not known yet."""
    from prefect.blocks.core import Block, block_schema_to_key
    from prefect.results import PersistedResultBlob
    from prefect.utilities.dispatch import lookup_type

    block = STORAGE_BLOCKS.get(result.storage_block_id)
    if block is None:
        document = await (await client()).read_block_document(result.storage_block_id)
        try:  # a class already imported (local storage): no rescan of installed collections
            cls = lookup_type(Block, block_schema_to_key(document.block_schema))
        except (KeyError, TypeError, AttributeError):
            cls = Block
        block = STORAGE_BLOCKS[result.storage_block_id] = cls._from_block_document(document)
    blob = PersistedResultBlob.parse_raw(await block.read_path(result.storage_key))
    return blob.serializer.loads(blob.data)


def fetch_results(states: list, in_memory: list | None = None) -> list:
    """The persisted result of each completed state, read from result storage concurrently
    (other result kinds through ``state.result``).

    A task with ``persist_result=False`` (Prefect 1's ``checkpoint=False``) has nothing in
    storage: its value is taken from the state the engine returned in this process
    (``in_memory``, same order), which still holds it. An API client is made only if a result
    needs one (a storage block not read yet): making one costs ~50-90 ms of CPU (TLS
    certificates are loaded even for a plain-HTTP API), more than reading a run's results.
    """
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.results import PersistedResult

    made: list = []
    lock = asyncio.Lock()

    async def client():
        async with lock:
            if not made:
                made.append(await get_client().__aenter__())
            return made[0]

    async def one(state, local):
        if state is None or state.type != StateType.COMPLETED:
            return None
        try:
            if isinstance(state.data, PersistedResult):
                return await read_persisted(state.data, client)
            if local is not None and local.type == StateType.COMPLETED:
                return await local.result(raise_on_failure=False, fetch=True)
            return await state.result(raise_on_failure=False, fetch=True)
        except Exception as exc:  # noqa: BLE001 - not persisted / cannot be read back
            return _Unreadable(f"{type(exc).__name__}: {exc}")

    locals_ = in_memory if in_memory is not None else [None] * len(states)

    async def all_of():
        try:
            return await asyncio.gather(*(one(s, m) for s, m in zip(states, locals_, strict=True)))
        finally:
            if made:
                await made[0].__aexit__(None, None, None)

    return asyncio.run(all_of())


TASK_RUN_PAGE = 200  # the API answers at most PREFECT_API_DEFAULT_LIMIT (200) runs a request


def all_task_runs(client, flow_run_filter) -> list:
    """Every task run of the flow run, page by page (one request answers at most 200)."""
    from prefect.client.schemas.sorting import TaskRunSort

    found: list = []
    while True:
        page = client.read_task_runs(
            flow_run_filter=flow_run_filter,
            sort=TaskRunSort.ID_DESC,
            limit=TASK_RUN_PAGE,
            offset=len(found),
        )
        found.extend(page)
        if len(page) < TASK_RUN_PAGE:
            return found


def read_back(flow_run_id: UUID, capture: dict, client) -> None:
    """Fill ``capture`` from the API (``client``, a sync Prefect client): flow run state, task
    runs and their persisted results."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import StateType

    indices = map_indices()
    flow_run = client.read_flow_run(flow_run_id)
    state = flow_run.state
    capture["final_state"] = state.name if state else None
    capture["ok"] = bool(state and state.type == StateType.COMPLETED)
    if state is not None and not capture["ok"]:
        # The run happened and ended Failed: a result to compare, not an error.
        capture["message"] = state.message
    task_runs = all_task_runs(client, FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    values = fetch_results(
        [tr.state for tr in task_runs], [FINAL_STATES.get(tr.id) for tr in task_runs]
    )
    tasks = []
    for task_run, value in zip(task_runs, values, strict=True):
        tstate = task_run.state
        ok = bool(tstate and tstate.type == StateType.COMPLETED)
        entry = {
            "name": task_name(task_run),
            "map_index": indices.get(task_run.id, indices.get(task_run.name)),
            "state": tstate.name if tstate else "Unknown",
            "ok": ok,
            "message": tstate.message if tstate else None,
            "result": None,
            "result_json": False,
            "result_repr": None,
            "attempts": task_run.run_count,
        }
        if ok and isinstance(value, _Unreadable):
            entry["message"] = f"result not readable: {value.reason}"
        elif ok:
            entry.update(result_fields(value))
        # creation order within a task (a run read back from elsewhere has no map indices:
        # mapped children were created in index order)
        key = task_run.dynamic_key
        tasks.append((int(key) if str(key).isdigit() else 0, entry))
    tasks.sort(
        key=lambda o: (o[1]["name"], -1 if o[1]["map_index"] is None else o[1]["map_index"], o[0])
    )
    capture["tasks"] = [entry for _, entry in tasks]


class _ReadClient:
    """One sync API client for every read-back of this child, made at first use."""

    def __init__(self) -> None:
        self._client = None

    def get(self):
        if self._client is None:
            from prefect.client.orchestration import get_client

            self._client = get_client(sync_client=True).__enter__()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None


def find_flow(module, function: str | None, name: str):
    from prefect.flows import Flow

    if function:
        obj = getattr(module, function, None)
        if isinstance(obj, Flow):
            return obj
    for obj in vars(module).values():
        if isinstance(obj, Flow) and obj.name == name:
            return obj
    return None


ENGINE_ATTEMPTS = 2  # a run whose engine lost an API call is started again once


def api_request(exc: BaseException) -> str | None:
    """``METHOD URL: status`` when ``exc`` is a request of the engine to the API that failed
    (Prefect's ``ObjectNotFound`` says nothing more than its class), else None."""
    import httpx

    http = getattr(exc, "http_exc", None) or exc
    if isinstance(http, httpx.HTTPStatusError):
        request = http.request
        return f"{request.method} {request.url.path}: {http.response.status_code}"
    if isinstance(http, httpx.TransportError):
        try:
            request = http.request
        except RuntimeError:  # no request attached
            return type(http).__name__
        return f"{request.method} {request.url.path}: {type(http).__name__}"
    return None


def run_one(spec: dict, workdir: str, scratch: str, emit, storage, reader: _ReadClient) -> dict:
    capture = blank_capture("migrated", spec)
    if spec.get("flow_run_id"):  # run by a worker: read it back only
        emit({"event": "running", "id": spec["id"]})
        try:
            read_back(UUID(spec["flow_run_id"]), capture, reader.get())
        except Exception as exc:  # noqa: BLE001 - the API went away
            capture["error"] = (
                f"reading flow run {spec['flow_run_id']}: {type(exc).__name__}: {exc}"
            )
        return capture
    os.chdir(scratch)
    effects.take()
    try:
        module = importlib.import_module(spec["module"])
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a script too
        capture["error"] = f"import {spec['module']}: {type(exc).__name__}: {exc}"
        capture["effects"] = effects.take()
        return capture
    at_import = [f"{call} (at import)" for call in effects.take()]
    capture["effects"] = at_import
    flow = find_flow(module, spec.get("function"), spec["flow"])
    if flow is None:
        capture["error"] = f"no flow {spec.get('function') or spec['flow']!r} in {spec['file']}"
        return capture
    if storage is not None and flow.result_storage is None:
        flow.result_storage = storage  # the default storage, saved once (see result_storage)
    emit({"event": "running", "id": spec["id"]})
    started = time.perf_counter()
    for attempt in range(ENGINE_ATTEMPTS):
        cwd = tempfile.mkdtemp(prefix="run-", dir=workdir)
        os.chdir(cwd)
        TASK_NAMES.clear()
        TASK_KEYS.clear()
        MAPS.clear()
        FINAL_STATES.clear()
        RESULT_FILES.clear()
        effects.take()  # an attempt the engine lost: only the last one counts
        try:
            from prefect import tags

            # the batch's tag: a run this child leaves behind (killed at its time limit) is
            # found by it and marked Crashed by the caller
            with tags(*([spec["batch_tag"]] if spec.get("batch_tag") else [])):
                seed_random(spec)  # as the Prefect 1 side, right before the run
                state = flow(**capture["parameters"], return_state=True)
            break
        except BaseException as exc:  # noqa: BLE001 - the engine itself failed
            request = api_request(exc)
            if request is not None and attempt + 1 < ENGINE_ATTEMPTS:
                # the engine's own call to the API failed (the flow's code never raises out of
                # a run that returns its state): the run is started again once, afresh
                time.sleep(1.0)
                continue
            capture["duration_s"] = time.perf_counter() - started
            capture["error"] = f"{type(exc).__name__}: {exc}" + (
                f" (the API answered {request})" if request else ""
            )
            capture["files"] = flow_files(cwd)
            capture["effects"] = at_import + effects.take()
            return capture
    capture["duration_s"] = time.perf_counter() - started
    capture["effects"] = at_import + effects.take()
    capture["files"] = flow_files(cwd)
    flow_run_id = state.state_details.flow_run_id
    if flow_run_id is None:
        os.chdir(workdir)
        capture["final_state"] = state.name
        capture["error"] = state.message or "the flow run was not created"
        return capture
    try:  # in the run's directory: a result storage with a relative basepath reads from it
        read_back(flow_run_id, capture, reader.get())
    except Exception as exc:  # noqa: BLE001 - the API went away
        capture["error"] = f"reading the flow run back: {type(exc).__name__}: {exc}"
    finally:
        os.chdir(workdir)
    return capture


def result_storage(storage: str | None, attempts: int = 10):
    """The local result storage block every run of this child persists to, saved once.

    Left to itself, Prefect saves an anonymous storage block (type, schema and document: three
    reads and a write) at the start of *every* flow run; on SQLite that write is one more chance
    to meet another writer's lock and wait out the client's back-off. Saved here, the flows whose
    ``result_storage`` is unset get this block (what ``PREFECT_LOCAL_STORAGE_PATH`` would have
    given them), already saved. Registering the block type can also race another child on a
    fresh server (read, not found, both create: ``ObjectAlreadyExists``); that is retried.
    None when there is no API to save to (the run itself will say so).
    """
    import httpx
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.filesystems import LocalFileSystem
    from prefect.settings import (
        PREFECT_CLIENT_MAX_RETRIES,
        PREFECT_LOCAL_STORAGE_PATH,
        temporary_settings,
    )

    block = LocalFileSystem(basepath=storage or str(PREFECT_LOCAL_STORAGE_PATH.value()))
    for attempt in range(attempts):
        try:
            # a 503 (on SQLite: another writer got in first) is retried here within ~50 ms,
            # not after the client's 2-8 s back-off
            with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}):
                block._save(is_anonymous=True, overwrite=True)
            return block
        except ObjectAlreadyExists:
            pass
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503:
                return None
        except Exception:  # noqa: BLE001 - no API here
            return None
        time.sleep(0.05 * (attempt + 1))
    return None


def main() -> int:
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stuck: the caller asks where
    request = json.load(sys.stdin)
    workdir = request["workdir"]
    out = open(request["output"], "a", encoding="utf-8")

    def emit(event: dict) -> None:
        out.write(json.dumps(event, sort_keys=True) + "\n")
        out.flush()

    for root in reversed(request.get("roots") or []):
        if root not in sys.path:
            sys.path.insert(0, root)
    sys.stdout = io.StringIO()  # the flows' own prints must not reach our caller's pipe
    scratch = tempfile.mkdtemp(prefix="import-", dir=workdir)
    install_patches()
    effects.install()  # no run of a real deployment is started (see meta_flows.sandbox.effects)
    prefect_tls.share()  # every flow run and event makes an API client: one CA bundle load
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    storage = request.get("storage")
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: storage} if storage else {}):
        block = result_storage(storage)
        if block is not None:  # results are read back through the block that wrote them
            STORAGE_BLOCKS[block._block_document_id] = block
        reader = _ReadClient()
        try:
            for spec in request["runs"]:
                emit({"event": "start", "id": spec["id"]})
                capture = run_one(spec, workdir, scratch, emit, block, reader)
                emit({"event": "run", "id": spec["id"], "capture": capture})
                sys.stdout = io.StringIO()
        finally:
            reader.close()
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
