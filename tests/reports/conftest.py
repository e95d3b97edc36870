"""Fixtures of the reports suite: the hand-built world of tests/reports/support.py."""

from __future__ import annotations

import pytest

from tests.conftest import Firm
from tests.reports.support import World, build_world


@pytest.fixture
def world(firm: Firm, other_firm: Firm) -> World:
    return build_world(firm, other_firm)
