"""``prefect.context``: the logger, parameters, today and flow_name read inside tasks."""

import prefect
from prefect import Flow, Parameter, task


@task
def log_greeting(who):
    logger = prefect.context.get("logger")
    logger.info("Hello %s", who)
    return f"hello {who}"


@task
def read_context():
    params = prefect.context.get("parameters")
    today = prefect.context.get("today")
    flow_name = prefect.context.flow_name
    prefect.context.logger.info("running %s on %s", flow_name, today)
    return {"who": params["who"], "flow": flow_name, "today_is_str": isinstance(today, str)}


with Flow("context-usage") as flow:
    who = Parameter("who", default="world")
    greeting = log_greeting(who)
    info = read_context(upstream_tasks=[greeting])


if __name__ == "__main__":
    flow.run()
