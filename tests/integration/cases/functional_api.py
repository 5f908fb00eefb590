"""The functional API: ``Flow("x")``, ``add_task``, ``set_dependencies`` and ``add_edge``."""

from prefect import Flow, task


@task
def extract():
    return [3, 1, 2]


@task
def transform(data):
    return sorted(data)


@task
def load(data):
    return {"loaded": data}


@task
def notify():
    return "done"


flow = Flow("functional-api")
flow.add_task(extract)
flow.set_dependencies(task=transform, upstream_tasks=[extract], keyword_tasks={"data": extract})
flow.set_dependencies(task=load, keyword_tasks={"data": transform})
flow.add_edge(load, notify)


if __name__ == "__main__":
    flow.run()
