"""A flow that starts background processes (a plain child, and one in a session of its own)
leaves none of them running after validation, on either side."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from meta_flows.sandbox.legacy_run import run_legacy
from meta_flows.sandbox.migrated_run import run_migrated_many

LEGACY = """
import subprocess
from prefect import Flow, task

@task
def start_background():
    subprocess.Popen(["sleep", "{plain}"])
    subprocess.Popen(["sleep", "{escaped}"], start_new_session=True)
    return 1

with Flow("leaves-processes") as flow:
    start_background()
"""

MIGRATED = """
import subprocess
from prefect import flow, task

@task
def start_background():
    subprocess.Popen(["sleep", "{plain}"])
    subprocess.Popen(["sleep", "{escaped}"], start_new_session=True)
    return 1

@flow(name="leaves-processes")
def leaves_processes():
    return start_background()
"""


def _durations() -> dict[str, str]:
    """Two ``sleep`` arguments no other process on the machine has."""
    tail = str(uuid.uuid4().int)[:8]
    return {"plain": f"300.{tail}1", "escaped": f"300.{tail}2"}


def _running(arguments) -> list[str]:
    """The ``sleep`` processes still running with one of ``arguments``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(a.encode() in argv for a in arguments):
            found.append(f"{entry.name}: {b' '.join(argv).decode(errors='replace')}")
    return found


def _kill(found: list[str]) -> None:
    for line in found:  # the test's own leftovers, so that a failure does not leak them
        os.kill(int(line.split(":")[0]), 9)


def test_legacy_side_leaves_no_process(base, tmp_path):
    durations = _durations()
    (tmp_path / "leaves.py").write_text(LEGACY.format(**durations))
    (capture,) = run_legacy(tmp_path, [("leaves.py", "leaves-processes")], env=base, timeout=60)
    assert capture.ok, capture.error
    left = _running(durations.values())
    _kill(left)
    assert left == []


def test_migrated_side_leaves_no_process(prefect_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    durations = _durations()
    (tmp_path / "leaves.py").write_text(MIGRATED.format(**durations))
    (capture,) = run_migrated_many(
        tmp_path,
        [
            {
                "file": "leaves.py",
                "function_name": "leaves_processes",
                "flow_name": "leaves-processes",
            }
        ],
        timeout=60,
    )
    assert capture.ok, capture.error
    left = _running(durations.values())
    _kill(left)
    assert left == []
