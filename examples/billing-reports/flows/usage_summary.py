"""Weekly usage summary: meter readings per customer, priced, rolled up, overage notices filed."""

from pathlib import Path

import prefect
from prefect import Flow, Parameter, Task, case, task, unmapped
from prefect.run_configs import DockerRun
from prefect.storage import GitHub
from prefect.utilities.tasks import defaults_from_attrs

from flows.schedules import WEEKLY

# A stand-in for the metering API: API calls per customer per day of the week.
METER = {
    "brightwell": [1200, 1350, 990, 1410, 1500, 200, 180],
    "cobalt-freight": [8800, 9100, 9050, 8700, 9900, 4000, 3900],
    "lumen": [40, 55, 61, 38, 70, 0, 0],
}


@task
def read_meter(customer, week):
    # The same week's readings, shifted by the week number so that each week differs.
    shift = int(week.split("-W")[1])
    return {"customer": customer, "calls": [n + shift for n in METER[customer]]}


class PriceUsage(Task):
    """Price a customer's weekly calls: a free tier, then a per-thousand rate."""

    def __init__(self, free_calls=5000, cents_per_thousand=40, **kwargs):
        self.free_calls = free_calls
        self.cents_per_thousand = cents_per_thousand
        super().__init__(**kwargs)

    @defaults_from_attrs("free_calls", "cents_per_thousand")
    def run(self, usage, quota, free_calls=None, cents_per_thousand=None):
        calls = sum(usage["calls"])
        billable = max(0, calls - free_calls)
        return {
            "customer": usage["customer"],
            "calls": calls,
            "amount_cents": billable * cents_per_thousand // 1000,
            "over_quota": calls > quota,
        }


price_usage = PriceUsage(cents_per_thousand=45, name="price_usage")


@task
def roll_up(priced, week):
    logger = prefect.context.get("logger")
    summary = {
        "week": week,
        "customers": len(priced),
        "calls": sum(p["calls"] for p in priced),
        "amount_cents": sum(p["amount_cents"] for p in priced),
        "over_quota": sorted(p["customer"] for p in priced if p["over_quota"]),
    }
    logger.info("week %s: %s calls, %s cents", week, summary["calls"], summary["amount_cents"])
    return summary


@task
def any_over_quota(summary):
    return bool(summary["over_quota"])


@task
def file_overage_notices(summary):
    path = Path("notices") / f"overage-{summary['week']}.txt"
    path.parent.mkdir(exist_ok=True)
    lines = [
        f"{customer}: over the weekly quota in {summary['week']}"
        for customer in summary["over_quota"]
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


with Flow(
    "usage-summary",
    storage=GitHub(repo="globex/billing-reports", path="flows/usage_summary.py", ref="main"),
    run_config=DockerRun(image="globex/billing:2.3", env={"BILLING_ENV": "prod"}),
    schedule=WEEKLY,
) as flow:
    week = Parameter("week", default="2024-W11")
    customers = Parameter("customers", default=["brightwell", "cobalt-freight", "lumen"])
    quota = Parameter("quota", default=50000)
    usage = read_meter.map(customers, week=unmapped(week))
    priced = price_usage.map(usage, quota=unmapped(quota))
    summary = roll_up(priced, week)
    with case(any_over_quota(summary), True):
        file_overage_notices(summary)

if __name__ == "__main__":
    flow.register(project_name="billing")
