"""The compiled read path (crm.api.fast) answers exactly what the DRF serializers would: same bodies,
same key order, same status and ETag, for every business resource, list and detail, with every
expansion, on rows with nulls, decimals, unicode, soft-deleted and RLS-hidden references."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import resolve
from django.utils import timezone

from crm.api import fast
from crm.api.fast import JSON_COLUMN
from crm.api.viewsets import TenantModelViewSet
from tests import factories as f
from tests.api.support import BUSINESS_RESOURCES, Resource, ok
from tests.conftest import Firm, client_for

# Escapes JSON must make (quote, backslash, control characters), non-BMP and the two line separators
# DRF escapes for JavaScript.
AWKWARD = 'Crème brûlée — 東京 🍣 "quoted" \\ back\ttab\x01 \u2028\u2029 end'
# Names may not hold control characters (crm.text): the same escapes without the tab and U+0001.
AWKWARD_NAME = 'Crème brûlée — 東京 🍣 "quoted" \\ back tab \u2028\u2029 end'


def soft_delete(row: Any) -> None:
    type(row)._default_manager.filter(pk=row.pk).update(deleted_at=timezone.now())


@pytest.fixture
def awkward_rows(firm: Firm) -> None:
    """Rows of every resource whose representation is easy to get subtly wrong."""
    t = firm.tenant
    chain = f.CustomerFactory(tenant=t, name=f"Chain {AWKWARD_NAME}", city="Zürich", notes=AWKWARD)
    closed_chain = f.CustomerFactory(tenant=t, name="Closed chain")
    # The manager's principal belongs to one outside their book: a parent RLS hides from them.
    type(firm.principal_a).objects.filter(pk=firm.principal_a.pk).update(parent=firm.principal_b)
    f.CustomerFactory(
        tenant=t, parent=chain, account_manager=firm.manager, website="https://example.test/ü", priority="A"
    )
    f.CustomerFactory(tenant=t, parent=closed_chain)
    soft_delete(closed_chain)

    boss = f.ContactFactory(tenant=t, organization=chain, first_name="Zoë", title=AWKWARD)
    gone_boss = f.ContactFactory(tenant=t, organization=chain, last_name="Gone")
    f.ContactFactory(tenant=t, organization=chain, reports_to=boss, email="", notes=AWKWARD)
    f.ContactFactory(tenant=t, organization=chain, reports_to=gone_boss)

    cheap = f.ProductFactory(
        tenant=t, principal=firm.principal_a, list_price=Decimal("0.1"), name=AWKWARD_NAME
    )
    f.ProductFactory(tenant=t, principal=firm.principal_a, list_price=None, pack_size="")
    f.ProductFactory(tenant=t, principal=firm.principal_a, list_price=Decimal("9999999999.99"))

    gone_distributor = f.DistributorFactory(tenant=t, name="Gone Distribution")
    open_deal = f.OpportunityFactory(
        tenant=t,
        principal=firm.principal_a,
        customer=chain,
        distributor=firm.distributor,
        owner=firm.manager,
        weekly_case_volume=Decimal("12.35"),
        probability=33,  # weighted: 4.0755, stored and shown as 4.08
        expected_close_date=dt.date(2031, 2, 28),
        next_action=AWKWARD,
    )
    f.OpportunityFactory(
        tenant=t, principal=firm.principal_a, customer=firm.customer, distributor=gone_distributor
    )
    f.OpportunityFactory(tenant=t, principal=firm.principal_a, customer=firm.customer, probability=0)
    soft_delete(gone_distributor)

    # Time stamps given in other zones, with and without microseconds; every optional reference empty.
    f.InteractionFactory(
        tenant=t,
        organization=chain,
        contact=boss,
        opportunity=open_deal,
        principal=firm.principal_a,
        user=firm.manager,
        occurred_at=dt.datetime(2030, 3, 9, 23, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
        duration_minutes=0,
        subject=AWKWARD,
        sentiment="positive",
        follow_up_on=dt.date(2030, 3, 31),
    )
    f.InteractionFactory(
        tenant=t,
        organization=firm.customer,
        occurred_at=dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        duration_minutes=None,
    )
    f.InteractionFactory(tenant=t, organization=chain, contact=gone_boss, principal=firm.principal_a)
    soft_delete(gone_boss)

    f.OpportunityProductFactory(tenant=t, opportunity=open_deal, product=cheap, weekly_case_volume=None)
    f.OpportunityContactFactory(tenant=t, opportunity=open_deal, contact=boss, role="decision_maker")
    f.DistributorAuthorizationFactory(
        tenant=t, distributor=firm.distributor, principal=firm.principal_a, expires_on=None, notes=AWKWARD
    )
    f.CustomerDistributorFactory(tenant=t, customer=chain, distributor=firm.distributor, is_primary=True)
    f.ProductDistributorFactory(tenant=t, product=cheap, distributor=firm.distributor)


def _variants(resource: Resource) -> list[str]:
    """No expansion, each one alone, all of them."""
    names = [n for n in resource.expand.split(",") if n]
    return list(dict.fromkeys(["", *names, ",".join(names), ",".join(reversed(names))]))


# Resources that nest other rows (a sample's lines) have no read plan: DRF represents them, one query a
# page for the nested rows (tests/api/test_samples.py counts them).
NESTED_RESOURCES = ("samples",)

CASES = [
    pytest.param(resource, expand, id=f"{resource.name}-{expand or 'plain'}")
    for resource in BUSINESS_RESOURCES
    if resource.name not in NESTED_RESOURCES
    for expand in _variants(resource)
]


def ordered(body: bytes) -> Any:
    """The JSON with objects as lists of pairs: equal only when the keys come in the same order."""
    return json.loads(body, object_pairs_hook=list)


def both_paths(client: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The response as served (JSON written by PostgreSQL where it can be) and DRF's; the plan's Python
    representation, the third way, must equal both."""
    fast_response = client.get(url)
    with monkeypatch.context() as patch:
        patch.setattr(TenantModelViewSet, "writes_sql_json", lambda self, plan: False)
        python_response = client.get(url)
    with monkeypatch.context() as patch:
        patch.setattr(TenantModelViewSet, "read_plan", lambda self: None)  # DRF's serializers
        drf_response = client.get(url)
    assert_same(python_response, drf_response)
    return fast_response, drf_response


def assert_same(fast_response: Any, drf_response: Any) -> None:
    assert fast_response.status_code == drf_response.status_code
    assert fast_response.get("ETag") == drf_response.get("ETag")
    assert ordered(fast_response.content) == ordered(drf_response.content)
    assert fast_response.content == drf_response.content


def compare_list_and_details(client: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    fast_list, drf_list = both_paths(client, url, monkeypatch)
    assert_same(fast_list, drf_list)
    rows = ok(fast_list)["results"]
    base, _, query = url.partition("?")
    for row in rows:
        fast_detail, drf_detail = both_paths(client, f"{base}{row['id']}/?{query}", monkeypatch)
        assert_same(fast_detail, drf_detail)
        # The list shows each row as its detail does.
        assert ordered(fast_detail.content) == ordered(json.dumps(row).encode())
    return len(rows)


@pytest.mark.parametrize(("resource", "expand"), CASES)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_fast_representation_equals_the_serializers(firm, awkward_rows, resource, expand, role, monkeypatch):
    resource.make(firm, 2)
    view = resolve(resource.url).func.cls  # type: ignore[attr-defined]
    expansions = tuple(n for n in expand.split(",") if n)
    plan = fast.read_plan(view.serializer_class, expansions)
    assert plan is not None and plan.has_json, "the fast paths must be the ones tested"
    url = f"{resource.url}?page_size=200" + (f"&expand={expand}" if expand else "")
    assert compare_list_and_details(client_for(getattr(firm, role)), url, monkeypatch) >= 2


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns"])
def test_time_stamps_follow_the_server_time_zone_as_drf_does(firm, awkward_rows, zone, settings, monkeypatch):
    settings.TIME_ZONE = zone
    client = client_for(firm.admin)
    url = "/api/v1/interactions/?page_size=200&expand=organization,contact,opportunity,principal,user"
    assert compare_list_and_details(client, url, monkeypatch) >= 3
    shown = dt.datetime.fromisoformat(ok(client.get(url))["results"][0]["occurred_at"])
    assert shown.utcoffset() == shown.astimezone(ZoneInfo(zone)).utcoffset() != dt.timedelta(0)


def test_write_responses_come_from_the_stored_row(firm, monkeypatch):
    """Create, update, change-stage and restore answer with the row as stored (database-kept columns
    included), the same through either path."""
    client = client_for(firm.manager)
    body = {
        "name": AWKWARD,
        "principal": firm.principal_a.pk,
        "customer": firm.customer.pk,
        "weekly_case_volume": "7.5",
        "probability": 40,
    }
    created = client.post("/api/v1/opportunities/?expand=principal,owner", body, format="json")
    data = ok(created, 201)
    assert data["weighted_weekly_volume"] == "3.00" and data["principal"]["id"] == firm.principal_a.pk
    assert created["ETag"] == '"1"'
    url = f"/api/v1/opportunities/{data['id']}/"
    fast_update = client.patch(f"{url}?expand=customer", {"probability": 60}, format="json")
    with monkeypatch.context() as patch:
        patch.setattr(TenantModelViewSet, "read_plan", lambda self: None)
        drf_update = client.patch(f"{url}?expand=customer", {"probability": 60}, format="json")
    assert ok(fast_update)["weighted_weekly_volume"] == "4.50" and ok(fast_update)["customer"]["name"]
    assert fast_update["ETag"] == '"2"' and drf_update["ETag"] == '"3"'

    def unversioned(response: Any) -> list[Any]:
        return [pair for pair in ordered(response.content) if pair[0] not in ("version", "updated_at")]

    assert unversioned(fast_update) == unversioned(drf_update)
    staged = client.post(f"{url}change-stage/", {"stage": "initial_outreach"}, format="json")
    assert ok(staged)["stage"] == "initial_outreach" and ok(staged)["stage_changed_at"] is not None
    assert staged.content == client.get(url).content
    assert client.delete(url).status_code == 204
    restored = client.post(f"{url}restore/")
    assert restored.status_code == 200 and restored.content == client.get(url).content


def test_a_serializer_the_compiler_cannot_reproduce_keeps_drfs_path():
    from rest_framework import serializers

    from contacts.models import Contact
    from contacts.serializers import ContactSerializer

    class WithMethodField(ContactSerializer):
        display = serializers.SerializerMethodField()

        class Meta:
            model = Contact
            fields = (*ContactSerializer.Meta.fields, "display")

        def get_display(self, contact: Contact) -> str:
            return f"{contact.first_name} {contact.last_name}"

    class Dotted(ContactSerializer):
        organization_name = serializers.CharField(source="organization.name", read_only=True)

        class Meta:
            model = Contact
            fields = (*ContactSerializer.Meta.fields, "organization_name")

    assert fast.read_plan(WithMethodField, ()) is None
    assert fast.read_plan(Dotted, ()) is None
    assert fast.read_plan(ContactSerializer, ("organization",)) is not None


def test_pages_and_records_come_as_json_written_by_postgresql_unless_the_body_is_rendered_otherwise(
    firm, awkward_rows
):
    """The rows' JSON is PostgreSQL's text, for a list and a detail; an indented body (`; indent=`) and the
    browsable API get the Python representation, rendered their own way, with the same content."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(firm.admin)
    url = "/api/v1/interactions/?expand=organization,principal"
    with CaptureQueriesContext(connection) as page_queries:
        page = client.get(url)
    assert any(JSON_COLUMN in q["sql"] for q in page_queries.captured_queries)
    first = ok(page)["results"][0]
    with CaptureQueriesContext(connection) as detail_queries:
        detail = client.get(f"/api/v1/interactions/{first['id']}/?expand=organization,principal")
    assert any(JSON_COLUMN in q["sql"] for q in detail_queries.captured_queries)
    assert json.loads(detail.content) == first and detail["ETag"] == f'"{first["version"]}"'

    with CaptureQueriesContext(connection) as indented_queries:
        indented = client.get(url, HTTP_ACCEPT="application/json; indent=2")
    assert not any(JSON_COLUMN in q["sql"] for q in indented_queries.captured_queries)
    assert indented.content.startswith(b'{\n  "next"') and json.loads(indented.content) == json.loads(
        page.content
    )


def test_a_record_whose_representation_shows_no_version_gets_no_etag_on_either_path(firm, monkeypatch):
    from organizations.serializers import OrganizationSerializer
    from organizations.views import OrganizationViewSet

    class WithoutVersion(OrganizationSerializer):
        class Meta(OrganizationSerializer.Meta):
            fields = tuple(name for name in OrganizationSerializer.Meta.fields if name != "version")  # type: ignore[assignment]

    plan = fast.read_plan(WithoutVersion, ())
    assert plan is not None and plan.has_json and not plan.shows_version
    assert fast.read_plan(OrganizationSerializer, ()).shows_version  # type: ignore[union-attr]
    monkeypatch.setattr(OrganizationViewSet, "serializer_class", WithoutVersion)
    fast_response, drf_response = both_paths(
        client_for(firm.admin), f"/api/v1/organizations/{firm.customer.pk}/", monkeypatch
    )
    assert_same(fast_response, drf_response)
    assert fast_response.get("ETag") is None and "version" not in ok(fast_response)


def test_flat_rows_are_represented_as_drf_represents_them_and_odd_serializers_keep_drfs_path():
    """Every FlatRowSerializer of the project, on rows with awkward values (None, many decimals, negative,
    huge, a date, a choice), gives exactly what DRF's own to_representation gives."""
    from dataclasses import make_dataclass

    from rest_framework import serializers

    from crm.api.fast import FlatRowSerializer
    from reports import serializers as report_serializers

    classes = [
        c
        for c in vars(report_serializers).values()
        if isinstance(c, type) and issubclass(c, FlatRowSerializer) and c is not FlatRowSerializer
    ]
    assert len(classes) >= 4
    samples = {
        serializers.IntegerField: (None, 0, 7, -3, 10**12),
        serializers.CharField: (None, "", "Pizza & Co ✓", "0042"),
        serializers.DecimalField: (
            None,
            Decimal("0"),
            Decimal("1.2345"),
            Decimal("-7.5"),
            Decimal("12345678.125"),
        ),
        serializers.DateField: (None, dt.date(2026, 3, 2)),
        serializers.ChoiceField: ("buying", "stopped"),
    }
    for serializer_class in classes:
        fields = serializer_class().fields
        assert serializer_class._flat_plan(fields) is not None, serializer_class  # the fast path is taken
        row_type = make_dataclass("Row", list(fields))
        for n in range(6):
            values = {}
            for name, field in fields.items():
                options = next(v for k, v in samples.items() if isinstance(field, k))
                value = options[n % len(options)]
                values[name] = options[-1] if value is None and not field.allow_null else value
            row = row_type(**values)
            fast_output = serializer_class().to_representation(row)
            drf_output = serializers.Serializer.to_representation(serializer_class(), row)
            assert fast_output == drf_output, (serializer_class, values)

    class Dotted(FlatRowSerializer):
        name = serializers.CharField(source="product.name")

    assert Dotted._flat_plan(Dotted().fields) is None
    product = make_dataclass("Product", ["name"])("Salsa")
    assert Dotted().to_representation(make_dataclass("Row", ["product"])(product)) == {"name": "Salsa"}
