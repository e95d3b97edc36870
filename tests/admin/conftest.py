"""Fixtures of the admin suite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.support import Sample, make_sample
from tests.conftest import Firm


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every firm creates four users; the default PBKDF2 hasher would dominate the suite's runtime.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sample(firm: Firm) -> Sample:
    return make_sample(firm)
