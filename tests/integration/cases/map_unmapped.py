"""Mapping with ``unmapped``: a constant and an upstream task result held fixed across the map."""

from prefect import Flow, Parameter, task, unmapped


@task
def offset():
    return 100


@task
def scale(value, factor, shift):
    return value * factor + shift


@task
def collect(values):
    return sorted(values)


with Flow("map-unmapped") as flow:
    factor = Parameter("factor", default=3)
    scaled = scale.map([1, 2, 3], factor=unmapped(factor), shift=unmapped(offset()))
    collected = collect(scaled)


if __name__ == "__main__":
    flow.run()
