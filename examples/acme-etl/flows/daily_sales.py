"""Daily sales roll-up: extract orders per region, total them, write a CSV report."""
import json
from datetime import timedelta
from pathlib import Path

import prefect
from prefect import Flow, Parameter, task, unmapped
from prefect.run_configs import KubernetesRun
from prefect.storage import GitHub

from flows.schedules import NIGHTLY


@task(max_retries=2, retry_delay=timedelta(seconds=30))
def extract_orders(region, day):
    # A stand-in for the warehouse query: deterministic orders per region and day.
    base = sum(ord(c) for c in region + day)
    return [{"region": region, "amount": (base * (i + 1)) % 97} for i in range(5)]


@task
def total(orders, currency):
    logger = prefect.context.get("logger")
    amount = sum(o["amount"] for o in orders)
    logger.info("total for %s: %s %s", orders[0]["region"], amount, currency)
    return {"region": orders[0]["region"], "total": amount, "currency": currency}


@task(log_stdout=True)
def write_report(totals, day):
    path = Path("reports") / f"sales-{day}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(sorted(totals, key=lambda t: t["region"]), indent=2))
    print(f"wrote {path}")
    return str(path)


with Flow(
    "daily-sales",
    storage=GitHub(repo="acme/etl", path="flows/daily_sales.py", ref="main", access_token_secret="GITHUB_TOKEN"),
    run_config=KubernetesRun(image="acme/etl:1.4", cpu_request="500m", memory_limit="1Gi", env={"STAGE": "prod"}),
    schedule=NIGHTLY,
) as flow:
    day = Parameter("day", default="2024-01-01")
    regions = Parameter("regions", default=["eu", "us", "apac"])
    currency = Parameter("currency", default="EUR")
    orders = extract_orders.map(regions, day=unmapped(day))
    totals = total.map(orders, currency=unmapped(currency))
    write_report(totals, day)

if __name__ == "__main__":
    flow.register(project_name="sales")
