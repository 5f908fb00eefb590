"""A synthetic Prefect 1 estate for the wave benchmark: many small repositories with git remotes.

    python benchmarks/estate.py OUT_DIR [--repos N] [--flows M] [--seed S]

:func:`generate_estate` writes ``repos`` repositories of ``flows_per_repo`` small Prefect 1 flows
each (default 50 x 9 = 450 flows). Each flow module is one of the templates in :data:`TEMPLATES`,
which between them cover the constructs the codemod rewrites most: a ``Parameter`` with a default,
``map``/``unmapped``, ``case``/``merge``, a ``Task`` subclass, retry and timeout options,
``prefect.context``, a ``LocalDaskExecutor`` and a ``LocalExecutor``, a task writing a file under
the working directory, an ``upstream_tasks`` dependency and a reduce over a map. Names and
constants vary with the repository, the flow's index and the seed, so no two files are the same;
every template migrates with no ``TODO(prefect2-migration)`` and validates ``equal``.

Layout under ``root``::

    repos/<name>/                 work tree: requirements.txt, flows/__init__.py, flows/flow_<i>.py
    remotes/<name>.git            bare remote, ``main`` pushed

:func:`write_registry` writes ``root/registry.yaml`` (the shape of ``flows_registry/``) naming
every repository in one wave. Generation is deterministic for a given seed; it refuses to write
over an existing repository or remote (FileExistsError naming the path).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

AUTHOR = "meta-flows-bench"
AUTHOR_EMAIL = "meta-flows-bench@example.invalid"
WORK_POOL = {"name": "meta-flows-bench", "type": "process"}
REQUIREMENTS = "prefect==1.4.1\n"


@dataclass
class EstateRepo:
    """One generated repository: its slug, its bare remote and its Prefect 1 flow names."""

    name: str
    bare_remote: Path
    flow_names: list[str]
    workdir: Path


# Each template is a whole Prefect 1 module (standard library only). ``$flow_name`` is the Prefect 1
# flow name; the other placeholders are filled from ``_constants`` (ints, words, lists).
TEMPLATES: dict[str, str] = {
    "params-context": '''\
"""Bench flow $flow_name: parameters with defaults and the run context."""
import prefect
from prefect import Flow, Parameter, task
from prefect.run_configs import LocalRun


@task
def scale(n, factor):
    logger = prefect.context.get("logger")
    logger.info("scaling %s by %s", n, factor)
    return [n * factor + k for k in range($width)]


@task
def describe(values):
    flow_name = prefect.context.get("flow_name")
    return {"flow": flow_name, "count": len(values), "total": sum(values)}


with Flow("$flow_name", run_config=LocalRun(labels=["bench"])) as flow:
    n = Parameter("n", default=$n)
    factor = Parameter("factor", default=$factor)
    describe(scale(n, factor))

if __name__ == "__main__":
    flow.run()
''',
    "map-unmapped": '''\
"""Bench flow $flow_name: a map with unmapped arguments, chained into a second map."""
from prefect import Flow, Parameter, task, unmapped


@task
def price(quantity, unit_cents):
    return quantity * unit_cents


@task
def label(cents, prefix):
    return f"{prefix}:{cents // 100}.{cents % 100:02d}"


with Flow("$flow_name") as flow:
    quantities = Parameter("quantities", default=$quantities)
    unit_cents = Parameter("unit_cents", default=$unit_cents)
    label.map(price.map(quantities, unit_cents=unmapped(unit_cents)), prefix=unmapped("$word"))

if __name__ == "__main__":
    flow.run()
''',
    "case-merge": '''\
"""Bench flow $flow_name: case on a computed flag, both branches merged."""
from prefect import Flow, Parameter, case, task
from prefect.tasks.control_flow import merge


@task
def measure(level):
    return level * $k


@task
def is_high(value):
    return value > $threshold


@task
def escalate(value):
    return f"escalate $word at {value}"


@task
def acknowledge(value):
    return f"$word nominal at {value}"


@task
def record(outcome):
    return {"outcome": outcome}


with Flow("$flow_name") as flow:
    level = Parameter("level", default=$level)
    value = measure(level)
    high = is_high(value)
    with case(high, True):
        raised = escalate(value)
    with case(high, False):
        quiet = acknowledge(value)
    record(merge(raised, quiet))

if __name__ == "__main__":
    flow.run()
''',
    "task-subclass": '''\
"""Bench flow $flow_name: a Task subclass configured at instantiation."""
from prefect import Flow, Parameter, Task
from prefect.utilities.tasks import defaults_from_attrs


class Window(Task):
    """Sliding sums over a range of numbers."""

    def __init__(self, size=2, **kwargs):
        self.size = size
        super().__init__(**kwargs)

    @defaults_from_attrs("size")
    def run(self, stop, size=None):
        numbers = list(range(1, stop + 1))
        return [sum(numbers[i : i + size]) for i in range(len(numbers) - size + 1)]


window = Window(size=$size, name="window")


with Flow("$flow_name") as flow:
    stop = Parameter("stop", default=$stop)
    window(stop)

if __name__ == "__main__":
    flow.run()
''',
    "retries-options": '''\
"""Bench flow $flow_name: retry, timeout, tag and logging options on tasks."""
from datetime import timedelta

from prefect import Flow, Parameter, task


@task(max_retries=$retries, retry_delay=timedelta(seconds=$delay), timeout=30, tags=["bench"])
def fetch_batch(batch):
    return [batch * 10 + i for i in range($width)]


@task(log_stdout=True, checkpoint=False)
def checksum(rows):
    value = sum((i + 1) * row for i, row in enumerate(rows)) % $modulus
    print(f"checksum {value}")
    return value


with Flow("$flow_name") as flow:
    batch = Parameter("batch", default=$batch)
    checksum(fetch_batch(batch))

if __name__ == "__main__":
    flow.run()
''',
    "local-dask": '''\
"""Bench flow $flow_name: a LocalDaskExecutor running a map on threads."""
from prefect import Flow, Parameter, task
from prefect.executors import LocalDaskExecutor


@task
def words(count):
    return [f"$word{i}" for i in range(count)]


@task
def shout(word):
    return word.upper() + "!"


with Flow("$flow_name", executor=LocalDaskExecutor(scheduler="threads", num_workers=2)) as flow:
    count = Parameter("count", default=$count)
    shout.map(words(count))

if __name__ == "__main__":
    flow.run()
''',
    "file-output": '''\
"""Bench flow $flow_name: render rows and write them to a file under the working directory."""
import json
from pathlib import Path

from prefect import Flow, Parameter, task


@task
def rows(count):
    return [{"id": i, "value": (i * $k) % 17} for i in range(count)]


@task
def save(records, name):
    path = Path("out") / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, sort_keys=True))
    return str(path)


with Flow("$flow_name") as flow:
    count = Parameter("count", default=$count)
    save(rows(count), "$file_stem")

if __name__ == "__main__":
    flow.run()
''',
    "upstream-tasks": '''\
"""Bench flow $flow_name: a task ordered after another through upstream_tasks."""
from pathlib import Path

from prefect import Flow, Parameter, task


@task
def prepare():
    marker = Path("state") / "$file_stem.ready"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text("ready")
    return str(marker)


@task
def load(size):
    return {"rows": size, "ready": Path("state/$file_stem.ready").exists()}


with Flow("$flow_name") as flow:
    size = Parameter("size", default=$size)
    ready = prepare()
    load(size, upstream_tasks=[ready])

if __name__ == "__main__":
    flow.run()
''',
    "map-reduce": '''\
"""Bench flow $flow_name: a reduce over a map, on an explicit LocalExecutor."""
from prefect import Flow, Parameter, task
from prefect.executors import LocalExecutor


@task
def square(x):
    return x * x


@task
def total(values):
    return sum(values)


with Flow("$flow_name") as flow:
    values = Parameter("values", default=$values)
    total(square.map(values))

flow.executor = LocalExecutor()

if __name__ == "__main__":
    flow.run()
''',
}

_WORDS = ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "iris")


def _constants(rng: random.Random) -> dict[str, object]:
    """Every placeholder any template uses, drawn from ``rng`` (unused ones are harmless)."""
    return {
        "width": rng.randint(3, 8),
        "n": rng.randint(1, 50),
        "factor": rng.randint(2, 9),
        "quantities": [rng.randint(1, 20) for _ in range(rng.randint(3, 6))],
        "unit_cents": rng.randint(99, 2500),
        "word": rng.choice(_WORDS),
        "k": rng.randint(2, 9),
        "threshold": rng.randint(30, 120),
        "level": rng.randint(1, 20),
        "size": rng.randint(2, 4),
        "stop": rng.randint(6, 15),
        "retries": rng.randint(1, 3),
        "delay": rng.choice((1, 5, 10, 30)),
        "modulus": rng.choice((97, 101, 997)),
        "batch": rng.randint(1, 99),
        "count": rng.randint(3, 9),
        "values": [rng.randint(-9, 30) for _ in range(rng.randint(3, 7))],
    }


def render_flow(template: str, repo: str, index: int, seed: int = 0) -> tuple[str, str]:
    """One flow module from ``TEMPLATES[template]``: (Prefect 1 flow name, source)."""
    rng = random.Random(f"{seed}:{repo}:{index}")
    flow_name = f"{repo}-{template}-{index}"
    values = _constants(rng)
    values["flow_name"] = flow_name
    values["file_stem"] = f"{template}-{index}"
    source = Template(TEMPLATES[template]).substitute(values)
    return flow_name, source


def repo_name(index: int) -> str:
    return f"bench-{index:03d}"


def _git(args: list[str], cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd} failed: {proc.stderr.strip()}")


def _write_repo(root: Path, name: str, flows: int, template_offset: int, seed: int) -> EstateRepo:
    workdir = root / "repos" / name
    bare = root / "remotes" / f"{name}.git"
    for path in (workdir, bare):
        if path.exists():
            raise FileExistsError(f"{path}: already exists; generate the estate into a new folder")
    (workdir / "flows").mkdir(parents=True)
    (workdir / "requirements.txt").write_text(REQUIREMENTS)
    (workdir / "flows" / "__init__.py").write_text("")
    kinds = list(TEMPLATES)
    flow_names = []
    for index in range(flows):
        kind = kinds[(template_offset + index) % len(kinds)]
        flow_name, source = render_flow(kind, name, index, seed)
        (workdir / "flows" / f"flow_{index}.py").write_text(source)
        flow_names.append(flow_name)

    _git(["init", "-q", "--template=", "-b", "main"], workdir)
    _git(["add", "-A"], workdir)
    _git(["commit", "-q", "-m", f"{name}: {flows} Prefect 1 flows (generated)"], workdir)
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git(["init", "-q", "--template=", "--bare", "-b", "main", str(bare)], root)
    _git(["remote", "add", "origin", str(bare.resolve())], workdir)
    _git(["push", "-q", "-u", "origin", "main"], workdir)
    return EstateRepo(name, bare.resolve(), flow_names, workdir.resolve())


def generate_estate(
    root: Path, repos: int = 50, flows_per_repo: int = 9, seed: int = 0
) -> list[EstateRepo]:
    """Write ``repos`` repositories of ``flows_per_repo`` flows each under ``root``; see module doc.

    Repository ``r`` uses the templates in rotation starting at ``seed + r``, so with nine flows
    per repository each repository has one flow of every template.
    """
    if repos < 1 or flows_per_repo < 1:
        raise ValueError(f"repos and flows_per_repo must be >= 1 (got {repos}, {flows_per_repo})")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return [_write_repo(root, repo_name(r), flows_per_repo, seed + r, seed) for r in range(repos)]


def write_registry(root: Path, repos: list[EstateRepo], wave: str = "bench") -> Path:
    """Write ``root/registry.yaml``: one wave ``wave`` holding every repository; return its path."""
    data = {
        "waves": [{"name": wave, "order": 1}],
        "projects": [
            {
                "name": repo.name,
                "git_url": str(repo.bare_remote),
                "default_branch": "main",
                "wave": wave,
                "work_pool": dict(WORK_POOL),
            }
            for repo in repos
        ],
    }
    path = Path(root) / "registry.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--flows", type=int, default=9, help="flows per repository")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wave", default="bench")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        estate = generate_estate(args.out_dir, args.repos, args.flows, args.seed)
    except (FileExistsError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    registry = write_registry(args.out_dir, estate, args.wave)
    elapsed = time.perf_counter() - start
    flows = sum(len(r.flow_names) for r in estate)
    print(f"{len(estate)} repositories, {flows} flows in {elapsed:.1f}s")
    print(f"work trees: {args.out_dir / 'repos'}")
    print(f"remotes:    {args.out_dir / 'remotes'}")
    print(f"registry:   {registry}")


if __name__ == "__main__":
    main()
