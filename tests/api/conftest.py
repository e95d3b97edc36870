"""Fixtures for the HTTP-level API suite: clients per role."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import Firm, client_for


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
