"""``task_args``: per-call overrides of a task's name and tags."""

from prefect import Flow, task


@task
def fetch(source):
    return f"data from {source}"


with Flow("task-args-override") as flow:
    api = fetch("api", task_args=dict(name="fetch-api", tags=["api"]))
    db = fetch("db", task_args={"name": "fetch-db"})


if __name__ == "__main__":
    flow.run()
