"""A local stand-in for a Prefect 1 server's GraphQL API, for the schedule operations we use.

The schema below is the slice of Prefect 1 server's schema those operations touch, with its
names: the Hasura ``flow`` table (``flow_bool_exp``, ``order_by``, ``flow_by_pk(id: uuid!)``)
and the ``set_schedule_active`` / ``set_schedule_inactive`` mutations (``input: {flow_id}`` →
``success_payload``). graphql-core validates and executes every request against it; the
resolvers follow the server's behaviour (``success: false`` for an unknown flow, an error when
activating a flow whose required parameters have no value).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import graphql

SDL = """
scalar uuid
scalar UUID

enum order_by { asc desc }

input String_comparison_exp { _eq: String, _in: [String!], _neq: String }
input Boolean_comparison_exp { _eq: Boolean }
input project_bool_exp { name: String_comparison_exp }
input flow_bool_exp {
  archived: Boolean_comparison_exp
  name: String_comparison_exp
  project: project_bool_exp
}
input flow_order_by { name: order_by, version: order_by, created: order_by }

type project { id: uuid!, name: String! }
type flow {
  id: uuid!
  name: String!
  version: Int
  archived: Boolean!
  is_schedule_active: Boolean
  project: project
}

input set_schedule_active_input { flow_id: UUID! }
input set_schedule_inactive_input { flow_id: UUID! }
type success_payload { success: Boolean, error: String }

type Query {
  flow(where: flow_bool_exp, order_by: [flow_order_by!], limit: Int, offset: Int): [flow!]!
  flow_by_pk(id: uuid!): flow
}
type Mutation {
  set_schedule_active(input: set_schedule_active_input!): success_payload
  set_schedule_inactive(input: set_schedule_inactive_input!): success_payload
}
"""
SCHEMA = graphql.build_schema(SDL)


@dataclass
class FakeFlow:
    id: str
    name: str
    project: str
    version: int
    is_schedule_active: bool = True
    archived: bool = False
    required_parameters: bool = False


def _matches(value: Any, condition: dict[str, Any]) -> bool:
    if "_eq" in condition and value != condition["_eq"]:
        return False
    if "_neq" in condition and value == condition["_neq"]:
        return False
    return not ("_in" in condition and value not in condition["_in"])


@dataclass
class FakePrefect1:
    flows: list[FakeFlow]
    api_key: str | None = None
    fail_with: str | None = None  # answer every request with this GraphQL error
    operations: list[str] = field(default_factory=list)
    url: str = ""

    def _row(self, flow: FakeFlow) -> dict[str, Any]:
        return {
            "id": flow.id,
            "name": flow.name,
            "version": flow.version,
            "archived": flow.archived,
            "is_schedule_active": flow.is_schedule_active,
            "project": {"id": f"p-{flow.project}", "name": flow.project},
        }

    def _select(self, where: dict[str, Any] | None, order_by: list[dict] | None) -> list[dict]:
        where = where or {}
        rows = [
            flow
            for flow in self.flows
            if _matches(flow.archived, where.get("archived", {}))
            and _matches(flow.name, where.get("name", {}))
            and _matches(flow.project, where.get("project", {}).get("name", {}))
        ]
        for order in reversed(order_by or []):
            for key, direction in order.items():
                rows.sort(key=lambda f, k=key: getattr(f, k), reverse=direction == "desc")
        return [self._row(flow) for flow in rows]

    def _by_id(self, flow_id: str) -> FakeFlow | None:
        return next((flow for flow in self.flows if flow.id == flow_id), None)

    def _set(self, flow_id: str, active: bool) -> dict[str, Any]:
        flow = self._by_id(flow_id)
        if flow is None:
            return {"success": False, "error": None}
        if active and flow.required_parameters:
            raise ValueError("Can not schedule a flow that has required parameters.")
        flow.is_schedule_active = active
        return {"success": True, "error": None}

    def root(self) -> tuple[dict[str, Any], dict[str, Any]]:
        query = {
            "flow": lambda info, where=None, order_by=None, **_: self._select(where, order_by),
            "flow_by_pk": lambda info, id: (f := self._by_id(id)) and self._row(f),
        }
        mutation = {
            "set_schedule_active": lambda info, input: self._set(input["flow_id"], True),
            "set_schedule_inactive": lambda info, input: self._set(input["flow_id"], False),
        }
        return query, mutation

    def handle(self, authorization: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return 200, {"errors": [{"message": "UNAUTHENTICATED: Invalid API key"}]}
        if self.fail_with:
            return 200, {"errors": [{"message": self.fail_with}], "data": None}
        document = graphql.parse(payload["query"])
        errors = graphql.validate(SCHEMA, document)
        if errors:
            return 400, {"errors": [e.formatted for e in errors]}
        operation = graphql.get_operation_ast(document, payload.get("operationName"))
        self.operations.extend(
            sel.name.value  # type: ignore[attr-defined]
            for sel in operation.selection_set.selections
        )
        query, mutation = self.root()
        root = mutation if operation.operation == graphql.OperationType.MUTATION else query
        result = graphql.execute(
            SCHEMA, document, root_value=root, variable_values=payload.get("variables")
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return 200, body


def serve(fake: FakePrefect1) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = fake.handle(self.headers.get("Authorization", ""), payload)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
