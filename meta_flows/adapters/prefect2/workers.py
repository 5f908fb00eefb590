"""Local Prefect process workers: ``prefect worker start --pool POOL --type process`` processes.

Used by ``meta-flows demo --work-pool`` to show a wave on workers on one machine; any worker of
the pool, anywhere that sees the wave's workspace, does the same job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

QUERY_SECONDS = "2"  # how often an idle worker asks for runs (Prefect's default: 10)


class LocalWorker:
    """One worker process, in its own process group (stopping it stops the runs it started)."""

    def __init__(self, pool: str, name: str, log: Path, env: dict | None = None) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.name, self.log_path = name, log
        self._log = log.open("w")
        prefect = Path(sys.executable).with_name("prefect")
        self.process = subprocess.Popen(
            [
                str(prefect),
                "worker",
                "start",
                "--pool",
                pool,
                "--type",
                "process",
                "--name",
                name,
            ],  # fmt: skip
            env={"PREFECT_WORKER_QUERY_SECONDS": QUERY_SECONDS, **os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the worker and what it started (SIGKILL: at once, as a machine going away)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()


def start_workers(pool: str, count: int, log_dir: Path) -> list[LocalWorker]:
    return [
        LocalWorker(pool, f"{pool}-{i}", log_dir / f"worker-{i}.log") for i in range(1, count + 1)
    ]
