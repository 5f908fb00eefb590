"""The codemod in child processes: one file can never take its batch down.

LibCST's native parser crashes the interpreter on some inputs (a few thousand nested
parentheses), deep expressions exhaust the recursion limit, and a huge flow body can run for
minutes. :func:`run` migrates each file in a worker process with a memory limit and a time limit
per file; a file whose worker crashes, runs out of time or memory is that file's ``error`` (named,
with the reason, left unchanged), the worker is replaced and the rest of the batch goes on.
The results are those of :func:`meta_flows.core.codemod.runner.run`, in file order.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from meta_flows.core.codemod.engine import ERROR, MigrationResult
from meta_flows.core.codemod.project import ProjectIndex, WrapperDeclarations
from meta_flows.core.codemod.runner import RunSummary, index, migrate_file

FILE_TIMEOUT = 120.0  # seconds the codemod may take on one file
MEMORY_LIMIT = 4 * 1024**3  # bytes of address space a worker may use


def _serve(conn: Connection, project: ProjectIndex, disabled: frozenset[str], memory: int) -> None:
    """A worker: migrate the files it is sent, one at a time, until it gets ``None``."""
    if memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            result = migrate_file(Path(path), project, disabled)
        except BaseException as exc:  # noqa: BLE001 - RecursionError, MemoryError...: this file's
            result = MigrationResult(path, ERROR, "", error=f"{type(exc).__name__}: {exc}"[:500])
        conn.send(result)


def _context():
    """Workers forked from a fork server that imported the codemod once (a plain fork would
    copy the wave's threads and locks; a spawned worker takes seconds to import LibCST)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    index: int | None = None  # the file it works on
    started: float = 0.0


def run(
    paths: list[Path],
    disabled: frozenset[str] = frozenset(),
    jobs: int | None = None,
    on_result: Callable[[MigrationResult], None] | None = None,
    *,
    file_timeout: float = FILE_TIMEOUT,
    memory: int = MEMORY_LIMIT,
    declared: WrapperDeclarations | None = None,
    deployments: Mapping[str, str] | None = None,
) -> RunSummary:
    """Migrate every file under ``paths`` (in memory) in ``jobs`` worker processes.

    ``declared``: wrappers of Prefect 1's Flow/Task known without their source (the registry's,
    the Prefect 1 inventory's, ``--flow-class``...), merged with the repository's
    ``[tool.meta-flows]`` (see :func:`meta_flows.core.codemod.runner.index`); ``deployments``:
    the deployment of each flow a parent may start by name (same function).
    """
    files, project = index(paths, declared, deployments)
    results: list[MigrationResult | None] = [None] * len(files)
    context = _context()

    def start() -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(child, project, disabled, memory), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def done(worker: _Worker, result: MigrationResult) -> None:
        results[worker.index] = result
        worker.index = None
        if on_result:
            on_result(result)

    def failed(worker: _Worker, why: str) -> None:
        path = str(files[worker.index])
        done(worker, MigrationResult(path, ERROR, "", error=f"{why}; the file is left unchanged"))

    pending = deque(range(len(files)))
    workers = [start() for _ in range(max(1, min(jobs or os.cpu_count() or 1, len(files))))]
    try:
        while pending or any(w.index is not None for w in workers):
            for worker in workers:
                if worker.index is None and pending:
                    worker.index, worker.started = pending.popleft(), time.monotonic()
                    worker.conn.send(str(files[worker.index]))
            busy = [w for w in workers if w.index is not None]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5)
            for i, worker in enumerate(workers):
                if worker.index is None:
                    continue
                if worker.conn.poll():
                    try:
                        done(worker, worker.conn.recv())
                        continue
                    except EOFError:
                        pass
                if not worker.process.is_alive():
                    code = worker.process.exitcode
                    failed(worker, f"the codemod crashed on this file (exit code {code})")
                elif time.monotonic() - worker.started > file_timeout:
                    worker.process.kill()
                    worker.process.join()
                    failed(worker, f"the codemod took longer than {file_timeout:g} s on this file")
                else:
                    continue
                worker.conn.close()
                workers[i] = start()
    finally:
        for worker in workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
    return RunSummary([r for r in results if r is not None]).with_links(paths)
