"""Imports the rewrite adds and removes land in isort order (import_order.py): ruff's ``I001``
passes on the rewrite of every file it passed on before."""

import subprocess
from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from meta_flows.core.codemod.import_order import (
    RemoveImports,
    add_imports,
    member_key,
    statement_key,
)
from meta_flows.core.codemod.metadata import SharedMetadataWrapper, transform_with
from meta_flows.core.codemod.runner import run

ruff_main = pytest.importorskip("ruff.__main__")


def ruff_isort(root: Path) -> subprocess.CompletedProcess:
    """``ruff check --select I`` over ``root`` with ruff's defaults (``root`` is the project root:
    its top-level packages are first party)."""
    return subprocess.run(
        [ruff_main.find_ruff_bin(), "check", "--isolated", "--no-cache", "--select", "I", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Each isort-clean before ruff's check; the expected rewrite, where the layout is the point.
PROJECT = {
    "acme/__init__.py": "",
    "acme/util.py": "def helper(x):\n    return x\n",
    "flows/__init__.py": "",
    # stdlib / third party / first party, a docstring, __future__; an import removed from each
    # section, names added to the prefect line
    "flows/groups.py": '''\
        """Three sections."""

        from __future__ import annotations

        import json
        from datetime import timedelta

        import prefect
        import requests
        from prefect import Flow, Parameter, task
        from prefect.storage import GitHub

        from acme.util import helper


        @task(max_retries=2, retry_delay=timedelta(seconds=3))
        def fetch(url):
            prefect.context.get("logger").info("fetching %s", url)
            return json.dumps(helper(requests.get(url).json()))


        with Flow("groups", storage=GitHub(repo="acme/etl")) as flow:
            urls = Parameter("urls", default=["a", "b"])
            fetch.map(urls)
        ''',
    # the only Prefect import goes: the sections around it stay apart
    "flows/only_prefect.py": """\
        import os

        from prefect.engine import signals

        from acme.util import helper


        def check(path):
            if not os.path.exists(path):
                raise signals.FAIL("missing")
            return helper(path)
        """,
    # a new standard-library section between __future__ and third party, below a docstring
    "flows/new_section.py": '''\
        """Docstring."""
        from __future__ import annotations

        from prefect import Flow, task
        from prefect.tasks.secrets import EnvVarSecret


        @task
        def show(home):
            print(home)


        with Flow("env") as flow:
            show(EnvVarSecret("HOME"))
        ''',
    # imports inside try / if TYPE_CHECKING stay where they are
    "flows/guarded.py": """\
        from typing import TYPE_CHECKING

        try:
            import ujson as json
        except ImportError:
            import json

        from prefect import Flow, Parameter, task

        if TYPE_CHECKING:
            from acme.util import helper


        @task
        def dump(x):
            return json.dumps(x)


        with Flow("guarded") as flow:
            cfg = Parameter("cfg", default={"a": 1})
            dump(cfg)
        """,
    # a wrapped import (magic trailing comma): names come and go, one a line
    "flows/wrapped.py": """\
        from prefect import (
            Flow,
            Parameter,
            task,
            unmapped,
        )


        @task
        def show(x, y):
            print(x, y)


        with Flow("wrapped") as flow:
            when = Parameter("when", default=1)
            show.map([1, 2], y=unmapped(when))
        """,
    # a line that grows past 88 characters is wrapped as ruff wraps it
    "flows/grows.py": """\
        import prefect
        from prefect import Flow, Parameter, apply_map, case, mapped, resume_flow_run, task


        @task
        def a(x):
            prefect.context.get("logger").info("x")
            return x


        with Flow("grows") as flow:
            n = Parameter("n", default=[1, 2])
            apply_map(a, n)
        """,
    # a comment above an import stays with it
    "flows/commented.py": """\
        # the flow's imports
        import json

        # Prefect
        from prefect import Flow, task
        from prefect.tasks.secrets import EnvVarSecret


        @task
        def show(home):
            print(json.dumps(home))


        with Flow("commented") as flow:
            show(EnvVarSecret("HOME"))
        """,
}

EXPECTED_HEADS = {
    "flows/groups.py": '''\
        """Three sections."""

        from __future__ import annotations

        import json

        import requests
        from prefect import flow, get_run_logger, task

        from acme.util import helper


        @task(retries=2, retry_delay_seconds=3)
        ''',
    "flows/only_prefect.py": """\
        import os

        from acme.util import helper


        def check(path):
        """,
    "flows/new_section.py": '''\
        """Docstring."""
        from __future__ import annotations

        import os

        from prefect import flow, task


        @task
        ''',
    "flows/guarded.py": """\
        from collections.abc import Mapping
        from typing import TYPE_CHECKING

        try:
            import ujson as json
        except ImportError:
            import json

        from prefect import flow, task

        if TYPE_CHECKING:
            from acme.util import helper
        """,
    "flows/wrapped.py": """\
        from prefect import (
            flow,
            task,
            unmapped,
        )


        @task
        """,
    "flows/commented.py": """\
        # the flow's imports
        import json
        import os

        # Prefect
        from prefect import flow, task


        @task
        """,
}


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory) -> tuple[Path, Path]:
    """The project before (checked isort-clean) and after the rewrite (as the CLI writes it)."""
    before = tmp_path_factory.mktemp("before")
    after = tmp_path_factory.mktemp("after")
    for name, text in PROJECT.items():
        for root in (before, after):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(dedent(text))
    check = ruff_isort(before)
    assert check.returncode == 0, check.stdout + check.stderr
    summary = run([after], jobs=1)
    for result in summary.results:
        if result.changed:
            Path(result.path).write_text(result.code)
    return before, after


def test_isort_clean_files_stay_isort_clean(rewritten):
    before, after = rewritten
    changed = [p for p in PROJECT if (before / p).read_text() != (after / p).read_text()]
    assert sorted(changed) == sorted(p for p in PROJECT if p.startswith("flows/") and "__" not in p)
    check = ruff_isort(after)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_HEADS))
def test_where_the_imports_go(rewritten, name):
    _, after = rewritten
    got = (after / name).read_text()
    assert got.startswith(dedent(EXPECTED_HEADS[name])), got


def test_an_import_line_is_wrapped_only_when_it_ends_up_too_long(rewritten):
    _, after = rewritten
    got = (after / "flows/grows.py").read_text()
    # grew past 88 characters on the way (flow, get_run_logger), then lost names: one line
    assert got.startswith("from prefect import flow, get_run_logger, resume_flow_run, task\n\n")
    assert "import prefect\n" not in got


def test_a_long_new_import_line_is_wrapped():
    from meta_flows.core.codemod.import_order import wrap_long_imports

    names = [f"name_{i}" for i in range(12)]
    module = cst.parse_module(_add("import os\n", *(("prefect", n) for n in names)))
    got = wrap_long_imports(module, "import os\n").code
    assert (
        got
        == "import os\n\nfrom prefect import (\n" + "".join(f"    {n},\n" for n in names) + ")\n"
    )
    long_line = "from prefect import " + ", ".join(names) + "\n"
    assert wrap_long_imports(cst.parse_module(long_line), long_line).code == long_line  # the user's
    # a file with a longer import line of its own is written for a longer line length
    longer = "from prefect import " + ", ".join(names + ["one_more_name"]) + "\n"
    assert wrap_long_imports(cst.parse_module(long_line), longer).code == long_line


def test_first_party_is_the_projects_own_top_level_names(tmp_path):
    from meta_flows.core.codemod.project import scan_project

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "acme").mkdir()
    (tmp_path / "tool.py").write_text("")
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "etl.py").write_text("import prefect\n")
    index = scan_project(flows, [flows / "etl.py"])  # only a folder of the project rewritten
    assert {"acme", "tool", "flows", "etl"} <= index.first_party
    assert "prefect" not in index.first_party


def test_rewriting_the_output_again_changes_nothing(rewritten):
    _, after = rewritten
    again = run([after], jobs=1)
    assert not [r.path for r in again.results if r.changed]


# ---------------------------------------------------------------------- the pieces


def _add(source: str, *imports: tuple, first_party=("acme",), module="flows.x") -> str:
    context = CodemodContext(full_module_name=module)
    for item in imports:
        AddImportsVisitor.add_needed_import(context, *item)
    return add_imports(context, cst.parse_module(dedent(source)), first_party).code


def _remove(source: str, *imports: tuple) -> str:
    context = CodemodContext(full_module_name="flows.x")
    for item in imports:
        RemoveImportsVisitor.remove_unused_import(context, *item)
    module = cst.parse_module(dedent(source))
    return transform_with(RemoveImports(context), SharedMetadataWrapper(module)).code


def test_names_sort_constants_then_classes_then_the_rest():
    names = ["get_run_logger", "flow", "Flow", "A", "HTTP_OK", "task2", "task10", "Task"]
    assert sorted(names, key=member_key) == [
        "HTTP_OK",
        "A",
        "Flow",
        "Task",
        "flow",
        "get_run_logger",
        "task2",
        "task10",
    ]


def test_plain_imports_come_before_from_imports_in_a_section():
    keys = [
        statement_key(cst.parse_statement(s).body[0])
        for s in ("from abc import x", "import zlib", "from os import path", "import os.path")
    ]
    assert sorted(range(4), key=keys.__getitem__) == [3, 1, 0, 2]


@pytest.mark.parametrize(
    ("source", "imports", "expected"),
    [
        pytest.param(
            "import os\n\nfrom prefect import Flow, task\n\nx = 1\n",
            [("prefect", "flow"), ("prefect", "get_run_logger")],
            "import os\n\nfrom prefect import Flow, flow, get_run_logger, task\n\nx = 1\n",
            id="names-join-at-their-place",
        ),
        pytest.param(
            "from prefect import task, Flow\n",
            [("prefect", "flow")],
            "from prefect import flow, task, Flow\n",
            id="unsorted-names-keep-their-order",
        ),
        pytest.param(
            "import os\n\nfrom prefect import task\n",
            [("prefect", "Secret", "S")],
            "import os\n\nfrom prefect import Secret as S\nfrom prefect import task\n",
            id="an-alias-on-its-own-line",
        ),
        pytest.param(
            "import json\n\nimport requests\n\nfrom acme import x\n",
            [("typing", "Optional"), ("datetime",), ("prefect.states", "Completed")],
            "import datetime\nimport json\nfrom typing import Optional\n\nimport requests\n"
            "from prefect.states import Completed\n\nfrom acme import x\n",
            id="each-into-its-section",
        ),
        pytest.param(
            "from acme import x\n\ny = 1\n",
            [("os",)],
            "import os\n\nfrom acme import x\n\ny = 1\n",
            id="a-section-above",
        ),
        pytest.param(
            "import os\n\n\ndef f():\n    pass\n",
            [("prefect", "flow")],
            "import os\n\nfrom prefect import flow\n\n\ndef f():\n    pass\n",
            id="a-section-below-and-code-apart",
        ),
        pytest.param(
            '"""Doc."""\n\nx = 1\n',
            [("os",)],
            '"""Doc."""\n\nimport os\n\nx = 1\n',
            id="no-imports-yet",
        ),
        pytest.param(
            "#!/usr/bin/env python\n# licence\n\n# about json\nimport json\n",
            [("abc",)],
            "#!/usr/bin/env python\n# licence\n\nimport abc\n# about json\nimport json\n",
            id="a-comment-stays-with-its-import",
        ),
        pytest.param(
            "from prefect import *\n",
            [("prefect", "flow")],
            "from prefect import *\n",
            id="a-star-import-covers-names",
        ),
    ],
)
def test_add(source, imports, expected):
    assert _add(source, *imports) == expected


@pytest.mark.parametrize(
    ("source", "imports", "expected"),
    [
        pytest.param(
            "import os\n\nimport prefect\nimport requests\n",
            [("prefect",)],
            "import os\n\nimport requests\n",
            id="first-of-a-section",
        ),
        pytest.param(
            "import os\n\nimport prefect\n\nfrom acme import x\n",
            [("prefect",)],
            "import os\n\nfrom acme import x\n",
            id="a-whole-section",
        ),
        pytest.param(
            "import os\n\nfrom prefect import Flow\n\n\nx = 1\n",
            [("prefect", "Flow")],
            "import os\n\n\nx = 1\n",
            id="the-last-import",
        ),
        pytest.param(
            "from prefect import (\n    Flow,\n    task,  # ours\n    unmapped,\n)\n",
            [("prefect", "unmapped")],
            "from prefect import (\n    Flow,\n    task,  # ours\n)\n",
            id="wrapped-keeps-trailing-comma",
        ),
    ],
)
def test_remove(source, imports, expected):
    assert _remove(source, *imports) == expected
