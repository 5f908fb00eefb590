"""Mapping: a map, a chained map over its results, and a reduce over the mapped results."""

from prefect import Flow, task


@task
def numbers():
    return [1, 2, 3, 4]


@task
def square(x):
    return x * x


@task
def plus_one(x):
    return x + 1


@task
def total(values):
    return sum(values)


with Flow("map-reduce") as flow:
    squares = square.map(numbers())
    bumped = plus_one.map(squares)
    result = total(bumped)


if __name__ == "__main__":
    flow.run()
