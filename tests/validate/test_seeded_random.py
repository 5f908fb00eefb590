"""Both validation children seed ``random`` from the flow name and case right before each run, and
each task run draws from a generator of its own seeded from it, its task name and map index: a
flow whose tasks draw random numbers draws the same numbers under Prefect 1 and, rewritten, under
Prefect 2 (``equal``), mapped children running concurrently included; another case of the same
flow draws other numbers.
A flow with more task runs than the API answers in one request (200) is read back whole."""

from __future__ import annotations

import random

import pytest

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.orchestration.validation import validate_repo
from meta_flows.sandbox.legacy.run_probe import run_seed, seed_random

FLOW = """
import random

from prefect import Flow, Parameter, task


@task
def draw(n):
    return [random.randint(0, 10**9) for _ in range(n)]


@task
def pick(values, scale):
    low = random.random() < 0.5
    return low, values[random.randrange(len(values))] * scale


@task
def shuffled(values):
    values = list(values)
    random.shuffle(values)
    return values


with Flow("seeded-draws") as flow:
    scale = Parameter("scale", default=1)
    values = draw(6)
    picked = pick(values, scale)
    order = shuffled(values)
"""

MANY = """
import random

from prefect import Flow, task


@task
def numbers():
    return [random.randint(0, 1000) for _ in range(110)]


@task
def plus_one(x):
    return x + 1


with Flow("many-children") as flow:
    plus_one.map(plus_one.map(numbers()))
"""

# mapped children draw, wait (the first ones longest), then draw again: on Prefect 2 they run
# concurrently and their second draws happen in reverse order, on Prefect 1 one after the other;
# each task run draws from a generator of its own, so both sides draw the same numbers
CONCURRENT = """
import random
import time

from prefect import Flow, Task, task


@task
def draw_twice(i):
    first = random.random()
    time.sleep(0.3 - 0.1 * i)
    return first, random.randint(0, 10**9), random.choice("abcdef")


@task
def draw_once():
    return random.random()


class Pick(Task):
    def run(self, n):
        return random.sample(range(100), n)


# two instances of one Task class: two tasks of one name (two functions once rewritten)
pick_a = Pick()
pick_b = Pick()

with Flow("concurrent-draws") as flow:
    draw_twice.map([0, 1, 2])
    draw_once()
    draw_once()
    pick_a(3)
    pick_b(3)
"""

CASES = """
seeded-draws:
  - case: default
  - case: doubled
    parameters: {scale: 2}
"""


def test_the_seed_depends_on_flow_and_case_only():
    spec = {"flow": "seeded-draws", "case": "default", "id": 3, "parameters": {"scale": 1}}
    assert run_seed(spec) == run_seed({"flow": "seeded-draws", "case": None})
    assert run_seed(spec) != run_seed({**spec, "case": "doubled"})
    assert run_seed(spec) != run_seed({**spec, "flow": "other"})
    state = random.getstate()
    try:
        seed_random(spec)
        first = [random.random() for _ in range(3)]
        seed_random(spec)
        assert [random.random() for _ in range(3)] == first
    finally:
        random.setstate(state)


@pytest.fixture(scope="module")
def verdicts(prefect_api, prefect_server, legacy_root, tmp_path_factory):
    legacy = tmp_path_factory.mktemp("seeded-legacy")
    migrated = tmp_path_factory.mktemp("seeded-migrated")
    (legacy / "seeded_draws.py").write_text(FLOW)
    result = migrate_source(FLOW, "seeded_draws.py", module_name="seeded_draws")
    assert result.status == "migrated", result.error
    assert "TODO" not in result.code, result.code
    (migrated / "seeded_draws.py").write_text(result.code)
    (legacy / "many_children.py").write_text(MANY)
    (legacy / "concurrent_draws.py").write_text(CONCURRENT)
    result = migrate_source(CONCURRENT, "concurrent_draws.py", module_name="concurrent_draws")
    assert result.status == "migrated", result.error
    (migrated / "concurrent_draws.py").write_text(result.code)
    result = migrate_source(MANY, "many_children.py", module_name="many_children")
    assert result.status == "migrated", result.error
    (migrated / "many_children.py").write_text(result.code)
    cases = tmp_path_factory.mktemp("seeded-cases") / "cases.yaml"
    cases.write_text(CASES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        return validate_repo(legacy, migrated, cases, timeout=120, env_root=legacy_root)


def test_random_draws_validate_equal(verdicts):
    found = {(v.flow_name, v.case) for v in verdicts}
    assert found == {
        ("seeded-draws", "default"),
        ("seeded-draws", "doubled"),
        ("many-children", "default"),
        ("concurrent-draws", "default"),
    }
    not_equal = [
        f"{v.flow_name} [{v.case}]: {v.verdict} {v.reason or ''} {v.diff[:3]}"
        for v in verdicts
        if v.verdict != "equal"
    ]
    assert not_equal == []
