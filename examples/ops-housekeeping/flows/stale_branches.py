"""Stale branch report: list branches with no commit for a while, grouped by owner."""

import json
from datetime import date
from pathlib import Path

from prefect import Flow, Parameter, task, unmapped
from prefect.run_configs import LocalRun

# A stand-in for the Git server's API: last commit date of each branch, per repository.
BRANCHES = {
    "payments": {"main": "2024-02-19", "feat/refunds": "2023-11-02", "fix/rounding": "2024-02-01"},
    "web": {"main": "2024-02-20", "exp/new-nav": "2023-09-14", "chore/deps": "2023-12-30"},
    "infra": {"main": "2024-02-15", "try/arm-nodes": "2023-10-21"},
}
OWNERS = {"payments": "team-money", "web": "team-front", "infra": "team-platform"}


@task
def stale_in(repo, today, max_age_days):
    now = date.fromisoformat(today)
    return [
        {"repo": repo, "branch": branch, "age_days": (now - date.fromisoformat(last)).days}
        for branch, last in sorted(BRANCHES[repo].items())
        if branch != "main" and (now - date.fromisoformat(last)).days > max_age_days
    ]


@task
def by_owner(stale_lists):
    grouped = {}
    for stale in stale_lists:
        for item in stale:
            grouped.setdefault(OWNERS[item["repo"]], []).append(f"{item['repo']}:{item['branch']}")
    return grouped


@task
def write_report(grouped, today):
    path = Path("reports") / f"stale-branches-{today}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(grouped, indent=2, sort_keys=True))
    return str(path)


with Flow("stale-branches", run_config=LocalRun(labels=["ops"])) as flow:
    today = Parameter("today", default="2024-02-20")
    max_age_days = Parameter("max_age_days", default=45)
    repos = Parameter("repos", default=["payments", "web", "infra"])
    write_report(
        by_owner(stale_in.map(repos, today=unmapped(today), max_age_days=unmapped(max_age_days))),
        today,
    )

if __name__ == "__main__":
    flow.run()
