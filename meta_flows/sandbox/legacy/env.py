"""The managed Prefect 1 environment: a virtualenv with ``prefect==1.4.1`` that our code creates.

The legacy side of a migration (inventory, validation) runs Prefect 1 for real. We never install
Prefect 1 next to Prefect 2: each environment is its own virtualenv under the cache directory,
created on first use and reused after.

- A **base** environment holds Prefect 1.4.1 with a pinned, known-good set of its dependencies
  (``constraints-prefect1.txt`` beside this file says why each risky pin exists).
- A **project** environment layers a project's own requirements on top of the base: a virtualenv
  whose site-packages points at the base's through a ``.pth`` file, so Prefect 1 is installed
  once, not per project.
- Environments are keyed by a hash of their inputs (Python version, constraints, requirements)
  and built under a file lock: two processes asking for the same environment at once build it
  once. An environment counts as finished only once its marker file is written, last; a crash
  leaves no marker, and the next request wipes the leftover and builds again. (Environments are
  built at their final path, not renamed into place: a virtualenv is not relocatable, its console
  scripts' ``#!`` lines and activate scripts name the directory it was created in.)
- A project environment whose requirements cannot install raises :class:`LegacyEnvError` with
  pip's reason; that answer is remembered for ``FAILURE_TTL`` seconds
  (``$META_FLOWS_ENV_FAILURE_TTL``, default one hour) so repeated inventories do not pay for
  pip's failure again.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from meta_flows.core.errors import MetaFlowsError
from meta_flows.patches import pyast
from meta_flows.sandbox import zygote

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PREFECT1 = "prefect==1.4.1"
CONSTRAINTS = Path(__file__).with_name("constraints-prefect1.txt")
MARKER = ".meta-flows-complete"
# A project environment whose requirements failed to install is not retried for this long (an
# inventory asks once per project and run; a network hiccup heals after it). Seconds.
FAILURE_TTL = int(os.environ.get("META_FLOWS_ENV_FAILURE_TTL", "3600"))


PRELOAD = ("prefect",)  # what a warm Prefect 1 interpreter imports before forking children


class LegacyEnvError(MetaFlowsError, RuntimeError):
    """A Prefect 1 environment could not be created (the message says why, for which inputs)."""


# Prefect 1 settings that say where its backend (Prefect Cloud 1 or a Prefect 1 server) is and
# how to log in to it; never passed to a child.
BACKEND_SETTINGS = (
    "PREFECT__BACKEND",
    "PREFECT__CLOUD__",
    "PREFECT__SERVER__",
    "PREFECT__HOME_DIR",
    "PREFECT__USER_CONFIG_PATH",
)
# Where a child's Prefect 1 client is sent instead: a URL scheme no HTTP adapter serves, so a call
# fails at once (no connection, no retries) and says why in its error.
REFUSED_BACKEND = "meta-flows-refused://prefect1-backend-is-off-during-inventory-and-validation"


def isolated_backend() -> dict[str, str]:
    """Prefect 1 settings that keep a child away from any real backend.

    Inventory and validation load and run the estate's code; a module or task that calls
    ``prefect.backend.set_key_value``, ``create_flow_run`` or ``Client()`` would otherwise reach
    the Prefect 1 backend the operator's settings or ``~/.prefect`` files point at, with their
    credentials (and Prefect 1's client retries a refused connection for about a minute). Here
    the backend's address has a URL scheme no HTTP adapter serves: the call raises at once,
    naming that address, and no configuration or key file of the operator's is read (Prefect 1's
    home directory, user config and backend file point into an empty folder of meta-flows'
    cache).
    """
    home = cache_root() / "prefect1-home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__ENDPOINT": REFUSED_BACKEND,
        "PREFECT__CLOUD__API": REFUSED_BACKEND,
        "PREFECT__CLOUD__ENDPOINT": REFUSED_BACKEND,
        "PREFECT__CLOUD__GRAPHQL": f"{REFUSED_BACKEND}/graphql",
        "PREFECT__CLOUD__API_KEY": "",
        "PREFECT__CLOUD__AUTH_TOKEN": "",
        "PREFECT__CLOUD__TENANT_ID": "",
        "PREFECT__CLOUD__SEND_FLOW_RUN_LOGS": "false",
        "PREFECT__HOME_DIR": str(home),
        "PREFECT__USER_CONFIG_PATH": str(home / "config.toml"),
        "PREFECT__BACKEND_CONFIG_PATH": str(home / "backend.toml"),
    }


@dataclass(frozen=True)
class LegacyEnv:
    path: Path
    requirements: tuple[str, ...] = ()

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run ``python ARGS`` in this environment."""
        return subprocess.run([str(self.python), *args], **kwargs)

    def program(self, script: Path) -> zygote.Program:
        """``script`` (a standalone probe: standard library and Prefect 1 only) in this
        environment, forked from a warm interpreter that has Prefect 1 imported. The inventory's
        probe and the validation's runs use the same preload and :meth:`child_environ`, so they
        share that interpreter."""
        return zygote.Program(str(self.python), str(script), PRELOAD)

    @staticmethod
    def child_environ() -> dict[str, str]:
        """The environment of a Prefect 1 interpreter: the allow-list every child of meta-flows
        gets (:func:`meta_flows.sandbox.environ.allowed`: what an interpreter needs, no
        credentials, its own ``HOME``), without Python settings of ours, and with Prefect 1's
        backend out of reach (see :func:`isolated_backend`).

        Prefect 1's own settings (``PREFECT__CONTEXT__SECRETS__X``, ``PREFECT__...``: two
        underscores) pass, except those that say where its backend is or how to log in to it;
        Prefect 2's (``PREFECT_API_URL``: one underscore) do not.
        """
        from meta_flows.sandbox.environ import allowed  # it imports this module

        env = {
            k: v
            for k, v in allowed(prefixes=("PREFECT__",)).items()
            if not k.startswith(BACKEND_SETTINGS) and not k.startswith("PYTHON")
        }
        env.update(
            PYTHONNOUSERSITE="1",
            PYTHONDONTWRITEBYTECODE="1",
            PREFECT__LOGGING__LEVEL="ERROR",
            PREFECT__CLOUD__USE_LOCAL_SECRETS="true",
            PREFECT__FLOWS__CHECKPOINTING="false",
        )
        env.update(isolated_backend())
        return env


def cache_root() -> Path:
    """Where environments live: ``$META_FLOWS_CACHE`` or ``~/.cache/meta-flows``."""
    root = os.environ.get("META_FLOWS_CACHE")
    if root:
        return Path(root).expanduser() / "legacy"
    return Path.home() / ".cache" / "meta-flows" / "legacy"


def project_requirements(project_dir: Path, *, keep_prefect: bool = False) -> list[str]:
    """A project's own requirements, from requirements.txt, pyproject.toml or setup.py.

    Prefect itself is left out (the environment pins Prefect 1.4.1) unless ``keep_prefect``. A
    local path (``./vendor/pkg``, ``wheels/x.whl``) becomes an absolute path in the project
    directory. Raises LegacyEnvError naming the file when one cannot be read.
    """
    found: list[str] = []
    req = project_dir / "requirements.txt"
    if req.exists():
        for number, line in enumerate(req.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                raise LegacyEnvError(
                    f"{req}:{number}: pip options ({line.split()[0]}) are not supported; "
                    "list plain requirements"
                )
            found.append(line)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise LegacyEnvError(f"{pyproject}: invalid TOML: {exc}") from exc
        found += list(data.get("project", {}).get("dependencies", []))
    setup = project_dir / "setup.py"
    if setup.exists():
        found += _setup_py_requirements(setup)
    found = [_local_path(project_dir, r) for r in found]
    return [r for r in dict.fromkeys(found) if keep_prefect or dist_name(r) != "prefect"]


def _local_path(project_dir: Path, requirement: str) -> str:
    """``./vendor/pkg`` (a path in the project) as an absolute path pip installs from anywhere."""
    text = requirement.strip()
    if text.startswith(("./", "../")) or (text.endswith(".whl") and "/" in text):
        path = (project_dir / text).resolve()
        if path.exists():
            return str(path)
    return requirement


def content_key(requirements: tuple[str, ...] | list[str]) -> list[str]:
    """A digest of every requirement that is a local path (a wheel or a source directory), so
    an environment is rebuilt when the package changes under the same path."""
    parts = []
    for requirement in requirements:
        path = Path(requirement)
        if not path.is_absolute() or not path.exists():
            continue
        digest = hashlib.sha256()
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(path.parent)).encode())
            digest.update(file.read_bytes())
        parts.append(digest.hexdigest())
    return parts


def _setup_py_requirements(path: Path) -> list[str]:
    try:
        tree = pyast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise LegacyEnvError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            try:
                return [str(x) for x in ast.literal_eval(node.value)]
            except ValueError as exc:
                raise LegacyEnvError(
                    f"{path}:{node.value.lineno}: install_requires is not a literal list"
                ) from exc
    return []


def dist_name(requirement: str) -> str:
    name = requirement.strip()
    for sep in "[<>=!~;@ ":
        name = name.split(sep, 1)[0]
    return name.lower().replace("_", "-")


def env_key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in (sys.version.split()[0], *parts):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pip_install(python: Path, args: list[str], what: str) -> None:
    out = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        reason = [line for line in lines if line.startswith("ERROR:")] or lines[-12:]
        raise LegacyEnvError(f"cannot install {what}: " + "\n".join(reason))


def site_packages(env: Path) -> Path:
    found = sorted((env / "lib").glob("python3*/site-packages"))
    if not found:
        raise LegacyEnvError(f"{env}: no site-packages directory")
    return found[0]


def build_env(target: Path, build: Callable[[Path], None], *, with_pip: bool = True) -> None:
    """Build an environment at ``target`` (caller holds its lock); mark it complete last.

    ``with_pip=False``: no pip of its own (an environment layered over one that has pip)."""
    shutil.rmtree(target, ignore_errors=True)  # an unfinished leftover of a crashed build
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(target)],
            check=True,
            capture_output=True,
            text=True,
        )
        build(target)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise LegacyEnvError(f"cannot create a virtualenv: {exc.stderr.strip()}") from exc
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    (target / MARKER).write_text("ok\n")


def base_env(root: Path | None = None) -> LegacyEnv:
    """The shared Prefect 1.4.1 environment, created on first use."""
    root = root or cache_root()
    constraints = CONSTRAINTS.read_text(encoding="utf-8")
    target = root / f"prefect1-base-{env_key(PREFECT1, constraints)}"
    if (target / MARKER).exists():
        return LegacyEnv(target)
    with locked(root / f"{target.name}.lock"):
        if not (target / MARKER).exists():

            def build(tmp: Path) -> None:
                pip_install(tmp / "bin" / "python", ["-c", str(CONSTRAINTS), PREFECT1], PREFECT1)

            build_env(target, build)
    return LegacyEnv(target)


def legacy_env(
    requirements: list[str] | tuple[str, ...] = (), root: Path | None = None
) -> LegacyEnv:
    """A Prefect 1.4.1 environment with ``requirements`` installed too (the base when none)."""
    root = root or cache_root()
    base = base_env(root)
    requirements = tuple(sorted(dict.fromkeys(r.strip() for r in requirements if r.strip())))
    if not requirements:
        return base
    key = env_key(base.path.name, *requirements, *content_key(requirements))
    target = root / f"prefect1-project-{key}"
    if (target / MARKER).exists():
        return LegacyEnv(target, requirements)
    failed = root / f"{target.name}.failed"
    with locked(root / f"{target.name}.lock"):
        if recently_failed(failed):  # pip already said no for these exact inputs: don't ask again
            raise LegacyEnvError(failed.read_text(encoding="utf-8"))
        if not (target / MARKER).exists():

            def build(tmp: Path) -> None:
                site = site_packages(tmp)
                (site / "_meta_flows_prefect1_base.pth").write_text(
                    str(site_packages(base.path)) + "\n"
                )
                pip_install(
                    tmp / "bin" / "python",
                    ["-c", str(CONSTRAINTS), *requirements],
                    "the project's requirements (" + ", ".join(requirements) + ")",
                )

            try:
                build_env(target, build)
            except LegacyEnvError as exc:
                failed.write_text(str(exc), encoding="utf-8")
                raise
            failed.unlink(missing_ok=True)
    return LegacyEnv(target, requirements)


def recently_failed(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < FAILURE_TTL
    except FileNotFoundError:
        return False


def env_for_project(project_dir: Path, root: Path | None = None) -> LegacyEnv:
    """The Prefect 1 environment for a project directory (its own requirements included)."""
    return legacy_env(project_requirements(project_dir), root)
