"""Secrets: ``EnvVarSecret`` and ``PrefectSecret`` (read from PREFECT__CONTEXT__SECRETS__API_TOKEN).

Run with ``META_FLOWS_DB_PASSWORD`` and ``PREFECT__CONTEXT__SECRETS__API_TOKEN`` set. Only the
secrets' lengths are returned, never their values.
"""

from prefect import Flow, task
from prefect.tasks.secrets import EnvVarSecret, PrefectSecret


@task
def lengths(password, token):
    return {"password_length": len(password), "token_length": len(token)}


with Flow("secrets-env") as flow:
    password = EnvVarSecret("META_FLOWS_DB_PASSWORD")
    token = PrefectSecret("API_TOKEN")
    result = lengths(password, token)


if __name__ == "__main__":
    flow.run()
