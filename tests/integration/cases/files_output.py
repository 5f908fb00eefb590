"""Observable results: tasks write JSON and CSV files under the working directory."""

import csv
import json
import os

from prefect import Flow, Parameter, task


@task
def make_rows(n):
    return [{"id": i, "value": i * i} for i in range(n)]


@task
def write_csv(rows, directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "rows.csv")
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "value"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@task
def write_summary(rows, csv_path, directory):
    path = os.path.join(directory, "summary.json")
    with open(path, "w") as fh:
        json.dump({"count": len(rows), "total": sum(r["value"] for r in rows), "csv": csv_path}, fh)
    return path


with Flow("files-output") as flow:
    n = Parameter("n", default=5)
    out_dir = Parameter("out_dir", default="output")
    rows = make_rows(n)
    csv_path = write_csv(rows, out_dir)
    summary = write_summary(rows, csv_path, out_dir)


if __name__ == "__main__":
    flow.run()
