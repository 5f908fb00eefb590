"""meta_flows.adapters.prefect1_server against a local Prefect 1 GraphQL server."""

from __future__ import annotations

import socket

import pytest

from meta_flows.adapters.prefect1_server import Prefect1Server, Prefect1ServerError

from .fake_prefect1 import FakeFlow, FakePrefect1, serve

ETL_V1 = "00000000-0000-0000-0000-0000000000a1"
ETL_V2 = "00000000-0000-0000-0000-0000000000a2"
REPORT = "00000000-0000-0000-0000-0000000000b1"
PAUSED = "00000000-0000-0000-0000-0000000000c1"
OTHER = "00000000-0000-0000-0000-0000000000d1"
NEEDS = "00000000-0000-0000-0000-0000000000e1"


def estate() -> list[FakeFlow]:
    return [
        FakeFlow(ETL_V1, "etl", "acme", 1, is_schedule_active=False, archived=True),
        FakeFlow(ETL_V2, "etl", "acme", 2),
        FakeFlow(REPORT, "report", "acme", 5),
        FakeFlow(PAUSED, "paused", "acme", 1, is_schedule_active=False),
        FakeFlow(OTHER, "etl", "other-project", 7),
        FakeFlow(
            NEEDS, "needs-params", "acme", 1, is_schedule_active=False, required_parameters=True
        ),
    ]


@pytest.fixture
def prefect1():
    fake = FakePrefect1(flows=estate())
    server, thread = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def state(fake: FakePrefect1) -> dict[str, bool]:
    return {flow.id: flow.is_schedule_active for flow in fake.flows}


def test_flow_ids_are_latest_unarchived_in_project(prefect1: FakePrefect1) -> None:
    server = Prefect1Server(prefect1.url)
    assert server.flow_ids("acme", ["etl", "report", "nope"]) == {"etl": ETL_V2, "report": REPORT}
    assert server.flow_ids("acme", None) == {
        "etl": ETL_V2,
        "report": REPORT,
        "paused": PAUSED,
        "needs-params": NEEDS,
    }
    assert server.flow_ids("other-project", ["etl"]) == {"etl": OTHER}
    assert server.flows("acme", ["etl"])["etl"].version == 2


def test_single_schedule_switches(prefect1: FakePrefect1) -> None:
    server = Prefect1Server(prefect1.url)
    assert server.schedule_active(REPORT) is True
    assert server.set_schedule_inactive(REPORT) is True
    assert server.schedule_active(REPORT) is False
    assert server.set_schedule_inactive(REPORT) is True  # pausing twice is fine
    assert server.set_schedule_active(REPORT) is True
    assert server.schedule_active(REPORT) is True
    unknown = "00000000-0000-0000-0000-00000000ffff"
    assert server.set_schedule_inactive(unknown) is False
    with pytest.raises(Prefect1ServerError, match=f"no flow with id {unknown}"):
        server.schedule_active(unknown)


def test_pause_then_resume_is_idempotent(prefect1: FakePrefect1) -> None:
    server = Prefect1Server(prefect1.url)
    before = state(prefect1)
    change = server.pause_flows("acme", ["etl", "report", "paused", "ghost"])
    assert change.changed == {"etl": ETL_V2, "report": REPORT}
    assert change.unchanged == {"paused": PAUSED}
    assert change.missing == ["ghost"]
    assert change.flow_ids == {"etl": ETL_V2, "report": REPORT, "paused": PAUSED}
    after = state(prefect1)
    assert after[ETL_V2] is False and after[REPORT] is False
    assert after[OTHER] is True and after[ETL_V1] is False  # other project, old version untouched

    again = server.pause_flows("acme", ["etl", "report", "paused", "ghost"])
    assert again.changed == {}
    assert again.unchanged == {"etl": ETL_V2, "report": REPORT, "paused": PAUSED}
    assert state(prefect1) == after
    assert prefect1.operations.count("set_schedule_inactive") == 2  # nothing sent the 2nd time

    resumed = server.resume_flows("acme", list(change.changed))
    assert resumed.changed == change.changed
    assert state(prefect1) == before
    assert server.resume_flows("acme", list(change.changed)).changed == {}


def test_server_error_on_resume_names_the_reason(prefect1: FakePrefect1) -> None:
    server = Prefect1Server(prefect1.url)
    with pytest.raises(Prefect1ServerError, match="required parameters") as info:
        server.resume_flows("acme", ["needs-params"])
    assert prefect1.url in str(info.value)


def test_graphql_errors_surface(prefect1: FakePrefect1) -> None:
    prefect1.fail_with = "database is locked"
    with pytest.raises(Prefect1ServerError, match=f"{prefect1.url}: database is locked"):
        Prefect1Server(prefect1.url).pause_flows("acme", ["etl"])


def test_api_key_is_sent(prefect1: FakePrefect1) -> None:
    prefect1.api_key = "pcu_secret"
    with pytest.raises(Prefect1ServerError, match="UNAUTHENTICATED") as info:
        Prefect1Server(prefect1.url).flow_ids("acme", ["etl"])
    assert "pcu_secret" not in str(info.value)
    assert Prefect1Server(prefect1.url, api_key="pcu_secret").flow_ids("acme", ["etl"]) == {
        "etl": ETL_V2
    }


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/graphql"
    with pytest.raises(Prefect1ServerError, match=f"{url} unreachable"):
        Prefect1Server(url, timeout=5).flow_ids("acme", None)


def test_invalid_query_reports_graphql_errors(prefect1: FakePrefect1) -> None:
    with pytest.raises(Prefect1ServerError, match="Cannot query field 'flows_typo'"):
        Prefect1Server(prefect1.url).graphql("query { flows_typo { id } }")
