"""Webhook endpoints through the API (admins only, their own firm), the secret shown once, and the SSRF
guard refusing URLs that resolve to internal addresses."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for
from webhooks import secrets
from webhooks.models import WebhookDelivery, WebhookEndpoint

URL = f"{API}/webhooks/"
BODY = {"url": "http://127.0.0.1:9/hooks", "events": ["*"], "description": "ERP"}


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(firm: Firm) -> None:
    admin = client_for(firm.admin)
    response = admin.post(URL, {**BODY, "events": ["contacts.*", "organizations.create"]}, format="json")
    created = ok(response, 201)
    assert response["Location"].endswith(f"{URL}{created['id']}/")
    assert created["secret"].startswith("whsec_") and created["is_active"] is True
    assert created["events"] == ["contacts.*", "organizations.create"]
    assert created["acting_admin"] == firm.admin.pk
    detail = ok(admin.get(f"{URL}{created['id']}/"))
    assert "secret" not in detail and "secret_encrypted" not in detail
    # Stored encrypted: the database does not hold the secret as such.
    stored = WebhookEndpoint.objects.get(pk=created["id"]).secret_encrypted
    assert created["secret"] not in stored and secrets.decrypt(stored) == created["secret"]
    rotated = ok(admin.post(f"{URL}{created['id']}/rotate-secret/"))["secret"]
    assert rotated != created["secret"]
    assert secrets.decrypt(WebhookEndpoint.objects.get(pk=created["id"]).secret_encrypted) == rotated


def test_an_admin_changes_and_removes_an_endpoint(firm: Firm) -> None:
    admin = client_for(firm.admin)
    created = ok(admin.post(URL, BODY, format="json"), 201)
    detail = f"{URL}{created['id']}/"
    changed = ok(
        admin.patch(detail, {"events": ["*.delete"], "principals": [firm.principal_a.pk]}, format="json")
    )
    assert changed["events"] == ["*.delete"] and changed["principals"] == [firm.principal_a.pk]
    assert admin.delete(detail).status_code == 204
    assert admin.get(detail).status_code == 404


@pytest.mark.parametrize("member", ["manager", "viewer"])
def test_only_admins_reach_endpoints(firm: Firm, member: str) -> None:
    client = client_for(getattr(firm, member))
    assert_problem(client.get(URL), 403)
    assert_problem(client.post(URL, BODY, format="json"), 403)


def test_another_firms_admin_sees_nothing_of_them(firm: Firm, other_firm: Firm) -> None:
    created = ok(client_for(firm.admin).post(URL, BODY, format="json"), 201)
    rival = client_for(other_firm.admin)
    assert ok(rival.get(URL))["results"] == []
    assert_problem(rival.get(f"{URL}{created['id']}/"), 404)
    assert_problem(rival.get(f"{URL}{created['id']}/deliveries/"), 404)
    assert_problem(rival.patch(f"{URL}{created['id']}/", {"description": "x"}, format="json"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "events": ["widgets.create"]}, "events"),
        ({**BODY, "events": ["contacts.explode"]}, "events"),
        ({**BODY, "events": []}, "events"),
        ({**BODY, "url": "ftp://example.com/x"}, "url"),
        ({**BODY, "url": "not a url"}, "url"),
        ({**BODY, "principals": [999999999]}, "principals"),
    ],
)
def test_a_bad_endpoint_is_a_400_naming_the_field(firm: Firm, body: dict[str, Any], field: str) -> None:
    assert_problem(client_for(firm.admin).post(URL, body, format="json"), 400, field=field)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8000/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://user:pass@example.com/",
    ],
)
def test_urls_resolving_to_internal_addresses_are_refused(firm: Firm, settings: Any, url: str) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    body = assert_problem(
        client_for(firm.admin).post(URL, {**BODY, "url": url}, format="json"), 400, field="url"
    )
    assert not WebhookEndpoint.objects.exists(), body


def test_the_delivery_log_and_a_redelivery(firm: Firm) -> None:
    admin = client_for(firm.admin)
    created = ok(admin.post(URL, BODY, format="json"), 201)
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    delivery = WebhookDelivery.objects.create(
        tenant_id=firm.tenant.pk,
        endpoint=endpoint,
        event_id=12345,
        event_type="contacts.create",
        resource="contacts",
        record_id=1,
        payload={"type": "contacts.create"},
        state="failed",
        attempts=10,
        last_error="HTTP 500",
    )
    log = ok(admin.get(f"{URL}{endpoint.pk}/deliveries/"))
    assert [(d["id"], d["state"], d["webhook_id"]) for d in log["results"]] == [
        (delivery.pk, "failed", "msg_12345")
    ]
    again = ok(admin.post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"))
    assert (again["state"], again["attempts"]) == ("pending", 0)
    assert_problem(admin.post(f"{URL}{endpoint.pk}/deliveries/999999/redeliver/"), 404)
    other = f.MembershipFactory(tenant=firm.tenant, role="manager").user
    assert_problem(client_for(other).post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"), 403)


def test_endpoints_and_deliveries_are_listed_in_a_fixed_number_of_queries(firm: Firm) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = client_for(firm.admin)
    first = ok(admin.post(URL, BODY, format="json"), 201)
    endpoint = WebhookEndpoint.objects.get(pk=first["id"])

    def counted(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            ok(admin.get(url))
        return len(queries)

    one = (counted(URL), counted(f"{URL}{endpoint.pk}/deliveries/"))
    for n in range(5):
        ok(admin.post(URL, BODY, format="json"), 201)
        WebhookDelivery.objects.create(
            tenant_id=firm.tenant.pk,
            endpoint=endpoint,
            event_id=n,
            event_type="contacts.create",
            resource="contacts",
            record_id=n,
            payload={},
        )
    assert (counted(URL), counted(f"{URL}{endpoint.pk}/deliveries/")) == one
