"""A stand-in read replica for in-process tests: `replica_1` is the test's own connection (so it sees the
test's rows) and is reported healthy, a standby of this primary caught up with it. The real standby:
tests/ops/test_replicas.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections

from crm import replicas


@contextmanager
def stand_in_replica(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    alias = "replica_1"
    settings.DATABASES = {**settings.DATABASES, alias: {**connections.settings["default"]}}
    connections[alias] = connections["default"]
    healthy = replicas.ReplicaState(alias, in_recovery=True, lag_seconds=0.0, primary_seen=2**62, ours=True)
    monkeypatch.setattr(replicas, "state_of", lambda name, fresh=False: healthy)
    try:
        yield alias
    finally:
        del connections[alias]
