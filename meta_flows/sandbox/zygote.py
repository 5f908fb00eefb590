"""Start child interpreters fast: fork them from a warm "zygote" that has Prefect imported already.

Validation and inventory run flows in child interpreters (a Prefect 1 one and a Prefect 2 one
per project) so that a misbehaving flow cannot harm the wave. Starting one costs more than the
small flows it runs: importing Prefect 2 and its collections takes ~5 s of CPU, Prefect 1 ~1 s.
A zygote is a long-lived interpreter that imports those modules once and then, per request,
``fork()``s a child that behaves like a freshly started ``python script.py`` /
``python -c "from m import f; f()"``: its own session (process group), working directory,
environment, stdin file and stderr file.

This file has two halves and imports only the standard library, because the server half runs in
every interpreter we manage, the Prefect 1 virtualenv included (``python zygote.py PRELOAD...``):

- :func:`serve` (the zygote): imports each ``PRELOAD`` (``module`` or ``module:function`` to
  call), says ``ready``, then reads one JSON request per line on stdin, forks, and reports
  ``{"forked": id, "pid"}`` and, when the child is reaped, ``{"exit": pid, "code"}`` on stdout.
  It never runs a thread (forking a threaded process is unsafe) and exits when its stdin closes.
- :func:`launch` (the client): a :class:`Program` started through the zygote for its interpreter,
  preload list and environment (one zygote per such key, started on first use and kept for the
  life of the process), returning a :class:`Child` with ``pid``/``poll``/``wait`` like
  ``subprocess.Popen``. Children are killed with :func:`kill` (their process group). If a zygote
  cannot start or dies, or ``META_FLOWS_ZYGOTE=0``, the program is started the ordinary way; the
  behaviour is the same, only slower.

Isolation: a forked child shares nothing with its siblings (separate processes, copy-on-write
memory); what it inherits from the zygote is exactly what the preload imported, with the
environment the zygote was started with (a request whose environment differs gets a zygote of
its own, since modules like Prefect read settings at import time).
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

try:
    from meta_flows.core.errors import MetaFlowsError
except ImportError:  # run as a script by another interpreter (Prefect 1's): standard library only

    class MetaFlowsError(Exception):  # type: ignore[no-redef]
        pass


SELF = Path(__file__).resolve()
MARKER = "META_FLOWS_SANDBOX"  # set to a token per child; its descendants inherit it
READY_TIMEOUT = 120.0  # seconds a zygote may take to import its preload
MAX_ZYGOTES = 4  # distinct (interpreter, preload, environment) keys kept warm at once


# ------------------------------------------------------------------------------ the program


@dataclass(frozen=True)
class Program:
    """What a child runs: ``target`` is a script path or ``package.module:function`` (called;
    its return value is the exit code), under the interpreter ``python``. ``preload``: modules
    (``name`` or ``name:function`` to call once) the zygote imports before forking."""

    python: str
    target: str
    preload: tuple[str, ...] = field(default_factory=tuple)

    def argv(self) -> list[str]:
        """The command line that starts this program without a zygote."""
        if self.target.endswith(".py"):
            return [self.python, self.target]
        module, _, function = self.target.partition(":")
        return [
            self.python,
            "-c",
            f"import sys; from {module} import {function}; sys.exit({function}())",
        ]


# ------------------------------------------------------------------------------ server half


def _send(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(preload: list[str]) -> int:
    """The zygote's main loop (see the module docstring)."""
    protocol = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # what the preload prints must not corrupt the protocol
    for item in preload:
        module, _, function = item.partition(":")
        __import__(module)
        if function:
            getattr(sys.modules[module], function)()
    if threading.active_count() > 1:
        _send(protocol, {"error": f"the preload started threads: {threading.enumerate()}"})
        return 2
    stdin = sys.stdin.fileno()
    _send(protocol, {"ready": True, "pid": os.getpid()})
    children = 0
    pending = b""
    while True:
        readable, _, _ = select.select([stdin], [], [], 0.05)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children = 0
                break
            if pid == 0:
                break
            children -= 1
            _send(protocol, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
        if not readable:
            continue
        chunk = os.read(stdin, 1 << 16)
        if not chunk:
            return 0  # our parent is gone: so are we (running children carry on)
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request, protocol)  # never returns
            children += 1
            _send(protocol, {"forked": request["id"], "pid": pid})


def _child(request: dict, protocol) -> None:
    code = 1
    try:
        os.setsid()
        protocol.close()
        stdin_fd = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        out_fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(out_fd, 1)
        err_fd = os.open(
            request.get("stderr") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND
        )
        os.dup2(err_fd, 2)
        for fd in (stdin_fd, out_fd, err_fd):
            os.close(fd)
        sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False))
        sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), line_buffering=True)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("marker"):
            os.environ[MARKER] = request["marker"]
        target = request["target"]
        if target.endswith(".py"):
            import runpy

            sys.argv = [target]
            sys.path.insert(0, str(Path(target).parent))
            try:
                runpy.run_path(target, run_name="__main__")
                code = 0
            except SystemExit as exc:
                code = _system_exit_code(exc)
        else:
            module, _, function = target.partition(":")
            sys.argv = ["-c"]
            __import__(module)
            try:
                code = getattr(sys.modules[module], function)() or 0
            except SystemExit as exc:
                code = _system_exit_code(exc)
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception would be
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110
                pass
        os._exit(code if isinstance(code, int) else 1)


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------ client half


class ZygoteError(MetaFlowsError, RuntimeError):
    """A zygote could not start or stopped answering."""


class Zygote:
    """One running zygote (client side); thread-safe."""

    def __init__(self, python: str, preload: tuple[str, ...], env: dict[str, str]) -> None:
        self.python = python
        self.preload = preload
        self._stderr = tempfile.TemporaryFile()  # why a preload failed, for the error
        self._proc = subprocess.Popen(
            [python, str(SELF), *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd="/",
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()  # one request at a time
        self._changed = threading.Condition()
        self._forked: dict[int, int] = {}  # request id -> pid
        self._exits: dict[int, int] = {}  # pid -> exit code
        self._next_id = 0
        self.alive = True
        ready: list[dict] = []
        reader = threading.Thread(target=self._read, args=(ready,), daemon=True)
        reader.start()
        with self._changed:
            if not self._changed.wait_for(lambda: ready or not self.alive, READY_TIMEOUT):
                self.close()
                raise ZygoteError(f"{python}: the zygote did not start in {READY_TIMEOUT:g} s")
        if not ready or "ready" not in ready[0]:
            if ready:
                why = ready[0].get("error")
            else:
                self._proc.wait()
                self._stderr.seek(0)
                tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                why = f"it exited while importing its preload: {' '.join(tail) or '?'}"
            self.close()
            raise ZygoteError(f"{python} zygote ({', '.join(preload)}): {why}")

    def _read(self, ready: list[dict]) -> None:
        for line in self._proc.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._changed:
                if "forked" in message:
                    self._exits.pop(message["pid"], None)  # a reused pid's old exit
                    self._forked[message["forked"]] = message["pid"]
                elif "exit" in message:
                    self._exits[message["exit"]] = message["code"]
                else:
                    ready.append(message)
                self._changed.notify_all()
        with self._changed:
            self.alive = False
            self._changed.notify_all()

    def spawn(
        self,
        target: str,
        *,
        cwd: str,
        env: dict[str, str],
        stdin: str | None,
        stderr: str | None,
        marker: str | None = None,
    ) -> Child:
        with self._lock:
            with self._changed:
                if not self.alive:
                    raise ZygoteError("the zygote is gone")
                request_id = self._next_id
                self._next_id += 1
            request = {
                "id": request_id,
                "target": target,
                "cwd": cwd,
                "env": env,
                "stdin": stdin,
                "stderr": stderr,
                "marker": marker,
            }
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise ZygoteError(f"the zygote is gone: {exc}") from exc
            with self._changed:
                if not self._changed.wait_for(
                    lambda: request_id in self._forked or not self.alive, 30
                ):
                    raise ZygoteError("the zygote did not fork in 30 s")
                if request_id not in self._forked:
                    raise ZygoteError("the zygote is gone")
                return Child(self, self._forked.pop(request_id))

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            if pid in self._exits:
                return self._exits[pid]
            alive = self.alive
        if alive:
            return None
        try:  # the zygote died: the child is an orphan now; alive or not is all we can know
            os.kill(pid, 0)
            return None
        except ProcessLookupError:
            return -1
        except PermissionError:
            return None

    def wait_exit(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or not self.alive, timeout)
        return self.exit_code(pid)

    def close(self) -> None:
        try:
            if self._proc.stdin:
                self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()


class Child:
    """A process forked by a zygote, with the part of ``subprocess.Popen``'s interface we use."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.wait_exit(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        return self.returncode


class _Popened:
    """A program started the ordinary way (no zygote); same interface as :class:`Child`."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self._proc = proc
        self.pid = proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self._proc.wait(timeout)


_ZYGOTES: dict[str, Zygote] = {}
_BROKEN: set[str] = set()
_POOL_LOCK = threading.Lock()


def enabled() -> bool:
    return os.environ.get("META_FLOWS_ZYGOTE", "1").lower() not in ("0", "false", "no", "off")


def _key(program: Program, env: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest()[:16]
    return f"{program.python}|{','.join(program.preload)}|{digest}"


def _zygote_for(program: Program, env: dict[str, str]) -> Zygote | None:
    key = _key(program, env)
    with _POOL_LOCK:
        zygote = _ZYGOTES.get(key)
        if zygote is not None and zygote.alive:
            _ZYGOTES[key] = _ZYGOTES.pop(key)  # most recently used last
            return zygote
        if key in _BROKEN:
            return None
        try:
            zygote = Zygote(program.python, program.preload, env)
        except (ZygoteError, OSError) as exc:
            _BROKEN.add(key)
            logging.getLogger(__name__).warning(
                "starting interpreters the slow way (no warm zygote): %s", exc
            )
            return None
        _ZYGOTES[key] = zygote
        while len(_ZYGOTES) > MAX_ZYGOTES:
            _ZYGOTES.pop(next(iter(_ZYGOTES))).close()
        return zygote


def launch(
    program: Program,
    *,
    env: dict[str, str],
    cwd: str | Path,
    stdin: str | Path | None = None,
    stderr: str | Path | None = None,
    marker: str | None = None,
):
    """Start ``program`` (see :class:`Program`) as its own session, stdin from the file
    ``stdin``, stderr appended to the file ``stderr``, stdout discarded; a :class:`Child` (or a
    Popen-like object when no zygote could be used). ``marker``: the value of ``MARKER`` in the
    child's environment (and so in its descendants'), for :func:`end_session`."""
    if enabled() and program.preload:
        zygote = _zygote_for(program, env)
        if zygote is not None:
            try:
                return zygote.spawn(
                    program.target,
                    cwd=str(cwd),
                    env=env,
                    stdin=str(stdin) if stdin else None,
                    stderr=str(stderr) if stderr else None,
                    marker=marker,
                )
            except ZygoteError:
                pass  # started the ordinary way below
    with open(stdin or os.devnull, "rb") as fin, open(stderr or os.devnull, "ab") as ferr:
        proc = subprocess.Popen(
            program.argv(),
            stdin=fin,
            stdout=subprocess.DEVNULL,
            stderr=ferr,
            cwd=cwd,
            env={**env, MARKER: marker} if marker else env,
            start_new_session=True,
        )
    return _Popened(proc)


def dump_stacks(child) -> None:
    """Ask ``child`` to write every thread's stack to its stderr (``SIGUSR1``: the children of
    meta-flows register :mod:`faulthandler` on it)."""
    try:
        os.kill(child.pid, signal.SIGUSR1)
    except (ProcessLookupError, PermissionError):
        pass


def kill(child) -> None:
    """Kill ``child`` with its whole process group, and reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(child.pid, signal.SIGKILL)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def end_session(child, marker: str | None = None) -> None:
    """Kill what ``child`` left running: its process group (a plain background process), and
    every process whose environment has ``MARKER=marker`` (one that left the group with
    ``setsid``, a daemon). Call it once the child has exited or been killed."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not marker:
        return
    wanted = f"{MARKER}={marker}".encode()
    for _ in range(5):  # a process may start another while we look
        found = [pid for pid in _pids() if wanted in _environ(pid)]
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _pids() -> list[int]:
    try:
        names = os.listdir("/proc")
    except OSError:  # no procfs: only the process group is ended
        return []
    me = os.getpid()
    return [int(n) for n in names if n.isdigit() and int(n) != me]


def _environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:  # gone, or another user's
        return []


def shutdown() -> None:
    """Stop every zygote of this process (running children carry on)."""
    with _POOL_LOCK:
        while _ZYGOTES:
            _ZYGOTES.popitem()[1].close()


atexit.register(shutdown)


if __name__ == "__main__":
    if sys.path and Path(sys.path[0] or ".").resolve() == SELF.parent:
        del sys.path[0]  # our package's modules must not shadow top-level ones (``wave``)
    sys.exit(serve(sys.argv[1:]))
