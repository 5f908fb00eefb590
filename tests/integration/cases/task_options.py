"""Task options: max_retries, retry_delay, timeout, log_stdout, checkpoint, nout, tags, name."""

import datetime

from prefect import Flow, task


@task(max_retries=2, retry_delay=datetime.timedelta(seconds=0))
def flaky_once(path="attempts.txt"):
    try:
        with open(path) as fh:
            attempts = int(fh.read())
    except FileNotFoundError:
        attempts = 0
    with open(path, "w") as fh:
        fh.write(str(attempts + 1))
    if attempts == 0:
        raise RuntimeError("first attempt fails")
    return attempts + 1


@task(timeout=10, log_stdout=True)
def chatty():
    print("printing from a task")
    return "printed"


@task(checkpoint=False, tags=["cheap", "io"])
def uncached():
    return 1


@task(nout=2)
def split_pair():
    return "left", "right"


@task(name="Renamed Task")
def renamed(left, right):
    return f"{left}-{right}"


with Flow("task-options") as flow:
    attempts = flaky_once()
    printed = chatty()
    one = uncached()
    left, right = split_pair()
    joined = renamed(left, right)


if __name__ == "__main__":
    flow.run()
