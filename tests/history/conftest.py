"""Fixtures of the history suite: JWT clients for each member of the firm."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from crm.models import User
from tests.conftest import Firm

ClientFor = Callable[[User | None], APIClient]


@pytest.fixture
def admin(firm: Firm, api: ClientFor) -> APIClient:
    return api(firm.admin)


@pytest.fixture
def manager(firm: Firm, api: ClientFor) -> APIClient:
    """Sales Manager whose book is principal_a."""
    return api(firm.manager)


@pytest.fixture
def other_manager(firm: Firm, api: ClientFor) -> APIClient:
    """Sales Manager whose book is principal_b."""
    return api(firm.other_manager)


@pytest.fixture
def viewer(firm: Firm, api: ClientFor) -> APIClient:
    """Read-only member whose book is principal_a."""
    return api(firm.viewer)
