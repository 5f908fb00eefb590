"""Where a stuck flow run was: a child's thread stacks, dumped by :mod:`faulthandler` when its
time is up, read back into one line for the run's reason.

The flow-running children (:mod:`~meta_flows.sandbox.migrated_child`,
:mod:`~meta_flows.sandbox.legacy.run_probe`) write every thread's stack to their stderr on ``SIGUSR1``,
which :mod:`~meta_flows.sandbox.runner` sends before it kills a stuck one; the Prefect 1 child
also writes it when its own time limit interrupts a run. :func:`where` picks what a human needs:
the innermost frame of each thread in the flow's own code (its repository), or, when no thread is
there, where the flow-running thread waits in a library (for example an API call that never
returned) and which Prefect function called it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_THREAD = re.compile(r"^(Current thread|Thread) (0x[0-9a-f]+) \(most recent call first\):$")
_FRAME = re.compile(r'^\s+File "(?P<file>.*)", line (?P<line>\d+) in (?P<function>.*)$')
_PREFIX = re.compile(r"/(?:site|dist)-packages/|/lib/python\d\.\d+/(?!(?:site|dist)-packages/)")
_LIBRARY = re.compile(r"/(site|dist)-packages/|/lib/python\d\.\d+/|^<frozen ")
_OURS = str(Path(__file__).resolve().parents[1]) + "/"  # meta_flows itself
# frames that only say "this thread waits for work": not where a run is stuck
_IDLE = re.compile(r"/(threading|selectors|queue|concurrent/futures/thread)\.py$")


@dataclass
class Frame:
    file: str
    line: int
    function: str

    @property
    def library(self) -> bool:
        return bool(_LIBRARY.search(self.file)) or self.file.startswith(_OURS)

    def flows_code(self, roots: list[str] = ()) -> bool:
        """In the flow's repository (when ``roots`` name it), else in no library."""
        if roots:
            return any(self.file.startswith(root.rstrip("/") + "/") for root in roots)
        return not self.library

    def short(self, roots: list[str] = ()) -> str:
        path = _PREFIX.split(self.file)[-1]
        for root in sorted(roots, key=len):  # the repository, not a folder in it
            prefix = root.rstrip("/") + "/"
            if self.file.startswith(prefix):
                path = self.file[len(prefix) :]
                break
        return f"{path}:{self.line} in {self.function}"


@dataclass
class Thread:
    ident: str
    current: bool  # the thread that took the signal: the main thread
    frames: list[Frame]  # innermost first


def parse(dump: str) -> list[Thread]:
    """The threads of a faulthandler dump (``all_threads=True``), frames innermost first."""
    threads: list[Thread] = []
    for line in dump.splitlines():
        header = _THREAD.match(line.strip())
        if header:
            threads.append(Thread(header.group(2), header.group(1) == "Current thread", []))
            continue
        frame = _FRAME.match(line)
        if frame and threads:
            threads[-1].frames.append(
                Frame(frame.group("file"), int(frame.group("line")), frame.group("function"))
            )
    return threads


def where(dump: str, roots: list[str] = (), limit: int = 2) -> str | None:
    """One line saying where the run was stuck (paths under ``roots``, the flow's repository,
    relative to it); None when the dump holds no stack."""
    threads = [t for t in parse(dump) if t.frames]
    if not threads:
        return None
    own: list[str] = []
    for thread in threads:
        frame = next((f for f in thread.frames if f.flows_code(roots)), None)
        if frame is not None and frame.short(roots) not in own:
            own.append(frame.short(roots))
    if own:
        return "stuck at " + "; ".join(own[:limit])
    # no thread in the flow's code: where the flow-running (or else a busy) thread waits
    busy = [t for t in threads if not _IDLE.search(t.frames[0].file)] or threads
    thread = next((t for t in busy if t.current), busy[0])
    text = f"stuck at {thread.frames[0].short(roots)}"
    caller = next(
        (f for f in thread.frames[1:] if "/prefect/" in f.file and "/_internal/" not in f.file),
        None,
    )
    if caller is not None:
        text += f", called from {caller.short(roots)}"
    return text
