"""What the report says of a project: its reason is kept readable, the ledger keeps it whole."""

from __future__ import annotations

from meta_flows.orchestration.outcome import REASON_LIMIT, Outcome, ReportState, short_reason


def test_a_long_reason_is_cut_in_the_report_and_says_where_the_rest_is():
    reason = "validation: " + "; ".join(f"flow-{i}: Traceback ... boom" for i in range(800))
    outcome = Outcome("p", ReportState.FAILED, reason)
    reported = outcome.report()["reason"]
    assert len(reported) < REASON_LIMIT + 60
    assert reported.startswith("validation: flow-0: Traceback")
    assert reported.endswith(f"({len(reason) - REASON_LIMIT} more characters in the ledger)")
    assert outcome.reason == reason  # the record itself keeps it whole


def test_a_short_reason_is_reported_as_it_is():
    assert short_reason("gate passed") == "gate passed"
    assert short_reason(None) is None
    assert (
        Outcome("p", ReportState.PENDING, "x" * REASON_LIMIT).report()["reason"]
        == "x" * REASON_LIMIT
    )
