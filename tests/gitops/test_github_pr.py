"""meta_flows.adapters.github_pr through prefect-github's endpoint against a local GitHub GraphQL server."""

from __future__ import annotations

import socket

import pytest
from prefect_github import GitHubCredentials

from meta_flows.adapters import github_pr
from meta_flows.adapters.github_pr import GitHubError

from .fake_github import FakeGitHub, serve

TOKEN = "ghp_test_token_123"
BRANCH = "prefect2/w1"


@pytest.fixture
def github():
    fake = FakeGitHub(token=TOKEN, repos={"acme/etl": {"main", BRANCH}})
    server, thread = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def creds() -> GitHubCredentials:
    return GitHubCredentials(token=TOKEN)


def ensure(github: FakeGitHub, creds: GitHubCredentials, **kw) -> github_pr.PullRequest:
    args = {"head": BRANCH, "base": "main", "title": "Migrate etl", "body": "rules: PF001"}
    return github_pr.ensure_pull_request(creds, "acme", "etl", api_url=github.url, **{**args, **kw})


def test_creates_once_then_updates(github: FakeGitHub, creds: GitHubCredentials) -> None:
    pr = ensure(github, creds)
    assert (pr.number, pr.state, pr.is_draft) == (1, "OPEN", True)
    assert pr.url == "https://github.com/acme/etl/pull/1"
    assert github.operations == ["repository", "createPullRequest"]

    again = ensure(github, creds)
    assert again == pr
    assert github.operations[2:] == ["repository"]  # unchanged: no update sent

    updated = ensure(github, creds, title="Migrate etl (wave w1)", body="rules: PF001, PF002")
    assert updated.number == pr.number
    assert (updated.title, updated.body) == ("Migrate etl (wave w1)", "rules: PF001, PF002")
    assert github.operations[3:] == ["repository", "updatePullRequest"]
    assert len(github.pulls) == 1
    assert github.pulls[0]["body"] == "rules: PF001, PF002"


def test_not_draft_when_asked(github: FakeGitHub, creds: GitHubCredentials) -> None:
    assert ensure(github, creds, draft=False).is_draft is False


def test_mark_ready_flips_draft(github: FakeGitHub, creds: GitHubCredentials) -> None:
    pr = ensure(github, creds)
    ready = github_pr.mark_ready(creds, pr, api_url=github.url)
    assert ready.is_draft is False and ready.number == pr.number
    assert github.pulls[0]["isDraft"] is False
    assert ensure(github, creds).is_draft is False
    operations = len(github.operations)
    assert github_pr.mark_ready(creds, ready, api_url=github.url) == ready
    assert len(github.operations) == operations


def test_merged_pull_request_is_not_reopened(github: FakeGitHub, creds: GitHubCredentials) -> None:
    pr = ensure(github, creds)
    github.pulls[0]["state"] = "MERGED"
    again = ensure(github, creds, title="something else")
    assert (again.number, again.state) == (pr.number, "MERGED")
    assert len(github.pulls) == 1


def test_comment(github: FakeGitHub, creds: GitHubCredentials) -> None:
    pr = ensure(github, creds)
    url = github_pr.comment(creds, pr, "validation: 3/3 passed", api_url=github.url)
    assert url.startswith(pr.url)
    assert github.comments[0]["body"] == "validation: 3/3 passed"


def test_bad_token(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="401 Bad credentials") as info:
        ensure(github, GitHubCredentials(token="ghp_wrong"))
    assert "ghp_wrong" not in str(info.value)
    assert not github.pulls


def test_missing_token(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="has no token"):
        ensure(github, GitHubCredentials())


def test_unknown_repository(github: FakeGitHub, creds: GitHubCredentials) -> None:
    with pytest.raises(
        GitHubError, match=r"NOT_FOUND: Could not resolve to a Repository .*acme/nope"
    ):
        github_pr.ensure_pull_request(
            creds, "acme", "nope", head=BRANCH, base="main", title="t", body="b", api_url=github.url
        )


def test_github_error_on_create(github: FakeGitHub, creds: GitHubCredentials) -> None:
    with pytest.raises(
        GitHubError, match=r"opening a pull request prefect2/w9 -> main on acme/etl"
    ):
        ensure(github, creds, head="prefect2/w9")
    assert not github.pulls


def test_unreachable_api(creds: GitHubCredentials) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/graphql"
    with pytest.raises(GitHubError, match=f"cannot reach {url}"):
        github_pr.ensure_pull_request(
            creds, "acme", "etl", head=BRANCH, base="main", title="t", body="b", api_url=url
        )
