"""A Prefect 1 server (or Prefect Cloud 1) adapter: find flows, pause and resume their schedules.

During a migration wave the Prefect 1 schedules of migrated flows are paused once their Prefect 2
deployments take over, and resumed on rollback. This module speaks the Prefect 1 GraphQL API over
HTTP, with the names Prefect 1's own client and server use:

- flows are read from the Hasura ``flow`` table (``where`` on ``archived``, ``name`` and
  ``project { name }``, ``order_by`` ``version`` descending), the latest unarchived version of
  each name being the one whose schedule runs; ``flow_by_pk(id) { is_schedule_active }``;
- schedules are switched with the ``set_schedule_inactive`` / ``set_schedule_active`` mutations
  (``input: {flow_id}``, answer ``{success}``; the server answers ``success: false`` for an
  unknown flow and an error for a flow whose required parameters no clock provides).

Both switches are idempotent (pausing a paused flow succeeds). Every failure raises
:class:`Prefect1ServerError` naming the server URL and the GraphQL message; the API key is sent
as ``Authorization: Bearer`` and never shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from meta_flows.core.errors import MetaFlowsError

_FLOWS = """
query MetaFlowsFlows($where: flow_bool_exp) {
  flow(where: $where, order_by: [{name: asc}, {version: desc}]) {
    id
    name
    version
    is_schedule_active
  }
}
"""
_FLOW_BY_PK = """
query MetaFlowsFlowSchedule($id: uuid!) {
  flow_by_pk(id: $id) { id is_schedule_active }
}
"""
_SET_SCHEDULE = """
mutation MetaFlowsSetSchedule($input: {field}_input!) {
  {field}(input: $input) { success }
}
"""


class Prefect1ServerError(MetaFlowsError, RuntimeError):
    """A Prefect 1 API call failed; the message names the server and its GraphQL message."""


@dataclass(frozen=True)
class Flow:
    """The latest unarchived version of a Prefect 1 flow."""

    id: str
    name: str
    version: int | None
    is_schedule_active: bool


@dataclass
class ScheduleChange:
    """What :meth:`Prefect1Server.pause_flows` or :meth:`~Prefect1Server.resume_flows` did.

    ``changed`` and ``unchanged`` map flow names to flow ids: the schedules switched by this call
    and those already in the asked state. Record ``changed`` the first time you pause: a re-run
    finds those flows paused and lists them under ``unchanged``. ``missing`` are the names with
    no unarchived flow in the project.
    """

    changed: dict[str, str] = field(default_factory=dict)
    unchanged: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def flow_ids(self) -> dict[str, str]:
        """Every flow found, changed or not."""
        return {**self.unchanged, **self.changed}


class Prefect1Server:
    """A Prefect 1 GraphQL API at ``url`` (e.g. ``http://localhost:4200/graphql``)."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30) -> None:
        self.url = url
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def __repr__(self) -> str:
        return f"Prefect1Server({self.url!r})"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation; its ``data``, or :class:`Prefect1ServerError`."""
        try:
            response = httpx.post(
                self.url,
                json={"query": query, "variables": variables or {}},
                headers=self._headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise Prefect1ServerError(
                f"Prefect 1 server {self.url} unreachable: {exc.__class__.__name__}: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            messages = "; ".join(str(error.get("message", error)) for error in errors)
            raise Prefect1ServerError(f"Prefect 1 server {self.url}: {messages}")
        if response.status_code != 200 or not isinstance(body, dict) or body.get("data") is None:
            text = response.text.strip()[:300]
            raise Prefect1ServerError(
                f"Prefect 1 server {self.url}: HTTP {response.status_code}: {text or 'no data'}"
            )
        return body["data"]

    # ---- flows -------------------------------------------------------------------------------

    def flows(self, project: str, flow_names: Iterable[str] | None = None) -> dict[str, Flow]:
        """The latest unarchived version of each named flow in ``project`` (all when no names)."""
        where: dict[str, Any] = {"archived": {"_eq": False}, "project": {"name": {"_eq": project}}}
        if flow_names is not None:
            where["name"] = {"_in": sorted(set(flow_names))}
        rows = self.graphql(_FLOWS, {"where": where})["flow"]
        latest: dict[str, Flow] = {}
        for row in rows:
            flow = Flow(
                id=row["id"],
                name=row["name"],
                version=row.get("version"),
                is_schedule_active=bool(row.get("is_schedule_active")),
            )
            current = latest.get(flow.name)
            if current is None or (flow.version or 0) > (current.version or 0):
                latest[flow.name] = flow
        return latest

    def flow_ids(self, project: str, flow_names: Iterable[str] | None = None) -> dict[str, str]:
        """``{flow name: flow id}`` of the latest unarchived versions (see :meth:`flows`)."""
        return {name: flow.id for name, flow in self.flows(project, flow_names).items()}

    # ---- schedules ---------------------------------------------------------------------------

    def _set_schedule(self, field_name: str, flow_id: str) -> bool:
        query = _SET_SCHEDULE.replace("{field}", field_name)
        data = self.graphql(query, {"input": {"flow_id": flow_id}})
        result = data.get(field_name) or {}
        return bool(result.get("success"))

    def set_schedule_inactive(self, flow_id: str) -> bool:
        """Pause a flow's schedule; False if the server has no such flow."""
        return self._set_schedule("set_schedule_inactive", flow_id)

    def set_schedule_active(self, flow_id: str) -> bool:
        """Resume a flow's schedule; False if the server has no such flow."""
        return self._set_schedule("set_schedule_active", flow_id)

    def schedule_active(self, flow_id: str) -> bool:
        """Whether a flow's schedule is active; :class:`Prefect1ServerError` for an unknown id."""
        flow = self.graphql(_FLOW_BY_PK, {"id": flow_id})["flow_by_pk"]
        if flow is None:
            raise Prefect1ServerError(f"Prefect 1 server {self.url}: no flow with id {flow_id}")
        return bool(flow["is_schedule_active"])

    def _switch(self, project: str, names: Iterable[str], active: bool) -> ScheduleChange:
        names = list(dict.fromkeys(names))
        found = self.flows(project, names)
        change = ScheduleChange(missing=[name for name in names if name not in found])
        switch = self.set_schedule_active if active else self.set_schedule_inactive
        for name, flow in found.items():
            if flow.is_schedule_active == active:
                change.unchanged[name] = flow.id
                continue
            if not switch(flow.id):
                raise Prefect1ServerError(
                    f"Prefect 1 server {self.url}: could not "
                    f"{'resume' if active else 'pause'} the schedule of flow {name!r} "
                    f"({flow.id}) in project {project!r}"
                )
            change.changed[name] = flow.id
        return change

    def pause_flows(self, project: str, names: Iterable[str]) -> ScheduleChange:
        """Pause the schedules of the named flows of ``project`` (idempotent)."""
        return self._switch(project, names, active=False)

    def resume_flows(self, project: str, names: Iterable[str]) -> ScheduleChange:
        """Resume the schedules of the named flows of ``project`` (idempotent)."""
        return self._switch(project, names, active=True)
