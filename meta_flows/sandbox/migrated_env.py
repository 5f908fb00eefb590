"""The Prefect 2 environment a migrated project is validated in: its migrated requirements.

The Prefect 2 side of validation runs the migrated code with the dependencies its migrated
files declare (``requirements*.txt``, ``pyproject.toml``, ``setup.py``: what the wave commits),
so a dependency the migration forgot, or one that does not install, fails validation instead of
production.

- A project whose requirements meta-flows' own interpreter already satisfies (Prefect 2 itself,
  the integrations meta-flows installs) runs there: nothing to build, the warm interpreter is
  shared by every such project.
- Otherwise a virtualenv per set of requirements is layered over meta-flows' own site-packages
  (a ``.pth`` file that adds them as a site directory, so Prefect 2 and meta-flows' child code
  are installed once) with the project's requirements installed into it, Prefect constrained to
  the version meta-flows runs. It is keyed by a hash of the requirements (and of any local wheel
  or source directory they name) and built once under a lock, like the Prefect 1 environments
  (:mod:`meta_flows.sandbox.legacy.env`), in the same cache.
- Requirements that do not install raise :class:`MigratedEnvError` with pip's reason (remembered
  for ``FAILURE_TTL`` seconds); the wave reports it as a ``migrated-error`` of each flow.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from meta_flows.core.errors import MetaFlowsError
from meta_flows.sandbox.legacy.env import (
    MARKER,
    LegacyEnvError,
    build_env,
    cache_root,
    content_key,
    dist_name,
    env_key,
    locked,
    pip_install,
    project_requirements,
    recently_failed,
    site_packages,
)


class MigratedEnvError(MetaFlowsError, RuntimeError):
    """The migrated requirements cannot give a Prefect 2 environment (the message says why)."""


@dataclass(frozen=True)
class MigratedEnv:
    path: Path | None  # None: meta-flows' own interpreter
    requirements: tuple[str, ...] = ()

    @property
    def python(self) -> str:
        return sys.executable if self.path is None else str(self.path / "bin" / "python")


def _satisfied(requirement: str) -> bool:
    """Whether meta-flows' own interpreter already has ``requirement`` (name, version, extras
    aside); a local path or URL never counts as satisfied."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return False
    if parsed.marker is not None and not parsed.marker.evaluate():
        return True  # not for this interpreter
    if parsed.url:
        return False
    try:
        installed = metadata.version(parsed.name)
    except metadata.PackageNotFoundError:
        return False
    return parsed.specifier.contains(installed, prereleases=True)


def _prefect_version() -> str:
    return metadata.version("prefect")


def migrated_requirements(project_dir: Path) -> list[str]:
    """The project's requirements as its migrated files declare them (Prefect left out), or
    :class:`MigratedEnvError` naming a file that cannot be read or a Prefect requirement the
    Prefect 2 meta-flows runs does not satisfy (e.g. ``prefect==1.4.1`` left in place)."""
    try:
        declared = project_requirements(project_dir, keep_prefect=True)
    except LegacyEnvError as exc:
        raise MigratedEnvError(str(exc)) from exc
    ours = _prefect_version()
    for requirement in declared:
        if dist_name(requirement) != "prefect":
            continue
        try:
            specifier = Requirement(requirement).specifier
        except InvalidRequirement as exc:
            raise MigratedEnvError(f"the migrated requirement {requirement!r}: {exc}") from exc
        if not specifier.contains(ours, prereleases=True):
            raise MigratedEnvError(
                f"the migrated requirements ask for {requirement!r}, which Prefect {ours} (the "
                "Prefect 2 validation runs) does not satisfy"
            )
    return [r for r in declared if dist_name(r) != "prefect"]


def migrated_env(project_dir: Path, root: Path | None = None) -> MigratedEnv:
    """The Prefect 2 environment for a migrated project directory (see the module docstring)."""
    requirements = tuple(sorted(dict.fromkeys(migrated_requirements(project_dir))))
    if all(_satisfied(r) for r in requirements):
        return MigratedEnv(None, requirements)
    root = root or cache_root()
    base_site = sysconfig.get_paths()["purelib"]
    key = env_key("prefect2", base_site, _prefect_version(), *requirements)
    key = env_key(key, *content_key(requirements))
    target = root / f"prefect2-project-{key}"
    if (target / MARKER).exists():
        return MigratedEnv(target, requirements)
    failed = root / f"{target.name}.failed"
    with locked(root / f"{target.name}.lock"):
        if recently_failed(failed):
            raise MigratedEnvError(failed.read_text(encoding="utf-8"))
        if not (target / MARKER).exists():

            def build(tmp: Path) -> None:
                # Prefect 2 and meta-flows come from meta-flows' own site-packages, their
                # .pth files processed too (site.addsitedir); the project's packages go first
                (site_packages(tmp) / "_meta_flows_prefect2_base.pth").write_text(
                    f"import site; site.addsitedir({base_site!r})\n"
                )
                constraints = tmp / "constraints.txt"
                constraints.write_text(f"prefect=={_prefect_version()}\n")
                pip_install(
                    tmp / "bin" / "python",
                    ["-c", str(constraints), *requirements],
                    "the migrated requirements (" + ", ".join(requirements) + ")",
                )

            try:
                build_env(target, build, with_pip=False)
            except LegacyEnvError as exc:
                failed.write_text(str(exc), encoding="utf-8")
                raise MigratedEnvError(str(exc)) from exc
            failed.unlink(missing_ok=True)
    return MigratedEnv(target, requirements)
