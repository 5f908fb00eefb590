"""Drive a child process that runs flows one after another and reports them as JSON lines.

Shared by both sides (:mod:`~meta_flows.sandbox.legacy_run`, :mod:`~meta_flows.sandbox.migrated_run`).
The child reads one request (``{"output": ..., "workdir": ..., "runs": [{"id": ...}, ...], ...}``)
on stdin and appends events to ``output``: ``start`` (a run begins: module import), ``running``
(the flow is being called) and ``run`` (its capture). The parent polls that file and enforces
the time limits: ``timeout`` seconds from ``running`` (plus ``slack``, when the child enforces
the limit itself and only a stuck child must be killed), ``import_grace`` seconds from ``start``
to ``running``. A child that overruns is killed with its whole process group, the run in
progress is reported (``timed_out``, or the child's exit code and last stderr lines), and a new
child takes the runs after it. A child may also exit on purpose between runs (the Prefect 1
child does after a timed-out run whose threads may live on): the remaining runs go to a new one.
Once a child has exited or been killed, what its flows started in the background is killed
too: its process group, and every process whose environment carries the child's
``META_FLOWS_SANDBOX`` token (one that left the group with ``setsid``).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from meta_flows.core.validation.model import RunCapture
from meta_flows.sandbox import zygote
from meta_flows.sandbox.stacks import where

POLL = 0.01


def run_batches(
    program: zygote.Program,
    env: dict[str, str],
    request: dict,
    runs: list[dict],
    blank: Callable[[dict, str, bool], RunCapture],
    *,
    timeout: float,
    slack: float = 0.0,
    import_grace: float = 60.0,
    what: str = "the interpreter",
) -> dict[int, RunCapture]:
    """Run every request in ``runs`` (dicts with a unique ``id``); capture by id."""
    got: dict[int, RunCapture] = {}
    remaining = list(runs)
    while remaining:
        got.update(
            _one_child(program, env, request, remaining, blank, timeout, slack, import_grace, what)
        )
        remaining = [r for r in remaining if r["id"] not in got]
    return got


def _one_child(program, env, request, runs, blank, timeout, slack, import_grace, what):
    by_id = {r["id"]: r for r in runs}
    got: dict[int, RunCapture] = {}
    with tempfile.TemporaryDirectory(prefix="meta-flows-runs-") as tmp:
        output = Path(tmp) / "out.jsonl"
        output.touch()
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        stderr_path = Path(tmp) / "stderr.txt"
        body = {**request, "output": str(output), "workdir": str(workdir), "runs": runs}
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(body), encoding="utf-8")
        current: int | None = None
        deadline: float | None = None
        consumed = 0
        killed = False
        stderr_path.touch()
        roots = [str(r) for r in request.get("roots") or [request.get("repo") or ""] if r]
        since = 0  # where the current run's stderr begins (a stack dump is read from there)
        marker = uuid.uuid4().hex  # in the environment of the child and all it starts
        proc = zygote.launch(
            program, env=env, cwd=workdir, stdin=request_path, stderr=stderr_path, marker=marker
        )
        while True:
            exited = proc.poll() is not None
            complete = output.read_text(encoding="utf-8").split("\n")[:-1]
            for line in complete[consumed:]:
                event = json.loads(line)
                now = time.monotonic()
                if event["event"] == "start":
                    current, deadline = event["id"], now + timeout + import_grace
                    since = stderr_path.stat().st_size
                elif event["event"] == "running":
                    deadline = now + timeout + slack
                elif event["event"] == "run":
                    capture = RunCapture.model_validate(event["capture"])
                    if capture.timed_out:  # the child cut it, and dumped its stacks first
                        capture.error = _with_where(capture.error, stderr_path, since, roots)
                    got[event["id"]] = capture
                    current = deadline = None
            consumed = len(complete)
            if exited:
                break
            if deadline is not None and time.monotonic() > deadline:
                _ask_where(proc, stderr_path)
                zygote.kill(proc)
                killed = True
                break
            time.sleep(POLL)
        proc.wait()
        zygote.end_session(proc, marker)  # what the flows started in the background
        if current is None and not got:  # died before its first run: blame that one
            current = runs[0]["id"]
        if current is not None and current not in got:
            if killed:
                got[current] = blank(
                    by_id[current],
                    _with_where(
                        f"the run took longer than {timeout:g} s (killed)",
                        stderr_path,
                        since,
                        roots,
                    ),
                    True,
                )
            else:
                tail = stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
                got[current] = blank(
                    by_id[current],
                    f"{what} exited with code {proc.returncode}"
                    + (f": {' | '.join(tail)}" if tail else ""),
                    False,
                )
    return got


def _ask_where(proc, stderr_path: Path, wait: float = 2.0) -> None:
    """Have a stuck child dump its threads' stacks to its stderr; wait until it has written
    (its stderr stops growing), up to ``wait`` seconds."""
    size = stderr_path.stat().st_size
    zygote.dump_stacks(proc)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        grown = stderr_path.stat().st_size
        if grown > size:
            time.sleep(0.1)
            if stderr_path.stat().st_size == grown:
                return


def _with_where(error: str | None, stderr_path: Path, since: int, roots: list[str]) -> str | None:
    """``error`` and where the run was, from a stack dump in stderr after offset ``since``."""
    with open(stderr_path, "rb") as handle:
        handle.seek(since)
        place = where(handle.read().decode("utf-8", "replace"), roots)
    if not place:
        return error
    return f"{error}; {place}" if error else place
