"""A task checkpointing its result to a directory under the run's own (`LocalResult(dir=...)`),
next to a task writing a file of its own."""

from prefect import Flow, task
from prefect.engine.results import LocalResult


@task(result=LocalResult(dir="./results"))
def total(values):
    return sum(values)


@task
def write_summary(value):
    with open("summary.txt", "w") as fh:
        fh.write(f"total={value}\n")
    return value * 2


with Flow("result-local-dir") as flow:
    doubled = write_summary(total([1, 2, 3, 4]))


if __name__ == "__main__":
    flow.run()
