"""Aliased imports: ``from prefect import Flow as PFlow`` and friends."""

from prefect import Flow as PFlow
from prefect import Parameter as Param
from prefect import task as ptask
from prefect.executors import LocalExecutor as SerialExecutor


@ptask
def base(n):
    return list(range(n))


@ptask(name="evens")
def keep_even(values):
    return [v for v in values if v % 2 == 0]


with PFlow("import-aliases", executor=SerialExecutor()) as flow:
    n = Param("n", default=6)
    evens = keep_even(base(n))


if __name__ == "__main__":
    flow.run()
