"""Fixtures for the HTTP-level API suite: fast password hashing, clients per role."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import Firm, client_for


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every firm creates four users; the default PBKDF2 hasher would dominate the suite's runtime.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(firm: Firm) -> APIClient:
    return client_for(firm.admin)


@pytest.fixture
def manager(firm: Firm) -> APIClient:
    """Sales Manager whose book is principal_a."""
    return client_for(firm.manager)


@pytest.fixture
def viewer(firm: Firm) -> APIClient:
    """Read-only member whose book is principal_a."""
    return client_for(firm.viewer)
