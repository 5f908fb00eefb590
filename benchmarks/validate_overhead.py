"""Where validation time goes: the flow runs themselves vs. meta-flows' overhead per case.

    python benchmarks/validate_overhead.py [--repos 1] [--flows 9]

Generates a small estate (benchmarks/estate.py), rewrites it with the codemod, and validates it
twice against a local Prefect server (started unless ``PREFECT_API_URL`` is set):

1. shared interpreters, as ``validate_repo`` and the wave do: one Prefect 1 interpreter and one
   Prefect 2 child process for all the flows of a repository;
2. one interpreter pair per flow (what sharing avoids).

For each it prints wall time, the flows' own run time (legacy + migrated, measured around the
flow call in each interpreter) and the overhead per case = (wall - own) / cases: interpreter
start-up, imports, the API round trips that read results back, comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import generate_estate  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1)
    parser.add_argument("--flows", type=int, default=9)
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="meta-flows-validate-overhead-"))
    repos = generate_estate(out / "estate", repos=args.repos, flows_per_repo=args.flows)

    server = None
    if not os.environ.get("PREFECT_API_URL"):
        from meta_flows.adapters.prefect2.local_server import start_server

        server = start_server(out / "server")
        os.environ["PREFECT_API_URL"] = server.url
    try:
        import shutil

        from meta_flows.core.codemod.runner import run, write_result
        from meta_flows.orchestration.validation import collect_cases, run_cases
        from meta_flows.sandbox.legacy.env import base_env

        base_env()
        pairs = []
        for repo in repos:
            migrated = out / "migrated" / repo.name
            shutil.copytree(repo.workdir, migrated, ignore=shutil.ignore_patterns(".git"))
            for result in run([migrated], jobs=1).results:
                write_result(result)
            pairs.append((repo.workdir, migrated, collect_cases(repo.workdir)))
        n_cases = sum(len(cases) for _, _, cases in pairs)

        def measure(label: str, per_flow: bool) -> float:
            started = time.perf_counter()
            verdicts = []
            for legacy, migrated, cases in pairs:
                groups = [[c] for c in cases] if per_flow else [cases]
                for group in groups:
                    verdicts += run_cases(legacy, migrated, group, 120)
            wall = time.perf_counter() - started
            own = sum((v.legacy_duration_s or 0) + (v.migrated_duration_s or 0) for v in verdicts)
            kinds: dict[str, int] = {}
            for v in verdicts:
                kinds[v.verdict] = kinds.get(v.verdict, 0) + 1
            overhead = (wall - own) / n_cases
            print(
                f"{label:<34} wall {wall:6.1f} s  flows' own {own:6.1f} s  "
                f"overhead/case {overhead:5.2f} s  {kinds}"
            )
            return overhead

        print(f"{n_cases} cases in {len(pairs)} repositories")
        shared = measure("shared interpreters (per repo)", per_flow=False)
        single = measure("one interpreter pair per flow", per_flow=True)
        print(f"overhead ratio per-flow / shared: {single / shared:.1f}x")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
