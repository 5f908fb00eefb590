"""Archive cleanup: page through the backup bucket's listing and expire what is past retention.

The listing API returns a page of keys and a token for the next page; the task walks every page
with Prefect 1's LOOP signal, carrying what it found so far from one iteration to the next.
"""

import json
from datetime import date, timedelta
from pathlib import Path

import prefect
from prefect import Flow, Parameter, task
from prefect.engine.signals import LOOP
from prefect.run_configs import LocalRun

PAGE_SIZE = 4


def list_backups(page_token):
    """A stand-in for the object store's paged listing: (keys, next page token or None)."""
    keys = [f"db/{date(2024, 1, 1) + timedelta(days=3 * i)}.dump.gz" for i in range(18)]
    start = int(page_token or 0)
    end = start + PAGE_SIZE
    return keys[start:end], (str(end) if end < len(keys) else None)


@task
def collect_keys():
    progress = prefect.context.get("task_loop_result", {"token": None, "keys": []})
    keys, next_token = list_backups(progress["token"])
    found = progress["keys"] + keys
    if next_token is not None:
        raise LOOP(message=f"page {next_token}", result={"token": next_token, "keys": found})
    return found


@task
def expired(keys, today, retention_days):
    cutoff = date.fromisoformat(today) - timedelta(days=retention_days)
    return [key for key in keys if date.fromisoformat(key[3:13]) < cutoff]


@task
def write_manifest(keys, today):
    logger = prefect.context.get("logger")
    path = Path("manifests") / f"expire-{today}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"date": today, "expire": keys}, indent=2))
    logger.info("%s backups to expire, manifest %s", len(keys), path)
    return str(path)


with Flow(
    "archive-cleanup", run_config=LocalRun(labels=["ops"], env={"BUCKET": "backups-prod"})
) as flow:
    today = Parameter("today", default="2024-02-20")
    retention_days = Parameter("retention_days", default=30)
    keys = collect_keys()
    write_manifest(expired(keys, today, retention_days), today)

if __name__ == "__main__":
    flow.run()
