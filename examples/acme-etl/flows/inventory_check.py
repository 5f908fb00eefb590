"""Inventory check: flag low stock, alert only when something is low."""
from prefect import Flow, Parameter, case, task
from prefect.executors import LocalDaskExecutor
from prefect.run_configs import LocalRun
from prefect.schedules import IntervalSchedule
from datetime import timedelta


@task
def load_stock(warehouse):
    return {"bolts": 120, "nuts": 4, "washers": 35} if warehouse == "north" else {"bolts": 3}


@task
def low_items(stock, threshold):
    return sorted(name for name, count in stock.items() if count < threshold)


@task
def has_low(items):
    return bool(items)


@task
def alert(items):
    return f"reorder: {', '.join(items)}"


with Flow("Inventory Check", executor=LocalDaskExecutor(), run_config=LocalRun(env={"TEAM": "ops"}, labels=["ops"])) as flow:
    warehouse = Parameter("warehouse", default="north")
    threshold = Parameter("threshold", default=10)
    items = low_items(load_stock(warehouse), threshold)
    with case(has_low(items), True):
        alert(items)

flow.schedule = IntervalSchedule(interval=timedelta(hours=4))

if __name__ == "__main__":
    flow.run()
