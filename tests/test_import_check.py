"""The whole-tree check that every first-party import still resolves after a rewrite."""

from __future__ import annotations

from pathlib import Path

from meta_flows.core.import_check import dangling_imports, new_dangling


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_resolving_imports_of_every_kind_pass(tmp_path):
    root = tree(
        tmp_path,
        {
            "flows/__init__.py": "",
            "flows/schedules.py": "NIGHTLY = 1\nif True:\n    WEEKLY = 2\ntry:\n    import x as X\nexcept ImportError:\n    X = None\n",
            "flows/etl.py": (
                "import os\nimport flows.schedules\nfrom flows.schedules import NIGHTLY, WEEKLY, X\n"
                "from . import schedules\nfrom .schedules import NIGHTLY as N\nfrom prefect import flow\n"
            ),
            "ns/mod.py": "def helper():\n    pass\n",  # a namespace package
            "app.py": "from ns.mod import helper\nfrom ns import mod\nfrom star import anything\n",
            "star.py": "from os.path import *\n",
        },
    )
    assert dangling_imports(root) == []


def test_a_removed_definition_and_a_missing_module_are_named(tmp_path):
    root = tree(
        tmp_path,
        {
            "flows/__init__.py": "",
            "flows/schedules.py": "# NIGHTLY moved to prefect.yaml\n",
            "flows/etl.py": "from flows.schedules import NIGHTLY\nfrom ..outside import x\n",
            "flows/other.py": "from .gone import y\nimport flows.nothing\n",
        },
    )
    described = [d.describe() for d in dangling_imports(root)]
    assert described == [
        "flows/etl.py:1: imports 'NIGHTLY' from flows.schedules, which does not exist in the "
        "repository",
        "flows/other.py:1: imports module flows.gone, which does not exist in the repository",
        "flows/other.py:2: imports module flows.nothing, which does not exist in the repository",
    ]


def test_only_what_the_rewrite_broke_is_new(tmp_path):
    files = {
        "flows/__init__.py": "",
        "flows/schedules.py": "NIGHTLY = 1\n",
        "flows/etl.py": "from flows.schedules import NIGHTLY\nfrom flows.broken import z\n",
    }
    before = tree(tmp_path / "before", files)
    after = tree(tmp_path / "after", {**files, "flows/schedules.py": "\n"})
    [dangling] = new_dangling(before, after)
    assert (dangling.file, dangling.module, dangling.name) == (
        "flows/etl.py",
        "flows.schedules",
        "NIGHTLY",
    )
