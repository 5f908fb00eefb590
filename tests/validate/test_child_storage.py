"""The Prefect 2 child saves its result storage block once, retrying what SQLite makes routine."""

from __future__ import annotations

import httpx
import pytest
from prefect.exceptions import ObjectAlreadyExists
from prefect.filesystems import LocalFileSystem

from meta_flows.sandbox.migrated_child import result_storage


def _status(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/api/block_documents/")
    return httpx.HTTPStatusError(
        "x", request=request, response=httpx.Response(code, request=request)
    )


@pytest.fixture
def saves(monkeypatch):
    """Replace the API write with a scripted one: each item raised in turn, then success."""
    script: list[BaseException] = []
    calls: list[int] = []

    def _save(self, *args, **kwargs):
        from prefect.settings import PREFECT_CLIENT_MAX_RETRIES

        calls.append(PREFECT_CLIENT_MAX_RETRIES.value())
        if script:
            raise script.pop(0)

    monkeypatch.setattr(LocalFileSystem, "_save", _save)
    return script, calls


def test_503_and_a_racing_block_type_are_retried_without_client_backoff(saves, tmp_path):
    script, calls = saves
    script += [_status(503), ObjectAlreadyExists(_status(409)), _status(503)]
    block = result_storage(str(tmp_path))
    assert isinstance(block, LocalFileSystem) and block.basepath == str(tmp_path)
    assert calls == [0, 0, 0, 0]  # four attempts, the client's own retries off in each


def test_other_errors_give_up_at_once(saves, tmp_path):
    script, calls = saves
    script += [_status(422)]
    assert result_storage(str(tmp_path)) is None
    assert len(calls) == 1


def test_gives_up_after_the_attempts(saves, tmp_path):
    script, calls = saves
    script += [_status(503)] * 3
    assert result_storage(str(tmp_path), attempts=3) is None
    assert len(calls) == 3
