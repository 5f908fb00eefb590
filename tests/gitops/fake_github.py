"""A local stand-in for GitHub's GraphQL API, for the pull request operations meta-flows uses.

Queries are validated and executed by graphql-core against GitHub's published schema (the
introspection copy that prefect-github ships), so a field or argument GitHub does not have fails
here as it would there. Resolvers exist for ``repository { id pullRequests }``,
``createPullRequest``, ``updatePullRequest``, ``markPullRequestReadyForReview`` and
``addComment``; they keep pull requests in memory and answer with GitHub's documented behaviour:
``Authorization: bearer <token>`` required (HTTP 401 ``Bad credentials`` otherwise), errors as
``{"errors": [{"type", "message", "path", "locations"}]}`` beside ``data``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any

import graphql


class GitHubFailure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@cache
def github_schema() -> graphql.GraphQLSchema:
    text = files("prefect_github.schemas").joinpath("graphql_schema.json").read_text()
    return graphql.build_client_schema(json.loads(text)["data"])


@dataclass
class FakeGitHub:
    token: str
    repos: dict[str, set[str]]  # "owner/name" -> branches that exist
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    url: str = ""

    # ---- resolvers ---------------------------------------------------------------------------

    def _repository(self, owner: str, name: str) -> dict[str, Any]:
        slug = f"{owner}/{name}"
        if slug not in self.repos:
            raise GitHubFailure(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{slug}'."
            )

        def pull_requests(info, **args):
            nodes = [
                pr
                for pr in self.pulls
                if pr["_repo"] == slug
                and (args.get("headRefName") in (None, pr["headRefName"]))
                and (args.get("baseRefName") in (None, pr["baseRefName"]))
                and (not args.get("states") or pr["state"] in args["states"])
            ]
            first = args.get("first")
            return {"nodes": nodes[:first] if first else nodes, "totalCount": len(nodes)}

        return {"id": f"R_{slug}", "nameWithOwner": slug, "pullRequests": pull_requests}

    def _pull(self, node_id: str) -> dict[str, Any]:
        for pr in self.pulls:
            if pr["id"] == node_id:
                return pr
        raise GitHubFailure(
            "NOT_FOUND", f"Could not resolve to a node with the global id of '{node_id}'"
        )

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        slug = data["repositoryId"].removeprefix("R_")
        if slug not in self.repos:
            raise GitHubFailure(
                "NOT_FOUND",
                f"Could not resolve to a node with the global id of '{data['repositoryId']}'",
            )
        head, base = data["headRefName"], data["baseRefName"]
        if head not in self.repos[slug] or base not in self.repos[slug]:
            raise GitHubFailure(
                "UNPROCESSABLE",
                f"Head sha can't be blank, Base sha can't be blank, No commits between {base} "
                f"and {head}, Head ref must be a branch",
            )
        if any(
            pr["_repo"] == slug
            and pr["headRefName"] == head
            and pr["baseRefName"] == base
            and pr["state"] == "OPEN"
            for pr in self.pulls
        ):
            raise GitHubFailure(
                "UNPROCESSABLE", f"A pull request already exists for {slug.split('/')[0]}:{head}."
            )
        number = len(self.pulls) + 1
        pr = {
            "_repo": slug,
            "id": f"PR_{number}",
            "number": number,
            "url": f"https://github.com/{slug}/pull/{number}",
            "state": "OPEN",
            "isDraft": bool(data.get("draft")),
            "title": data["title"],
            "body": data.get("body") or "",
            "headRefName": head,
            "baseRefName": base,
        }
        self.pulls.append(pr)
        return {"pullRequest": pr}

    def _update(self, data: dict[str, Any]) -> dict[str, Any]:
        pr = self._pull(data["pullRequestId"])
        for key in ("title", "body"):
            if data.get(key) is not None:
                pr[key] = data[key]
        return {"pullRequest": pr}

    def _ready(self, data: dict[str, Any]) -> dict[str, Any]:
        pr = self._pull(data["pullRequestId"])
        pr["isDraft"] = False
        return {"pullRequest": pr}

    def _comment(self, data: dict[str, Any]) -> dict[str, Any]:
        pr = self._pull(data["subjectId"])
        node = {
            "id": f"IC_{len(self.comments) + 1}",
            "url": f"{pr['url']}#c{len(self.comments) + 1}",
        }
        self.comments.append({**node, "body": data["body"], "pr": pr["number"]})
        return {"commentEdge": {"node": node}}

    def root(self) -> tuple[dict[str, Any], dict[str, Any]]:
        query = {"repository": lambda info, owner, name, **_: self._repository(owner, name)}
        mutation = {
            "createPullRequest": lambda info, input: self._create(input),
            "updatePullRequest": lambda info, input: self._update(input),
            "markPullRequestReadyForReview": lambda info, input: self._ready(input),
            "addComment": lambda info, input: self._comment(input),
        }
        return query, mutation

    # ---- HTTP --------------------------------------------------------------------------------

    def handle(self, authorization: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token != self.token:
            return 401, {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/graphql",
            }
        document = graphql.parse(payload["query"])
        errors = graphql.validate(github_schema(), document)
        if errors:
            return 200, {"errors": [{"type": "INVALID", **e.formatted} for e in errors]}
        operation = graphql.get_operation_ast(document, payload.get("operationName"))
        query, mutation = self.root()
        root = mutation if operation.operation == graphql.OperationType.MUTATION else query
        self.operations.extend(
            sel.name.value
            for sel in operation.selection_set.selections  # type: ignore[attr-defined]
        )
        result = graphql.execute(
            github_schema(),
            document,
            root_value=root,
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {"type": getattr(e.original_error, "kind", "INTERNAL"), **e.formatted}
                for e in result.errors
            ]
        return 200, body


def serve(fake: FakeGitHub) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/graphql":
                self.send_error(404)
                return
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = fake.handle(self.headers.get("Authorization", ""), payload)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
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
