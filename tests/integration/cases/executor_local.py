"""Executors: ``LocalExecutor`` assigned after the flow is built."""

from prefect import Flow, task
from prefect.executors import LocalExecutor


@task
def first():
    return "a"


@task
def second(prev):
    return prev + "b"


with Flow("executor-local") as flow:
    joined = second(first())

flow.executor = LocalExecutor()


if __name__ == "__main__":
    flow.run()
