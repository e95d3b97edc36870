"""Which statements are prepared on the server: the request context and the read path's pages, not reports."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from crm.api.fast import JSON_COLUMN
from tests.api.support import API, ok
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_context_and_pages_are_prepared_and_a_report_is_planned_for_its_values(firm):
    client = client_for(firm.manager)
    for _ in range(3):
        ok(client.get(f"{API}/organizations/?type=customer"))
        ok(client.get(f"{API}/organizations/{firm.customer.pk}/"))
        ok(client.get(f"{API}/reports/pipeline/"))
    statements = _prepared()
    if not settings.DATABASE_PREPARED_STATEMENTS:  # a DATABASE_URL without the setting: nothing is
        assert statements == []
        return
    assert any("crm_request_context" in s for s in statements)
    pages = [s for s in statements if JSON_COLUMN in s]
    assert len(pages) == 2 and all('FROM "organization"' in s for s in pages)
    assert all("crm_request_context" in s or JSON_COLUMN in s for s in statements), statements
