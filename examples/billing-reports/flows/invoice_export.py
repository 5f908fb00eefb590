"""Monthly invoice export: one report per region, each reconciled against the ledger first.

The regions are independent: a region whose invoices do not add up to the ledger's control total
must not be exported, but that is no reason to hold back the other regions' reports.
"""

import json
from pathlib import Path

import prefect
from prefect import Flow, Parameter, task
from prefect.run_configs import DockerRun
from prefect.storage import GitHub

from flows.schedules import MONTHLY_CLOSE

# A stand-in for the billing database: invoices (amounts in cents) per region and month.
INVOICES = {
    ("emea", "2024-03"): [
        {"id": "INV-E-1001", "customer": "Brightwell GmbH", "amount": 129900},
        {"id": "INV-E-1002", "customer": "Noordzee BV", "amount": 45000},
        {"id": "CRN-E-0007", "customer": "Noordzee BV", "amount": -5000},
        {"id": "INV-E-1003", "customer": "Lumen SAS", "amount": 87550},
    ],
    ("amer", "2024-03"): [
        {"id": "INV-A-2001", "customer": "Cobalt Freight", "amount": 310000},
        {"id": "INV-A-2002", "customer": "Pine & Oak LLC", "amount": 15999},
        {"id": "INV-A-2003", "customer": "Cobalt Freight", "amount": 42001},
    ],
}

# The ledger's control totals. EMEA's includes a credit note that never reached the billing system,
# so the March reconciliation for EMEA fails on purpose.
LEDGER_TOTALS = {
    ("emea", "2024-03"): 252450,
    ("amer", "2024-03"): 368000,
}


@task
def load_invoices(region, month):
    return INVOICES.get((region, month), [])


@task
def reconcile(invoices, region, month):
    logger = prefect.context.get("logger")
    total = sum(invoice["amount"] for invoice in invoices)
    expected = LEDGER_TOTALS.get((region, month), 0)
    if total != expected:
        raise ValueError(
            f"{region} {month}: invoices add up to {total} cents, the ledger says {expected}"
        )
    logger.info("%s %s reconciled: %s invoices, %s cents", region, month, len(invoices), total)
    return {"region": region, "month": month, "count": len(invoices), "total_cents": total}


@task
def write_region_report(summary, invoices):
    path = Path("exports") / summary["month"] / f"invoices-{summary['region']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**summary, "invoices": sorted(invoices, key=lambda invoice: invoice["id"])}
    path.write_text(json.dumps(body, indent=2, sort_keys=True))
    return str(path)


with Flow(
    "invoice-export",
    storage=GitHub(repo="globex/billing-reports", path="flows/invoice_export.py", ref="main"),
    run_config=DockerRun(image="globex/billing:2.3", env={"BILLING_ENV": "prod"}),
    schedule=MONTHLY_CLOSE,
) as flow:
    month = Parameter("month", default="2024-03")

    emea_invoices = load_invoices("emea", month)
    emea_summary = reconcile(emea_invoices, "emea", month)
    write_region_report(emea_summary, emea_invoices)

    amer_invoices = load_invoices("amer", month)
    amer_summary = reconcile(amer_invoices, "amer", month)
    write_region_report(amer_summary, amer_invoices)

if __name__ == "__main__":
    flow.register(project_name="billing")
