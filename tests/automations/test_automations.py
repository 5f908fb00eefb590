"""meta_flows.adapters.prefect2.automations against a real Prefect 2 server (events on), with a real HTTP receiver
standing in for the webhook and real failing flow runs setting the automations off."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prefect import flow, tags
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from meta_flows.adapters.prefect2.automations import (
    NOTIFY_MIGRATED,
    NOTIFY_WAVE,
    PREFIX,
    AutomationsUnavailable,
    RollbackDeploymentMissing,
    apply_automations,
    apply_command,
    rollback_automation_name,
)
from meta_flows.core.deployments.plan import MIGRATED_TAG
from meta_flows.core.registry import Registry


def make_registry(projects: list[tuple[str, str]], **notifications) -> Registry:
    waves = sorted({wave for _, wave in projects} | {"demo"})
    return Registry.model_validate(
        {
            "waves": [{"name": w} for w in waves],
            "projects": [
                {"name": name, "wave": wave, "git_url": f"/srv/{name}.git"}
                for name, wave in projects
            ],
            "notifications": notifications,
        }
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_deployment(client, flow_name: str, name: str) -> uuid.UUID:
    flow_id = await client.create_flow_from_name(flow_name)
    return await client.create_deployment(flow_id=flow_id, name=name)


async def ours(client) -> list:
    return [a for a in await client.read_automations() if a.name.startswith(PREFIX)]


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r

    async def forget_notifications():
        # a notification automation left pointing at a closed receiver would keep the server's
        # action queue busy with failing webhook calls (later tests wait on actions too)
        async with get_client() as client:
            for name in (NOTIFY_WAVE, NOTIFY_MIGRATED):
                for automation in await client.read_automations_by_name(name):
                    await client.delete_automation(automation.id)

    asyncio.run(forget_notifications())
    r.close()


@flow(name="migrated-thing")
def migrated_thing(marker: str) -> None:
    raise ValueError(f"deliberate failure {marker}")


@flow(name="migrate-wave")
def failing_wave(marker: str) -> None:
    raise RuntimeError(f"wave broke {marker}")


def fail_migrated_run(project: str, marker: str):
    with tags(f"project:{project}", MIGRATED_TAG):
        state = migrated_thing(marker, return_state=True)
    assert state.is_failed()
    return state


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_apply_twice_keeps_the_same_automations(events_api):
    project = unique("idem")
    registry = make_registry(
        [(project, "demo")], webhook_url="http://127.0.0.1:9/hook", rollback_after_failures=4
    )

    async def scenario():
        async with get_client() as client:
            await create_deployment(client, "rollback-wave", "rollback-wave")
            first = await apply_automations(registry, wave="demo", client=client)
            count = len(await ours(client))
            second = await apply_automations(registry, wave="demo", client=client)
            after_second = len(await ours(client))
            changed = registry.model_copy(deep=True)
            changed.notifications.rollback_after_failures = 5
            third = await apply_automations(changed, wave="demo", client=client)
            stored = await client.read_automations_by_name(rollback_automation_name(project))
            return first, count, second, after_second, third, len(await ours(client)), stored

    first, count, second, after_second, third, after_third, stored = asyncio.run(scenario())
    names = [r.name for r in first]
    assert names == [NOTIFY_WAVE, NOTIFY_MIGRATED, rollback_automation_name(project)]
    assert first[2].action == "created"
    assert {r.action for r in second} == {"unchanged"}
    assert [r.id for r in second] == [r.id for r in first]
    assert after_second == count
    # a changed threshold updates the project's automation in place, the others are kept
    assert [r.action for r in third] == ["unchanged", "unchanged", "updated"]
    assert [r.id for r in third] == [r.id for r in first]
    assert after_third == count
    assert len(stored) == 1 and stored[0].trigger.triggers[0].threshold == 5
    assert [a.type for a in stored[0].actions] == ["run-deployment"]  # not lost in the update


def test_webhook_receives_notification_of_failed_migrated_flow(events_api, receiver):
    registry = make_registry([], webhook_url=receiver.url)
    results = asyncio.run(apply_automations(registry))
    assert [(r.name, r.action in ("created", "updated", "unchanged")) for r in results] == [
        (NOTIFY_WAVE, True),
        (NOTIFY_MIGRATED, True),
    ]

    marker = uuid.uuid4().hex
    state = fail_migrated_run(unique("notify"), marker)
    run_id = str(state.state_details.flow_run_id)

    wave_state = failing_wave(marker, return_state=True)
    assert wave_state.is_failed()
    wave_run_id = str(wave_state.state_details.flow_run_id)

    def arrived(flow_run_id: str):
        for raw in list(receiver.bodies):
            payload = json.loads(raw)
            if flow_run_id in payload["body"]:
                return payload
        return None

    payload = wait_for(lambda: arrived(run_id), 60, "the failed migrated run's notification")
    assert payload["source"] == "meta-flows"
    assert "migrated-thing" in payload["subject"] and "Failed" in payload["subject"]
    assert marker in payload["body"]  # the state message, from the flow's exception
    assert MIGRATED_TAG in payload["body"]
    assert NOTIFY_MIGRATED in payload["body"]
    wave_payload = wait_for(lambda: arrived(wave_run_id), 30, "the failed wave's notification")
    assert "of flow migrate-wave is Failed" in wave_payload["subject"]
    assert NOTIFY_WAVE in wave_payload["body"]


def test_rollback_automation_runs_the_rollback_deployment(events_api):
    project = unique("rb")
    registry = make_registry(
        [(project, "demo"), (unique("other"), "later")],
        rollback_after_failures=2,
        failure_window_seconds=120,
    )

    async def apply():
        async with get_client() as client:
            deployment_id = await create_deployment(client, "rollback-wave", "test-rollback")
            results = await apply_automations(
                registry, wave="demo", rollback_deployment="rollback-wave/test-rollback"
            )
            (automation,) = await client.read_automations_by_name(rollback_automation_name(project))
            return deployment_id, results, automation

    deployment_id, results, automation = asyncio.run(apply())
    # no webhook configured: notifications skipped; only the wave's project gets a rollback
    assert [(r.name, r.action) for r in results] == [
        (NOTIFY_WAVE, "skipped"),
        (NOTIFY_MIGRATED, "skipped"),
        (rollback_automation_name(project), "created"),
    ]
    trigger = automation.trigger
    assert trigger.type == "compound" and trigger.require == "all"
    assert trigger.within == timedelta(seconds=120)
    counted, migrated = trigger.triggers
    assert (counted.threshold, counted.within) == (2, timedelta(seconds=120))
    assert counted.expect == {"prefect.flow-run.Failed"}
    assert dict(counted.match_related.items())["prefect.resource.id"] == [
        f"prefect.tag.project:{project}"
    ]
    assert dict(migrated.match_related.items())["prefect.resource.id"] == [
        f"prefect.tag.{MIGRATED_TAG}"
    ]
    (action,) = automation.actions
    assert action.type == "run-deployment" and action.deployment_id == deployment_id
    assert action.parameters["wave"] == "demo"
    assert action.parameters["project"] == project

    async def rollback_runs():
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        async with get_client() as client:
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )

    fail_migrated_run(project, "one")
    fail_migrated_run(project, "two")
    (run,) = wait_for(lambda: asyncio.run(rollback_runs()), 180, "the rollback flow run")
    assert run.parameters["project"] == project and run.parameters["wave"] == "demo"
    assert "2 failed run(s)" in run.parameters["reason"]


def test_missing_rollback_deployment_is_a_clear_error(events_api):
    registry = make_registry([(unique("missing"), "demo")], webhook_url="http://127.0.0.1:9/x")

    async def scenario():
        async with get_client() as client:
            before = len(await ours(client))
            with pytest.raises(RollbackDeploymentMissing) as info:
                await apply_automations(registry, rollback_deployment="rollback-wave/nowhere")
            return before, len(await ours(client)), str(info.value)

    before, after, message = asyncio.run(scenario())
    assert "'rollback-wave/nowhere' not found" in message
    assert "prefect deploy --name rollback-wave" in message
    assert after == before  # checked before anything was written


class NoAutomations(BaseHTTPRequestHandler):
    """Answers like a Prefect 2.20 server started without PREFECT_EXPERIMENTAL_EVENTS (and
    without CSRF protection, as by default): /automations/* is 404."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/api/csrf-token"):
            self.answer(422, {"detail": "CSRF protection is disabled."})
        else:
            self.answer(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/api/automations/"):
            self.answer(404, {"detail": "Automations are not enabled."})
        else:
            self.answer(404, {"detail": "Not Found"})

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_server_without_events_is_a_clear_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoAutomations)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        # The client sends automations (events on in its settings); the server refuses them.
        from prefect.settings import PREFECT_EXPERIMENTAL_EVENTS

        with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_EXPERIMENTAL_EVENTS: True}):
            with pytest.raises(AutomationsUnavailable) as info:
                asyncio.run(apply_automations(make_registry([])))
    finally:
        server.shutdown()
        server.server_close()
    assert "PREFECT_EXPERIMENTAL_EVENTS=true" in str(info.value)
    assert "Automations are not enabled" in str(info.value)


def test_client_without_events_is_a_clear_error(events_api):
    from prefect.settings import PREFECT_EXPERIMENTAL_EVENTS

    with temporary_settings(updates={PREFECT_EXPERIMENTAL_EVENTS: False}):
        with pytest.raises(AutomationsUnavailable, match="PREFECT_EXPERIMENTAL_EVENTS=true"):
            asyncio.run(apply_automations(make_registry([])))


def test_apply_command_prints_one_line_per_automation(events_api, tmp_path, capsys):
    registry = tmp_path / "registry.yaml"
    project = unique("cli")
    registry.write_text(
        "waves: [{name: demo}]\n"
        f"projects: [{{name: {project}, wave: demo, git_url: /srv/x.git}}]\n"
        "notifications: {webhook_url: 'http://127.0.0.1:9/hook'}\n",
        encoding="utf-8",
    )
    asyncio.run(_ensure_rollback_deployment())
    assert apply_command(registry, "demo", "rollback-wave/rollback-wave") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[2].startswith(f"created: {rollback_automation_name(project)} (")
    assert apply_command(registry, "nope", "rollback-wave/rollback-wave") == 1
    assert "unknown wave 'nope'" in capsys.readouterr().err


async def _ensure_rollback_deployment() -> None:
    async with get_client() as client:
        try:
            await client.read_deployment_by_name("rollback-wave/rollback-wave")
        except Exception:
            await create_deployment(client, "rollback-wave", "rollback-wave")


def test_unreachable_api_is_reported_by_the_command(tmp_path, capsys):
    from meta_flows.adapters.prefect2.local_server import free_port

    registry = tmp_path / "registry.yaml"
    registry.write_text("waves: [{name: demo}]\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    with temporary_settings(updates={PREFECT_API_URL: url}):
        assert apply_command(registry, None, "rollback-wave/rollback-wave") == 1
    assert capsys.readouterr().err.startswith("error: ")
