"""The imperative API inside a `with Flow` block (issue #14): edges the calls already order, and
a task bound with `set_dependencies` / `add_task` without being called."""

from prefect import Flow, task


@task
def extract():
    return [1, 2, 3]


@task
def load(rows):
    return len(rows)


@task
def notify():
    with open("notified.txt", "w") as f:
        f.write("notified\n")
    return "sent"


@task
def audit():
    return "audited"


with Flow("imperative-with") as flow:
    rows = extract()
    loaded = load(rows)
    flow.add_edge(rows, loaded)
    flow.set_dependencies(task=notify, upstream_tasks=[loaded])
    flow.add_task(audit)


if __name__ == "__main__":
    flow.run()
