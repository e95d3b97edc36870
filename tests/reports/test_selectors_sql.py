"""The report selectors' SQL plumbing: an optional filter adds a condition only when it is given."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.selectors.common import CLOSED, given, literals
from tests.reports.support import World

REPORT_NAMES = [
    "pipeline",
    "weekly-activity",
    "follow-ups",
    "stale-accounts",
    "stale-opportunities",
    "win-loss",
    "distributor-coverage",
    "principal-scorecard",
]
ONE_PRINCIPAL = {"distributor-coverage", "principal-scorecard"}
# What `(%(x)s IS NULL OR …)` became once a missing value was bound client-side.
FOLDED_NULL = re.compile(r"NULL(::\w+(\[\])?)? IS NULL OR")


def test_given_adds_a_condition_for_each_parameter_given_and_none_for_the_others() -> None:
    params = {"principal": 7, "owner": None}
    filters = given(params, principal="o.principal_id = %(principal)s", owner="o.owner_id = %(owner)s")
    assert filters.as_string(None).split() == ["AND", "o.principal_id", "=", "%(principal)s"]
    assert given({"owner": None}, owner="o.owner_id = %(owner)s").as_string(None) == ""


def test_choices_go_into_the_sql_as_quoted_literals() -> None:
    assert CLOSED.as_string(None) == "('closed_won', 'closed_lost')"
    assert literals("it's").as_string(None) == "('it''s')"


@pytest.mark.parametrize("report", REPORT_NAMES)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_report_sends_no_condition_for_a_filter_not_given(world: World, report: str, role: str) -> None:
    params = {"principal": world.firm.principal_a.pk} if report in ONE_PRINCIPAL else {}
    with CaptureQueriesContext(connection) as queries:
        world.get(role, report, **params)
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if FOLDED_NULL.search(sql)], statements
