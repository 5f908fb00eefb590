"""Pull requests for migration branches, through GitHub's GraphQL API and prefect-github.

Requests are built as sgqlc operations on prefect-github's copy of GitHub's schema and sent with
the HTTP endpoint that a :class:`~prefect_github.GitHubCredentials` block makes (its token as
``Authorization: Bearer``). Only the endpoint's URL can be changed (``api_url``), for GitHub
Enterprise or a test server. Everything here is synchronous and outside the Prefect runtime.

- :func:`ensure_pull_request` is idempotent: it finds the pull request for ``head`` → ``base``
  and updates its title and body (only when they differ), or creates one (a draft by default).
  A pull request already merged is returned as it is: a re-run after promotion opens nothing.
- :func:`mark_ready` turns a draft into a pull request ready for review (promotion).
- Every failure raises :class:`GitHubError` naming the repository or pull request, the API URL
  and GitHub's message; the token never appears in it.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from typing import Any

from prefect_github import GitHubCredentials
from prefect_github.schemas import graphql_schema as schema
from sgqlc.operation import Operation
from sgqlc.types import Variable, non_null

from meta_flows.core.errors import MetaFlowsError

GITHUB_API_URL = "https://api.github.com/graphql"
DEFAULT_TIMEOUT = 30.0
_PR_FIELDS = ("id", "number", "url", "state", "is_draft", "title", "body")


class GitHubError(MetaFlowsError, RuntimeError):
    """A GitHub API call failed; the message says which call, where, and GitHub's reason."""


@dataclass(frozen=True)
class PullRequest:
    """A pull request as GitHub reports it (``state`` is ``OPEN``, ``CLOSED`` or ``MERGED``)."""

    id: str
    number: int
    url: str
    state: str
    is_draft: bool
    title: str = ""
    body: str = ""

    @classmethod
    def from_api(cls, node: dict[str, Any]) -> PullRequest:
        return cls(
            id=node["id"],
            number=node["number"],
            url=node["url"],
            state=node["state"],
            is_draft=node["isDraft"],
            title=node.get("title") or "",
            body=node.get("body") or "",
        )


def _describe(error: dict[str, Any]) -> str:
    status = error.get("status")
    if status == 401:
        return (
            "GitHub refused the token (401 Bad credentials): check the token of the "
            "GitHubCredentials block"
        )
    if status is not None:
        body = str(error.get("body") or "").strip()
        return f"HTTP {status}" + (f": {body[:300]}" if body else "")
    kind = error.get("type")
    return f"{kind}: {error.get('message')}" if kind else str(error.get("message"))


def _execute(
    credentials: GitHubCredentials,
    op: Operation,
    variables: dict[str, Any],
    *,
    what: str,
    api_url: str,
    timeout: float,
) -> dict[str, Any]:
    """Send ``op`` with prefect-github's endpoint for ``credentials``; the ``data`` or an error."""
    if credentials.token is None or not credentials.token.get_secret_value():
        raise GitHubError(f"{what}: the GitHubCredentials block has no token")
    endpoint = credentials.get_client()
    endpoint.url = api_url
    endpoint.timeout = timeout
    try:
        result = endpoint(op, variables)
    except urllib.error.URLError as exc:
        raise GitHubError(f"{what}: cannot reach {api_url}: {exc.reason}") from exc
    except OSError as exc:  # timeouts, resets
        raise GitHubError(f"{what}: cannot reach {api_url}: {exc}") from exc
    errors = result.get("errors")
    if errors:
        reasons = "; ".join(_describe(error) for error in errors)
        raise GitHubError(f"{what} failed at {api_url}: {reasons}")
    data = result.get("data")
    if not isinstance(data, dict):
        raise GitHubError(f"{what}: {api_url} answered without data")
    return data


def _find_operation() -> Operation:
    variables = {name: non_null(str) for name in ("owner", "name", "head", "base")}
    op = Operation(schema.Query, name="FindMigrationPullRequest", variables=variables)
    repository = op.repository(owner=Variable("owner"), name=Variable("name"))
    repository.id()
    pulls = repository.pull_requests(
        head_ref_name=Variable("head"),
        base_ref_name=Variable("base"),
        states=["OPEN", "MERGED"],
        first=20,
    )
    pulls.nodes().__fields__(*_PR_FIELDS)
    return op


def _mutation(name: str, field: str, input_type: type) -> Operation:
    op = Operation(schema.Mutation, name=name, variables={"input": non_null(input_type)})
    getattr(op, field)(input=Variable("input")).pull_request().__fields__(*_PR_FIELDS)
    return op


def ensure_pull_request(
    credentials: GitHubCredentials,
    owner: str,
    repo: str,
    *,
    head: str,
    base: str,
    title: str,
    body: str,
    draft: bool = True,
    api_url: str = GITHUB_API_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> PullRequest:
    """The pull request ``head`` → ``base`` of ``owner/repo``: updated if open, else created.

    A merged one is returned untouched. Creating needs ``head`` pushed first (GitHub refuses a
    pull request for a branch it does not have, or one with no commits over ``base``).
    """
    slug = f"{owner}/{repo}"
    call = {"api_url": api_url, "timeout": timeout}
    data = _execute(
        credentials,
        _find_operation(),
        {"owner": owner, "name": repo, "head": head, "base": base},
        what=f"looking up pull requests of {slug}",
        **call,
    )
    repository = data.get("repository")
    if repository is None:
        raise GitHubError(f"{slug}: no such repository at {api_url}, or the token cannot see it")
    found = [PullRequest.from_api(node) for node in repository["pullRequests"]["nodes"] or []]
    open_prs = sorted((pr for pr in found if pr.state == "OPEN"), key=lambda pr: pr.number)
    if open_prs:
        pr = open_prs[0]
        if (pr.title, pr.body) == (title, body):
            return pr
        data = _execute(
            credentials,
            _mutation(
                "UpdateMigrationPullRequest", "update_pull_request", schema.UpdatePullRequestInput
            ),
            {"input": {"pullRequestId": pr.id, "title": title, "body": body}},
            what=f"updating pull request #{pr.number} of {slug}",
            **call,
        )
        return PullRequest.from_api(data["updatePullRequest"]["pullRequest"])
    merged = [pr for pr in found if pr.state == "MERGED"]
    if merged:
        return max(merged, key=lambda pr: pr.number)
    data = _execute(
        credentials,
        _mutation(
            "CreateMigrationPullRequest", "create_pull_request", schema.CreatePullRequestInput
        ),
        {
            "input": {
                "repositoryId": repository["id"],
                "headRefName": head,
                "baseRefName": base,
                "title": title,
                "body": body,
                "draft": draft,
            }
        },
        what=f"opening a pull request {head} -> {base} on {slug}",
        **call,
    )
    return PullRequest.from_api(data["createPullRequest"]["pullRequest"])


def mark_ready(
    credentials: GitHubCredentials,
    pr: PullRequest,
    *,
    api_url: str = GITHUB_API_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> PullRequest:
    """Mark a draft pull request ready for review; one that is not a draft is returned as is."""
    if not pr.is_draft:
        return pr
    data = _execute(
        credentials,
        _mutation(
            "MarkMigrationPullRequestReady",
            "mark_pull_request_ready_for_review",
            schema.MarkPullRequestReadyForReviewInput,
        ),
        {"input": {"pullRequestId": pr.id}},
        what=f"marking pull request {pr.url} ready for review",
        api_url=api_url,
        timeout=timeout,
    )
    return PullRequest.from_api(data["markPullRequestReadyForReview"]["pullRequest"])


def comment(
    credentials: GitHubCredentials,
    pr: PullRequest,
    body: str,
    *,
    api_url: str = GITHUB_API_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Add a comment to a pull request; the comment's URL."""
    op = Operation(
        schema.Mutation,
        name="CommentMigrationPullRequest",
        variables={"input": non_null(schema.AddCommentInput)},
    )
    op.add_comment(input=Variable("input")).comment_edge().node().__fields__("id", "url")
    data = _execute(
        credentials,
        op,
        {"input": {"subjectId": pr.id, "body": body}},
        what=f"commenting on pull request {pr.url}",
        api_url=api_url,
        timeout=timeout,
    )
    return data["addComment"]["commentEdge"]["node"]["url"]


def load_credentials(block: str | None, git_url: str) -> GitHubCredentials | None:
    """The ``GitHubCredentials`` block for a GitHub remote; ``None`` for other remotes or no block.

    A GitHub remote whose block is missing is a :class:`~meta_flows.core.errors.StepError`
    saying which block to create.
    """
    from meta_flows.adapters.gitops import parse_github_remote
    from meta_flows.core.errors import StepError

    if not block or parse_github_remote(git_url) is None:
        return None
    try:
        return GitHubCredentials.load(block)
    except ValueError as exc:
        raise StepError(
            f"{git_url} is a GitHub remote: create the GitHubCredentials block "
            f"{block!r} (a token that may push and open pull requests): {exc}"
        ) from exc
