"""Build a minimal pure-Python wheel for a test (pip installs it offline, no build step)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def write_wheel(path: Path, files: dict[str, str]) -> Path:
    """A wheel at ``path`` (``<dist>-<version>-py3-none-any.whl``) holding ``files``
    (archive name -> text) plus its ``METADATA``, ``WHEEL`` and ``RECORD``."""
    dist, version = path.name.split("-")[:2]
    info = f"{dist}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


def package_files(package: Path) -> dict[str, str]:
    """Every ``.py`` file of the package directory ``package``, by its name in a wheel."""
    return {
        f"{package.name}/{p.relative_to(package).as_posix()}": p.read_text(encoding="utf-8")
        for p in sorted(package.rglob("*.py"))
    }
