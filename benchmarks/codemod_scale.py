"""Codemod time and memory against the length of one flow body.

    python benchmarks/codemod_scale.py [--sizes 125 250 500 1000 2000] [--timeout 900]
    python benchmarks/codemod_scale.py --show 14

Generates a Prefect 1 module whose one ``with Flow(...)`` body holds N task calls and rewrites it
with ``migrate_source`` (the library entry point, in one process), in a fresh process per size.
Every 7 task calls come with a Parameter, keyword arguments, a ``.map`` with ``unmapped``,
``upstream_tasks=``, a ``set_upstream`` and two ``case`` blocks joined by ``merge``. Prints, per
size, the body's lines, wall and CPU seconds, the peak resident memory above the interpreter's
before the rewrite (MB), and the ratio of the CPU time to the previous size's: 2.0 for doubled
sizes when the time grows linearly with the body, 4.0 when it grows with its square. A size past
``--timeout`` seconds is stopped and the larger ones are not run. ``--show N`` prints the module
for N task calls.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CALLS_PER_GROUP = 7

HEADER = '''"""A flow with a long body (benchmarks/codemod_scale.py)."""

from prefect import Flow, Parameter, case, task, unmapped
from prefect.tasks.control_flow import merge


@task
def extract(source, limit=10):
    return list(range(limit))


@task
def transform(x, factor=1):
    return x * factor


@task
def load(values, table="t"):
    return len(values)


@task
def is_big(n):
    return n > 10


@task
def notify(value, channel="ops"):
    return value


@task
def save(value, path="out"):
    return value


'''

GROUP = """\
    p{g} = Parameter("p{g}", default={g})
    a{g} = extract(p{g}, limit={limit})
    b{g} = transform.map(a{g}, factor=unmapped({factor}))
    c{g} = load(b{g}, table="t{g}", upstream_tasks=[a{g}])
    c{g}.set_upstream(p{g})
    big{g} = is_big(c{g})
    with case(big{g}, True):
        d{g} = notify(c{g}, channel="big")
    with case(big{g}, False):
        e{g} = notify(b{g})
    m{g} = merge(d{g}, e{g})
    save(m{g}, path="out/{g}")
"""

FOOTER = """

if __name__ == "__main__":
    flow.run()
"""


def generate(calls: int) -> str:
    """A module whose flow body holds ``calls`` task calls (rounded up to a whole group)."""
    groups = -(-calls // CALLS_PER_GROUP)
    body = "".join(
        GROUP.format(g=g, limit=g % 7 + 1, factor=g % 3 + 1) for g in range(max(groups, 1))
    )
    return HEADER + 'with Flow("scale") as flow:\n' + body + FOOTER


def measure(calls: int) -> dict:
    """Rewrite the module for ``calls`` task calls in this process; its figures."""
    from meta_flows.core.codemod.engine import migrate_source

    source = generate(calls)
    migrate_source(generate(CALLS_PER_GROUP), "warm_up.py")  # imports and first-use caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    result = migrate_source(source, "scale.py")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if result.status != "migrated":
        raise SystemExit(f"{calls} calls: {result.status} {result.error or ''}")
    return {
        "calls": -(-calls // CALLS_PER_GROUP) * CALLS_PER_GROUP,
        "body_lines": -(-calls // CALLS_PER_GROUP) * GROUP.count("\n"),
        "wall": wall,
        "cpu": cpu,
        "peak_mb": (peak - before) / 1024,  # ru_maxrss is in KiB on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[125, 250, 500, 1000, 2000])
    parser.add_argument("--timeout", type=float, default=900, help="seconds per size")
    parser.add_argument("--show", type=int, metavar="N", help="print the module for N calls")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, as JSON
    args = parser.parse_args()
    if args.show is not None:
        print(generate(args.show), end="")
        return
    if args.one is not None:
        print(json.dumps(measure(args.one)))
        return
    print(f"{os.cpu_count()} cores, one process per size, Python {sys.version.split()[0]}")
    print(
        f"{'task calls':>10} {'body lines':>10} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'CPU ratio':>10}"
    )
    previous = None
    for calls in args.sizes:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(calls)],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=True,
            )
        except subprocess.TimeoutExpired:
            print(f"{calls:>10} {'':>10} {'> ' + str(int(args.timeout)):>8}  (stopped)")
            break
        except subprocess.CalledProcessError as exc:
            raise SystemExit(exc.stderr or exc.stdout) from None
        row = json.loads(done.stdout.splitlines()[-1])
        ratio = f"{row['cpu'] / previous:.2f}" if previous else "-"
        print(
            f"{row['calls']:>10} {row['body_lines']:>10} {row['wall']:>8.2f} {row['cpu']:>8.2f}"
            f" {row['peak_mb']:>8.0f} {ratio:>10}"
        )
        previous = row["cpu"]


if __name__ == "__main__":
    main()
