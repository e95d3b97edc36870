"""Signing in to the admin: members of a firm, staff flag or not; nobody else."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests import factories as f
from tests.conftest import Firm

PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory


def sign_in(email: str, password: str = PASSWORD) -> tuple[Client, Any]:
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    return client, response


def test_a_member_without_staff_flag_signs_in(firm: Firm) -> None:
    assert not firm.manager.is_staff
    client, response = sign_in(firm.manager.email)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_viewer_signs_in_and_sees_the_index(firm: Firm) -> None:
    client, _ = sign_in(firm.viewer.email.upper())
    assert client.get("/admin/").status_code == 200


def test_a_superuser_without_membership_gets_no_admin(db: Any) -> None:
    root = f.UserFactory(is_staff=True, is_superuser=True)
    client, _ = sign_in(root.email)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "not authorized to access this page" in response.content.decode()


def test_a_deactivated_member_is_refused(firm: Firm) -> None:
    firm.manager.is_active = False
    firm.manager.save()
    client, response = sign_in(firm.manager.email)
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_refused(firm: Firm) -> None:
    _, response = sign_in(firm.manager.email, "nope")
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()
