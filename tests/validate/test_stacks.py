"""Reading where a stuck run was from a faulthandler dump of its threads."""

from __future__ import annotations

import faulthandler
import importlib.util
import sys
import threading
import time
import traceback

from meta_flows.sandbox.stacks import parse, where

WAITER = """
import threading

release = threading.Event()


def wait_for_the_file():
    release.wait(30)
"""


def _dump_while_waiting(tmp_path) -> str:
    """A real dump: a thread blocked in a module of a 'repository' under ``tmp_path``."""
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "waiter.py").write_text(WAITER)
    spec = importlib.util.spec_from_file_location("waiter", tmp_path / "flows" / "waiter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    thread = threading.Thread(target=module.wait_for_the_file)
    thread.start()
    try:
        while not any(
            f.filename.endswith("waiter.py")
            for f in traceback.extract_stack(sys._current_frames()[thread.ident])
        ):
            time.sleep(0.01)  # until the thread is inside wait_for_the_file
        with open(tmp_path / "dump.txt", "w") as out:
            faulthandler.dump_traceback(file=out, all_threads=True)
    finally:
        module.release.set()
        thread.join()
    return (tmp_path / "dump.txt").read_text()


def test_a_thread_in_the_flows_code_is_named_relative_to_the_repository(tmp_path):
    dump = _dump_while_waiting(tmp_path)
    line = WAITER.splitlines().index("    release.wait(30)") + 1
    assert where(dump, roots=[str(tmp_path), str(tmp_path / "flows")]) == (
        f"stuck at flows/waiter.py:{line} in wait_for_the_file"
    )
    threads = parse(dump)
    assert sum(t.current for t in threads) == 1 and len(threads) >= 2


LIBRARY_ONLY = """\
Thread 0x00007f0000000002 (most recent call first):
  File "/usr/lib/python3.11/selectors.py", line 468 in select
  File "/usr/lib/python3.11/asyncio/base_events.py", line 1898 in _run_once

Current thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 327 in wait
  File "/venv/lib/python3.11/site-packages/prefect/_internal/concurrency/waiters.py", line 120 in wait
  File "/venv/lib/python3.11/site-packages/prefect/engine.py", line 312 in begin_flow_run
  File "/venv/lib/python3.11/site-packages/prefect/flows.py", line 1210 in __call__
"""


def test_without_the_flows_code_the_waiting_thread_and_its_prefect_caller_are_named():
    assert where(LIBRARY_ONLY) == (
        "stuck at threading.py:327 in wait, called from prefect/engine.py:312 in begin_flow_run"
    )


def test_no_stack_no_place():
    assert where("") is None
    assert where("Warning: something unrelated\n") is None
