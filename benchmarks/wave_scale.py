"""One migration wave over a generated estate, end to end; prints where the time goes.

    python benchmarks/wave_scale.py [OUT_DIR] [--repos 50] [--flows 9] [--max-parallel 2]
                                    [--database sqlite|postgresql] [--work-pool POOL --workers N]

Generates ``repos`` x ``flows`` small Prefect 1 flows (benchmarks/estate.py: bare git remotes on
disk, mixed constructs), starts a local Prefect server (unless ``PREFECT_API_URL`` is set), and
runs ``migrate-wave`` over them: clone, inventory, rewrite, commit/push, shadow deployments,
validation (both sides really run), gate, promotion. Prints:

- wall time of the wave and per flow;
- the flows' own run time: the sum over every validated case of the Prefect 1 run and the Prefect
  2 flow run (each measured around the flow call itself);
- the meta-pipeline's overhead per flow: ``(wall - flows' own time / parallelism) / flows``, where
  parallelism = min(max_parallel, CPU cores): what the wave costs beyond running the flows, with
  the flow runs credited as running side by side as they do;
- CPU seconds spent by the wave's process, by the interpreters it starts (flow runs on both
  sides, git) and by the Prefect server (when the benchmark started it);
- the Prefect server's CPU during the wave, as a share of its one core (the server is the floor:
  one process, SQLite);
- the same overhead with every flow credited its run time on an idle server: two projects are
  validated again once the wave is over (the wave's own figure credits each flow with its run time
  under the wave's load, which the wave's own concurrent work inflates), and the ratio of the wall
  time to that floor: ``wall / (idle run time per flow x flows / cores)``.

With ``--work-pool POOL --workers N`` every project runs as a ``migrate-project`` flow run on
``N`` local process workers of ``POOL`` (started and stopped by the benchmark).

The first run also builds the Prefect 1 environment (~1 min, not counted: it is built before the
clock starts).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import generate_estate, write_registry  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=None)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--flows", type=int, default=9)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="The started server's database: its own SQLite file, or a local PostgreSQL "
        "(Debian's postgresql, started on 127.0.0.1 for the run).",
    )
    parser.add_argument("--work-pool", default="", help="Run the projects on this work pool.")
    parser.add_argument("--workers", type=int, default=2, help="Local workers for --work-pool.")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="meta-flows-wave-scale-"))
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    repos = generate_estate(out / "estate", repos=args.repos, flows_per_repo=args.flows)
    registry = write_registry(out / "estate", repos, wave="bench")
    n_flows = sum(len(r.flow_names) for r in repos)
    print(
        f"estate: {len(repos)} repositories, {n_flows} flows in {time.perf_counter() - started:.1f} s"
    )

    server = database = None
    if not os.environ.get("PREFECT_API_URL"):
        from meta_flows.adapters.prefect2.local_server import EVENTS, start_server

        if args.database == "postgresql":
            from meta_flows.adapters.prefect2.postgres import start_postgres

            database = start_postgres()
            print(f"postgresql: {database.url}")
        server = start_server(out / "server", database_url=database.url if database else None)
        os.environ["PREFECT_API_URL"] = server.url
        os.environ.update(EVENTS)
        print(f"prefect server: {server.url}")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from meta_flows.sandbox.legacy.env import base_env

    base_env()  # build (or reuse) the Prefect 1 environment before timing
    workers = []
    if args.work_pool:
        from meta_flows.adapters.prefect2.workers import start_workers

        workers = start_workers(args.work_pool, args.workers, out / "workers")
        print(f"work pool {args.work_pool}: {args.workers} local process worker(s)")
    try:
        from meta_flows.flows.wave import migrate_wave, wave_result

        server_before = _tree_cpu(server.process.pid) if server is not None else None
        started = time.perf_counter()
        result = wave_result(
            migrate_wave(
                wave="bench",
                registry=str(registry),
                workspace=str(out / "ws"),
                max_parallel=args.max_parallel,
                timeout=args.timeout,
                report=str(out / "report.json"),
                work_pool=args.work_pool,
                return_state=True,
            )
        )
        wall = time.perf_counter() - started
        for worker in workers:  # their CPU is counted once they are reaped
            worker.stop()
        from meta_flows.orchestration.wave_run import metrics_path

        metrics = json.loads(metrics_path(out / "ws", "bench").read_text())
        server_during = _tree_cpu(server.process.pid) if server is not None else None
        idle = _idle_run_seconds(out / "ws" / "repos", [r.name for r in repos[:2]])
    finally:
        from meta_flows.sandbox import zygote

        for worker in workers:
            worker.stop()

        own_cpu = _cpu(resource.RUSAGE_SELF)
        zygote.shutdown()  # its children's CPU is counted once it and they are reaped
        children_cpu = _cpu(resource.RUSAGE_CHILDREN)
        if server is not None:
            server.stop()
        server_cpu = _cpu(resource.RUSAGE_CHILDREN) - children_cpu
        if database is not None:
            database.stop()
    states: dict[str, int] = {}
    for project in result["projects"]:
        states[project["state"]] = states.get(project["state"], 0) + 1
    verdicts: dict[str, int] = {}
    for project in result["projects"]:
        for f in project["flows"]:
            verdicts[f["verdict"]] = verdicts.get(f["verdict"], 0) + 1
    own = metrics["run_seconds"]
    parallel = max(1, min(args.max_parallel, os.cpu_count() or 1))
    overhead = (wall - own / parallel) / n_flows
    print(f"projects: {states}")
    print(f"flow cases: {verdicts}")
    print(f"wall time: {wall:.1f} s ({wall / 60:.1f} min) for {n_flows} flows")
    print(f"time per flow: {wall / n_flows:.2f} s")
    print(f"flows' own run time (legacy + migrated, summed): {own:.1f} s")
    print(f"meta-pipeline overhead per flow (parallelism {parallel}): {overhead:.2f} s")
    if idle:
        print(
            f"flows' own run time on the idle server afterwards ({idle[1]} flows re-validated): "
            f"{idle[0]:.2f} s per flow; overhead with every flow credited that: "
            f"{(wall - idle[0] * n_flows / parallel) / n_flows:.2f} s"
        )
        cores = os.cpu_count() or 1
        print(
            f"wall / (idle run time x flows / {cores} cores): "
            f"{wall / (idle[0] * n_flows / cores):.2f}"
        )
    steps = metrics.get("step_seconds") or {}
    if steps:
        print(
            "per flow, by step (summed over projects): "
            + ", ".join(f"{k} {v / n_flows:.2f} s" for k, v in steps.items())
        )
    phases = metrics.get("phase_seconds") or {}
    if phases:
        print("wave phases (wall): " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    print(
        f"CPU: wave process {own_cpu:.0f} s, flow-running interpreters and git "
        f"{children_cpu:.0f} s, Prefect server {server_cpu:.0f} s (cores: {os.cpu_count()})"
    )
    if server_before is not None and server_during is not None:
        busy = server_during - server_before
        print(
            f"Prefect server during the wave: {busy:.0f} s of CPU, {busy / wall:.0%} of one core "
            f"({busy / n_flows:.2f} s per flow)"
        )
    print(f"report: {out / 'report.json'}")


def _idle_run_seconds(repos: Path, names: list[str]) -> tuple[float, int] | None:
    """(own run time per flow, flows) for ``names`` validated again once the wave is over: the
    same flows on the same server, with nothing else running. The wave's figure credits each flow
    with its run time under the wave's load, which the wave's own work inflates."""
    from meta_flows.orchestration.validation import validate_repo

    seconds, flows = 0.0, 0
    for name in names:
        legacy, migrated = repos / f"{name}.legacy", repos / name
        if not (legacy.is_dir() and migrated.is_dir()):
            return None
        for v in validate_repo(legacy, migrated):
            seconds += (v.legacy_duration_s or 0.0) + (v.migrated_duration_s or 0.0)
            flows += 1
    return (seconds / flows, flows) if flows else None


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` and its children (``prefect server start``
    runs uvicorn as a child), from /proc; None where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
            found = True
    return total if found else None


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
