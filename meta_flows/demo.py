"""``meta-flows demo``: a whole wave over the demo registry on embedded defaults.

Everything is local: the three example Prefect 1 projects under ``examples/`` become git
repositories with bare remotes in the workspace (``<workspace>/remotes/<name>.git``, made once),
the Prefect API is ``PREFECT_API_URL`` when set or else a ``prefect server start`` on 127.0.0.1
with its database in the workspace, and the Prefect 1 side runs in the managed environment
(built on first use). Nothing outside the workspace is written except that cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_REGISTRY = ROOT / "flows_registry" / "demo.yaml"
DEMO_PROJECTS = ("acme-etl", "billing-reports", "ops-housekeeping")
REMOTES_VARIABLE = "META_FLOWS_DEMO_REMOTES"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "meta-flows demo",
    "GIT_AUTHOR_EMAIL": "demo@meta-flows.invalid",
    "GIT_COMMITTER_NAME": "meta-flows demo",
    "GIT_COMMITTER_EMAIL": "demo@meta-flows.invalid",
}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, **_GIT_ENV},
    )


def make_remote(source: Path, remotes: Path, name: str) -> Path:
    """A bare remote ``remotes/<name>.git`` whose ``main`` holds ``source`` (made once)."""
    bare = remotes / f"{name}.git"
    if bare.exists():
        return bare
    remotes.mkdir(parents=True, exist_ok=True)
    work = remotes / f".{name}.seed"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", f"{name}: Prefect 1 project", cwd=work)
    tmp = remotes / f".{name}.git.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    _git("clone", "-q", "--bare", str(work), str(tmp), cwd=remotes)
    tmp.rename(bare)
    shutil.rmtree(work)
    return bare


def make_demo_remotes(remotes: Path) -> list[Path]:
    missing = [p for p in DEMO_PROJECTS if not (EXAMPLES / p).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"example projects not found under {EXAMPLES}: {', '.join(missing)} (the demo needs "
            f"a checkout of meta-flows, installed with pip install -e .)"
        )
    return [make_remote(EXAMPLES / name, remotes, name) for name in DEMO_PROJECTS]


@dataclass
class DemoResult:
    report: dict
    api_url: str
    server_home: Path | None


def run_demo(
    workspace: Path,
    *,
    report: Path | None = None,
    keep_server: bool = False,
    work_pool: str = "",
    workers: int = 0,
):
    """Run the demo wave (its projects on ``work_pool``, with ``workers`` local workers, when
    given); returns a :class:`DemoResult`."""
    from meta_flows.adapters.prefect2.local_server import EVENTS, start_server

    workspace = workspace.resolve()
    remotes = workspace / "remotes"
    make_demo_remotes(remotes)
    os.environ[REMOTES_VARIABLE] = str(remotes)
    server = None
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        server = start_server(workspace / "server", ui=keep_server)
        api_url = server.url
        os.environ["PREFECT_API_URL"] = api_url
        os.environ.update(EVENTS)
    started = []
    try:
        from meta_flows.adapters.prefect2.workers import start_workers
        from meta_flows.flows.wave import migrate_wave, wave_result

        if work_pool and workers:
            started = start_workers(work_pool, workers, workspace / "workers")
        result = wave_result(
            migrate_wave(
                wave="demo",
                registry=str(DEMO_REGISTRY),
                workspace=str(workspace),
                report=str(report) if report else None,
                work_pool=work_pool,
                return_state=True,
            )
        )
    finally:
        for worker in started:
            worker.stop()
        if server is not None and not keep_server:
            server.stop()
    return DemoResult(result, api_url, server.home if server else None)
