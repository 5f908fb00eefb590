"""Both sides really run: Prefect 1 fixtures in the managed environment, their codemod output as
Prefect 2 flow runs against the test server; the captures hold states, per-task results (mapped
children by index) and files, and agree with each other.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from meta_flows.core.codemod.engine import migrate_source
from meta_flows.sandbox.legacy_run import RunSpec, run_legacy
from meta_flows.sandbox.migrated_run import run_migrated, run_migrated_many

CASES_DIR = Path(__file__).resolve().parent.parent / "integration" / "cases"

RUNS = [
    RunSpec("map_reduce.py", "map-reduce"),
    RunSpec("case_merge.py", "case-merge", "big"),
    RunSpec("case_merge.py", "case-merge", "small", {"n": 7}),
    RunSpec("files_output.py", "files-output"),
]
FUNCTIONS = {
    "map_reduce.py": "map_reduce",
    "case_merge.py": "case_merge",
    "files_output.py": None,  # found by flow name
}
ROWS = [{"id": i, "value": i * i} for i in range(5)]
# (flow, case) -> {(task name, map index): result} of every successful, user-written task
EXPECTED = {
    ("map-reduce", "default"): {
        ("numbers", None): [1, 2, 3, 4],
        **{("square", i): v for i, v in enumerate([1, 4, 9, 16])},
        **{("plus_one", i): v for i, v in enumerate([2, 5, 10, 17])},
        ("total", None): 34,
    },
    ("case-merge", "big"): {("is_big", None): True, ("shrink", None): 4, ("save", None): 4},
    ("case-merge", "small"): {("is_big", None): False, ("grow", None): 70, ("save", None): 70},
    ("files-output", "default"): {
        ("make_rows", None): ROWS,
        ("write_csv", None): "output/rows.csv",
        ("write_summary", None): "output/summary.json",
    },
}
FILES = {
    ("map-reduce", "default"): set(),
    ("case-merge", "big"): {"case_merge_result.json"},
    ("case-merge", "small"): {"case_merge_result.json"},
    ("files-output", "default"): {"output/rows.csv", "output/summary.json"},
}


def _results(capture) -> dict:
    return {
        (t.name, t.map_index): t.result
        for t in capture.tasks
        if t.ok and not t.auto_generated and t.result_json
    }


@pytest.fixture(scope="module")
def legacy(base):
    started = time.monotonic()
    captures = run_legacy(CASES_DIR, RUNS, env=base, timeout=60)
    return captures, time.monotonic() - started


@pytest.fixture(scope="module")
def migrated_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("migrated-repo")
    for name in FUNCTIONS:
        result = migrate_source((CASES_DIR / name).read_text(), name, module_name=name[:-3])
        assert result.status == "migrated", result.error
        (repo / name).write_text(result.code)
    return repo


@pytest.fixture(scope="module")
def migrated(prefect_server, migrated_repo):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", prefect_server)
        started = time.monotonic()
        captures = run_migrated_many(
            migrated_repo,
            [
                {
                    "file": r.file,
                    "function_name": FUNCTIONS[r.file],
                    "flow_name": r.flow_name,
                    "case": r.case,
                    "parameters": r.parameters,
                }
                for r in RUNS
            ],
            timeout=120,
        )
        return captures, time.monotonic() - started


@pytest.mark.parametrize("index", range(len(RUNS)))
def test_legacy_capture(legacy, index):
    capture = legacy[0][index]
    key = (capture.flow_name, capture.case)
    assert (capture.side, key) == ("legacy", (RUNS[index].flow_name, RUNS[index].case))
    assert capture.error is None
    assert (capture.final_state, capture.ok, capture.timed_out) == ("Success", True, False)
    assert capture.duration_s is not None and capture.duration_s > 0
    assert _results(capture) == EXPECTED[key]
    assert set(capture.files) == FILES[key]
    for task in capture.tasks:
        if task.ok:
            assert task.result_repr is not None


def test_legacy_implicit_tasks_and_skips(legacy):
    big = legacy[0][1]
    by_name = {t.name: t for t in big.tasks}
    assert {n for n, t in by_name.items() if t.auto_generated} == {
        "n",
        "case(True)",
        "case(False)",
        "Merge",
    }
    assert (by_name["grow"].state, by_name["grow"].ok, by_name["grow"].result) == (
        "Skipped",
        False,
        None,
    )
    files = legacy[0][3]
    assert {t.name for t in files.tasks if t.auto_generated} == {"n", "out_dir"}


@pytest.mark.parametrize("index", range(len(RUNS)))
def test_migrated_capture(migrated, index):
    capture = migrated[0][index]
    key = (capture.flow_name, capture.case)
    assert (capture.side, key) == ("migrated", (RUNS[index].flow_name, RUNS[index].case))
    assert capture.error is None
    assert (capture.final_state, capture.ok, capture.timed_out) == ("Completed", True, False)
    assert _results(capture) == EXPECTED[key]
    assert set(capture.files) == FILES[key]
    assert all(t.attempts == 1 and not t.auto_generated for t in capture.tasks)


@pytest.mark.parametrize("index", range(len(RUNS)))
def test_both_sides_agree(legacy, migrated, index):
    old, new = legacy[0][index], migrated[0][index]
    assert old.files == new.files  # same content hashes
    assert _results(old) == _results(new)
    reprs = {
        (t.name, t.map_index): t.result_repr for t in old.tasks if t.ok and not t.auto_generated
    }
    assert reprs == {(t.name, t.map_index): t.result_repr for t in new.tasks}


def test_overhead_report(legacy, migrated, capsys):
    """Not an assertion on speed: prints wall time minus the flows' own durations per case."""
    for side, (captures, wall) in (("legacy", legacy), ("migrated", migrated)):
        flows = sum(c.duration_s or 0 for c in captures)
        with capsys.disabled():
            print(
                f"\n{side}: {len(captures)} cases, wall {wall:.2f} s, flows {flows:.2f} s, "
                f"overhead {(wall - flows) / len(captures):.2f} s/case"
            )


# ------------------------------------------------------------------- failures and time limits

LEGACY_BROKEN = """
import time
from prefect import Flow, task

@task
def boom():
    raise ValueError("boom")

@task
def after_boom(x):
    return x

@task
def independent():
    return "still ran"

@task
def sleepy():
    time.sleep(60)

@task
def fine():
    with open("fine.txt", "w") as fh:
        fh.write("ok")
    return 1

with Flow("raises") as raises:
    after_boom(boom())
    independent()

with Flow("hangs") as hangs:
    sleepy()

with Flow("after") as after:
    fine()
"""

MIGRATED_BROKEN = """
import time
from prefect import flow, task

@task
def boom():
    raise ValueError("boom")

@task
def sleepy():
    time.sleep(60)

@task
def fine():
    with open("fine.txt", "w") as fh:
        fh.write("ok")
    return 1

@flow(name="raises")
def raises():
    return boom()

@flow(name="hangs")
def hangs():
    sleepy()

@flow(name="after")
def after():
    return fine()
"""


def _sleep_line(source: str) -> int:
    return source.splitlines().index("    time.sleep(60)") + 1


def test_legacy_failure_timeout_and_recovery(base, tmp_path):
    (tmp_path / "broken.py").write_text(LEGACY_BROKEN)
    raises, hangs, after = run_legacy(
        tmp_path,
        [("broken.py", "raises"), ("broken.py", "hangs"), ("broken.py", "after")],
        env=base,
        timeout=2,
    )
    assert (raises.final_state, raises.ok, raises.timed_out) == ("Failed", False, False)
    states = {t.name: t.state for t in raises.tasks}
    assert states == {"boom": "Failed", "after_boom": "TriggerFailed", "independent": "Success"}
    boom = next(t for t in raises.tasks if t.name == "boom")
    assert "boom" in (boom.message or "") and boom.result is None
    assert (hangs.timed_out, hangs.ok, hangs.final_state) == (True, False, None)
    assert 2 <= hangs.duration_s < 10
    # where it hung: the child dumped its threads' stacks when the time was up
    assert f"stuck at broken.py:{_sleep_line(LEGACY_BROKEN)} in sleepy" in hangs.error
    # the interpreter was replaced after the timeout; the next run is unaffected
    assert after.error is None, after.error
    assert (after.final_state, after.ok, after.files.keys()) == ("Success", True, {"fine.txt"})


def test_legacy_missing_flow_and_import_error(base, tmp_path):
    (tmp_path / "ok.py").write_text(LEGACY_BROKEN)
    (tmp_path / "bad.py").write_text("import not_a_module_anywhere\n")
    missing, bad, after = run_legacy(
        tmp_path,
        [("ok.py", "nope"), ("bad.py", "x"), ("ok.py", "after")],
        env=base,
        timeout=30,
    )
    assert missing.error == "no flow named 'nope' in ok.py"
    assert bad.error.startswith("import bad: ModuleNotFoundError")
    assert after.ok


def test_migrated_failure_timeout_and_recovery(prefect_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    (tmp_path / "broken.py").write_text(MIGRATED_BROKEN)
    raises, hangs, after = run_migrated_many(
        tmp_path,
        [
            {"file": "broken.py", "function_name": "raises", "flow_name": "raises"},
            {"file": "broken.py", "function_name": "hangs", "flow_name": "hangs"},
            {"file": "broken.py", "function_name": "after", "flow_name": "after"},
        ],
        timeout=12,  # the hang is cut there; runs that finish need well under it, even on a busy CI
    )
    assert (raises.final_state, raises.ok, raises.timed_out) == ("Failed", False, False)
    assert [(t.name, t.state, t.ok) for t in raises.tasks] == [("boom", "Failed", False)]
    assert raises.error is None  # the run happened; it ended Failed
    assert "boom" in (raises.message or "")
    assert (hangs.timed_out, hangs.ok) == (True, False)
    assert hangs.error.startswith("the run took longer than 12 s (killed); ")
    assert f"stuck at broken.py:{_sleep_line(MIGRATED_BROKEN)} in sleepy" in hangs.error
    assert (after.final_state, after.ok, after.files.keys()) == ("Completed", True, {"fine.txt"})
    assert [(t.name, t.result) for t in after.tasks] == [("fine", 1)]
    # the run the killed child left Running is marked Crashed, tagged with its batch
    import httpx

    runs = httpx.post(
        f"{prefect_server}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["hangs"]}}},
        timeout=30,
    ).json()
    assert runs and {r["state_type"] for r in runs} == {"CRASHED"}
    assert all(any(t.startswith("meta-flows-validation:") for t in r["tags"]) for r in runs)


def test_run_migrated_single(prefect_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    (tmp_path / "broken.py").write_text(MIGRATED_BROKEN)
    capture = run_migrated(tmp_path, "broken.py", None, "after", {}, case="one", timeout=60)
    assert (capture.case, capture.final_state, capture.ok) == ("one", "Completed", True)
    missing = run_migrated(tmp_path, "broken.py", None, "nope", {}, timeout=60)
    assert missing.error == "no flow 'nope' in broken.py"


MIGRATED_OWN_STORAGE = """
from prefect import flow, task
from prefect.filesystems import LocalFileSystem

STORAGE = LocalFileSystem(basepath={basepath!r})


@task(persist_result=True)
def square(n):
    return n * n


@flow(name="own-storage", result_storage=STORAGE, persist_result=True)
def own_storage(n: int = 3):
    return [square(n), square(n + 1)]


@flow(name="default-storage")
def default_storage(n: int = 2):
    return square(n)
"""


def test_migrated_results_from_a_flows_own_storage_block(prefect_server, tmp_path, monkeypatch):
    """A flow with its own result storage block (not the one the child saved): its results are
    read back through that block, looked up once; the next run reads through the child's."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    own_dir = tmp_path / "own-results"
    (tmp_path / "storage.py").write_text(MIGRATED_OWN_STORAGE.format(basepath=str(own_dir)))
    own, default = run_migrated_many(
        tmp_path,
        [
            {"file": "storage.py", "function_name": "own_storage", "flow_name": "own-storage"},
            {"file": "storage.py", "function_name": "default_storage", "flow_name": "x"},
        ],
        timeout=60,
    )
    assert own.error is None, own.error
    assert sorted((t.name, t.result, t.ok) for t in own.tasks) == [
        ("square", 9, True),
        ("square", 16, True),
    ]
    assert any(own_dir.iterdir()), "the results were not written to the flow's own storage"
    assert default.error is None, default.error
    assert [(t.name, t.result) for t in default.tasks] == [("square", 4)]


# The engine's first call to set a flow run's state goes to a flow run id that does not exist:
# the real API answers 404 (Prefect's ObjectNotFound), as it would for a run lost on the server.
MIGRATED_LOST_CALLS = """
import uuid

from prefect import flow
from prefect.client.orchestration import PrefectClient

LOSSES = {losses}
_original = PrefectClient.set_flow_run_state


async def set_flow_run_state(self, flow_run_id, *args, **kwargs):
    global LOSSES
    if LOSSES:
        LOSSES -= 1
        flow_run_id = uuid.uuid4()
    return await _original(self, flow_run_id, *args, **kwargs)


PrefectClient.set_flow_run_state = set_flow_run_state


@flow(name="lost")
def lost():
    with open("ran.txt", "w") as fh:
        fh.write("ok")
    return 1
"""


def test_migrated_engine_api_loss_is_retried_once_then_named(prefect_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    (tmp_path / "once.py").write_text(MIGRATED_LOST_CALLS.format(losses=1))
    (tmp_path / "always.py").write_text(MIGRATED_LOST_CALLS.format(losses=99))
    once = run_migrated(tmp_path, "once.py", "lost", "lost", {}, timeout=60)
    # the engine lost its first call; the run was started again and completed
    assert once.error is None, once.error
    assert (once.final_state, once.ok, once.files.keys()) == ("Completed", True, {"ran.txt"})
    # the run the lost call left Pending is marked Crashed: no open run is left behind
    import httpx

    runs = httpx.post(
        f"{prefect_server}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["lost"]}}},
        timeout=30,
    ).json()
    assert sorted(r["state_type"] for r in runs) == ["COMPLETED", "CRASHED"]
    always = run_migrated(tmp_path, "always.py", "lost", "lost", {}, timeout=60)
    assert always.ok is False
    # the error names the request the API refused, not just Prefect's empty ObjectNotFound
    assert always.error.startswith("ObjectNotFound: "), always.error
    assert "(the API answered POST /api/flow_runs/" in always.error
    assert always.error.endswith("/set_state: 404)")


SAME_NAME = """\
from prefect import Flow, task


@task
def first():
    return 1


@task
def second():
    return 2


with Flow("twice") as flow:
    first()

with Flow("twice") as flow:
    second()
"""


def test_legacy_runs_the_flow_created_at_the_given_line(base, tmp_path):
    """Two flows of one module with one name: the spec's line picks the flow created there."""
    (tmp_path / "twice.py").write_text(SAME_NAME)
    lines = [i + 1 for i, ln in enumerate(SAME_NAME.splitlines()) if ln.startswith("with Flow")]
    runs = run_legacy(
        tmp_path,
        [RunSpec("twice.py", "twice", line=lines[0]), RunSpec("twice.py", "twice", line=lines[1])],
        env=base,
        timeout=60,
    )
    assert [[t.name for t in run.tasks] for run in runs] == [["first"], ["second"]]
