"""Git for a migration wave: a cached clone, a migration branch, commits, pushes and the merge.

Every function works on a clone that meta-flows owns, under a workspace cache directory; the
user's repository is only ever touched through its remote, and only in safe ways:

- The migration branch (``prefect2/<wave>``) is created from ``origin/<base>`` or, when it already
  exists on the remote, continued from there. Our clone's work tree is reset to it: the clone is
  ours, nothing a human wrote lives there.
- Pushes are plain pushes, never forced. A remote that refuses one (a hook, a protected branch,
  someone else's commits on the branch) raises :class:`PushRejected` with the remote's words.
- The default branch is written by :func:`merge_to_default` alone (promotion), with a merge commit.
- Every step is idempotent: cloning again fetches, committing an unchanged tree commits nothing,
  pushing what the remote has pushes nothing, merging a merged branch merges nothing. A run killed
  half way and started again ends in the same state without duplicate commits.
- Network operations fail in bounded time (``$META_FLOWS_GIT_TIMEOUT`` seconds, default 300; git
  never prompts for a password), and no error message ever shows a credential embedded in a URL.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from meta_flows.core.errors import MetaFlowsError

DEFAULT_AUTHOR = ("meta-flows", "meta-flows@localhost")
# Seconds a clone, fetch, push or ls-remote may take before git is killed.
NETWORK_TIMEOUT = float(os.environ.get("META_FLOWS_GIT_TIMEOUT", "300"))
# How many TODOs a commit message lists before summing up the rest.
MAX_TODOS_IN_MESSAGE = 50

# Git never asks for a password (it would hang a worker), and gives up on a stalled transfer.
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    # the transports a registry's git URL may use; any other (ext::, fd::...) fails at once
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
    "GIT_HTTP_LOW_SPEED_TIME": "60",
    "GIT_SSH_COMMAND": os.environ.get(
        "GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30"
    ),
}
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


class GitError(MetaFlowsError, RuntimeError):
    """A git step failed; the message names the repository or branch and what to do about it."""


class UnreachableRepository(GitError):
    """The repository could not be cloned or fetched (wrong URL, network, credentials)."""


class PushRejected(GitError):
    """The remote refused a push; the message carries the remote's reason."""


@dataclass(frozen=True)
class BranchInfo:
    """The migration branch checked out in the cache clone."""

    branch: str
    base: str
    base_commit: str
    existed_remotely: bool


def redact(text: str) -> str:
    """``text`` with the ``user:token@`` part of every URL in it replaced by ``***@``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def _git_message(exc: GitCommandError) -> str:
    """What git said on stderr (or the exception) without credentials, on one line per line."""
    stderr = exc.stderr if isinstance(exc.stderr, str) else ""
    text = stderr.strip().removeprefix("stderr:").strip().strip("'").strip()
    lines = [line for line in text.splitlines() if not line.startswith("Cloning into")]
    return redact(" ".join(lines) or str(exc))


def _normalise_url(url: str) -> str:
    url = redact(url.strip()).rstrip("/")
    return url.removesuffix(".git") if "://" in url or "@" in url else url


def _origin_url(repo: git.Repo) -> str:
    return repo.remotes.origin.url


# --------------------------------------------------------------------------------------------
# Clone and branch
# --------------------------------------------------------------------------------------------


def workspace_clone(url: str, cache_dir: Path, name: str) -> git.Repo:
    """Clone ``url`` into ``cache_dir/name``, or fetch (with prune) if that clone exists.

    The clone is made in a side directory and renamed into place, so a clone killed half way never
    leaves a half-made repository at ``cache_dir/name``. An existing clone whose origin is another
    repository raises :class:`GitError`; one whose origin differs only in embedded credentials (a
    rotated token) gets the new URL. Clone and fetch failures raise
    :class:`UnreachableRepository` with git's reason.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / name
    if target.exists():
        try:
            repo = git.Repo(target)
        except (InvalidGitRepositoryError, NoSuchPathError) as exc:
            raise GitError(
                f"{target} exists but is not a git clone; meta-flows keeps its clones there. "
                "Move or delete that directory and run again."
            ) from exc
        repo.git.update_environment(**_GIT_ENV)
        if "origin" not in [r.name for r in repo.remotes]:
            raise GitError(f"{target}: the cached clone has no 'origin' remote; delete it")
        current = _origin_url(repo)
        if _normalise_url(current) != _normalise_url(url):
            raise GitError(
                f"{target} is a clone of {redact(current)}, not of {redact(url)}: two projects "
                "share a workspace name. Rename one project or delete the cached clone."
            )
        if current != url:
            repo.remotes.origin.set_url(url)
        _fetch(repo)
        return repo

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{name}.partial"
    if partial.exists():  # a clone killed half way: ours to remove
        shutil.rmtree(partial)
    try:
        git.Git(str(cache_dir)).execute(
            ["git", "clone", "--", url, str(partial)],
            env=_GIT_ENV,
            kill_after_timeout=NETWORK_TIMEOUT,
        )
    except GitCommandError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise UnreachableRepository(
            f"cannot clone {redact(url)}: {_git_message(exc)}. "
            "Check the URL, the network and the credentials for this project."
        ) from exc
    partial.rename(target)
    repo = git.Repo(target)
    repo.git.update_environment(**_GIT_ENV)
    return repo


def _fetch(repo: git.Repo) -> None:
    try:
        repo.git.fetch("--prune", "origin", kill_after_timeout=NETWORK_TIMEOUT)
    except GitCommandError as exc:
        raise UnreachableRepository(
            f"cannot fetch {redact(_origin_url(repo))}: {_git_message(exc)}. "
            "Check the URL, the network and the credentials for this project."
        ) from exc


def _remote_ref(repo: git.Repo, branch: str) -> git.RemoteReference | None:
    for ref in repo.remotes.origin.refs:
        if ref.remote_head == branch:
            return ref
    return None


def require_branch(repo: git.Repo, branch: str) -> git.RemoteReference:
    """The remote's ``branch``; :class:`GitError` naming the branches it has if it has none."""
    ref = _remote_ref(repo, branch)
    if ref is None:
        have = sorted(r.remote_head for r in repo.remotes.origin.refs if r.remote_head != "HEAD")
        raise GitError(
            f"{redact(_origin_url(repo))} has no branch {branch!r} (its branches: "
            f"{', '.join(have) or 'none'}); set the project's default_branch in the registry to "
            "one that exists."
        )
    return ref


def _reset_work_tree(repo: git.Repo, branch: str, start: str) -> None:
    """Make local ``branch`` point at ``start`` and the work tree match it exactly."""
    repo.git.checkout("-f", "-B", branch, start)
    repo.git.reset("--hard", start)
    repo.git.clean("-ffdx")


def checkout_migration_branch(repo: git.Repo, branch: str, base: str) -> BranchInfo:
    """Check out the migration ``branch``: continued from the remote's, or new from ``base``.

    Only the cache clone's work tree is reset; nothing is pushed. :class:`GitError` if the remote
    has no branch ``base``.
    """
    base_ref = require_branch(repo, base)
    remote = _remote_ref(repo, branch)
    _reset_work_tree(repo, branch, (remote or base_ref).path)
    if remote is not None:
        repo.git.branch("--set-upstream-to", f"origin/{branch}", branch)
    return BranchInfo(
        branch=branch,
        base=base,
        base_commit=base_ref.commit.hexsha,
        existed_remotely=remote is not None,
    )


# --------------------------------------------------------------------------------------------
# Commit
# --------------------------------------------------------------------------------------------


def _author_env(author: tuple[str, str]) -> dict[str, str]:
    name, email = author
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def commit_migration(
    repo: git.Repo,
    message: str,
    *,
    author: tuple[str, str] = DEFAULT_AUTHOR,
    paths: list[str] | None = None,
) -> str | None:
    """Commit the work tree's changes and new files; the new commit's sha, or None if none.

    Removed files are never staged (``--ignore-removal``): a migration commit only adds and
    modifies. ``paths`` limits what is staged (relative to the work tree). An unchanged tree
    commits nothing, which is what makes a re-run a no-op.
    """
    repo.git.add("--ignore-removal", "--", *(paths or ["."]))
    if not repo.index.diff("HEAD"):
        return None
    with repo.git.custom_environment(**_author_env(author)):
        repo.git.commit("--no-verify", "-q", "-m", message)
    return repo.head.commit.hexsha


def migration_commit_message(
    project: str,
    wave: str,
    *,
    files: list[str],
    rules: dict[str, int],
    todos: list[tuple[str, int, str]],
) -> str:
    """The migration commit's message: files changed, rules applied with counts, every TODO."""
    lines = [f"Migrate {project} to Prefect 2 (wave {wave})", ""]
    lines.append(f"Files changed ({len(files)}):")
    lines += [f"- {path}" for path in sorted(files)] or ["- (none)"]
    lines += ["", "Rules applied:"]
    lines += [f"- {code}: {count}" for code, count in sorted(rules.items())] or ["- (none)"]
    lines += ["", f"TODOs left for a human ({len(todos)}):"]
    shown = sorted(todos)[:MAX_TODOS_IN_MESSAGE]
    lines += [f"- {path}:{line}: {text}" for path, line, text in shown] or ["- (none)"]
    if len(todos) > len(shown):
        lines.append(f"... and {len(todos) - len(shown)} more")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Push, merge, remote state
# --------------------------------------------------------------------------------------------

_FAILED = git.PushInfo.REJECTED | git.PushInfo.REMOTE_REJECTED | git.PushInfo.ERROR


class _RemoteLines(git.RemoteProgress):
    """Collects what the remote said (``remote: ...`` lines) during a push."""

    def __init__(self) -> None:
        super().__init__()
        self.remote_lines: list[str] = []

    def line_dropped(self, line: str) -> None:
        if line.startswith("remote:"):
            text = line.removeprefix("remote:").strip()
            if text:
                self.remote_lines.append(text)


def _push(repo: git.Repo, branch: str) -> bool:
    """Plain push of local ``branch`` to the remote branch of that name; True if it moved."""
    progress = _RemoteLines()
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"
    url = redact(_origin_url(repo))
    try:
        infos = repo.remotes.origin.push(
            refspec, progress=progress, kill_after_timeout=NETWORK_TIMEOUT
        )
    except GitCommandError as exc:
        raise PushRejected(
            f"pushing {branch!r} to {url} failed: {_git_message(exc)}. "
            "Check the network and the credentials' write access."
        ) from exc
    said = "; ".join(redact(line) for line in progress.remote_lines)
    for info in infos:
        if info.flags & _FAILED:
            reason = info.summary.strip()
            hint = (
                "the remote branch has commits this run does not have; look at them, "
                "never force-push over them"
                if info.flags & git.PushInfo.REJECTED
                else "the remote refused it (hook or branch protection); ask its owners"
            )
            raise PushRejected(
                f"push of {branch!r} to {url} rejected: {reason}"
                + (f" (remote says: {said})" if said else "")
                + f": {hint}."
            )
    if not infos or getattr(infos, "error", None) is not None:
        raise PushRejected(f"push of {branch!r} to {url} failed: {said or 'no answer'}.")
    return not all(info.flags & git.PushInfo.UP_TO_DATE for info in infos)


def push_branch(repo: git.Repo, branch: str) -> bool:
    """Push the migration branch (never forced): True if pushed, False if the remote had it."""
    return _push(repo, branch)


def remote_branch_sha(repo: git.Repo, branch: str) -> str | None:
    """The sha of ``branch`` on the remote right now (``ls-remote``), or None if it has none."""
    try:
        out = repo.git.ls_remote(
            "--heads", "origin", f"refs/heads/{branch}", kill_after_timeout=NETWORK_TIMEOUT
        )
    except GitCommandError as exc:
        raise UnreachableRepository(
            f"cannot read branches of {redact(_origin_url(repo))}: {_git_message(exc)}"
        ) from exc
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha
    return None


def _is_ancestor(repo: git.Repo, commit: str, of: str) -> bool:
    try:
        repo.git.merge_base("--is-ancestor", commit, of)
    except GitCommandError:
        return False
    return True


def is_merged(repo: git.Repo, branch: str, default: str, *, refresh: bool = True) -> bool:
    """Whether the remote ``branch``'s tip is in the remote ``default`` (fetches first)."""
    if refresh:
        _fetch(repo)
    head, base = _remote_ref(repo, branch), _remote_ref(repo, default)
    if head is None or base is None:
        return False
    return _is_ancestor(repo, head.commit.hexsha, base.commit.hexsha)


def merge_to_default(repo: git.Repo, branch: str, default: str, message: str) -> str:
    """Promote: merge the remote migration ``branch`` into ``default`` with a merge commit, push.

    Returns the merge commit's sha. A branch already merged is not merged again: the commit that
    merged it is returned. A conflict aborts the merge and raises :class:`GitError` naming the
    files; a remote ``default`` that moved during the merge raises :class:`PushRejected` (run
    again: the merge is redone on top of it).
    """
    _fetch(repo)
    url = redact(_origin_url(repo))
    head, base = _remote_ref(repo, branch), _remote_ref(repo, default)
    if head is None:
        raise GitError(f"{url} has no branch {branch!r} to merge; push it first")
    if base is None:
        raise GitError(f"{url} has no default branch {default!r}")
    tip, target = head.commit.hexsha, base.commit.hexsha
    if _is_ancestor(repo, tip, target):
        merges = repo.git.rev_list(
            "--ancestry-path", "--merges", "--reverse", f"{tip}..{target}"
        ).split()
        return merges[0] if merges else target

    _reset_work_tree(repo, default, base.path)
    try:
        with repo.git.custom_environment(**_author_env(DEFAULT_AUTHOR)):
            repo.git.merge("--no-ff", "--no-edit", "-m", message, tip)
    except GitCommandError as exc:
        conflicted = repo.git.diff("--name-only", "--diff-filter=U").split()
        try:
            repo.git.merge("--abort")
        except GitCommandError:
            pass
        _reset_work_tree(repo, default, base.path)
        if conflicted:
            raise GitError(
                f"merging {branch!r} into {default!r} of {url} conflicts in "
                f"{', '.join(conflicted)}: {default!r} changed these files since the migration. "
                f"Merge {default!r} into {branch!r} by hand (resolving these files) and push "
                f"{branch!r}; the next run of the wave migrates what {default!r} brought, "
                "validates it and promotes it (running it again before that meets the same "
                "conflict)."
            ) from exc
        raise GitError(
            f"merging {branch!r} into {default!r} of {url} failed: {_git_message(exc)}"
        ) from exc
    merge_sha = repo.head.commit.hexsha
    _push(repo, default)
    return merge_sha


def commit_on_branch(
    repo: git.Repo, branch: str, edit, message: str, *, author: tuple[str, str] = DEFAULT_AUTHOR
) -> str | None:
    """Check out the remote ``branch``'s tip, let ``edit(work_tree: Path) -> list[str]`` change
    files (the paths it returns, relative), commit them and push ``branch`` (never forced).

    Returns the new commit's sha, or None when ``edit`` changed nothing (nothing is committed or
    pushed: a re-run is a no-op)."""
    _fetch(repo)
    ref = require_branch(repo, branch)
    _reset_work_tree(repo, branch, ref.path)
    paths = edit(Path(repo.working_tree_dir))
    if not paths:
        return None
    sha = commit_migration(repo, message, author=author, paths=paths)
    if sha is not None:
        _push(repo, branch)
    return sha


# --------------------------------------------------------------------------------------------
# GitHub
# --------------------------------------------------------------------------------------------

_GITHUB_REMOTE = re.compile(
    r"""^(?:
        https?://(?:[^/@]+@)?(?:www\.)?github\.com/   # https://[user:token@]github.com/
      | git@github\.com:                              # scp-like ssh
      | ssh://git@github\.com(?::\d+)?/               # ssh URL
    )(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$""",
    re.VERBOSE,
)


def parse_github_remote(url: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a github.com remote URL (https or ssh), None for any other remote."""
    match = _GITHUB_REMOTE.match(url.strip())
    return (match["owner"], match["name"]) if match else None
