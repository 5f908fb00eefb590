"""Conditional branches: ``case`` on both values of a condition, joined with ``merge``."""

import json

from prefect import Flow, Parameter, case, task
from prefect.tasks.control_flow import merge


@task
def is_big(n):
    return n > 10


@task
def shrink(n):
    return n // 10


@task
def grow(n):
    return n * 10


@task
def save(value):
    with open("case_merge_result.json", "w") as fh:
        json.dump({"value": value}, fh)
    return value


with Flow("case-merge") as flow:
    n = Parameter("n", default=42)
    cond = is_big(n)
    with case(cond, True):
        small = shrink(n)
    with case(cond, False):
        large = grow(n)
    chosen = merge(small, large)
    save(chosen)


if __name__ == "__main__":
    flow.run()
    flow.run(parameters={"n": 7})
