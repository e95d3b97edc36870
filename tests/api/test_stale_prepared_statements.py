"""A prepared statement whose table changed under it (a migration altering a column's type) costs one
retryable 503 and its connection, not a 500 on every request the connection serves afterwards."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests import factories as f
from tests.api.support import API, ok
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_column_type_changed_under_a_prepared_page_is_a_503_and_the_connection_is_not_reused(firm):
    if not settings.DATABASE_PREPARED_STATEMENTS:
        pytest.fail("this suite runs on the embedded database, which prepares statements")
    f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    client = client_for(firm.admin)
    url = f"{API}/products/"
    for _ in range(3):  # prepared from the second run on
        ok(client.get(url))
    with connection.cursor() as cursor:  # what a migration does while the old code serves
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows made above: their deferred checks now
        cursor.execute("ALTER TABLE product ALTER COLUMN version TYPE bigint")
    refused = client.get(url)
    assert refused.status_code == 503 and refused["Retry-After"] == "5"
    assert refused.json()["request_id"]
    # The end of that request as the server runs it (close_if_unusable_or_obsolete, which the test client
    # skips): after an error Django asks whether the connection may be reused; it may not, so the retry
    # runs on a fresh connection, with nothing prepared.
    assert connection.errors_occurred and not connection.is_usable()
