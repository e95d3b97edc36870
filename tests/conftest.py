"""Shared fixtures: a firm with an admin, two managers with different books, a viewer, and a second firm;
fast password hashing for every suite.

Data is created as the database owner (set-up); every assertion about access goes through the API
(the middleware switches to the runtime role) or crm.rls.acting_as (the same, without HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.models import Role, Tenant, User
from crm.tokens import tokens_for
from organizations.models import Organization
from tests import factories as f

# Tests create users by the dozen; the production hasher (PBKDF2) would dominate every suite's runtime.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@dataclass
class Firm:
    tenant: Tenant
    admin: User
    manager: User  # book: principal_a
    other_manager: User  # book: principal_b
    viewer: User  # book: principal_a
    principal_a: Organization
    principal_b: Organization
    distributor: Organization
    customer: Organization


def make_firm(name: str) -> Firm:
    tenant = f.TenantFactory(name=name)

    def member(role: str) -> User:
        return f.MembershipFactory(tenant=tenant, role=role).user

    admin, manager, other, viewer = (
        member(Role.ADMIN),
        member(Role.MANAGER),
        member(Role.MANAGER),
        member(Role.VIEWER),
    )
    principal_a = f.PrincipalFactory(tenant=tenant, name=f"{name} Principal A")
    principal_b = f.PrincipalFactory(tenant=tenant, name=f"{name} Principal B")
    f.PrincipalAssignmentFactory(tenant=tenant, user=manager, principal=principal_a)
    f.PrincipalAssignmentFactory(tenant=tenant, user=other, principal=principal_b)
    f.PrincipalAssignmentFactory(tenant=tenant, user=viewer, principal=principal_a)
    return Firm(
        tenant=tenant,
        admin=admin,
        manager=manager,
        other_manager=other,
        viewer=viewer,
        principal_a=principal_a,
        principal_b=principal_b,
        distributor=f.DistributorFactory(tenant=tenant, name=f"{name} Distribution"),
        customer=f.CustomerFactory(tenant=tenant, name=f"{name} Bistro"),
    )


@pytest.fixture
def firm(db: Any) -> Firm:
    return make_firm("Acme")


@pytest.fixture
def other_firm(db: Any) -> Firm:
    return make_firm("Rival")


def client_for(user: User | None) -> APIClient:
    """An API client authenticated with a real JWT access token (as a front end would be)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
    return client


@pytest.fixture
def api() -> Any:
    return client_for


@pytest.fixture(autouse=True)
def forget_failed_sign_ins(request: Any, django_db_blocker: Any) -> Any:
    """Failed sign-ins are counted in a table no model owns (crm.signin), which a transactional test's
    flush leaves alone: cleared after such a test so the next one starts with no lockout."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if transactional:
        from django.db import connection

        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM signin_failure")
