"""Which requests a replica may serve, and the read-your-writes header's form (crm.replicas); the live
behaviour, on a real standby, is tests/ops/test_replicas.py."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from crm import replicas

factory = RequestFactory()


@pytest.mark.parametrize(
    ("method", "path", "cookies", "routed"),
    [
        ("get", "/api/v1/organizations/", {}, True),
        ("head", "/api/v1/reports/pipeline/", {}, True),
        ("options", "/api/v1/contacts/", {}, True),
        ("post", "/api/v1/organizations/", {}, False),  # a write
        ("patch", "/api/v1/organizations/1/", {}, False),
        ("delete", "/api/v1/organizations/1/", {}, False),
        ("get", "/api/v1/auth/token/", {}, False),  # sign-in stays on the primary
        ("get", "/admin/", {}, False),  # the admin
        ("get", "/api/v1/organizations/", {"sessionid": "x"}, False),  # a session may be written
    ],
)
def test_only_safe_api_requests_without_a_session_go_to_a_replica(method, path, cookies, routed):
    request = getattr(factory, method)(path)
    request.COOKIES.update(cookies)
    assert replicas.routable(request) is routed


@pytest.mark.parametrize("value", ["0/3035618", "16/B374D848", "ffffffff/FFFFFFFF", " 0/1 "])
def test_a_write_position_is_read_as_postgresql_writes_it(value):
    request = factory.get("/api/v1/organizations/", HTTP_X_DATABASE_POSITION=value)
    assert replicas.requested_position(request) == value.strip()


@pytest.mark.parametrize("value", ["yesterday", "0/", "/1", "1/2/3", "0x1/2", "123456789/1", "0/1; DROP"])
def test_a_malformed_position_is_refused(value):
    request = factory.get("/api/v1/organizations/", HTTP_X_DATABASE_POSITION=value)
    with pytest.raises(replicas.BadPosition):
        replicas.requested_position(request)


def test_positions_compare_as_postgresql_compares_them():
    assert (
        replicas.lsn("0/FFFFFFFF") < replicas.lsn("1/0") < replicas.lsn("1/10") < replicas.lsn("16/B374D848")
    )


def test_no_replica_is_chosen_when_none_is_configured(settings):
    assert not replicas.replica_aliases()
    assert replicas.choose(factory.get("/api/v1/organizations/")) is None
