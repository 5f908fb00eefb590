"""Ordering without data: ``upstream_tasks=``, ``set_upstream`` and ``set_downstream``."""

from prefect import Flow, task


@task
def create_table():
    with open("order.log", "a") as fh:
        fh.write("create\n")
    return "created"


@task
def load_rows():
    with open("order.log", "a") as fh:
        fh.write("load\n")
    return 3


@task
def index_table():
    with open("order.log", "a") as fh:
        fh.write("index\n")
    return "indexed"


@task
def vacuum():
    with open("order.log", "a") as fh:
        fh.write("vacuum\n")
    return "vacuumed"


with Flow("upstream-dependencies") as flow:
    created = create_table()
    loaded = load_rows(upstream_tasks=[created])
    indexed = index_table()
    indexed.set_upstream(loaded)
    vacuumed = vacuum()
    indexed.set_downstream(vacuumed)


if __name__ == "__main__":
    flow.run()
