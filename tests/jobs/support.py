"""Deferring the hourly purge by hand, as the tests' job (real, cheap, and failing without BYPASSRLS)."""

from __future__ import annotations

from typing import Any

from procrastinate.contrib.django import app


def defer_purge(*, timestamp: int, **options: Any) -> int:
    """Defers crm.purge_idempotency_keys for `timestamp` (the argument a periodic run gets) in the current
    transaction; `options` as Task.configure's (schedule_in, …). Returns the job's id."""
    return app.configure_task("crm.purge_idempotency_keys", **options).defer(timestamp=timestamp)
