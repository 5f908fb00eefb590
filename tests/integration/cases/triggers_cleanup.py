"""Triggers: an ``all_finished`` cleanup task and an ``any_failed`` alert after a failing task."""

import json

from prefect import Flow, task
from prefect.triggers import all_finished, any_failed


@task
def make_scratch():
    with open("scratch.txt", "w") as fh:
        fh.write("temporary")
    return "scratch.txt"


@task
def crunch(path):
    raise ValueError(f"cannot crunch {path}")


@task(trigger=all_finished)
def cleanup(path):
    with open("cleanup.json", "w") as fh:
        json.dump({"removed": path}, fh)
    return path


@task(trigger=any_failed)
def alert():
    with open("alert.txt", "w") as fh:
        fh.write("crunch failed")
    return "alerted"


with Flow("triggers-cleanup") as flow:
    scratch = make_scratch()
    crunched = crunch(scratch)
    cleaned = cleanup(scratch, upstream_tasks=[crunched])
    alerted = alert(upstream_tasks=[crunched])


if __name__ == "__main__":
    flow.run()
