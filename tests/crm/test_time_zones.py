"""The firm's and the members' time zones (crm migration 0028, ADR 0028): kept and checked by the
database, set by admins (the firm's) and by each member (their own) through definer functions, and read
by the API (firm/, me/, members/)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from crm import rls, timezones
from crm.models import Membership, Tenant
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for
from tests.integrity.sql import CHECK, refused

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"


def sql(statement: str, params: Any = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone() if cursor.description else None


def saved(statement: str, params: Any = ()) -> Any:
    """sql() in a savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic():
        return sql(statement, params)


def sqlstate(statement: str, params: Any = ()) -> str:
    with pytest.raises(DatabaseError) as failure, transaction.atomic():
        sql(statement, params)
    return str(getattr(failure.value.__cause__, "sqlstate", ""))


# --- The database's rules, in raw SQL.


@pytest.mark.parametrize("name", ["UTC", LA, "America/Argentina/Buenos_Aires", "Europe/Berlin", "Etc/GMT+5"])
def test_the_database_takes_iana_zone_names(firm: Firm, name: str) -> None:
    sql("UPDATE tenant SET time_zone = %s WHERE id = %s", [name, firm.tenant.pk])
    assert sql("SELECT time_zone FROM tenant WHERE id = %s", [firm.tenant.pk])[0] == name


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "UTC+5", "+05:00", "", "America/../etc", "America/Atlantis"]
)
def test_the_database_refuses_what_is_not_a_zone(firm: Firm, name: str) -> None:
    refused(
        lambda: saved("UPDATE tenant SET time_zone = %s WHERE id = %s", [name, firm.tenant.pk]),
        CHECK,
        constraint="tenant_time_zone_valid",
    )
    refused(
        lambda: saved("UPDATE membership SET time_zone = %s WHERE user_id = %s", [name, firm.manager.pk]),
        CHECK,
        constraint="membership_time_zone_valid",
    )


def test_a_firm_counts_in_utc_until_told_otherwise(db: Any) -> None:
    sql("INSERT INTO tenant (name) VALUES ('Fresh Brokers')")
    assert sql("SELECT time_zone FROM tenant WHERE name = 'Fresh Brokers'")[0] == "UTC"


def test_the_runtime_role_writes_no_zone_directly_but_an_admin_their_members(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk):
        assert sqlstate("UPDATE tenant SET time_zone = %s", [LA]) == "42501"
    # A member's own membership is not theirs to update (its role is on it); their firm's admins manage it.
    with rls.acting_as(firm.manager.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE membership SET time_zone = %s WHERE user_id = %s", [LA, firm.manager.pk])
        assert cursor.rowcount == 0
    with rls.acting_as(firm.admin.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE membership SET time_zone = %s WHERE user_id = %s", [LA, firm.manager.pk])
        assert cursor.rowcount == 1


def test_only_the_firms_admin_sets_its_zone(firm: Firm, other_firm: Firm) -> None:
    for user in (firm.manager, firm.viewer):
        with rls.acting_as(user.pk):
            assert sqlstate("SELECT crm_set_firm_time_zone(%s)", [LA]) == "42501"
    with rls.acting_as(firm.admin.pk):
        sql("SELECT crm_set_firm_time_zone(%s)", [LA])
    assert Tenant.objects.get(pk=firm.tenant.pk).time_zone == LA
    assert Tenant.objects.get(pk=other_firm.tenant.pk).time_zone == "UTC"


def test_a_forged_context_sets_no_zone(firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        sql("SELECT set_config('crm.role', 'admin', true)")
        assert sqlstate("SELECT crm_set_firm_time_zone(%s)", [LA]) == "42501"
        assert sqlstate("SELECT crm_set_member_time_zone(%s, %s)", [firm.other_manager.pk, LA]) == "42501"


def test_members_set_their_own_zone_and_admins_anyones_in_their_firm(firm: Firm, other_firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk):
        assert sql("SELECT crm_set_member_time_zone(%s, %s)", [firm.manager.pk, LA])[0] is True
        assert sqlstate("SELECT crm_set_member_time_zone(%s, %s)", [firm.other_manager.pk, LA]) == "42501"
    with rls.acting_as(firm.admin.pk):
        assert sql("SELECT crm_set_member_time_zone(%s, %s)", [firm.viewer.pk, "Europe/Berlin"])[0] is True
        # Another firm's member: nothing changes, and nothing says they exist.
        assert sql("SELECT crm_set_member_time_zone(%s, %s)", [other_firm.viewer.pk, LA])[0] is False
    zones = dict(Membership.objects.values_list("user_id", "time_zone"))
    assert zones[firm.manager.pk] == LA
    assert zones[firm.viewer.pk] == "Europe/Berlin"
    assert zones[other_firm.viewer.pk] is None
    assert zones[firm.other_manager.pk] is None


def test_a_bad_zone_through_the_function_is_the_check_violation(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk), pytest.raises(IntegrityError) as caught, transaction.atomic():
        sql("SELECT crm_set_firm_time_zone(%s)", ["Atlantis/Capital"])
    assert isinstance(caught.value.__cause__, psycopg.errors.CheckViolation)


# --- A member's day.


def test_a_members_day_is_theirs_else_the_firms(firm: Firm) -> None:
    Tenant.objects.filter(pk=firm.tenant.pk).update(time_zone="America/New_York")
    Membership.objects.filter(user=firm.manager).update(time_zone=LA)
    assert timezones.member_zone(firm.manager) == zoneinfo.ZoneInfo(LA)
    assert timezones.member_zone(firm.viewer.pk) == zoneinfo.ZoneInfo("America/New_York")
    # 6 pm on a Sunday in California is already Monday in UTC; it is still Sunday for the member.
    sunday_evening = dt.datetime(2026, 11, 1, 18, 0, tzinfo=zoneinfo.ZoneInfo(LA))
    assert sunday_evening.astimezone(dt.UTC).date() == dt.date(2026, 11, 2)
    assert timezones.member_today(firm.manager, now=sunday_evening) == dt.date(2026, 11, 1)
    zones = timezones.zones_of(tenant_id=firm.tenant.pk, user_id=firm.manager.pk)
    assert (zones.firm, zones.member) == (zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo(LA))


def test_today_turns_at_local_midnight_across_a_dst_change() -> None:
    la = zoneinfo.ZoneInfo(LA)
    # 2026-11-01: clocks go back at 2 am in California (PDT, UTC−7, to PST, UTC−8).
    assert timezones.today_in(la, now=dt.datetime(2026, 11, 2, 6, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
    assert timezones.today_in(la, now=dt.datetime(2026, 11, 2, 7, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
    assert timezones.today_in(la, now=dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 2)
    # Before the change, midnight was 07:00 UTC.
    assert timezones.today_in(la, now=dt.datetime(2026, 10, 31, 7, 0, tzinfo=dt.UTC)) == dt.date(2026, 10, 31)


# --- The API.


def test_the_firm_shows_its_zone_and_its_admin_changes_it(firm: Firm) -> None:
    assert ok(client_for(firm.viewer).get(f"{API}/firm/")) == {
        "id": firm.tenant.pk,
        "name": firm.tenant.name,
        "time_zone": "UTC",
    }
    body = ok(client_for(firm.admin).patch(f"{API}/firm/", {"time_zone": LA}, format="json"))
    assert body["time_zone"] == LA
    assert ok(client_for(firm.manager).get(f"{API}/me/"))["tenant"]["time_zone"] == LA


def test_only_admins_change_the_firms_zone_and_only_to_a_zone(firm: Firm) -> None:
    assert_problem(client_for(firm.manager).patch(f"{API}/firm/", {"time_zone": LA}, format="json"), 403)
    assert_problem(
        client_for(firm.admin).patch(f"{API}/firm/", {"time_zone": "Mars/Olympus_Mons"}, format="json"),
        400,
        field="time_zone",
        code="unknown_zone",
    )
    assert_problem(
        client_for(firm.admin).patch(f"{API}/firm/", {"name": "Renamed", "time_zone": 5}, format="json"),
        400,
        field="time_zone",
    )
    assert Tenant.objects.get(pk=firm.tenant.pk).time_zone == "UTC"


def test_a_member_sets_their_own_zone_on_me(firm: Firm) -> None:
    client = client_for(firm.viewer)
    body = ok(client.get(f"{API}/me/"))
    assert (body["time_zone"], body["day_time_zone"]) == (None, "UTC")
    body = ok(client.patch(f"{API}/me/", {"time_zone": LA}, format="json"))
    assert (body["time_zone"], body["day_time_zone"]) == (LA, LA)
    body = ok(client.patch(f"{API}/me/", {"time_zone": None}, format="json"))
    assert (body["time_zone"], body["day_time_zone"]) == (None, "UTC")
    assert_problem(client.patch(f"{API}/me/", {"time_zone": "UTC+5"}, format="json"), 400, field="time_zone")


def test_admins_set_a_members_zone_on_members(firm: Firm) -> None:
    membership = Membership.objects.get(user=firm.manager)
    url = f"{API}/members/{membership.pk}/"
    assert ok(client_for(firm.admin).patch(url, {"time_zone": LA}, format="json"))["time_zone"] == LA
    assert Membership.objects.get(pk=membership.pk).time_zone == LA
    assert ok(client_for(firm.admin).get(url))["time_zone"] == LA
    assert_problem(client_for(firm.manager).patch(url, {"time_zone": "UTC"}, format="json"), 403)


def test_a_new_firm_takes_its_zone_when_created(db: Any) -> None:
    from django.core.exceptions import ValidationError

    from crm.services import tenant_create

    tenant = tenant_create(
        name="Bayou Brokers", admin_email="owner@bayou.example", admin_password="Bayou-Admin-2026!",
        time_zone="America/Chicago",
    )  # fmt: skip
    assert Tenant.objects.get(pk=tenant.pk).time_zone == "America/Chicago"
    with pytest.raises(ValidationError) as refusal:
        tenant_create(
            name="Moon Brokers", admin_email="owner@moon.example", admin_password="Moon-Admin-2026!",
            time_zone="Moon/Tranquility",
        )  # fmt: skip
    assert "time_zone" in refusal.value.message_dict
