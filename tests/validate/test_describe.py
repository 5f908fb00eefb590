"""What prefect deploy reads from a flow (name, parameter schema), read in a child interpreter."""

from __future__ import annotations

import pytest

from meta_flows.sandbox.migrated_describe import describe_flows

pytestmark = pytest.mark.prefect


def test_names_and_schemas_and_a_module_that_does_not_import(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "good.py").write_text(
        "from prefect import flow\n\n\n"
        '@flow(name="daily sales")\n'
        'def daily(day: str = "2024-01-01", regions: list = ["eu", "us"]):\n'
        "    return day\n"
    )
    (tmp_path / "flows" / "bad.py").write_text("import no_such_module_here\n")
    found = describe_flows(tmp_path, ["flows/good.py:daily", "flows/bad.py:f"])
    good = found["flows/good.py:daily"]
    assert good["flow_name"] == "daily sales"
    properties = good["parameter_openapi_schema"]["properties"]
    assert properties["day"]["default"] == "2024-01-01"
    assert properties["regions"]["default"] == ["eu", "us"]  # the run form shows it
    assert "required" not in good["parameter_openapi_schema"]  # as prefect deploy sends it
    assert "No module named 'no_such_module_here'" in found["flows/bad.py:f"]["error"]
