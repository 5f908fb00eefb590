"""One wave run per workspace at a time.

Two wave runs on one workspace share its clones, ledgers and the projects' deployments: a second
run would re-shadow projects the first one is promoting. :func:`workspace_lock` takes an
exclusive lock on ``<workspace>/.meta-flows.lock`` for the length of a run and records who holds
it; a second run is refused at once with the holder named (process, host, what it runs, since
when). The lock is the kernel's (``flock``): a run that dies releases it with its process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from meta_flows.core.errors import MetaFlowsError

LOCK_FILE = ".meta-flows.lock"


class WorkspaceBusy(MetaFlowsError, RuntimeError):
    """Another run holds the workspace; the message names it."""


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace")
    try:
        info = json.loads(text)
        return f"{info['what']} (process {info['pid']} on {info['host']}, since {info['since']})"
    except (ValueError, KeyError, TypeError):
        return "another meta-flows run"


@contextmanager
def workspace_lock(workspace: str | Path, what: str) -> Iterator[None]:
    """Hold ``workspace``'s lock while the block runs; :class:`WorkspaceBusy` if it is held."""
    path = Path(workspace) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # never through a link: the lock file is ours, in the workspace
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise WorkspaceBusy(f"{path}: cannot open the workspace lock: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkspaceBusy(
                f"the workspace {workspace} is in use by {_holder(fd)}: wait for that run to end "
                "(or stop it), or give this run another workspace"
            ) from None
        info = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
