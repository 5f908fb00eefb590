"""Several flows in one module sharing tasks."""

from prefect import Flow, Parameter, task


@task
def load(name):
    return {"name": name, "rows": len(name)}


@task
def check(record):
    return record["rows"] > 0


with Flow("ingest-users") as users_flow:
    users = load("users")
    users_ok = check(users)

with Flow("ingest-orders") as orders_flow:
    table = Parameter("table", default="orders")
    orders = load(table)
    orders_ok = check(orders)


if __name__ == "__main__":
    users_flow.run()
    orders_flow.run()
