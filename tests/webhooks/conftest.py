"""Webhook tests deliver to a receiver on 127.0.0.1: private addresses allowed unless a test says not."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def allow_loopback(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
