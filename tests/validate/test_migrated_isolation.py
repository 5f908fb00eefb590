"""The Prefect 2 children of validation act on nothing outside their runs: the credentials and
settings of the wave's own process do not reach the flow's code."""

from __future__ import annotations

import json
import os

from meta_flows.sandbox.migrated_run import run_migrated_many

PROFILE = """
active = "production"

[profiles.production]
PREFECT_API_KEY = "profile-key"
"""

ENVIRON = """
import os

from prefect import flow, task
from prefect.settings import PREFECT_API_KEY


@task
def seen():
    return {
        "environ": sorted(os.environ),
        "home": os.environ.get("HOME"),
        "api_url": os.environ.get("PREFECT_API_URL"),
        "api_key_setting": PREFECT_API_KEY.value(),
    }


@flow(name="environ")
def environ():
    return seen()
"""

SECRETS = {
    "PREFECT_API_KEY": "wave-key",
    "PREFECT__CLOUD__API_KEY": "prefect1-key",
    "PREFECT__BACKEND": "cloud",
    "AWS_ACCESS_KEY_ID": "AKIA-wave",
    "AWS_SECRET_ACCESS_KEY": "wave-secret",
    "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/gcp.json",
    "AZURE_CLIENT_SECRET": "azure-secret",
    "GITHUB_TOKEN": "ghp_wave",
    "DATABASE_URL": "postgresql://wave:pw@prod/db",
    "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql://prefect:pw@prod/prefect",
}


def test_the_child_sees_no_credential_of_the_waves_process(prefect_api, tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # a Prefect home whose active profile holds an API key
    prefect_home = tmp_path / "prefect-home"
    prefect_home.mkdir()
    (prefect_home / "profiles.toml").write_text(PROFILE)
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "environ.py").write_text(ENVIRON)
    [capture] = run_migrated_many(
        repo, [{"file": "environ.py", "function_name": "environ", "flow_name": "environ"}], 60
    )
    assert capture.ok, capture.error or capture.message
    [task] = capture.tasks
    seen = task.result
    assert not set(SECRETS) & set(seen["environ"]), json.dumps(seen, indent=1)
    assert not [n for n in seen["environ"] if n.startswith("PREFECT__")]
    assert seen["api_key_setting"] is None  # the profile was not read
    assert seen["api_url"] == prefect_api
    assert seen["home"] != os.environ["HOME"]  # ~/.aws, ~/.netrc... are not the operator's


def test_the_child_keeps_what_an_interpreter_needs(monkeypatch):
    from meta_flows.sandbox.migrated_run import child_env

    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("PREFECT_API_KEY", "wave-key")
    env = child_env()
    assert (env["LANG"], env["PATH"]) == ("C.UTF-8", os.environ["PATH"])
    assert "PREFECT_API_KEY" not in env
