"""The registry as code: loading, per-entry errors with file/line/field, the promotion gate."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from meta_flows.core.registry import (
    GatePolicy,
    LoadedRegistry,
    RegistryFileError,
    RegistryProblem,
    UnknownWaveError,
    gate,
    load_registry,
)

REPO = Path(__file__).resolve().parents[2]
ENV = {"REMOTES": "/srv/git"}

WAVES = """\
waves:
  - name: first
    order: 1
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> LoadedRegistry:
    return load_registry(
        write(tmp_path / "reg.yaml", text), environ=ENV if environ is None else environ
    )


def only_error(loaded: LoadedRegistry) -> RegistryProblem:
    assert len(loaded.errors) == 1, [str(e) for e in loaded.errors]
    return loaded.errors[0]


def test_demo_registry_loads_without_errors() -> None:
    loaded = load_registry(
        REPO / "flows_registry", environ={"META_FLOWS_DEMO_REMOTES": "/tmp/remotes"}
    )
    assert loaded.errors == []
    registry = loaded.registry
    assert [w.name for w in registry.waves_in_order()] == ["demo"]
    demo = registry.wave("demo")
    assert demo.branch == "prefect2/demo" and demo.gate.max_todos == 0
    projects = registry.projects_of("demo")
    assert [p.name for p in projects] == ["acme-etl", "billing-reports", "ops-housekeeping"]
    acme = registry.project("acme-etl")
    assert acme.git_url == "/tmp/remotes/acme-etl.git"
    assert acme.owner == "data-platform@acme.example"
    assert acme.work_pool is not None and acme.work_pool.name == "meta-flows-demo"
    assert acme.prefect1 is not None and acme.prefect1.project == "acme"
    assert all(p.work_pool == acme.work_pool for p in projects)
    assert registry.source_of("acme-etl") == f"{REPO / 'flows_registry' / 'demo.yaml'}:11"


def test_demo_registry_without_its_variable_fails_every_project() -> None:
    loaded = load_registry(REPO / "flows_registry", environ={})
    assert loaded.registry.projects == []
    assert len(loaded.errors) == 3
    assert all("META_FLOWS_DEMO_REMOTES" in str(e) for e in loaded.errors)
    assert {e.project for e in loaded.errors_for_wave("demo")} == {
        "acme-etl",
        "billing-reports",
        "ops-housekeeping",
    }


def test_full_project_entry(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: billing
    git_url: ${REMOTES}/billing.git
    default_branch: trunk
    flow_paths: [flows/, jobs/nightly.py]
    wave: first
    cases:
      monthly: [{case: default}, {case: march, parameters: {month: 3}}]
    work_pool: {name: k8s, type: kubernetes}
    prefect1: {project: billing, flows: [monthly]}
    validation_timeout: 900
  - name: dormant
    git_url: https://git.example/dormant.git
    wave: first
    enabled: false
notifications: {slack_webhook_url: https://hooks.example/x, rollback_after_failures: 5}
prefect1_server: {url: "http://p1:4200/graphql", api_key_env: P1_TOKEN}
""",
    )
    assert loaded.ok
    registry = loaded.registry
    billing = registry.project("billing")
    assert billing.git_url == "/srv/git/billing.git"
    assert billing.cases["monthly"][1].parameters == {"month": 3}
    assert billing.work_pool is not None and billing.work_pool.type == "kubernetes"
    assert billing.validation_timeout == 900
    assert registry.project("dormant").validation_timeout is None
    # Disabled projects stay in the registry but not in their wave's run.
    assert [p.name for p in registry.projects_of("first")] == ["billing"]
    assert registry.project("dormant").enabled is False
    assert registry.notifications.rollback_after_failures == 5
    assert registry.notifications.failure_window_seconds == 3600
    assert registry.prefect1_server is not None
    assert registry.prefect1_server.api_key_env == "P1_TOKEN"


def test_missing_field_names_file_line_field_and_project(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
  - name: beta
    wave: first
""",
    )
    error = only_error(loaded)
    assert (error.file, error.line, error.field, error.project, error.wave) == (
        str(tmp_path / "reg.yaml"),
        8,
        "projects[1].git_url",
        "beta",
        "first",
    )
    assert str(error) == (
        f"{tmp_path / 'reg.yaml'}:8: projects[1].git_url: Field required (project 'beta')"
    )
    # The rest of the wave still loads.
    assert [p.name for p in loaded.registry.projects_of("first")] == ["alpha"]


def test_a_validation_timeout_must_be_positive(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path,
            WAVES
            + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
    validation_timeout: 0
""",
        )
    )
    assert error.field == "projects[0].validation_timeout"
    assert error.line == 8  # the line of the field
    assert "greater than 0" in str(error)


def test_wrong_type_points_at_the_field_line(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path,
            WAVES
            + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
    enabled: sometimes
""",
        )
    )
    assert (error.line, error.field, error.project) == (8, "projects[0].enabled", "alpha")
    assert "valid boolean" in error.message and "'sometimes'" in error.message


def test_unknown_keys_list_the_allowed_ones(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
    work_pool: {name: pool, kind: process}
    onwer: me
""",
    )
    # Every problem of the entry is reported, each on its own line.
    located = {(e.line, e.field, e.project) for e in loaded.errors}
    assert located == {
        (8, "projects[0].work_pool.kind", "alpha"),
        (9, "projects[0].onwer", "alpha"),
    }
    messages = {e.field: e.message for e in loaded.errors}
    assert messages["projects[0].work_pool.kind"] == "unknown field (allowed: name, type)"
    assert messages["projects[0].onwer"].startswith("unknown field (allowed: name, git_url, ")
    assert "owner" in messages["projects[0].onwer"]
    assert loaded.registry.projects == []


def test_yaml_boolean_for_a_name_gets_a_hint(tmp_path: Path) -> None:
    error = only_error(
        load(tmp_path, WAVES + "projects:\n  - {name: off, git_url: /a.git, wave: first}\n")
    )
    assert error.field == "projects[0].name" and "quote the value" in error.message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = only_error(load(tmp_path, WAVES + "project: []\n"))
    assert (error.line, error.field) == (4, "project")
    assert "unknown top-level key" in error.message


@pytest.mark.parametrize(
    "text, line, field",
    [
        (
            WAVES + "projects:\n  - {name: Alpha_1, git_url: /a.git, wave: first}\n",
            5,
            "projects[0].name",
        ),
        ("waves:\n  - name: first\n  - name: -second\n", 3, "waves[1].name"),
        ("waves:\n  - name: first\n  - name: 'with space'\n", 3, "waves[1].name"),
    ],
)
def test_bad_slug(tmp_path: Path, text: str, line: int, field: str) -> None:
    error = only_error(load(tmp_path, text))
    assert (error.line, error.field) == (line, field)
    assert "lowercase letters, digits and '-'" in error.message


def test_unknown_wave_drops_the_project(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: firts
  - name: beta
    git_url: /srv/beta.git
    wave: first
""",
    )
    error = only_error(loaded)
    assert (error.line, error.field, error.project, error.wave) == (
        7,
        "projects[0].wave",
        "alpha",
        "firts",
    )
    assert error.message == "unknown wave 'firts' (known waves: first)"
    assert [p.name for p in loaded.registry.projects] == ["beta"]


def test_project_of_a_broken_wave_says_so(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """\
waves:
  - name: first
    gate: {max_todos: -1}
projects:
  - {name: alpha, git_url: /a.git, wave: first}
""",
    )
    assert [(e.line, e.field) for e in loaded.errors] == [
        (3, "waves[0].gate.max_todos"),
        (5, "projects[0].wave"),
    ]
    assert "wave 'first' has errors" in loaded.errors[1].message
    assert {e.field for e in loaded.errors_for_wave("first")} == {
        "waves[0].gate.max_todos",
        "projects[0].wave",
    }


def test_duplicate_names_drop_every_definition(tmp_path: Path) -> None:
    write(
        tmp_path / "reg" / "a.yaml",
        WAVES + "projects:\n  - {name: alpha, git_url: /a.git, wave: first}\n",
    )
    write(
        tmp_path / "reg" / "b.yaml",
        """\
waves:
  - name: first
projects:
  - {name: beta, git_url: /b.git, wave: first}
  - {name: alpha, git_url: /a2.git, wave: first}
""",
    )
    loaded = load_registry(tmp_path / "reg", environ=ENV)
    a, b = str(tmp_path / "reg" / "a.yaml"), str(tmp_path / "reg" / "b.yaml")
    located = sorted((e.file, e.line, e.field, e.project) for e in loaded.errors)
    assert located == [
        (a, 2, "waves[0].name", None),
        (a, 5, "projects[0].name", "alpha"),
        (b, 2, "waves[0].name", None),
        # beta itself is fine, but its wave is ambiguous.
        (b, 4, "projects[0].wave", "beta"),
        (b, 5, "projects[1].name", "alpha"),
    ]
    alpha_errors = [e for e in loaded.errors if e.project == "alpha"]
    assert f"also at {b}:5" in alpha_errors[0].message
    assert loaded.registry.projects == [] and loaded.registry.waves == []


def test_duplicate_key_inside_an_entry(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: alpha
    git_url: /a.git
    wave: first
    git_url: /b.git
""",
    )
    error = only_error(loaded)
    assert (error.line, error.field, error.project) == (8, "projects[0].git_url", "alpha")
    assert "given twice" in error.message


def test_unset_environment_variable(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES + "projects:\n  - name: alpha\n    wave: first\n    git_url: ${NOPE}/a.git\n",
        environ={},
    )
    error = only_error(loaded)
    assert (error.line, error.field, error.project) == (7, "projects[0].git_url", "alpha")
    assert "environment variable(s) NOPE not set" in error.message


def test_malformed_variable_reference(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path, WAVES + "projects:\n  - {name: a, wave: first, git_url: '${REMOTES/a.git'}\n"
        )
    )
    assert "malformed" in error.message and error.field == "projects[0].git_url"


def test_git_url_forms(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - {name: rel, wave: first, git_url: remotes/rel.git}
  - {name: dot, wave: first, git_url: ../up/dot.git}
  - {name: scp, wave: first, git_url: "git@github.com:acme/scp.git"}
  - {name: https, wave: first, git_url: "https://github.com/acme/https.git"}
  - {name: file, wave: first, git_url: "file:///srv/file.git"}
  - {name: abs, wave: first, git_url: /srv/abs.git}
""",
    )
    assert loaded.ok
    urls = {p.name: p.git_url for p in loaded.registry.projects}
    assert urls == {
        "rel": str(tmp_path / "remotes" / "rel.git"),
        "dot": str(tmp_path.parent / "up" / "dot.git"),
        "scp": "git@github.com:acme/scp.git",
        "https": "https://github.com/acme/https.git",
        "file": "file:///srv/file.git",
        "abs": "/srv/abs.git",
    }


def test_flow_paths_must_stay_inside_the_repository(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path,
            WAVES
            + "projects:\n  - {name: a, wave: first, git_url: /a.git, flow_paths: [ok.py, ../x]}\n",
        )
    )
    assert error.field == "projects[0].flow_paths" and "'../x'" in error.message


def test_duplicate_case_names(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path,
            WAVES
            + """\
projects:
  - name: a
    wave: first
    git_url: /a.git
    cases:
      nightly: [{case: small}, {case: small, parameters: {n: 1}}]
""",
        )
    )
    assert error.field == "projects[0].cases" and "repeats the case name 'small'" in error.message


def test_broken_yaml_in_one_file_does_not_stop_the_other(tmp_path: Path) -> None:
    write(
        tmp_path / "reg" / "a-good.yaml",
        WAVES + "projects:\n  - {name: alpha, git_url: /a.git, wave: first}\n",
    )
    write(
        tmp_path / "reg" / "b-broken.yml",
        "projects:\n  - name: beta\n    git_url: [unclosed\n    wave: first\n",
    )
    write(tmp_path / "reg" / "notes.txt", "not a registry file")
    loaded = load_registry(tmp_path / "reg", environ=ENV)
    error = only_error(loaded)
    assert error.file == str(tmp_path / "reg" / "b-broken.yml")
    assert error.line == 4 and error.field is None
    assert error.message.startswith("not valid YAML")
    assert [p.name for p in loaded.registry.projects] == ["alpha"]


def test_top_level_must_be_a_mapping_and_lists_must_be_lists(tmp_path: Path) -> None:
    write(tmp_path / "reg" / "a.yaml", "- just\n- a list\n")
    write(tmp_path / "reg" / "b.yaml", WAVES + "projects: {name: x}\n")
    loaded = load_registry(tmp_path / "reg", environ=ENV)
    assert [(Path(e.file).name, e.line, e.field) for e in loaded.errors] == [
        ("a.yaml", 1, None),
        ("b.yaml", 4, "projects"),
    ]
    assert [w.name for w in loaded.registry.waves] == ["first"]


def test_directory_merge(tmp_path: Path) -> None:
    reg = tmp_path / "reg"
    write(
        reg / "00-waves.yaml",
        """\
waves:
  - {name: late, order: 9}
  - {name: early, order: 1}
  - {name: also-early, order: 1}
notifications: {webhook_url: "http://hooks.example/a"}
""",
    )
    write(reg / "10-team-a.yaml", "projects:\n  - {name: a1, git_url: a1.git, wave: late}\n")
    write(
        reg / "20-team-b.yml",
        """\
projects:
  - {name: b1, git_url: /b1.git, wave: early}
  - {name: b2, git_url: /b2.git, wave: late}
notifications: {webhook_url: "http://hooks.example/b"}
""",
    )
    loaded = load_registry(reg, environ=ENV)
    error = only_error(loaded)
    assert (Path(error.file).name, error.line, error.field) == ("20-team-b.yml", 4, "notifications")
    assert f"already set at {reg / '00-waves.yaml'}:5" in error.message
    registry = loaded.registry
    assert registry.notifications.webhook_url == "http://hooks.example/a"
    assert [w.name for w in registry.waves_in_order()] == ["early", "also-early", "late"]
    assert [p.name for p in registry.projects_of("late")] == ["a1", "b2"]
    assert registry.project("a1").git_url == str(reg / "a1.git")
    assert registry.source_of("b2") == f"{reg / '20-team-b.yml'}:3"
    with pytest.raises(UnknownWaveError) as info:
        registry.projects_of("nope")
    assert str(info.value) == "unknown wave 'nope' (known waves: early, also-early, late)"
    assert isinstance(info.value, KeyError)


def test_unusable_registry_paths_raise(tmp_path: Path) -> None:
    with pytest.raises(RegistryFileError, match="no such registry"):
        load_registry(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryFileError, match=r"no \*\.yaml"):
        load_registry(tmp_path / "empty")


# --- the gate -------------------------------------------------------------------------------


def test_gate_passes_when_every_case_is_equal() -> None:
    ok, reason = gate(
        GatePolicy(), verdicts=[("f", "default", "equal"), ("g", "a", "equal")], todos=0
    )
    assert ok
    assert (
        reason
        == "2 of 2 validated case(s) equal; 0 TODO(prefect2-migration) comments left, gate allows 0"
    )


def test_gate_refuses_too_many_todos() -> None:
    ok, reason = gate(GatePolicy(), verdicts=[("f", "default", "equal")], todos=2)
    assert not ok
    assert reason == "2 TODO(prefect2-migration) comments left, gate allows 0"
    assert gate(GatePolicy(max_todos=2), verdicts=[("f", "default", "equal")], todos=2)[0]


@pytest.mark.parametrize(
    "verdict, words",
    [
        ("different", "is different"),
        ("legacy-error", "failed on Prefect 1"),
        ("migrated-error", "failed on Prefect 2"),
        ("skipped", "was skipped"),
    ],
)
def test_gate_refuses_any_case_not_equal(verdict: str, words: str) -> None:
    ok, reason = gate(
        GatePolicy(), verdicts=[("x", "default", "equal"), ("y", "big", verdict)], todos=0
    )
    assert not ok
    assert reason.startswith(f"flow 'y' case 'big' {words}")


def test_gate_lists_every_problem() -> None:
    ok, reason = gate(
        GatePolicy(max_todos=1),
        verdicts=[("x", "default", "different"), ("y", "default", "skipped")],
        todos=3,
    )
    assert not ok
    assert reason.split("; ") == [
        "3 TODO(prefect2-migration) comments left, gate allows 1",
        "flow 'x' case 'default' is different",
        "flow 'y' case 'default' was skipped",
    ]


def test_gate_allow_skipped() -> None:
    policy = GatePolicy(allow_skipped=True)
    ok, reason = gate(policy, verdicts=[("x", "default", "equal"), ("y", "d", "skipped")], todos=0)
    assert ok and "1 of 2 validated case(s) equal, 1 skipped" in reason
    assert not gate(policy, verdicts=[("x", "default", "different")], todos=0)[0]


def test_gate_without_require_equal_only_counts_todos() -> None:
    policy = GatePolicy(require_equal=False)
    ok, reason = gate(policy, verdicts=[("x", "default", "migrated-error")], todos=0)
    assert ok and "advisory" in reason
    assert not gate(policy, verdicts=[("x", "default", "equal")], todos=1)[0]


def test_gate_with_nothing_validated_refuses() -> None:
    assert gate(GatePolicy(), verdicts=[], todos=0) == (False, "no flow case was validated")


def test_gate_rejects_unknown_verdicts() -> None:
    with pytest.raises(ValueError, match="unknown verdict 'same'"):
        gate(GatePolicy(), verdicts=[("x", "default", "same")], todos=0)


def test_batches() -> None:
    assert GatePolicy().batches(["a", "b", "c"]) == [["a", "b", "c"]]
    assert GatePolicy(batch_size=2).batches(["a", "b", "c"]) == [["a", "b"], ["c"]]
    assert GatePolicy(batch_size=2).batches([]) == []


def test_readme_example_loads(tmp_path: Path) -> None:
    readme = (REPO / "flows_registry" / "README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load_registry(write(tmp_path / "example.yaml", example), environ={"GIT_BASE": "/g"})
    assert loaded.errors == []
    project = loaded.registry.projects_of("finance")[0]
    assert project.git_url == "/g/billing-reports.git"
    assert loaded.registry.wave("finance").gate.batch_size == 5


def test_registry_built_in_code_is_checked_too() -> None:
    from pydantic import ValidationError

    from meta_flows.core.registry import Project, Registry, Wave

    with pytest.raises(ValidationError, match="unknown wave 'nope'"):
        Registry(waves=[Wave(name="w")], projects=[Project(name="p", git_url="/p", wave="nope")])
    with pytest.raises(ValidationError, match="more than once: w"):
        Registry(waves=[Wave(name="w"), Wave(name="w")])


def test_repeated_top_level_key_keeps_the_last_and_says_so(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - {name: alpha, git_url: /a.git, wave: first}
projects:
  - {name: beta, git_url: /b.git, wave: first}
""",
    )
    error = only_error(loaded)
    assert (error.line, error.field) == (4, "projects") and "ignored" in error.message
    assert [p.name for p in loaded.registry.projects] == ["beta"]
    assert loaded.registry.source_of("beta") == f"{tmp_path / 'reg.yaml'}:7"


def test_a_file_that_does_not_parse_fails_every_wave_at_its_real_line(tmp_path: Path) -> None:
    write(tmp_path / "reg" / "a.yaml", WAVES)
    broken = "projects:\n  - name: a\n    git_url: x\n  - name: [b\n"
    (tmp_path / "reg" / "b.yaml").write_text(broken)
    loaded = load_registry(tmp_path / "reg", environ=ENV)
    [problem] = loaded.errors
    assert problem.file.endswith("b.yaml") and problem.file_level
    assert problem.line == len(broken.splitlines())  # the last line, not one past the end
    assert loaded.errors_for_wave("first") == [problem]
    assert loaded.errors_for_wave("any-other-wave") == [problem]


def test_an_unknown_top_level_key_fails_every_wave(tmp_path: Path) -> None:
    loaded = load(tmp_path, WAVES + "project:\n  - name: a\n    wave: first\n")
    [problem] = loaded.errors
    assert (problem.field, problem.line, problem.file_level) == ("project", 4, True)
    assert loaded.errors_for_wave("first") == [problem]


def test_an_entrys_own_problem_fails_only_its_wave(tmp_path: Path) -> None:
    second = "  - name: second\nprojects:\n  - name: a\n    wave: second\n"
    loaded = load(tmp_path, WAVES + second)
    assert loaded.errors and all(not e.file_level for e in loaded.errors)
    assert loaded.errors_for_wave("first") == []
    assert loaded.errors_for_wave("second") == loaded.errors


@pytest.mark.parametrize("branch", ["-x", "--upload-pack=touch /tmp/x", "a..b", "a b", "x.lock"])
def test_a_default_branch_that_is_no_branch_name_is_refused(tmp_path: Path, branch: str) -> None:
    loaded = load(
        tmp_path,
        WAVES + f"projects:\n  - name: a\n    wave: first\n    git_url: x\n"
        f"    default_branch: {branch!r}\n",
    )
    [problem] = loaded.errors
    assert problem.field == "projects[0].default_branch"
    assert problem.line == 8 and problem.project == "a"
    assert "is not a git branch name" in problem.message


def test_validation_where_and_its_overrides(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        WAVES
        + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
    validation: deployment
    validation_overrides:
      parameters: {schema: shadow}
      job_variables: {env: {BUCKET: scratch}}
  - name: beta
    git_url: /srv/beta.git
    wave: first
""",
    )
    assert not loaded.errors
    alpha, beta = loaded.registry.projects
    assert alpha.validation == "deployment" and beta.validation == "local"
    assert alpha.validation_overrides.parameters == {"schema": "shadow"}
    assert alpha.validation_overrides.job_variables == {"env": {"BUCKET": "scratch"}}
    loaded.registry.validate_on("registry")  # as each entry says
    assert [p.validation for p in loaded.registry.projects] == ["deployment", "local"]
    loaded.registry.validate_on("local")  # the wave run's choice, for every project
    assert [p.validation for p in loaded.registry.projects] == ["local", "local"]
    with pytest.raises(ValueError, match="registry, local or deployment"):
        loaded.registry.validate_on("remote")


def test_an_unknown_validation_is_named(tmp_path: Path) -> None:
    error = only_error(
        load(
            tmp_path,
            WAVES
            + """\
projects:
  - name: alpha
    git_url: /srv/alpha.git
    wave: first
    validation: cloud
""",
        )
    )
    assert error.field == "projects[0].validation"
    assert error.line == 8
