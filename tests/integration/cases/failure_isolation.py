"""A task called for its effect alone fails; the tasks after it, which do not depend on it, still
run (Prefect 1 ran independent branches after a failure) and the flow fails by design."""

import json

from prefect import Flow, task


@task
def notify():
    raise ValueError("the notifier is down")


@task
def extract():
    return [1, 2, 3]


@task
def load(rows):
    with open("loaded.json", "w") as fh:
        json.dump(rows, fh)
    return len(rows)


with Flow("failure-isolation") as flow:
    notify()
    load(extract())


if __name__ == "__main__":
    flow.run()
