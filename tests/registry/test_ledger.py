"""The ledger: persisted per-project migration state, safe for concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from meta_flows.orchestration.ledger import (
    FlowVerdict,
    Ledger,
    LedgerError,
    ProjectRecord,
    ProjectState,
)


def test_absent_project_is_pending_and_nothing_is_written(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, "demo")
    record = ledger.get("acme-etl")
    assert record == ProjectRecord(project="acme-etl")
    assert record.state is ProjectState.PENDING
    assert ledger.all() == {}
    assert not ledger.path.exists()


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, "demo")
    written = ledger.update(
        "acme-etl",
        state="deployed-shadow",
        branch="prefect2/demo",
        base_commit="a" * 40,
        migration_commit="b" * 40,
        pushed=True,
        deployment_ids=["d1", "d2"],
        deployment_names=["nightly/shadow"],
        todos=1,
        rules=["PF001", "PF004"],
        flows=[{"name": "nightly", "case": "small", "verdict": "equal"}],
    )
    assert ledger.path == tmp_path.absolute() / "ledger" / "demo.json"
    # A second Ledger object reads what the first wrote: nothing lives only in memory.
    again = Ledger(tmp_path, "demo").get("acme-etl")
    assert again == written
    assert again.state is ProjectState.DEPLOYED_SHADOW
    assert again.flows == [FlowVerdict(name="nightly", case="small", verdict="equal")]
    assert again.updated is not None and again.updated.tzinfo is not None
    on_disk = json.loads(ledger.path.read_text())
    assert on_disk["wave"] == "demo"
    assert on_disk["projects"]["acme-etl"]["state"] == "deployed-shadow"
    # Later updates change only what they name.
    ledger.update("acme-etl", pr_url="https://github.example/acme/etl/pull/7")
    record = ledger.get("acme-etl")
    assert record.pr_url == "https://github.example/acme/etl/pull/7"
    assert record.deployment_ids == ["d1", "d2"]
    assert list(ledger.all()) == ["acme-etl"]


def test_history_records_state_changes_and_reset_keeps_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, "demo")
    ledger.update("p", state="rewritten", migration_commit="c1")
    ledger.update("p", pushed=True)  # no state change: no history entry
    ledger.update("p", state="failed", reason="push rejected")
    failed = ledger.get("p")
    assert failed.reason == "push rejected"
    assert [(h.state.value, h.note) for h in failed.history] == [
        ("rewritten", None),
        ("failed", "push rejected"),
    ]
    # Leaving `failed` clears the stale reason.
    assert ledger.update("p", state="rewritten").reason is None
    ledger.update("p", note="retried by hand")
    reset = ledger.reset("p")
    assert reset.state is ProjectState.PENDING
    assert reset.migration_commit is None and reset.pushed is False
    assert [(h.state.value, h.note) for h in reset.history] == [
        ("rewritten", None),
        ("failed", "push rejected"),
        ("rewritten", None),
        ("rewritten", "retried by hand"),
        ("pending", "reset"),
    ]
    times = [h.at for h in reset.history]
    assert times == sorted(times)


def test_bad_updates_raise_and_write_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, "demo")
    ledger.update("p", todos=2)
    before = ledger.path.read_text()
    with pytest.raises(TypeError, match="colour"):
        ledger.update("p", colour="blue")
    with pytest.raises(TypeError, match="history"):
        ledger.update("p", history=[])
    with pytest.raises(ValidationError):
        ledger.update("p", state="half-done")
    with pytest.raises(ValidationError):
        ledger.update("p", flows=[{"name": "f", "verdict": "maybe"}])
    assert ledger.path.read_text() == before
    with pytest.raises(ValueError, match="slug"):
        Ledger(tmp_path, "../elsewhere")


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not a valid ledger"),
        ('{"wave": "demo", "projects": {"p": {"project": "p", "state": "??"}}}', "state"),
        ('{"wave": "other", "projects": {}}', "holds wave 'other'"),
    ],
)
def test_corrupted_ledger_is_an_error_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    ledger = Ledger(tmp_path, "demo")
    ledger.path.parent.mkdir(parents=True)
    ledger.path.write_text(content)
    for call in (lambda: ledger.get("p"), ledger.all, lambda: ledger.update("p", todos=1)):
        with pytest.raises(LedgerError) as info:
            call()
        assert str(ledger.path) in str(info.value)
        assert expected in str(info.value)
    # Never started over, never deleted.
    assert ledger.path.read_text() == content


def _write_many(workspace: str, writer: int, count: int) -> None:
    ledger = Ledger(workspace, "demo")
    for i in range(count):
        ledger.update(f"w{writer}-p{i}", state="rewritten", todos=i)
        # Every writer also sets its own field on one shared project.
        ledger.update("shared", deployment_names=[], **{_SHARED_FIELDS[writer]: f"w{writer}-{i}"})


_SHARED_FIELDS = ["branch", "base_commit", "migration_commit", "pr_url", "merge_commit", "reason"]


def _check_nothing_lost(workspace: Path, writers: int, count: int) -> None:
    records = Ledger(workspace, "demo").all()
    expected = {f"w{w}-p{i}" for w in range(writers) for i in range(count)} | {"shared"}
    assert set(records) == expected
    for w in range(writers):
        assert records[f"w{w}-p{count - 1}"].todos == count - 1
        assert getattr(records["shared"], _SHARED_FIELDS[w]) == f"w{w}-{count - 1}"
    assert not list((workspace / "ledger").glob("*.tmp"))


def test_concurrent_threads_lose_no_update(tmp_path: Path) -> None:
    writers, count = 4, 15
    threads = [
        threading.Thread(target=_write_many, args=(str(tmp_path), w, count)) for w in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_nothing_lost(tmp_path, writers, count)


def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    writers, count = 3, 15
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_write_many, args=(str(tmp_path), w, count)) for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    _check_nothing_lost(tmp_path, writers, count)
