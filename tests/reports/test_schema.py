"""Every report is in the OpenAPI schema, with its parameters and both of its formats."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

REPORTS = {
    "pipeline": "reports_pipeline",
    "weekly-activity": "reports_weekly_activity",
    "follow-ups": "reports_follow_ups",
    "stale-accounts": "reports_stale_accounts",
    "stale-opportunities": "reports_stale_opportunities",
    "win-loss": "reports_win_loss",
    "distributor-coverage": "reports_distributor_coverage",
    "principal-scorecard": "reports_principal_scorecard",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("report", "operation_id"), REPORTS.items())
def test_each_report_is_a_documented_get_with_json_and_csv(
    schema: dict[str, Any], report: str, operation_id: str
) -> None:
    operation = schema["paths"][f"/api/v1/reports/{report}/"]["get"]
    assert operation["operationId"] == operation_id
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert {"principal", "owner", "date_from", "date_to", "format"} <= set(parameters)
    assert sorted(parameters["format"]["schema"]["enum"]) == ["csv", "json"]
    assert parameters["principal"].get("required", False) is (
        report in ("distributor-coverage", "principal-scorecard")
    )
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
    assert content["text/csv"]["schema"]["type"] == "string"
    assert "400" in operation["responses"]


def test_report_specific_parameters_are_documented(schema: dict[str, Any]) -> None:
    def names(report: str) -> set[str]:
        return {p["name"] for p in schema["paths"][f"/api/v1/reports/{report}/"]["get"]["parameters"]}

    assert "weeks" in names("weekly-activity")
    assert "days" in names("stale-accounts") and "days" in names("stale-opportunities")
    pipeline = schema["components"]["schemas"]["PipelineRow"]["properties"]
    assert {
        "principal",
        "stage",
        "open_opportunities",
        "weighted_weekly_volume",
        "average_days_in_stage",
    } <= set(pipeline)
