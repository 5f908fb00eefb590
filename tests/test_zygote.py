"""meta_flows.sandbox.zygote: children forked from a warm interpreter behave like freshly started ones."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from meta_flows.sandbox import zygote

CHILD = textwrap.dedent(
    """\
    import json, os, sys
    request = json.load(sys.stdin)
    marker = sys.modules.get("mf_preload_marker")
    report = {
        "cwd": os.getcwd(),
        "env": os.environ.get("MF_TEST_VALUE"),
        "argv0": sys.argv[0],
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "session_leader": os.getsid(0) == os.getpid(),
        "preloaded_in": getattr(marker, "IMPORTED_IN", None),
        "request": request,
    }
    with open(request["out"], "w") as f:
        json.dump(report, f)
    print("to stdout: discarded")
    print("to stderr", file=sys.stderr)
    sys.exit(request.get("code", 0))
    """
)

PRELOAD_MODULE = textwrap.dedent(
    """\
    import os
    IMPORTED_IN = os.getpid()
    CALLS = []

    def warm():
        CALLS.append(os.getpid())

    def main():
        import json, sys
        request = json.load(sys.stdin)
        with open(request["out"], "w") as f:
            json.dump({"preloaded_in": IMPORTED_IN, "calls": CALLS, "pid": os.getpid()}, f)
        return request.get("code", 0)
    """
)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A script, an importable preload module, and a clean zygote pool afterwards."""
    (tmp_path / "child.py").write_text(CHILD)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "mf_preload_marker.py").write_text(PRELOAD_MODULE)
    env = dict(os.environ, PYTHONPATH=str(lib), MF_TEST_VALUE="hello")
    yield tmp_path, env
    zygote.shutdown()
    zygote._BROKEN.clear()


def _run(program, env, tmp_path, name, **request):
    out = tmp_path / f"{name}.json"
    req = tmp_path / f"{name}.req"
    req.write_text(json.dumps({"out": str(out), **request}))
    err = tmp_path / f"{name}.err"
    work = tmp_path / f"{name}-cwd"
    work.mkdir()
    child = zygote.launch(program, env=env, cwd=work, stdin=req, stderr=err)
    code = child.wait(timeout=60)
    report = json.loads(out.read_text()) if out.exists() else None
    return code, report, err.read_text(), work


@pytest.mark.parametrize("warm", [True, False], ids=["zygote", "plain"])
def test_child_gets_its_own_cwd_env_stdin_session_and_exit_code(sandbox, monkeypatch, warm):
    tmp_path, env = sandbox
    if not warm:
        monkeypatch.setenv("META_FLOWS_ZYGOTE", "0")
    program = zygote.Program(sys.executable, str(tmp_path / "child.py"), ("mf_preload_marker",))
    code, report, stderr, work = _run(program, env, tmp_path, "a", code=3, payload=[1, "x"])
    assert code == 3
    assert report["cwd"] == str(work)
    assert report["env"] == "hello"
    assert report["request"]["payload"] == [1, "x"]
    assert report["argv0"].endswith("child.py")
    assert report["session_leader"] is True  # killable as a process group
    assert stderr.strip() == "to stderr"  # stdout discarded, stderr kept
    if warm:
        # the preload ran once, in the zygote (our parent), not in the child
        assert report["preloaded_in"] == report["ppid"] != report["pid"]
    else:
        assert report["preloaded_in"] is None


def test_one_zygote_serves_many_children_and_calls_function_targets(sandbox):
    tmp_path, env = sandbox
    program = zygote.Program(
        sys.executable, "mf_preload_marker:main", ("mf_preload_marker", "mf_preload_marker:warm")
    )
    reports = [_run(program, env, tmp_path, f"f{i}", code=i)[:2] for i in range(3)]
    assert [code for code, _ in reports] == [0, 1, 2]
    zygote_pids = {r["preloaded_in"] for _, r in reports}
    assert len(zygote_pids) == 1
    assert len({r["pid"] for _, r in reports}) == 3
    # warm() ran once, in the zygote; the children see its effect, not a re-run
    assert all(r["calls"] == list(zygote_pids) for _, r in reports)


def test_function_target_without_zygote_behaves_the_same(sandbox, monkeypatch):
    tmp_path, env = sandbox
    monkeypatch.setenv("META_FLOWS_ZYGOTE", "0")
    program = zygote.Program(sys.executable, "mf_preload_marker:main", ("mf_preload_marker",))
    code, report, _, _ = _run(program, env, tmp_path, "g", code=4)
    assert code == 4
    assert report["preloaded_in"] == report["pid"]  # imported by the child itself


def test_an_uncaught_exception_exits_1_with_its_traceback(sandbox):
    tmp_path, env = sandbox
    (tmp_path / "boom.py").write_text("raise RuntimeError('boom in child')\n")
    program = zygote.Program(sys.executable, str(tmp_path / "boom.py"), ("mf_preload_marker",))
    code, _, stderr, _ = _run(program, env, tmp_path, "b")
    assert code == 1
    assert "RuntimeError: boom in child" in stderr


def test_a_different_environment_gets_a_different_zygote(sandbox):
    tmp_path, env = sandbox
    program = zygote.Program(sys.executable, str(tmp_path / "child.py"), ("mf_preload_marker",))
    _, first, _, _ = _run(program, env, tmp_path, "e1")
    _, same, _, _ = _run(program, env, tmp_path, "e2")
    _, other, _, _ = _run(program, {**env, "MF_TEST_VALUE": "other"}, tmp_path, "e3")
    assert first["preloaded_in"] == same["preloaded_in"]
    assert other["preloaded_in"] != first["preloaded_in"]
    assert other["env"] == "other"


def test_kill_takes_the_whole_process_group(sandbox):
    tmp_path, env = sandbox
    (tmp_path / "hang.py").write_text(
        textwrap.dedent(
            """\
            import subprocess, sys, time
            grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            open("grandchild.pid", "w").write(str(grandchild.pid))
            time.sleep(600)
            """
        )
    )
    program = zygote.Program(sys.executable, str(tmp_path / "hang.py"), ("mf_preload_marker",))
    work = tmp_path / "hang-cwd"
    work.mkdir()
    child = zygote.launch(program, env=env, cwd=work)
    pid_file = work / "grandchild.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child did not start its grandchild"
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert child.poll() is None
    zygote.kill(child)
    assert child.poll() == -9
    deadline = time.monotonic() + 10
    while _alive(grandchild):
        assert time.monotonic() < deadline, "the grandchild outlived the kill"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (not reaped yet by its reparented init) counts as dead
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][:1] != "Z"


@pytest.mark.parametrize(
    "preload, why",
    [
        (("mf_no_such_module",), "No module named 'mf_no_such_module'"),
        (("mf_threads",), "the preload started threads"),
    ],
    ids=["import-error", "threads"],
)
def test_a_zygote_that_cannot_start_falls_back_to_a_plain_start(sandbox, caplog, preload, why):
    tmp_path, env = sandbox
    (tmp_path / "lib" / "mf_threads.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    program = zygote.Program(sys.executable, str(tmp_path / "child.py"), preload)
    with caplog.at_level(logging.WARNING, logger="meta_flows.sandbox.zygote"):
        code, report, _, _ = _run(program, env, tmp_path, "fb", code=0)
    assert code == 0
    assert report["env"] == "hello"
    assert report["preloaded_in"] is None  # started afresh
    assert why in caplog.text


def test_children_launched_from_many_threads_at_once(sandbox):
    tmp_path, env = sandbox
    program = zygote.Program(sys.executable, str(tmp_path / "child.py"), ("mf_preload_marker",))
    results: dict[int, tuple] = {}

    def one(i: int) -> None:
        results[i] = _run(program, env, tmp_path, f"t{i}", code=i % 4, index=i)[:2]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == list(range(8))
    for i, (code, report) in results.items():
        assert code == i % 4
        assert report["request"]["index"] == i
    assert len({r["pid"] for _, r in results.values()}) == 8


def test_the_zygote_exits_when_its_parent_goes(sandbox, tmp_path):
    """A parent killed with SIGKILL leaves no zygote behind (it reads EOF and exits)."""
    _, env = sandbox
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import sys, time
            from meta_flows.sandbox import zygote
            z = zygote._zygote_for(
                zygote.Program(sys.executable, {str(tmp_path / "child.py")!r}, ("mf_preload_marker",)),
                dict(__import__("os").environ),
            )
            print(z._proc.pid, flush=True)
            time.sleep(600)
            """
        )
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    zygote_pid = int(parent.stdout.readline())
    assert _alive(zygote_pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(zygote_pid):
        assert time.monotonic() < deadline, "the zygote outlived its parent"
        time.sleep(0.05)


def test_zygote_runs_as_a_standalone_script_elsewhere(tmp_path):
    """The server half runs in interpreters without meta_flows (the Prefect 1 environment): as a
    script in an isolated interpreter that cannot import meta_flows, it still loads."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "zygote.py"
    shutil.copy(zygote.SELF, copy)
    probe = (
        "import runpy, sys; sys.modules['meta_flows'] = None; "
        f"ns = runpy.run_path({str(copy)!r}, run_name='zygote_check'); "
        "print(issubclass(ns['ZygoteError'], RuntimeError))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_an_interpreter_without_meta_flows_gets_a_warm_zygote_too(sandbox, tmp_path_factory):
    """The Prefect 1 environment has no meta_flows: its children must still come from a zygote
    (a zygote that fails to start falls back to the slow way silently, behaving the same)."""
    import subprocess

    tmp_path, env = sandbox
    bare = tmp_path_factory.mktemp("bare-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import meta_flows"], env=env, cwd=tmp_path)
    assert check.returncode != 0
    program = zygote.Program(str(python), str(tmp_path / "child.py"), ("mf_preload_marker",))
    code, report, _, _ = _run(program, env, tmp_path, "bare", code=0)
    assert code == 0
    assert report["preloaded_in"] == report["ppid"] != report["pid"]
