"""``upstream_tasks=`` of ``.map``: mapped over unless wrapped in ``unmapped`` (issue #14)."""

from prefect import Flow, task, unmapped


@task
def batches():
    return [10, 20]


@task
def scale(x, factor):
    return x * factor


@task
def total(xs):
    return sum(xs)


with Flow("map-upstream") as flow:
    ready = batches()
    # all three items, each after `ready`
    first = scale.map([1, 2, 3], factor=unmapped(2), upstream_tasks=[unmapped(ready)])
    # mapped over `ready` too: as long as the shortest input, two items
    second = scale.map(first, unmapped(3), upstream_tasks=[ready, unmapped(first)])
    total(second)


if __name__ == "__main__":
    flow.run()
