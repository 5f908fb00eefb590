"""Task options set as attributes after the definition: max_retries, retry_delay, name, tags."""

import datetime

from prefect import Flow, task


@task
def flaky(path="edit_attempts.txt"):
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


@task
def label(value):
    return f"value={value}"


flaky.max_retries = 2
flaky.retry_delay = datetime.timedelta(seconds=0)
label.name = "renamed label"
label.tags = {"edited"}


with Flow("task-attribute-edits") as flow:
    label(flaky())


if __name__ == "__main__":
    flow.run()
