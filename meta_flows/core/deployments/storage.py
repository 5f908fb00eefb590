"""Prefect 1 storage as Prefect 2.20 pull steps (§14).

Git-hosted storages become ``git_clone`` steps (with a Secret block for a token), Docker storage
an image for the pool, local storage a working directory. (In a wave, every deployment clones
the project's own remote instead: :class:`~meta_flows.core.deployments.plan.Target`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from meta_flows.core.deployments.plan import (
    DOCKER_STEPS_PACKAGE,
    Todo,
    secret_block_name,
    slug,
    unevaluated,
    unevaluated_fields,
)
from meta_flows.core.inventory.model import (
    FlowInfo,
)


@dataclass
class _StorageSteps:
    pull: list[dict[str, Any]] = field(default_factory=list)
    build: list[dict[str, Any]] | None = None
    push: list[dict[str, Any]] | None = None
    image: str | None = None  # the image a Docker build produces, for job_variables
    secrets: list[str] = field(default_factory=list)  # Prefect 1 secret names -> Secret blocks
    todos: list[Todo] = field(default_factory=list)


def _git_clone(repository: str, branch: str | None, secret: str | None) -> dict[str, Any]:
    step: dict[str, Any] = {"repository": repository}
    if branch:
        step["branch"] = branch
    if secret:
        step["access_token"] = f"{{{{ prefect.blocks.secret.{secret_block_name(secret)} }}}}"
    return {"prefect.deployments.steps.git_clone": step}


def git_clone_step(repository: str, branch: str) -> dict[str, Any]:
    """Clone ``branch`` of ``repository`` at run time (the working directory becomes the clone)."""
    return _git_clone(repository, branch, None)


def _host_of(url: str) -> str:
    return re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]


def _is_commit(ref: str | None) -> bool:
    return bool(ref and re.fullmatch(r"[0-9a-f]{7,40}", ref))


def translate_storage(flow: FlowInfo, repo_root: str) -> _StorageSteps:
    storage = flow.storage
    steps = _StorageSteps()
    if storage is None:
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(
                "the flow had no storage in Prefect 1 (the default): set_working_directory "
                "points at this checkout; make that path exist on the worker",
                "pull",
            )
        )
        return steps
    f = {k: v for k, v in storage.fields.items() if not unevaluated(v)}
    unread = unevaluated_fields(storage.fields)
    if unread:
        steps.todos.append(
            Todo(f"storage values the inventory could not read: {', '.join(unread)}", "pull")
        )
    kind = storage.type
    required = {"GitHub": "repo", "GitLab": "repo", "Bitbucket": "repo", "Git": "repo"}
    required.update({"S3": "bucket", "GCS": "bucket", "Azure": "container"})
    if kind in required and not f.get(required[kind]):
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(f"{kind} storage without a readable {required[kind]}: write its pull step", "pull")
        )
        return steps
    if kind == "GitHub":
        host = _host_of(f["base_url"]) if f.get("base_url") else "github.com"
        if host.startswith("api."):
            host = host[4:]
        ref = f.get("ref")
        steps.pull = [
            _git_clone(
                f"https://{host}/{f['repo']}.git",
                None if _is_commit(ref) else ref,
                f.get("access_token_secret"),
            )
        ]
        if f.get("base_url"):
            steps.todos.append(
                Todo(f"GitHub Enterprise base_url {f['base_url']}: check the clone URL", "pull")
            )
        if _is_commit(ref):
            steps.todos.append(_pin_todo("commit", ref))
        _add_secret(steps, f.get("access_token_secret"))
    elif kind in ("GitLab", "Bitbucket"):
        default_host = "gitlab.com" if kind == "GitLab" else "bitbucket.org"
        host = _host_of(f.get("host") or default_host)
        repo = (
            f["repo"]
            if kind == "GitLab"
            else f"{f.get('workspace') or f.get('project')}/{f['repo']}"
        )
        ref = f.get("ref")
        steps.pull = [
            _git_clone(
                f"https://{host}/{repo}.git",
                None if _is_commit(ref) else ref,
                f.get("access_token_secret"),
            )
        ]
        if _is_commit(ref):
            steps.todos.append(_pin_todo("commit", ref))
        _add_secret(steps, f.get("access_token_secret"))
        steps.todos.append(
            Todo(
                f"{kind} storage: check the clone URL and the token format, or use a "
                f"prefect-{kind.lower()} credentials block (credentials: on git_clone)",
                "pull",
            )
        )
        if kind == "Bitbucket" and (
            f.get("cloud_username_secret") or f.get("cloud_app_password_secret")
        ):
            steps.todos.append(
                Todo(
                    "Bitbucket Cloud app password: use a prefect-bitbucket credentials block",
                    "pull",
                )
            )
    elif kind == "Git":
        host = f.get("repo_host") or "github.com"
        if f.get("use_ssh"):
            repository = f"git@{host}:{f['repo']}.git"
        else:
            repository = f"https://{host}/{f['repo']}.git"
        steps.pull = [
            _git_clone(
                repository,
                f.get("branch_name"),
                None if f.get("use_ssh") else f.get("git_token_secret_name"),
            )
        ]
        if not f.get("use_ssh"):
            _add_secret(steps, f.get("git_token_secret_name"))
        for pin in ("tag", "commit"):
            if f.get(pin):
                steps.todos.append(_pin_todo(pin, f[pin]))
        if f.get("git_clone_url_secret_name"):
            steps.todos.append(
                Todo(
                    f"the clone URL came from the Prefect 1 secret {f['git_clone_url_secret_name']}: "
                    "put the real repository URL here",
                    "pull",
                )
            )
        if f.get("git_token_username"):
            steps.todos.append(
                Todo(
                    f"git_token_username={f['git_token_username']!r}: use a credentials block "
                    "(credentials: on git_clone) when the host needs a username",
                    "pull",
                )
            )
        if f.get("use_ssh"):
            steps.todos.append(Todo("SSH clone: the worker needs the deploy key", "pull"))
    elif kind in ("Local", "Module"):
        directory = repo_root
        path = f.get("path")
        if kind == "Local" and path and PurePosixPath(path).is_absolute():
            parts = PurePosixPath(path).parts
            rel = PurePosixPath(flow.file).parts
            if len(parts) > len(rel) and parts[-len(rel) :] == rel:
                directory = str(PurePosixPath(*parts[: -len(rel)]))
        steps.pull = [_set_working_directory(directory)]
        if directory == repo_root:
            steps.todos.append(
                Todo(
                    "set_working_directory must name the repository checkout on the worker",
                    "pull",
                )
            )
        if kind == "Local" and f.get("stored_as_script") is False:
            steps.todos.append(
                Todo(
                    "Prefect 1 ran a pickled copy of the flow; Prefect 2 runs the source file",
                    "pull",
                )
            )
        if kind == "Module":
            module_file = f.get("module", "").replace(".", "/") + ".py"
            if module_file != flow.file and not flow.file.endswith(module_file):
                steps.todos.append(
                    Todo(
                        f"Module storage imported {f.get('module')!r}; the entrypoint uses the "
                        f"file {flow.file} instead: check it is the same code",
                        "entrypoint",
                    )
                )
    elif kind in ("S3", "GCS", "Azure"):
        key = f.get("key") or f.get("blob_name") or ""
        folder = str(PurePosixPath(key).parent) if key else ""
        folder = "" if folder == "." else folder
        if kind == "S3":
            step = {
                "prefect_aws.deployments.steps.pull_from_s3": {
                    "requires": "prefect-aws",
                    "bucket": f["bucket"],
                    "folder": folder,
                }
            }
            creds = "an AwsCredentials block (credentials:)"
        elif kind == "GCS":
            args = {"requires": "prefect-gcp", "bucket": f["bucket"], "folder": folder}
            if f.get("project"):
                args["project"] = f["project"]
            step = {"prefect_gcp.deployments.steps.pull_from_gcs": args}
            creds = "a GcpCredentials block (credentials:)"
        else:
            step = {
                "prefect_azure.deployments.steps.pull_from_azure_blob_storage": {
                    "requires": "prefect-azure",
                    "container": f["container"],
                    "folder": folder,
                }
            }
            creds = "an AzureBlobStorageCredentials block (credentials:)"
            if f.get("connection_string_secret"):
                creds += (
                    f" holding the connection string of the secret {f['connection_string_secret']}"
                )
        steps.pull = [step]
        todo = f"{kind} storage (C): the pull step downloads the folder's files; give it {creds}"
        if not f.get("stored_as_script"):
            todo += (
                "; Prefect 1 stored a pickled flow there: upload the migrated source "
                "instead (a push step or your CI)"
            )
        steps.todos.append(Todo(todo, "pull"))
    elif kind == "Docker":
        image_name = f.get("image_name") or slug(flow.name)
        registry = (f.get("registry_url") or "").rstrip("/")
        full_name = f"{registry}/{image_name}" if registry else image_name
        build: dict[str, Any] = {
            "id": "build-image",
            "requires": DOCKER_STEPS_PACKAGE,
            "image_name": full_name,
        }
        if f.get("image_tag"):
            build["tag"] = f["image_tag"]
        build["dockerfile"] = f.get("dockerfile") or "auto"
        steps.build = [{"prefect_docker.deployments.steps.build_docker_image": build}]
        steps.push = [
            {
                "prefect_docker.deployments.steps.push_docker_image": {
                    "requires": DOCKER_STEPS_PACKAGE,
                    "image_name": "{{ build-image.image_name }}",
                    "tag": "{{ build-image.tag }}",
                }
            }
        ]
        steps.image = "{{ build-image.image }}"
        steps.pull = [
            _set_working_directory(f"/opt/prefect/{repo_root.rstrip('/').rsplit('/', 1)[-1]}")
        ]
        steps.todos.append(
            Todo(
                "Docker storage (C): the image is built from the repository (dockerfile: auto "
                "copies it to /opt/prefect/<project> and installs requirements.txt); add what "
                "Prefect 1's python_dependencies/files/extra_dockerfile_commands installed",
                "build",
            )
        )
    else:
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(f"{kind} storage has no Prefect 2 pull step: make the code available", "pull")
        )
    return steps


def _set_working_directory(directory: str) -> dict[str, Any]:
    return {"prefect.deployments.steps.set_working_directory": {"directory": directory}}


def _pin_todo(kind: str, value: str) -> Todo:
    return Todo(
        f"Prefect 1 pinned {kind} {value}; git_clone in 2.20 cannot pin a {kind}: clone a "
        "branch that points at it, or check it out in an extra run_shell_script pull step",
        "pull",
    )


def _add_secret(steps: _StorageSteps, secret: str | None) -> None:
    if secret:
        steps.secrets.append(secret)
