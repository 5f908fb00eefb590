"""A module-level ``PrefectSecret`` passed to a task in the flow (issue #14).

Run with ``PREFECT__CONTEXT__SECRETS__API_TOKEN`` set (Prefect 2: Secret block ``api-token``).
"""

from prefect import Flow, task
from prefect.tasks.secrets import PrefectSecret

TOKEN = PrefectSecret("API_TOKEN")


@task
def token_length(token):
    return len(token)


with Flow("secret-module-level") as flow:
    token_length(TOKEN)


if __name__ == "__main__":
    flow.run()
