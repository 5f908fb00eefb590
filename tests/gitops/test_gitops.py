"""meta_flows.adapters.gitops against real git: bare remotes in tmp_path, seeded from a working clone."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import git
import pytest

from meta_flows.adapters import gitops
from meta_flows.adapters.gitops import GitError, PushRejected, UnreachableRepository

ENV = {
    "GIT_AUTHOR_NAME": "Human",
    "GIT_AUTHOR_EMAIL": "human@example.com",
    "GIT_COMMITTER_NAME": "Human",
    "GIT_COMMITTER_EMAIL": "human@example.com",
}


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
    ).stdout.strip()


def remote_sha(remote: Path, branch: str) -> str | None:
    out = run(remote, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
    return out or None


def human_commit(remote: Path, work: Path, branch: str, files: dict[str, str]) -> str:
    """A human's commit on ``branch`` of the remote, made from a separate working clone."""
    if not work.exists():
        run(work.parent, "clone", "-q", str(remote), work.name)
    run(work, "fetch", "-q", "origin")
    run(work, "checkout", "-q", "-B", branch, f"origin/{branch}")
    for name, text in files.items():
        (work / name).write_text(text)
    run(work, "add", "-A")
    run(work, "commit", "-q", "-m", f"human change on {branch}")
    run(work, "push", "-q", "origin", branch)
    return run(work, "rev-parse", "HEAD")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote with one commit on ``main`` (flow.py, keep.txt)."""
    bare = tmp_path / "remote.git"
    run(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    run(tmp_path, "clone", "-q", str(bare), "seed")
    run(seed, "checkout", "-q", "-b", "main")
    (seed / "flow.py").write_text("from prefect import Flow\n")
    (seed / "keep.txt").write_text("the user's file\n")
    run(seed, "add", "-A")
    run(seed, "commit", "-q", "-m", "initial")
    run(seed, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def migrate(repo: git.Repo, text: str = "from prefect import flow\n") -> None:
    Path(repo.working_dir, "flow.py").write_text(text)


def test_clone_then_fetch_reuses_the_clone(remote: Path, cache: Path, tmp_path: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    assert Path(repo.working_dir) == cache / "acme"
    assert (cache / "acme" / "flow.py").read_text() == "from prefect import Flow\n"
    marker = cache / "acme" / ".git" / "marker"
    marker.write_text("same clone")
    new = human_commit(remote, tmp_path / "human", "main", {"other.py": "x = 1\n"})

    again = gitops.workspace_clone(str(remote), cache, "acme")
    assert marker.exists()  # not recloned
    assert again.remotes.origin.refs["main"].commit.hexsha == new  # but fetched


def test_file_url_clone_and_leftover_partial_clone(remote: Path, cache: Path) -> None:
    (cache / ".acme.partial").mkdir(parents=True)
    (cache / ".acme.partial" / "junk").write_text("killed clone")
    repo = gitops.workspace_clone(remote.as_uri(), cache, "acme")
    assert repo.remotes.origin.url == remote.as_uri()
    assert not (cache / ".acme.partial").exists()


def test_wrong_origin_is_a_clear_error(remote: Path, cache: Path, tmp_path: Path) -> None:
    gitops.workspace_clone(str(remote), cache, "acme")
    other = tmp_path / "other.git"
    run(tmp_path, "init", "-q", "--bare", str(other))
    with pytest.raises(GitError, match=r"is a clone of .*remote\.git, not of .*other\.git"):
        gitops.workspace_clone(str(other), cache, "acme")


def test_a_directory_that_is_not_a_clone_is_not_deleted(remote: Path, cache: Path) -> None:
    (cache / "acme").mkdir(parents=True)
    (cache / "acme" / "notes.txt").write_text("mine")
    with pytest.raises(GitError, match="not a git clone"):
        gitops.workspace_clone(str(remote), cache, "acme")
    assert (cache / "acme" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "url",
    ["{tmp}/does-not-exist.git", "http://127.0.0.1:9/x.git", "https://u:s3cret@127.0.0.1:9/x"],
)
def test_unreachable_repository(url: str, cache: Path, tmp_path: Path) -> None:
    url = url.format(tmp=tmp_path)
    started = time.monotonic()
    with pytest.raises(UnreachableRepository) as info:
        gitops.workspace_clone(url, cache, "gone")
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert "cannot clone" in message and "s3cret" not in message
    assert gitops.redact(url) in message
    assert not (cache / "gone").exists()


@pytest.mark.parametrize("url", ["fd::17", "fd::0,1", "ext::sh -c touch% /tmp/pwned"])
def test_transports_other_than_file_git_http_ssh_are_refused_at_once(url: str, cache: Path) -> None:
    # fd:: waited on a file descriptor until the git timeout; ext:: runs a command
    started = time.monotonic()
    with pytest.raises(UnreachableRepository, match="transport .* not allowed"):
        gitops.workspace_clone(url, cache, "odd")
    assert time.monotonic() - started < 10
    assert not (cache / "odd").exists()


def test_fetch_of_a_vanished_remote_is_unreachable(remote: Path, cache: Path) -> None:
    gitops.workspace_clone(str(remote), cache, "acme")
    remote.rename(remote.with_name("moved.git"))
    with pytest.raises(UnreachableRepository, match="cannot fetch"):
        gitops.workspace_clone(str(remote), cache, "acme")


def test_redact() -> None:
    assert gitops.redact("https://x-access-token:ghp_abc@github.com/o/r.git") == (
        "https://***@github.com/o/r.git"
    )
    assert gitops.redact("/srv/git/repo.git") == "/srv/git/repo.git"


def test_branch_created_from_base_then_reused(remote: Path, cache: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    info = gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    assert info.existed_remotely is False
    assert info.base_commit == remote_sha(remote, "main")
    assert repo.active_branch.name == "prefect2/w1"
    migrate(repo)
    sha = gitops.commit_migration(repo, "migrate")
    assert gitops.push_branch(repo, "prefect2/w1") is True

    # A later run: dirt in our clone (a crashed rewrite) is reset, the remote branch is continued.
    Path(repo.working_dir, "flow.py").write_text("half written")
    Path(repo.working_dir, "stray.py").write_text("")
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    info = gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    assert info.existed_remotely is True
    assert repo.head.commit.hexsha == sha
    assert not Path(repo.working_dir, "stray.py").exists()
    assert gitops.commit_migration(repo, "migrate") is None
    migrate(repo)  # the rewrite gives the same result: nothing to commit
    assert gitops.commit_migration(repo, "migrate") is None
    assert gitops.push_branch(repo, "prefect2/w1") is False


def test_missing_base_branch(remote: Path, cache: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    with pytest.raises(GitError, match="has no branch 'develop'"):
        gitops.checkout_migration_branch(repo, "prefect2/w1", "develop")


def test_commit_adds_new_files_never_removals(remote: Path, cache: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    assert gitops.commit_migration(repo, "nothing") is None
    migrate(repo)
    Path(repo.working_dir, "prefect.yaml").write_text("deployments: []\n")
    Path(repo.working_dir, "keep.txt").unlink()
    sha = gitops.commit_migration(repo, "Migrate acme\n\nbody", author=("bot", "bot@x"))
    commit = repo.commit(sha)
    assert sorted(commit.stats.files) == ["flow.py", "prefect.yaml"]
    assert "keep.txt" in [item.path for item in commit.tree.traverse()]
    assert (commit.author.name, commit.author.email) == ("bot", "bot@x")
    assert commit.message == "Migrate acme\n\nbody\n"
    assert remote_sha(remote, "prefect2/w1") is None  # committing pushes nothing


def test_migration_commit_message_lists_rules_and_todos() -> None:
    todos = [("b.py", i, f"PF010 todo {i}") for i in range(1, 56)] + [("a.py", 3, "PF002 x")]
    message = gitops.migration_commit_message(
        "acme", "w1", files=["b.py", "a.py"], rules={"PF002": 1, "PF001": 4}, todos=todos
    )
    lines = message.splitlines()
    assert lines[0] == "Migrate acme to Prefect 2 (wave w1)"
    assert lines[lines.index("Files changed (2):") + 1] == "- a.py"
    assert "- PF001: 4" in lines and "- PF002: 1" in lines
    assert "TODOs left for a human (56):" in lines
    assert "- a.py:3: PF002 x" in lines
    assert "- b.py:49: PF010 todo 49" in lines and "- b.py:50: PF010 todo 50" not in lines
    assert lines[-1] == "... and 6 more"
    empty = gitops.migration_commit_message("p", "w", files=[], rules={}, todos=[])
    assert "... and" not in empty and empty.count("- (none)") == 3


def test_push_rejected_by_a_hook(remote: Path, cache: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch prefect2/* is frozen by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    migrate(repo)
    gitops.commit_migration(repo, "migrate")
    with pytest.raises(PushRejected, match="frozen by policy") as info:
        gitops.push_branch(repo, "prefect2/w1")
    assert "'prefect2/w1'" in str(info.value)
    assert remote_sha(remote, "prefect2/w1") is None


def test_push_rejected_when_the_remote_branch_moved(
    remote: Path, cache: Path, tmp_path: Path
) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    migrate(repo)
    gitops.commit_migration(repo, "migrate")
    gitops.push_branch(repo, "prefect2/w1")
    theirs = human_commit(remote, tmp_path / "human", "prefect2/w1", {"fix.py": "y = 2\n"})
    migrate(repo, "from prefect import flow, task\n")
    gitops.commit_migration(repo, "migrate more")
    with pytest.raises(PushRejected, match="never force-push"):
        gitops.push_branch(repo, "prefect2/w1")
    assert remote_sha(remote, "prefect2/w1") == theirs  # their commit survives


def test_remote_branch_sha(remote: Path, cache: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    assert gitops.remote_branch_sha(repo, "main") == remote_sha(remote, "main")
    assert gitops.remote_branch_sha(repo, "prefect2/w1") is None


def _pushed_migration(remote: Path, cache: Path) -> git.Repo:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    migrate(repo)
    gitops.commit_migration(repo, "migrate")
    gitops.push_branch(repo, "prefect2/w1")
    return repo


def test_default_branch_untouched_until_merge(remote: Path, cache: Path) -> None:
    before = remote_sha(remote, "main")
    repo = _pushed_migration(remote, cache)
    assert gitops.checkout_migration_branch(repo, "prefect2/w1", "main").existed_remotely
    gitops.push_branch(repo, "prefect2/w1")
    assert remote_sha(remote, "main") == before
    assert gitops.is_merged(repo, "prefect2/w1", "main") is False


def test_merge_creates_a_merge_commit_and_is_idempotent(
    remote: Path, cache: Path, tmp_path: Path
) -> None:
    repo = _pushed_migration(remote, cache)
    human = human_commit(remote, tmp_path / "human", "main", {"readme.md": "hi\n"})
    branch_tip = remote_sha(remote, "prefect2/w1")

    sha = gitops.merge_to_default(repo, "prefect2/w1", "main", "Promote wave w1")
    assert remote_sha(remote, "main") == sha
    merge = repo.commit(sha)
    assert [p.hexsha for p in merge.parents] == [human, branch_tip]
    assert merge.message.startswith("Promote wave w1")
    assert gitops.is_merged(repo, "prefect2/w1", "main") is True

    # Again, from a fresh clone too: the same merge commit, nothing new on the remote.
    assert gitops.merge_to_default(repo, "prefect2/w1", "main", "Promote wave w1") == sha
    fresh = gitops.workspace_clone(str(remote), tmp_path / "cache2", "acme")
    assert gitops.merge_to_default(fresh, "prefect2/w1", "main", "Promote wave w1") == sha
    assert remote_sha(remote, "main") == sha


def test_merge_conflict_names_the_files(remote: Path, cache: Path, tmp_path: Path) -> None:
    repo = _pushed_migration(remote, cache)
    before = human_commit(remote, tmp_path / "human", "main", {"flow.py": "human edit\n"})
    with pytest.raises(GitError, match=r"conflicts in flow\.py"):
        gitops.merge_to_default(repo, "prefect2/w1", "main", "Promote")
    assert remote_sha(remote, "main") == before
    assert not Path(repo.working_dir, ".git", "MERGE_HEAD").exists()


def test_merge_of_a_branch_never_pushed(remote: Path, cache: Path) -> None:
    repo = gitops.workspace_clone(str(remote), cache, "acme")
    with pytest.raises(GitError, match="no branch 'prefect2/w9' to merge"):
        gitops.merge_to_default(repo, "prefect2/w9", "main", "Promote")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/etl", ("acme", "etl")),
        ("https://github.com/acme/etl.git", ("acme", "etl")),
        ("https://x-access-token:tok@github.com/acme/etl.git", ("acme", "etl")),
        ("git@github.com:acme/etl.git", ("acme", "etl")),
        ("ssh://git@github.com/acme/my.repo.git", ("acme", "my.repo")),
        ("https://gitlab.com/acme/etl.git", None),
        ("https://github.com/acme", None),
        ("/srv/git/etl.git", None),
    ],
)
def test_parse_github_remote(url: str, expected: tuple[str, str] | None) -> None:
    assert gitops.parse_github_remote(url) == expected


def test_missing_default_branch_of_the_original_names_the_branches(
    remote: Path, cache: Path, tmp_path: Path
) -> None:
    from meta_flows.core.registry import Project
    from meta_flows.orchestration.project import legacy_checkout

    project = Project(name="acme", git_url=str(remote), default_branch="develop", wave="w")
    with pytest.raises(GitError) as info:
        legacy_checkout(project, tmp_path / "ws")
    assert "has no branch 'develop' (its branches: main)" in str(info.value)
    assert "Cmd(" not in str(info.value)  # not git's raw command error


def test_following_the_conflict_advice_lets_the_promotion_through(
    remote: Path, cache: Path, tmp_path: Path
) -> None:
    repo = _pushed_migration(remote, cache)
    human_commit(remote, tmp_path / "human", "main", {"flow.py": "human edit\n"})
    with pytest.raises(GitError) as info:
        gitops.merge_to_default(repo, "prefect2/w1", "main", "Promote")
    assert "Merge 'main' into 'prefect2/w1' by hand" in str(info.value)
    # as advised: merge main into the migration branch by hand, resolve, push
    work = tmp_path / "human"
    run(work, "fetch", "-q", "origin")
    run(work, "checkout", "-q", "-B", "prefect2/w1", "origin/prefect2/w1")
    subprocess.run(["git", "merge", "-q", "origin/main"], cwd=work, env={**os.environ, **ENV})
    (work / "flow.py").write_text("from prefect import flow\n# and the human edit\n")
    run(work, "add", "-A")
    run(work, "commit", "-q", "--no-edit")
    run(work, "push", "-q", "origin", "prefect2/w1")
    # the next run of the wave continues the branch and promotes it
    gitops.checkout_migration_branch(repo, "prefect2/w1", "main")
    merge = gitops.merge_to_default(repo, "prefect2/w1", "main", "Promote")
    assert remote_sha(remote, "main") == merge
    assert "# and the human edit" in run(remote, "show", "main:flow.py")
