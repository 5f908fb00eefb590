"""Executors: ``LocalDaskExecutor`` with threads, passed as a ``Flow`` kwarg."""

from prefect import Flow, task
from prefect.executors import LocalDaskExecutor


@task
def cube(x):
    return x**3


@task
def largest(values):
    return max(values)


with Flow("executor-local-dask", executor=LocalDaskExecutor(scheduler="threads", num_workers=2)) as flow:
    cubes = cube.map([1, 2, 3, 4, 5])
    biggest = largest(cubes)


if __name__ == "__main__":
    flow.run()
