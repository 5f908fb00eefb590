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


def test_report_flows_name_their_file_and_case_and_modules_are_not_counted_as_flows():
    from meta_flows.cli import _print_wave
    from meta_flows.orchestration.outcome import FlowOutcome

    outcome = Outcome(
        "p",
        ReportState.ROLLED_BACK,
        "x",
        flows=[
            FlowOutcome("ETL", "default", "equal", "flows/a.py"),
            FlowOutcome("ETL", "default", "different", "flows/b.py"),
            FlowOutcome("flows/c.py", "module", "legacy-error", "flows/c.py"),
        ],
    )
    flows = outcome.report()["flows"]
    assert [(f["name"], f["file"]) for f in flows[:2]] == [
        ("ETL", "flows/a.py"),
        ("ETL", "flows/b.py"),
    ]
    printed = []
    import meta_flows.cli as cli

    original = cli.typer.echo
    cli.typer.echo = printed.append
    try:
        _print_wave({"projects": [outcome.report()]})
    finally:
        cli.typer.echo = original
    assert "1/2 flow case(s) equal (+1 module(s) that do not load under Prefect 1)" in printed[0]
