"""A merge in the change feed (ADR 0029): both sides say `merge`, the merged side is a tombstone naming
its survivor (webhooks: tests/webhooks/test_merge_events.py)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, ok
from tests.changes.test_feed import read_all
from tests.conftest import Firm, client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_feed_says_merge_on_both_sides(firm: Firm) -> None:
    admin = client_for(firm.admin)
    survivor = f.DistributorFactory(tenant=firm.tenant, name="Sysco Boston")
    merged = f.DistributorFactory(tenant=firm.tenant, name="SYSCO – Boston")
    _, start = read_all(admin)
    ok(admin.post(f"{API}/organizations/{survivor.pk}/merge/", {"merge": [merged.pk]}, format="json"))

    changes, _ = read_all(admin, start, resource="organizations")

    by_record = {c["record_id"]: c for c in changes}
    assert by_record[merged.pk]["action"] == "merge" and by_record[merged.pk]["tombstone"] is True
    assert by_record[merged.pk]["changes"]["merged_into_id"] == [None, survivor.pk]
    assert by_record[survivor.pk]["action"] == "merge" and by_record[survivor.pk]["tombstone"] is False
    assert by_record[survivor.pk]["changes"] == {"merged_from": [None, merged.pk]}
