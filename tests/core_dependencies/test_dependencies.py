"""meta_flows.core.dependencies: a Prefect 1 project's dependency files become Prefect 2's.

Each kind of file has a whole before/after pair (byte-exact, with an untouched line and a comment
around the edit), a noop, an unparseable file, needs added once, CRLF and a missing final newline;
every result is migrated again to show it is a noop. Then discovery and the repository-level
function (where needs go, writing, symbolic links).
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from meta_flows.core import dependencies as deps
from meta_flows.core.codemod.engine import find_todos
from meta_flows.core.codemod.library_databases import DATABASE_TASKS
from meta_flows.core.dependencies import (
    DRIVER_BOUNDS,
    INTEGRATION_BOUNDS,
    PREFECT1_EXTRAS,
    PREFECT2_REQUIREMENT,
    DependencyFileError,
    compatible_requirement,
    find_dependency_files,
    migrate_dependencies,
    migrate_dependency_text,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TODO = "# TODO(prefect2-migration): PF100"
SHELL = "prefect-shell>=0.2,<0.3"


@dataclass(frozen=True)
class Case:
    name: str
    before: str
    after: str
    needs: tuple[str, ...] = ("prefect-shell",)


# -- a rewrite per kind: the whole file before and after ------------------------------------------

REWRITES = {
    "requirements": Case(
        "requirements.txt",
        """\
# Runtime dependencies
pandas==2.0.3  # data frames
prefect[aws,viz]==1.4.1 ; python_version >= "3.8"  # the orchestrator
-c constraints.txt

requests>=2
""",
        """\
# Runtime dependencies
pandas==2.0.3  # data frames
# TODO(prefect2-migration): PF100 the Prefect 1 extras [viz] have no Prefect 2 integration: require what the flows use from them directly (graphviz)
prefect>=2.20,<3 ; python_version >= "3.8"  # the orchestrator
prefect-aws>=0.4,<0.5; python_version >= "3.8"
prefect-shell>=0.2,<0.3
-c constraints.txt

requests>=2
""",
        ("prefect-shell", "Prefect_AWS"),
    ),
    "pyproject-pep621": Case(
        "pyproject.toml",
        """\
[project]
name = "flows"
dependencies = [
    "pandas>=2",  # data frames
    "prefect[kubernetes]==1.4.1",
]

[project.optional-dependencies]
dev = ["pytest", 'prefect~=1.2']

[tool.ruff]
line-length = 100
""",
        """\
[project]
name = "flows"
dependencies = [
    "pandas>=2",  # data frames
    "prefect>=2.20,<3",
    "prefect-kubernetes>=0.4,<0.5",
    "prefect-shell>=0.2,<0.3",
]

[project.optional-dependencies]
dev = ["pytest", 'prefect>=2.20,<3']

[tool.ruff]
line-length = 100
""",
    ),
    "pyproject-poetry": Case(
        "pyproject.toml",
        """\
[tool.poetry]
name = "flows"

[tool.poetry.dependencies]
python = "^3.9"
# the orchestrator
prefect = {version = "^1.4", extras = ["gcp"]}  # pinned
pandas = "*"

[tool.poetry.group.dev.dependencies]
pytest = "^8"
""",
        """\
[tool.poetry]
name = "flows"

[tool.poetry.dependencies]
python = "^3.9"
# the orchestrator
prefect = ">=2.20,<3"  # pinned
prefect-gcp = ">=0.5,<0.6"
prefect-shell = ">=0.2,<0.3"
pandas = "*"

[tool.poetry.group.dev.dependencies]
pytest = "^8"
""",
    ),
    "setup.py": Case(
        "setup.py",
        """\
from setuptools import find_packages, setup

setup(
    name="flows",
    packages=find_packages(),
    install_requires=[
        "pandas>=2",  # data frames
        'prefect[dask]>=1.0,<2',
    ],
)
""",
        """\
from setuptools import find_packages, setup

setup(
    name="flows",
    packages=find_packages(),
    install_requires=[
        "pandas>=2",  # data frames
        'prefect>=2.20,<3',
        'prefect-dask>=0.2,<0.3',
        'prefect-shell>=0.2,<0.3',
    ],
)
""",
    ),
    "setup.cfg": Case(
        "setup.cfg",
        """\
[metadata]
name = flows

[options]
packages = find:
install_requires =
    pandas>=2
    # the orchestrator
    prefect[github]~=1.2
python_requires = >=3.9
""",
        """\
[metadata]
name = flows

[options]
packages = find:
install_requires =
    pandas>=2
    # the orchestrator
    prefect>=2.20,<3
    prefect-github>=0.2,<0.3
    prefect-shell>=0.2,<0.3
python_requires = >=3.9
""",
    ),
    "Pipfile": Case(
        "Pipfile",
        """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
pandas = "*"  # data frames
prefect = {version = "==1.4.1", extras = ["snowflake"]}

[dev-packages]
pytest = "*"
""",
        """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
pandas = "*"  # data frames
prefect = ">=2.20,<3"
prefect-snowflake = ">=0.27,<0.28"
prefect-shell = ">=0.2,<0.3"

[dev-packages]
pytest = "*"
""",
    ),
    "environment.yml-conda": Case(
        "environment.yml",
        """\
name: flows
channels:
  - conda-forge
dependencies:
  - python=3.10
  # the orchestrator
  - prefect=1.4.1
  - pip
  - pip:
      - pandas==2.0.3  # data frames
      - "prefect-aws"
""",
        """\
name: flows
channels:
  - conda-forge
dependencies:
  - python=3.10
  # the orchestrator
  - prefect>=2.20,<3
  - prefect-shell>=0.2,<0.3
  - pip
  - pip:
      - pandas==2.0.3  # data frames
      - "prefect-aws"
""",
        ("prefect-shell", "prefect-aws"),
    ),
    "environment.yaml-pip": Case(
        "environment.yaml",
        """\
name: flows
dependencies:
- python=3.10
- pip:
  - pandas==2.0.3  # data frames
  - prefect[aws]==1.4.1
""",
        """\
name: flows
dependencies:
- python=3.10
- pip:
  - pandas==2.0.3  # data frames
  - prefect>=2.20,<3
  - prefect-aws>=0.4,<0.5
  - prefect-shell>=0.2,<0.3
""",
    ),
}
rewrite_cases = pytest.mark.parametrize("case", REWRITES.values(), ids=REWRITES.keys())


def _parses(name: str, text: str) -> None:
    """The migrated file is still valid for its own tool."""
    if name in ("pyproject.toml", "Pipfile"):
        tomllib.loads(text)
    elif name.startswith("environment."):
        yaml.safe_load(text)
    elif name == "setup.cfg":
        configparser.RawConfigParser().read_string(text)
    elif name == "setup.py":
        compile(text, name, "exec")


@rewrite_cases
def test_rewrite(case: Case):
    edit = migrate_dependency_text(case.name, case.before, case.needs)
    assert edit.text == case.after
    assert edit.changed and edit.original == case.before and edit.path == case.name
    assert edit.problems == []
    _parses(case.name, edit.text)


@rewrite_cases
def test_rewrite_is_idempotent(case: Case):
    edit = migrate_dependency_text(case.name, case.after, case.needs)
    assert edit.text == case.after and not edit.changed
    assert edit.added == []


@rewrite_cases
def test_crlf_line_endings_are_kept(case: Case):
    crlf = case.before.replace("\n", "\r\n")
    edit = migrate_dependency_text(case.name, crlf, case.needs)
    assert edit.text == case.after.replace("\n", "\r\n")
    assert migrate_dependency_text(case.name, edit.text, case.needs).text == edit.text


@rewrite_cases
def test_a_missing_final_newline_stays_missing(case: Case):
    edit = migrate_dependency_text(case.name, case.before.removesuffix("\n"), case.needs)
    assert edit.text == case.after.removesuffix("\n")
    assert migrate_dependency_text(case.name, edit.text, case.needs).text == edit.text


def test_the_added_requirements_are_reported():
    case = REWRITES["requirements"]
    edit = migrate_dependency_text(case.name, case.before, case.needs)
    assert edit.added == ['prefect-aws>=0.4,<0.5; python_version >= "3.8"', SHELL]
    assert len(edit.todos) == 1 and "[viz]" in edit.todos[0]
    assert [(t.line, t.rule) for t in find_todos(edit.text)] == [(3, "PF100")]


# -- other spellings, per kind ---------------------------------------------------------------------

FORMS = {
    "pep621-inline-array-marker": (
        "pyproject.toml",
        '[project]\ndependencies = ["prefect==1.4.1; python_version < \\"3.10\\"", "x"]\n',
        '[project]\ndependencies = ["prefect>=2.20,<3; python_version < \\"3.10\\"", "prefect-dask>=0.2,<0.3", "x"]\n',
    ),
    "poetry-inline-table-with-python": (
        "pyproject.toml",
        '[tool.poetry.dependencies]\nprefect = {version = "1.4.1", python = ">=3.8", extras = ["aws"]}\n',
        '[tool.poetry.dependencies]\nprefect = {version = ">=2.20,<3", python = ">=3.8"}\n'
        'prefect-aws = ">=0.4,<0.5"\nprefect-dask = ">=0.2,<0.3"\n',
    ),
    "poetry-dotted-key": (
        "pyproject.toml",
        '[tool.poetry]\ndependencies.prefect = "~1.2"\n',
        '[tool.poetry]\ndependencies.prefect = ">=2.20,<3"\ndependencies.prefect-dask = ">=0.2,<0.3"\n',
    ),
    "pipfile-star": (
        "Pipfile",
        "[packages]\nprefect = '*'\n",
        "[packages]\nprefect = '>=2.20,<3'\nprefect-dask = \">=0.2,<0.3\"\n",
    ),
    "setup.py-name-and-extras": (
        "setup.py",
        'REQS = [\n    "prefect==1.4.1",\n]\nsetup(install_requires=REQS, extras_require={"k8s": ["prefect[kubernetes]"]})\n',
        'REQS = [\n    "prefect>=2.20,<3",\n    "prefect-dask>=0.2,<0.3",\n]\n'
        'setup(install_requires=REQS, extras_require={"k8s": ["prefect>=2.20,<3", "prefect-kubernetes>=0.4,<0.5"]})\n',
    ),
    "setup.cfg-extras-section": (
        "setup.cfg",
        "[options.extras_require]\naws =\n    prefect[aws]==1.4.1\n",
        "[options.extras_require]\naws =\n    prefect>=2.20,<3\n    prefect-aws>=0.4,<0.5\n    prefect-dask>=0.2,<0.3\n",
    ),
    "setup.cfg-one-line": (
        "setup.cfg",
        "[options]\ninstall_requires = prefect==1.4.1\n",
        "[options]\ninstall_requires =\n    prefect>=2.20,<3\n    prefect-dask>=0.2,<0.3\n",
    ),
    "conda-channel-and-build": (
        "environment.yml",
        "dependencies:\n  - conda-forge::prefect=1.4.1=py_0\n",
        "dependencies:\n  - conda-forge::prefect>=2.20,<3\n  - prefect-dask>=0.2,<0.3\n",
    ),
    "conda-quoted-pip-marker": (
        "environment.yml",
        "dependencies:\n  - pip:\n    - \"prefect[aws]==1.4.1; python_version < '3.10'\"\n",
        "dependencies:\n  - pip:\n    - \"prefect>=2.20,<3; python_version < '3.10'\"\n"
        '    - "prefect-aws>=0.4,<0.5; python_version < \\"3.10\\""\n    - "prefect-dask>=0.2,<0.3"\n',
    ),
}


@pytest.mark.parametrize(("name", "before", "after"), FORMS.values(), ids=FORMS.keys())
def test_other_spellings(name: str, before: str, after: str):
    edit = migrate_dependency_text(name, before, ["prefect-dask"])
    assert edit.text == after and edit.problems == []
    _parses(name, edit.text)
    assert migrate_dependency_text(name, after, ["prefect-dask"]).text == after


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("requirements.txt", "\ufeffprefect==1.4.1\n", "\ufeffprefect>=2.20,<3\n"),
        (
            "setup.py",
            "\ufeff# héllo\nsetup(name='é', install_requires=['prefect'])\n",
            "\ufeff# héllo\nsetup(name='é', install_requires=['prefect>=2.20,<3'])\n",
        ),
        ("pyproject.toml", "\ufeff[project\n", f"\ufeff{TODO} invalid TOML"),
    ],
)
def test_a_byte_order_mark_stays_first(name: str, before: str, after: str):
    assert migrate_dependency_text(name, before).text.startswith(after)


# -- requirement lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("prefect==1.4.1", "prefect>=2.20,<3"),
        ("prefect>=1.0,<2", "prefect>=2.20,<3"),
        ("prefect~=1.2", "prefect>=2.20,<3"),
        ("prefect", "prefect>=2.20,<3"),
        ("prefect==0.15.13", "prefect>=2.20,<3"),
        ("Prefect == 1.4.1", "Prefect>=2.20,<3"),
        ("prefect>=2", "prefect>=2.20,<3"),  # it would install Prefect 3
        ("prefect (==1.4.1)", "prefect>=2.20,<3"),
        (
            "prefect==1.4.1; python_version<'3.10'  # old",
            "prefect>=2.20,<3; python_version<'3.10'  # old",
        ),
        ("  prefect==1.4.1\t# indented", "  prefect>=2.20,<3\t# indented"),
    ],
)
def test_prefect1_requirements_become_prefect2(before: str, after: str):
    assert migrate_dependency_text("requirements.txt", before + "\n").text == after + "\n"


@pytest.mark.parametrize(
    "line",
    [
        "prefect>=2.20,<3",
        "prefect==2.20.3",
        "prefect>=2.10,<3",
        "prefect~=2.19",
        "prefect-aws==0.4.1",
        "prefect_shell",
        "prefecto==1.0",
        "-e .",
        "--index-url https://example.org/simple",
        "-c constraints.txt",
        "# prefect==1.4.1",
    ],
)
def test_other_lines_are_left_alone(line: str):
    edit = migrate_dependency_text("requirements.txt", f"{line}\n")
    assert not edit.changed and edit.todos == [] and edit.problems == []


@pytest.mark.parametrize(
    ("extras", "packages"),
    [
        ("aws", ["prefect-aws"]),
        ("gcp", ["prefect-gcp"]),
        ("google", ["prefect-gcp"]),
        ("azure", ["prefect-azure"]),
        ("kubernetes", ["prefect-kubernetes"]),
        ("github,gitlab,bitbucket", ["prefect-bitbucket", "prefect-github", "prefect-gitlab"]),
        ("dask", ["prefect-dask"]),
        ("snowflake", ["prefect-snowflake"]),
        ("dbt", ["prefect-dbt"]),
        ("shell", ["prefect-shell"]),
        ("slack,email", ["prefect-email", "prefect-slack"]),
        ("docker", ["prefect-docker"]),
        ("sql_server", ["prefect-sqlalchemy"]),
        ("redis", ["prefect-redis"]),
        ("ge", ["prefect-great-expectations"]),
        ("jupyter", ["prefect-jupyter"]),
        ("databricks", ["prefect-databricks"]),
        (
            "all_orchestration_extras",
            [
                "prefect-aws",
                "prefect-azure",
                "prefect-bitbucket",
                "prefect-gcp",
                "prefect-github",
                "prefect-gitlab",
                "prefect-kubernetes",
            ],
        ),
    ],
)
def test_extras_become_integration_packages(extras: str, packages: list[str]):
    # (the postgres and mysql extras: test_database_extras_become_their_drivers)
    edit = migrate_dependency_text("requirements.txt", f"prefect[{extras}]==1.4.1\n")
    expected = [f"{p}{INTEGRATION_BOUNDS[p]}" for p in packages]
    assert edit.added == expected
    assert edit.text == "".join(f"{r}\n" for r in [PREFECT2_REQUIREMENT, *expected])
    assert edit.todos == []


@pytest.mark.parametrize("extras", ["viz", "templates", "dev", "all_extras", "pandas,viz"])
def test_extras_without_an_integration_leave_one_todo(extras: str):
    edit = migrate_dependency_text("requirements.txt", f"prefect[{extras}]==1.4.1\n")
    assert edit.added == []
    assert edit.text == f"{TODO} {edit.todos[0]}\n{PREFECT2_REQUIREMENT}\n"
    assert len(edit.todos) == 1 and f"[{extras.replace(',', ', ')}]" in edit.todos[0]
    assert edit.problems == []  # a note, not a failure


# -- noops, per kind ------------------------------------------------------------------------------

NOOPS = {
    "requirements-no-prefect": ("requirements.txt", "pandas\n# a comment\n"),
    "requirements-prefect2": ("requirements.txt", "prefect==2.20.3\nprefect-aws>=0.4,<0.5\n"),
    "pyproject-pep621": (
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = [\n    "prefect>=2.20,<3",  # ok\n]\n',
    ),
    "pyproject-poetry": ("pyproject.toml", '[tool.poetry.dependencies]\nprefect = "^2.20"\n'),
    "pyproject-no-deps": ("pyproject.toml", "[tool.ruff]\nline-length = 100\n"),
    "setup.py": (
        "setup.py",
        'from setuptools import setup\nsetup(install_requires=["prefect>=2.20,<3"])\n',
    ),
    "setup.cfg": ("setup.cfg", "[options]\ninstall_requires =\n    prefect==2.20.3\n"),
    "Pipfile": (
        "Pipfile",
        '[packages]\nprefect = ">=2.20,<3"\n\n[requires]\npython_version = "3.10"\n',
    ),
    "environment.yml": ("environment.yml", "name: x\ndependencies:\n  - prefect>=2.20,<3\n"),
    "environment.yml-no-prefect": ("environment.yml", "name: x\ndependencies:\n  - python=3.10\n"),
}


@pytest.mark.parametrize(("name", "text"), NOOPS.values(), ids=NOOPS.keys())
def test_noop(name: str, text: str):
    edit = migrate_dependency_text(name, text)
    assert edit.text == text and not edit.changed
    assert edit.todos == [] and edit.problems == [] and edit.added == []


# -- what cannot be parsed or edited ----------------------------------------------------------------

UNPARSEABLE = {
    "requirements-url": (
        "requirements.txt",
        "pandas\nprefect @ git+https://github.com/PrefectHQ/prefect@1.4.1\n",
        2,
    ),
    "requirements-vcs": (
        "requirements.txt",
        "-e git+https://github.com/PrefectHQ/prefect.git@1.4.1#egg=prefect\n",
        1,
    ),
    "requirements-continued": ("requirements.txt", "prefect==1.4.1 \\\n    --no-binary :all:\n", 1),
    "requirements-hashed": ("requirements.txt", "prefect==1.4.1 --hash=sha256:0123\n", 1),
    "pyproject-invalid": ("pyproject.toml", '[project\nname = "x"\n', 1),
    "pyproject-poetry-git": (
        "pyproject.toml",
        '[tool.poetry.dependencies]\nprefect = {git = "https://github.com/PrefectHQ/prefect"}\n',
        2,
    ),
    "setup.py-syntax": ("setup.py", "#!/usr/bin/env python\nsetup(install_requires=[\n", 2),
    "setup.py-dynamic": (
        "setup.py",
        'from setuptools import setup\n\nsetup(\n    install_requires=open("requirements.txt").read().split(),\n)\n',
        4,
    ),
    "setup.cfg-invalid": ("setup.cfg", "install_requires = prefect==1.4.1\n", 1),
    "Pipfile-invalid": ("Pipfile", '[packages]\nprefect = "==1.4.1\n', 2),
    "environment.yml-invalid": ("environment.yml", "dependencies:\n  - prefect=1.4.1\n - [\n", 3),
}


@pytest.mark.parametrize(("name", "text", "line"), UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_what_cannot_be_migrated_gets_a_todo_and_a_problem(name: str, text: str, line: int):
    edit = migrate_dependency_text(name, text, ["prefect-shell"])
    assert edit.todos and edit.problems
    assert edit.problems[0].startswith(f"{name}:{line}: ")
    todo_lines = [row for row in edit.text.splitlines() if row.lstrip().startswith(TODO)]
    assert sorted(row.strip() for row in todo_lines) == sorted(f"{TODO} {m}" for m in edit.todos)
    # nothing else changed but the TODO lines (and, for a TODO'd prefect, the needs after it)
    assert [row for row in edit.text.splitlines() if not row.lstrip().startswith(TODO)][
        : len(text.splitlines())
    ] == text.splitlines()
    assert migrate_dependency_text(name, edit.text, ["prefect-shell"]).text == edit.text


def test_an_unparseable_file_gets_its_todo_on_top():
    edit = migrate_dependency_text("pyproject.toml", '[project\nname = "x"\n')
    assert edit.text == f'{TODO} {edit.todos[0]}\n[project\nname = "x"\n'
    assert "TOMLDecodeError" in edit.problems[0]  # the parser's words are in the problem only
    shebang = migrate_dependency_text(
        "setup.py", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nsetup(\n"
    )
    assert shebang.text.splitlines()[:3] == [
        "#!/usr/bin/env python",
        "# -*- coding: utf-8 -*-",
        f"{TODO} {shebang.todos[0]}",
    ]


def test_a_prefect3_only_requirement_is_left_with_a_todo():
    edit = migrate_dependency_text("requirements.txt", "prefect>=3\n")
    assert edit.text == f"{TODO} {edit.todos[0]}\nprefect>=3\n"
    assert edit.problems == [f"requirements.txt:1: {edit.todos[0]}"]


def test_an_unknown_file_name_is_refused():
    with pytest.raises(DependencyFileError, match="README.md"):
        migrate_dependency_text("README.md", "prefect==1.4.1\n")


# -- needs ----------------------------------------------------------------------------------------

ALREADY_REQUIRED = {
    "requirements": (
        "requirements.txt",
        "prefect>=2.20,<3\nPrefect_AWS>=0.4\n",
        "prefect-shell>=0.2,<0.3\n",
    ),
    "pyproject-pep621": (
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["prefect>=2.20,<3", "Prefect_AWS>=0.4"]\n',
        '[project]\nname = "x"\ndependencies = ["prefect>=2.20,<3", "prefect-shell>=0.2,<0.3", "Prefect_AWS>=0.4"]\n',
    ),
    "pyproject-poetry": (
        "pyproject.toml",
        '[tool.poetry.dependencies]\nprefect = "^2.20"\nPrefect_AWS = "^0.4"\n',
        '[tool.poetry.dependencies]\nprefect = "^2.20"\nprefect-shell = ">=0.2,<0.3"\nPrefect_AWS = "^0.4"\n',
    ),
    "setup.py": (
        "setup.py",
        'from setuptools import setup\nsetup(install_requires=["prefect>=2.20,<3", "Prefect_AWS"])\n',
        'from setuptools import setup\nsetup(install_requires=["prefect>=2.20,<3", "prefect-shell>=0.2,<0.3", "Prefect_AWS"])\n',
    ),
    "setup.cfg": (
        "setup.cfg",
        "[options]\ninstall_requires =\n    prefect>=2.20,<3\n    Prefect_AWS\n",
        "[options]\ninstall_requires =\n    prefect>=2.20,<3\n    prefect-shell>=0.2,<0.3\n    Prefect_AWS\n",
    ),
    "Pipfile": (
        "Pipfile",
        '[packages]\nprefect = ">=2.20,<3"\nPrefect_AWS = "*"\n',
        '[packages]\nprefect = ">=2.20,<3"\nprefect-shell = ">=0.2,<0.3"\nPrefect_AWS = "*"\n',
    ),
    "environment.yml": (
        "environment.yml",
        "dependencies:\n  - pip:\n      - prefect>=2.20,<3\n      - Prefect_AWS\n",
        "dependencies:\n  - pip:\n      - prefect>=2.20,<3\n      - prefect-shell>=0.2,<0.3\n      - Prefect_AWS\n",
    ),
}


@pytest.mark.parametrize(
    ("name", "before", "after"), ALREADY_REQUIRED.values(), ids=ALREADY_REQUIRED.keys()
)
def test_needs_are_added_once_after_prefect(name: str, before: str, after: str):
    if name == "requirements.txt":
        after = before.replace("<3\n", "<3\n" + after, 1)
    needs = ["prefect-aws", "prefect_shell", "Prefect-Shell", "prefect"]
    edit = migrate_dependency_text(name, before, needs)
    assert edit.text == after
    assert edit.added == [SHELL]
    assert migrate_dependency_text(name, after, needs).text == after


INTO_A_FILE_WITHOUT_PREFECT = {
    "requirements": ("requirements.txt", "pandas\n", "pandas\nprefect-shell>=0.2,<0.3\n"),
    "requirements-empty": ("requirements.txt", "", "prefect-shell>=0.2,<0.3\n"),
    "pyproject-pep621": (
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = [\n    "pandas",\n]\n',
        '[project]\nname = "x"\ndependencies = [\n    "pandas",\n    "prefect-shell>=0.2,<0.3",\n]\n',
    ),
    "pyproject-poetry": (
        "pyproject.toml",
        '[tool.poetry.dependencies]\npython = "^3.9"\n\n[tool.ruff]\nx = 1\n',
        '[tool.poetry.dependencies]\npython = "^3.9"\nprefect-shell = ">=0.2,<0.3"\n\n[tool.ruff]\nx = 1\n',
    ),
    "setup.py": (
        "setup.py",
        "setup(install_requires=['pandas'])\n",
        "setup(install_requires=['pandas', 'prefect-shell>=0.2,<0.3'])\n",
    ),
    "setup.cfg-one-line": (
        "setup.cfg",
        "[options]\ninstall_requires = pandas\nzip_safe = false\n",
        "[options]\ninstall_requires =\n    pandas\n    prefect-shell>=0.2,<0.3\nzip_safe = false\n",
    ),
    "Pipfile": (
        "Pipfile",
        '[packages]\npandas = "*"\n\n[dev-packages]\npytest = "*"\n',
        '[packages]\npandas = "*"\nprefect-shell = ">=0.2,<0.3"\n\n[dev-packages]\npytest = "*"\n',
    ),
    "environment.yml": (
        "environment.yml",
        "dependencies:\n  - python=3.10  # pinned\n",
        "dependencies:\n  - python=3.10  # pinned\n  - prefect-shell>=0.2,<0.3\n",
    ),
}


@pytest.mark.parametrize(
    ("name", "before", "after"),
    INTO_A_FILE_WITHOUT_PREFECT.values(),
    ids=INTO_A_FILE_WITHOUT_PREFECT.keys(),
)
def test_needs_go_at_the_end_of_a_file_without_prefect(name: str, before: str, after: str):
    edit = migrate_dependency_text(name, before, ["prefect-shell"])
    assert edit.text == after and edit.added == [SHELL]
    _parses(name, edit.text)
    assert migrate_dependency_text(name, after, ["prefect-shell"]).text == after


def test_needs_with_no_place_to_go_get_a_todo():
    edit = migrate_dependency_text(
        "pyproject.toml", "[tool.ruff]\nline-length = 100\n", ["prefect-shell"]
    )
    assert edit.added == []
    assert edit.text.startswith(TODO) and SHELL in edit.todos[0]
    assert edit.problems == [f"pyproject.toml:1: {edit.todos[0]}"]


def test_compatible_requirement():
    assert compatible_requirement("prefect-aws") == "prefect-aws>=0.4,<0.5"
    assert compatible_requirement("Prefect_Shell") == "prefect-shell>=0.2,<0.3"
    assert compatible_requirement("prefect") == PREFECT2_REQUIREMENT
    assert compatible_requirement("requests") == "requests"
    assert compatible_requirement("prefect-aws==0.4.19") == "prefect-aws==0.4.19"


# -- the version table ----------------------------------------------------------------------------


def test_every_bound_is_one_release_series():
    for package, bounds in INTEGRATION_BOUNDS.items():
        spec = SpecifierSet(bounds)
        assert [s.operator for s in sorted(spec, key=lambda s: s.operator)] == ["<", ">="], package
        assert package.startswith("prefect-")


def test_every_package_the_codemod_or_an_extra_names_has_bounds():
    from meta_flows.core.codemod.rules.task_library import LIBRARY

    named = {package for package, _ in LIBRARY.values()} | {"prefect-shell", "prefect-dask"}
    named |= {p for packages in PREFECT1_EXTRAS.values() for p in packages}
    named |= {spec.requirement for spec in DATABASE_TASKS.values()}
    assert named - INTEGRATION_BOUNDS.keys() - DRIVER_BOUNDS.keys() == set()


def test_the_project_pins_the_same_series():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    project = pyproject["project"]
    pins = project["dependencies"] + project["optional-dependencies"]["dev"]
    for pin in pins:
        for package, bounds in INTEGRATION_BOUNDS.items():
            if pin.startswith(package + ">"):
                assert SpecifierSet(pin.removeprefix(package)) == SpecifierSet(bounds), pin


# -- discovery --------------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return root


def test_discovery(tmp_path: Path):
    found = [
        "requirements.txt",
        "requirements-dev.in",
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "Pipfile",
        "environment.yml",
        "requirements/dev.txt",
        "requirements/base.in",
        "services/api/requirements-prod.txt",
    ]
    skipped = [
        ".venv/requirements.txt",
        "venv/lib/requirements.txt",
        "envs/py/requirements.txt",
        "node_modules/pkg/requirements.txt",
        ".github/requirements.txt",
        "services/api/pyproject.toml",
        "docs/notes.txt",
        "requirements.md",
    ]
    _tree(tmp_path, {rel: "" for rel in found + skipped})
    (tmp_path / "envs/py/pyvenv.cfg").write_text("home = /usr\n")
    paths = find_dependency_files(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(found)
    depth = [len(p.relative_to(tmp_path).parts) for p in paths]
    assert depth == sorted(depth)


# -- a repository ---------------------------------------------------------------------------------


def _edits(root: Path, needs=(), **kwargs) -> dict[str, deps.DependencyEdit]:
    return {e.path: e for e in migrate_dependencies(root, needs, **kwargs)}


def test_needs_go_to_the_file_that_declares_prefect(tmp_path: Path):
    _tree(
        tmp_path,
        {
            "requirements.txt": "pandas\n",
            "requirements/prod.txt": "-r ../requirements.txt\nprefect==1.4.1\n",
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n",
        },
    )
    edits = _edits(tmp_path, ["prefect-shell"])
    assert list(edits) == ["pyproject.toml", "requirements.txt", "requirements/prod.txt"]
    assert (
        edits["requirements/prod.txt"].text
        == f"-r ../requirements.txt\n{PREFECT2_REQUIREMENT}\n{SHELL}\n"
    )
    assert not edits["requirements.txt"].changed and not edits["pyproject.toml"].changed
    assert all(e.problems == [] for e in edits.values())


@pytest.mark.parametrize(
    ("files", "target"),
    [
        (
            {"requirements.txt": "pandas\n", "setup.py": "setup(install_requires=['x'])\n"},
            "requirements.txt",
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["x"]\n',
                "setup.py": "setup(install_requires=['x'])\n",
            },
            "pyproject.toml",
        ),
        (
            {
                "pyproject.toml": "[tool.ruff]\nx = 1\n",
                "setup.py": "setup(install_requires=['x'])\n",
            },
            "setup.py",
        ),
    ],
)
def test_without_prefect_needs_go_to_the_first_file_that_takes_them(
    tmp_path: Path, files: dict[str, str], target: str
):
    edits = _edits(_tree(tmp_path, files), ["prefect-shell"])
    assert [path for path, e in edits.items() if e.changed] == [target]
    assert edits[target].added == [SHELL]
    assert all(e.problems == [] for e in edits.values())


def test_a_repository_without_dependency_files_gets_a_requirements_txt(tmp_path: Path):
    (tmp_path / "flow.py").write_text("print(1)\n")
    [edit] = migrate_dependencies(tmp_path, ["prefect-aws", "prefect-shell"])
    assert (edit.path, edit.original) == ("requirements.txt", "")
    assert edit.text == f"{PREFECT2_REQUIREMENT}\nprefect-aws>=0.4,<0.5\n{SHELL}\n"
    assert not (tmp_path / "requirements.txt").exists()
    migrate_dependencies(tmp_path, ["prefect-aws", "prefect-shell"], write=True)
    assert (tmp_path / "requirements.txt").read_text() == edit.text
    assert not any(
        e.changed for e in migrate_dependencies(tmp_path, ["prefect-aws", "prefect-shell"])
    )


def test_includes(tmp_path: Path):
    _tree(
        tmp_path,
        {
            "requirements.txt": "-r missing.txt\n-c constraints/pins.txt\n-r requirements/base.txt\nprefect==1.4.1\n",
            "constraints/pins.txt": "prefect==1.4.1\n",
            "requirements/base.txt": "prefect==1.4.1\n",
        },
    )
    edits = _edits(tmp_path)
    top = edits["requirements.txt"]
    assert top.text == (
        f"{TODO} {top.todos[0]}\n-r missing.txt\n"
        f"{TODO} {top.todos[1]}\n-c constraints/pins.txt\n"
        f"-r requirements/base.txt\n{PREFECT2_REQUIREMENT}\n"
    )
    assert top.problems[0].startswith(
        "requirements.txt:1: missing.txt (included here) does not exist"
    )
    assert top.problems[1].startswith(
        "requirements.txt:2: constraints/pins.txt (included here) requires Prefect 1"
    )
    assert edits["requirements/base.txt"].text == f"{PREFECT2_REQUIREMENT}\n"


def test_write_writes_changed_files_and_is_idempotent(tmp_path: Path):
    case = REWRITES["setup.cfg"]
    _tree(tmp_path, {"setup.cfg": case.before, "requirements.txt": "pandas\r\n"})
    (tmp_path / "requirements.txt").chmod(0o640)
    edits = _edits(tmp_path, ["prefect-shell"], write=True)
    assert (tmp_path / "setup.cfg").read_text() == case.after
    assert (tmp_path / "requirements.txt").read_bytes() == b"pandas\r\n"
    assert edits["setup.cfg"].problems == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    again = _edits(tmp_path, ["prefect-shell"], write=True)
    assert not any(e.changed for e in again.values())


def test_write_refuses_a_symbolic_link(tmp_path: Path):
    _tree(tmp_path, {"deps/base.txt": "prefect==1.4.1\n"})
    os.symlink("deps/base.txt", tmp_path / "requirements.txt")
    [edit] = migrate_dependencies(tmp_path, write=True)
    assert edit.changed and edit.text == f"{PREFECT2_REQUIREMENT}\n"
    assert edit.problems == ["requirements.txt:1: a symbolic link: not written through"]
    assert (tmp_path / "deps/base.txt").read_text() == "prefect==1.4.1\n"
    assert (tmp_path / "requirements.txt").is_symlink()


def test_a_link_out_of_the_repository_is_not_read(tmp_path: Path):
    outside = tmp_path / "outside.txt"
    outside.write_text("prefect==1.4.1\n")
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "requirements.txt")
    [edit] = migrate_dependencies(root, write=True)
    assert not edit.changed and edit.original == ""
    assert edit.problems == [
        "requirements.txt:1: a symbolic link to outside the repository: not read"
    ]
    assert outside.read_text() == "prefect==1.4.1\n"


def test_a_read_only_file_is_not_written(tmp_path: Path):
    _tree(tmp_path, {"requirements.txt": "prefect==1.4.1\n"})
    path = tmp_path / "requirements.txt"
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        [edit] = migrate_dependencies(tmp_path, write=True)
    finally:
        path.chmod(0o644)
    assert edit.changed and edit.problems == [
        "requirements.txt:1: the file is read-only: not written"
    ]
    assert path.read_text() == "prefect==1.4.1\n"


def test_database_extras_become_their_drivers():
    """PF013 rewrites the postgres and mysql tasks onto the drivers these extras installed."""
    edit = migrate_dependency_text("requirements.txt", "prefect[postgres,mysql]==1.4.1\n")
    drivers = ["psycopg2-binary>=2.8.2,<3", "pymysql>=0.9.3,<2"]
    assert sorted(edit.added) == drivers
    assert sorted(edit.text.splitlines()) == sorted([PREFECT2_REQUIREMENT, *drivers])
    assert edit.todos == []


@pytest.mark.parametrize("order", ["prefect first", "psycopg2 first"])
def test_psycopg2_from_source_is_not_doubled_by_the_binary_wheel(order):
    lines = ["prefect[postgres]==1.4.1\n", "psycopg2==2.9.9\n"]
    if order == "psycopg2 first":
        lines.reverse()
    edit = migrate_dependency_text("requirements.txt", "".join(lines))
    assert edit.added == []
    assert "psycopg2-binary" not in edit.text and "psycopg2==2.9.9\n" in edit.text
