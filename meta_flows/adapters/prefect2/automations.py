"""``meta-flows automations apply``: the Prefect automations that watch a migration (issue 5).

Three kinds of automation are created on the Prefect 2 API, each under a fixed ``meta-flows: ...``
name so that applying again updates or keeps it and never adds a second one:

- ``meta-flows: notify on wave failure``: a ``migrate-wave`` or ``rollback-wave`` flow run failed
  or crashed; a notification goes to every configured webhook.
- ``meta-flows: notify on migrated flow failure``: a flow run related to the tag
  ``migrated-from-prefect1`` (every migrated deployment carries it) failed or crashed.
- ``meta-flows: rollback <project> after repeated failures``, one per project: when
  ``rollback_after_failures`` runs of the project's migrated flows end Failed within
  ``failure_window_seconds``, the rollback deployment (``rollback-wave/rollback-wave`` unless told
  otherwise) is run with ``{wave, project, reason}``.

The notification targets come from the registry's ``notifications`` (``webhook_url``: a JSON POST
of ``{subject, body}``; ``slack_webhook_url``: a Slack incoming webhook). They are saved as blocks
named ``meta-flows-webhook`` and ``meta-flows-slack``, overwritten on every apply. Without either
URL the two notification automations are skipped (and say so); existing ones are left as they are.

Prefect 2.20's open-source server runs automations only with ``PREFECT_EXPERIMENTAL_EVENTS=true``
on the server (its triggers and actions services) and on the client (which otherwise refuses the
automation calls); :class:`AutomationsUnavailable` says so when either is missing.

A rollback trigger has to see failures that carry two tags, ``project:<name>`` and
``migrated-from-prefect1``, while one Prefect trigger matches one related resource, so it is a
compound trigger of two that must both fire within the window: ``rollback_after_failures`` Failed
runs tagged ``project:<name>``, and as many Failed runs tagged ``migrated-from-prefect1``. When the
project's failing runs are its migrated ones (meta-flows gives them both tags) the two count the
same events and fire together; failures of other flows tagged ``project:<name>`` alone do not
start a rollback. (A crash is left to the notifications: it says more about the infrastructure
than about the migration.)
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from meta_flows.core.deployments.plan import MIGRATED_TAG
from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.registry import Notifications, Project, Registry

PREFIX = "meta-flows: "
NOTIFY_WAVE = f"{PREFIX}notify on wave failure"
NOTIFY_MIGRATED = f"{PREFIX}notify on migrated flow failure"
WAVE_FLOWS = ("migrate-wave", "rollback-wave")
DEFAULT_ROLLBACK_DEPLOYMENT = "rollback-wave/rollback-wave"
WEBHOOK_BLOCK = "meta-flows-webhook"
SLACK_BLOCK = "meta-flows-slack"
FAILURE_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")
ROLLBACK_EVENTS = ("prefect.flow-run.Failed",)

ENABLE_HINT = (
    "set PREFECT_EXPERIMENTAL_EVENTS=true for the server (then restart it) and for this client; "
    "Prefect 2.20's open-source server runs automations only with it"
)

SUBJECT = (
    "meta-flows: flow run {{ flow_run.name }} of flow {{ flow.name }} is {{ flow_run.state.name }}"
)
BODY = """\
Flow run {{ flow_run.name }} ({{ flow_run.id }}) of flow {{ flow.name }} \
entered state {{ flow_run.state.name }}.
Deployment: {{ deployment.name or '-' }}
Tags: {{ flow_run.tags | join(', ') }}
State message: {{ flow_run.state.message }}
Automation: {{ automation.name }}"""


def rollback_automation_name(project: str) -> str:
    """The name of ``project``'s rollback automation (the threshold is not part of it, so a new
    threshold updates the automation instead of adding one)."""
    return f"{PREFIX}rollback {project} after repeated failures"


@dataclass
class AutomationResult:
    name: str
    action: str  # created | updated | unchanged | skipped
    id: UUID | None = None
    message: str = ""


class AutomationsError(MetaFlowsError, RuntimeError):
    """The automations cannot be applied; the message says what to do."""


class AutomationsUnavailable(AutomationsError):
    """The Prefect API (or this client's settings) does not run automations."""


class RollbackDeploymentMissing(AutomationsError):
    """The deployment the rollback automations should run does not exist."""


async def apply_automations(
    registry: Registry,
    *,
    wave: str | None = None,
    rollback_deployment: str = DEFAULT_ROLLBACK_DEPLOYMENT,
    client=None,
) -> list[AutomationResult]:
    """Create or update the notification automations and one rollback automation per enabled
    project of ``wave`` (every wave when None), through ``client`` (or a new one).

    Everything that can refuse is checked before anything is written: that the API runs
    automations (:class:`AutomationsUnavailable`) and, when a rollback automation is wanted, that
    ``rollback_deployment`` (``<flow>/<deployment>``) exists (:class:`RollbackDeploymentMissing`).
    An unknown ``wave`` raises the registry's UnknownWaveError.
    """
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await apply_automations(
                registry, wave=wave, rollback_deployment=rollback_deployment, client=new_client
            )
    projects = (
        registry.projects_of(wave)
        if wave is not None
        else [p for p in registry.projects if p.enabled]
    )
    await _check_available(client)
    deployment_id = await _deployment_id(client, rollback_deployment) if projects else None

    results: list[AutomationResult] = []
    notify = await _notification_actions(registry.notifications, client)
    for name, description, match_related in (
        (
            NOTIFY_WAVE,
            "A meta-flows wave flow run (migrate-wave or rollback-wave) failed or crashed.",
            {"prefect.resource.role": "flow", "prefect.resource.name": list(WAVE_FLOWS)},
        ),
        (
            NOTIFY_MIGRATED,
            f"A flow run of a migrated deployment (tag {MIGRATED_TAG}) failed or crashed.",
            _tag(MIGRATED_TAG),
        ),
    ):
        if not notify:
            results.append(
                AutomationResult(
                    name, "skipped", message="no notifications.webhook_url or slack_webhook_url"
                )
            )
            continue
        automation = _automation(
            name,
            description,
            _event_trigger(FAILURE_EVENTS, match_related),
            notify,
        )
        results.append(await _apply_one(client, automation))

    for project in projects:
        assert deployment_id is not None
        automation = rollback_automation(project, registry.notifications, deployment_id)
        results.append(await _apply_one(client, automation))
    return results


def rollback_automation(project: Project, notifications: Notifications, deployment_id: UUID):
    """The AutomationCore that runs the rollback deployment for ``project`` (see the module
    docstring for its trigger)."""
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import CompoundTrigger

    failures = notifications.rollback_after_failures
    window = timedelta(seconds=notifications.failure_window_seconds)
    reason = (
        f"{failures} failed run(s) of project {project.name}'s migrated flows within "
        f"{notifications.failure_window_seconds}s (meta-flows automation)"
    )
    trigger = CompoundTrigger(
        require="all",
        within=window,
        triggers=[
            _event_trigger(
                ROLLBACK_EVENTS, _tag(f"project:{project.name}"), threshold=failures, within=window
            ),
            _event_trigger(ROLLBACK_EVENTS, _tag(MIGRATED_TAG), threshold=failures, within=window),
        ],
    )
    action = RunDeployment(
        source="selected",
        deployment_id=deployment_id,
        parameters={"wave": project.wave, "project": project.name, "reason": reason},
        job_variables=None,
    )
    return _automation(
        rollback_automation_name(project.name),
        f"Roll back project {project.name} (wave {project.wave}) after {failures} failed runs "
        f"of its migrated flows within {notifications.failure_window_seconds}s.",
        trigger,
        [action],
    )


def _tag(tag: str) -> dict[str, str]:
    return {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{tag}"}


def _event_trigger(
    events: tuple[str, ...],
    match_related: dict[str, Any],
    *,
    threshold: int = 1,
    within: timedelta = timedelta(0),
):
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return EventTrigger(
        match=ResourceSpecification.parse_obj({"prefect.resource.id": "prefect.flow-run.*"}),
        match_related=ResourceSpecification.parse_obj(match_related),
        after=set(),
        expect=set(events),
        for_each=set(),
        posture=Posture.Reactive,
        threshold=threshold,
        within=within,
    )


def _automation(name: str, description: str, trigger, actions: list):
    from prefect.events.schemas.automations import AutomationCore

    return AutomationCore(
        name=name,
        description=description,
        enabled=True,
        trigger=trigger,
        actions=actions,
        actions_on_trigger=[],
        actions_on_resolve=[],
    )


async def _check_available(client) -> None:
    import httpx

    if not client.server_type.supports_automations():
        raise AutomationsUnavailable(
            f"this client does not send automations to {client.api_url} (automations are off "
            f"in its settings): {ENABLE_HINT}; PREFECT_API_SERVICES_TRIGGERS_ENABLED must not "
            "be false"
        )
    try:
        await client.read_automations_by_name(NOTIFY_WAVE)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        raise AutomationsUnavailable(
            f"the Prefect API at {client.api_url} does not run automations "
            f"(/automations answered 404: {_detail(exc.response)}): {ENABLE_HINT}"
        ) from None


def _detail(response) -> str:
    try:
        return str(response.json().get("detail", "not found"))
    except (ValueError, AttributeError):
        return "not found"


async def _deployment_id(client, name: str) -> UUID:
    from prefect.exceptions import ObjectNotFound

    if name.count("/") != 1 or not all(name.split("/")):
        raise RollbackDeploymentMissing(
            f"rollback deployment {name!r}: expected <flow name>/<deployment name>"
        )
    try:
        deployment = await client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise RollbackDeploymentMissing(
            f"rollback deployment {name!r} not found on {client.api_url}; deploy it first with "
            "`prefect deploy --name rollback-wave` from the meta-flows repository root"
        ) from None
    return deployment.id


async def _notification_actions(notifications: Notifications, client) -> list:
    """One SendNotification per configured target; the blocks are saved (overwritten) here."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook
    from prefect.events.actions import SendNotification

    blocks: list[tuple[str, Any]] = []
    if notifications.webhook_url:
        blocks.append(
            (
                WEBHOOK_BLOCK,
                CustomWebhookNotificationBlock(
                    name="meta-flows",
                    url=notifications.webhook_url,
                    method="POST",
                    json_data={
                        "source": "meta-flows",
                        "subject": "{{subject}}",
                        "body": "{{body}}",
                    },
                ),
            )
        )
    if notifications.slack_webhook_url:
        blocks.append((SLACK_BLOCK, SlackWebhook(url=notifications.slack_webhook_url)))
    actions = []
    for name, block in blocks:
        block_id = await block.save(name, overwrite=True, client=client)
        actions.append(SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY))
    return actions


async def _apply_one(client, automation) -> AutomationResult:
    from prefect.events.schemas.automations import AutomationCore

    name = automation.name
    existing = await client.read_automations_by_name(name)  # newest first
    if not existing:
        return AutomationResult(name, "created", await client.create_automation(automation))
    keep, extra = existing[0], existing[1:]
    for duplicate in extra:  # made by hand or by a crashed apply; the name is ours
        await client.delete_automation(duplicate.id)
    removed = f"{len(extra)} duplicate(s) removed" if extra else ""
    if AutomationCore.parse_obj(keep.dict(exclude={"id"})) == automation:
        return AutomationResult(name, "updated" if extra else "unchanged", keep.id, removed)
    # The client sends only the fields that were set, which drops every action's `type` (a
    # default): the server then reads the actions as do-nothing. Re-parsed from a full dict, every
    # field counts as set (owner_resource aside: the update endpoint refuses it).
    full = AutomationCore.parse_obj(automation.dict(exclude={"owner_resource"}))
    await client.update_automation(keep.id, full)
    stored = await client.read_automation(keep.id)
    if stored is None or AutomationCore.parse_obj(stored.dict(exclude={"id"})) != automation:
        raise AutomationsError(f"automation {name!r} ({keep.id}): the API did not take the update")
    return AutomationResult(name, "updated", keep.id, removed)


def apply_command(registry_path: Path, wave: str | None, rollback_deployment: str) -> int:
    """``meta-flows automations apply``: load the registry, apply, print one line per automation.

    Registry problems are printed as warnings (the valid part is applied); an error that stops
    the apply is printed on stderr and gives exit code 1.
    """
    import httpx

    from meta_flows.core.registry import RegistryFileError, UnknownWaveError, load_registry

    try:
        loaded = load_registry(registry_path)
    except RegistryFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in loaded.errors:
        print(f"warning: {problem}", file=sys.stderr)
    try:
        results = asyncio.run(
            apply_automations(loaded.registry, wave=wave, rollback_deployment=rollback_deployment)
        )
    except (AutomationsError, UnknownWaveError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for result in results:
        ident = f" ({result.id})" if result.id else ""
        note = f": {result.message}" if result.message else ""
        print(f"{result.action}: {result.name}{ident}{note}")
    return 0
