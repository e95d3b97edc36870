"""`create_tenant` and the tenant_create service: a firm and its first admin, or a clear refusal."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from crm.models import Membership, Role, Tenant, User
from crm.services import tenant_create

PASSWORD = "harbor-lights-7731"


def create_tenant(name: str, email: str, password: str = PASSWORD) -> str:
    out = StringIO()
    call_command("create_tenant", name, "--admin-email", email, "--admin-password", password, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_tenant_creates_the_firm_and_its_admin_who_can_sign_in() -> None:
    output = create_tenant("Acme Brokers", "Ann@Acme.test")

    tenant = Tenant.objects.get(name="Acme Brokers")
    membership = Membership.objects.select_related("user").get(tenant=tenant)
    assert membership.role == Role.ADMIN
    assert membership.user.email == "ann@acme.test"
    assert membership.user.check_password(PASSWORD)
    assert membership.user.is_staff and not membership.user.is_superuser
    assert "Acme Brokers" in output and "ann@acme.test" in output


@pytest.mark.django_db
def test_create_tenant_refuses_an_existing_tenant_name_case_insensitively() -> None:
    create_tenant("Acme Brokers", "ann@acme.test")

    with pytest.raises(CommandError, match="already exists"):
        create_tenant("ACME brokers", "bob@acme.test")
    assert Tenant.objects.count() == 1
    assert not User.objects.filter(email="bob@acme.test").exists()


@pytest.mark.django_db
def test_create_tenant_refuses_an_existing_email_case_insensitively() -> None:
    create_tenant("Acme Brokers", "ann@acme.test")

    with pytest.raises(CommandError, match="admin_email"):
        create_tenant("Rival Brokers", "ANN@acme.test")
    assert not Tenant.objects.filter(name="Rival Brokers").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("password", "reason"), [("short1", "too short"), ("password123", "too common")])
def test_create_tenant_refuses_a_password_that_fails_django_validators(password: str, reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        create_tenant("Acme Brokers", "ann@acme.test", password)
    assert not Tenant.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "email"), [("   ", "ann@acme.test"), ("Acme Brokers", "not-an-email")])
def test_create_tenant_refuses_a_blank_name_or_malformed_email(name: str, email: str) -> None:
    with pytest.raises(CommandError):
        create_tenant(name, email)
    assert not Tenant.objects.exists()


@pytest.mark.django_db
def test_tenant_create_reports_every_problem_by_argument_name() -> None:
    tenant_create(name="Acme Brokers", admin_email="ann@acme.test", admin_password=PASSWORD)

    with pytest.raises(ValidationError) as caught:
        tenant_create(name="acme brokers", admin_email="ANN@acme.test", admin_password="123")
    assert set(caught.value.message_dict) == {"name", "admin_email", "admin_password"}


@pytest.mark.django_db
def test_tenant_create_is_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("membership write failed")

    monkeypatch.setattr(Membership.objects, "create", fail)
    with pytest.raises(RuntimeError):
        tenant_create(name="Acme Brokers", admin_email="ann@acme.test", admin_password=PASSWORD)
    assert not Tenant.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_tenant_names_and_admin_emails_are_compared_as_people_read_them() -> None:
    tenant = tenant_create(
        name="Café Zürich Brokers", admin_email="boss@cafe.test", admin_password="Harbor-Grill-2026!"
    )
    assert tenant.name == "Café Zürich Brokers"
    with pytest.raises(ValidationError) as caught:
        tenant_create(
            name="CAFE\u0301\u00a0ZÜRICH  brokers",
            admin_email="BOSS@cafe.test",
            admin_password="Harbor-Grill-2026!",
        )
    assert set(caught.value.message_dict) == {"name", "admin_email"}
    with pytest.raises(ValidationError) as caught:
        tenant_create(name="Zero\u200bWidth", admin_email="z@zero.test", admin_password="Harbor-Grill-2026!")
    assert "invisible" in caught.value.message_dict["name"][0]
