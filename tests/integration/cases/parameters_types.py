"""Parameters: a required one, defaults of several types, and a ``DateTimeParameter``."""

from prefect import Flow, Parameter, task
from prefect.core.parameter import DateTimeParameter


@task
def summarize(name, count, ratio, enabled, tags, options, start):
    return {
        "name": name,
        "count": count,
        "ratio": ratio,
        "enabled": enabled,
        "tags": list(tags),
        "options": dict(options),
        "start": start.isoformat() if start is not None else None,
    }


with Flow("parameters-types") as flow:
    name = Parameter("name")
    count = Parameter("count", default=3)
    ratio = Parameter("ratio", default=0.5)
    enabled = Parameter("enabled", default=True)
    tags = Parameter("tags", default=["a", "b"])
    options = Parameter("options", default={"mode": "fast"}, required=False)
    start = DateTimeParameter("start", required=False)
    summary = summarize(name, count, ratio, enabled, tags, options, start)


if __name__ == "__main__":
    flow.run(parameters={"name": "demo", "start": "2024-01-02T03:04:05+00:00"})
