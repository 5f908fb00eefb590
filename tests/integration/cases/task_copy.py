"""Task.copy(**task_args): copies with other options (retries, retry delay, name, tags)."""

import datetime

from prefect import Flow, task


@task
def flaky(path="copy_attempts.txt"):
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


@task(name="label")
def label(value):
    return f"value={value}"


flaky_retried = flaky.copy(max_retries=2, retry_delay=datetime.timedelta(seconds=0))


with Flow("task-copy") as flow:
    attempts = flaky_retried()
    first = label.copy(name="first label", tags=["copy"])(attempts)
    second = label(first)


if __name__ == "__main__":
    flow.run()
