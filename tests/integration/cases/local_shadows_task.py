"""A flow-body variable named like the task it calls (``documents = documents()``, issue #14)."""

from prefect import Flow, task


@task
def documents():
    return ["a", "bb", "ccc"]


@task
def sizes(docs):
    return [len(d) for d in docs]


with Flow("local-shadows-task") as flow:
    documents = documents()
    sizes(documents)


if __name__ == "__main__":
    flow.run()
