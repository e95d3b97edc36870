"""The RLS HTTP suite (tests/api/test_rls_http.py), every test of it, against the replica configuration.

Its two firms are committed on a primary of this module's own (a copy of the test database's schema and
roles), a streaming standby of it is made with pg_basebackup, and the API runs in-process with the
standby as `replica_1`, exactly as DATABASE_REPLICA_URLS configures it. Every read a test makes must be
answered by the standby (`X-Database: replica`) with the answer the suite expects of the primary; writes go
to the primary and commit there, and the client sends each write's `X-Database-Position` back, as the
README asks of a client that must read its own writes (so a read after a write may be the primary's).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from django.test.utils import setup_databases
from rest_framework.test import APIClient

from crm import replicas
from tests.api import test_rls_http as suite
from tests.clusters import Cluster, server_binaries, system_user
from tests.conftest import FAST_PASSWORD_HASHERS, Firm, client_for, make_firm
from tests.live import database_url

# The suite's tests, collected here with this module's fixtures (in the suite's order: the last one moves
# a book, which no earlier test expects).
globals().update({name: test for name, test in vars(suite).items() if name.startswith("test_")})

SERVED: dict[str, int] = {}  # "replica"/"primary" → reads answered, over the module
POSITION: dict[str, str] = {}  # the last write's position, sent back by every client of the module


class ReplicaClient(APIClient):
    """An API client that checks where each read was served, and sends back the last write's position."""

    def request(self, **request: Any) -> Any:
        safe = request["REQUEST_METHOD"] in ("GET", "HEAD")
        presented = POSITION.get("last") if safe else None
        if presented:
            request["HTTP_X_DATABASE_POSITION"] = presented
        response = super().request(**request)
        if not safe:
            if response.has_header("X-Database-Position"):
                POSITION["last"] = response["X-Database-Position"]
            assert response["X-Database"] == "primary", response.content
            return response
        served = response["X-Database"]
        SERVED[served] = SERVED.get(served, 0) + 1
        # Without a position to wait for, the standby answers every read (it is healthy and caught up).
        assert served == "replica" or presented, (
            request["PATH_INFO"],
            response.status_code,
            replicas.state_of("replica_1").describe(detailed=True),
        )
        return response


def replica_client_for(user: Any) -> APIClient:
    client = ReplicaClient()
    client.credentials(**client_for(user)._credentials)
    return client


@pytest.fixture(scope="module")
def clusters(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary copied from the test database (schema, roles' grants, the context key) and its standby."""
    default = connections["default"]
    with django_db_blocker.unblock():
        if default.settings_dict["NAME"] != default.creation._get_test_db_name():
            # This module alone: no test of the session asked pytest-django for the test database (these
            # tests take no `db`: their writes must commit for the standby to see them).
            setup_databases(verbosity=0, interactive=False, keepdb=True, aliases={"default"})
        major = default.pg_version // 10000
        source = database_url()
    bin_dir, reason = server_binaries(major)
    if bin_dir is None:
        pytest.skip(f"*** SKIPPED LOUDLY: {reason}: the RLS suite did not run on a replica ***")
    directories = [Path(tempfile.mkdtemp(prefix=f"crm-{kind}-")) for kind in ("primary", "standby")]
    user = system_user(*directories)
    owner = connections["default"].settings_dict["USER"]
    primary = Cluster(bin_dir, directories[0], owner, user)
    made: list[Cluster] = []
    try:
        primary.create(copy_of=source)
        made.append(primary)
        made.append(primary.standby(directories[1]))
        yield primary, made[1]
    finally:
        for cluster in reversed(made):
            if cluster.is_running():
                cluster.stop("immediate")
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def configured(clusters: tuple[Cluster, Cluster], django_db_blocker: Any) -> Iterator[Cluster]:
    """`default` pointed at the module's primary, `replica_1` at its standby, for the whole module."""
    primary, standby = clusters
    default = connections["default"]
    with django_db_blocker.unblock():
        default.close()
    kept = {key: default.settings_dict[key] for key in ("NAME", "HOST", "PORT", "OPTIONS")}
    # The address in HOST alone (the embedded server's URL puts its socket directory in OPTIONS).
    options = {k: v for k, v in default.settings_dict["OPTIONS"].items() if k not in ("host", "port")}
    default.settings_dict.update(NAME=primary.database, HOST=str(primary.directory), PORT="", OPTIONS=options)
    replica = {
        **default.settings_dict,
        "HOST": str(standby.directory),
        "OPTIONS": {**options, "connect_timeout": 1},
    }
    databases = {**connections.settings, "replica_1": replica}
    connections.settings["replica_1"] = replica
    try:
        with override_settings(
            DATABASES=databases, DATABASE_REPLICA_WAIT_MS=200, PASSWORD_HASHERS=FAST_PASSWORD_HASHERS
        ):
            yield standby
    finally:
        with django_db_blocker.unblock():
            connections["replica_1"].close()
            default.close()
        del connections["replica_1"]
        del connections.settings["replica_1"]
        default.settings_dict.update(kept)


@pytest.fixture(scope="module")
def committed(configured: Cluster, clusters: tuple[Cluster, Cluster], django_db_blocker: Any) -> suite.World:
    """The suite's world, committed on the primary and replayed by the standby before the first test."""
    primary, standby = clusters
    with django_db_blocker.unblock():
        firm, other = make_firm("Acme"), make_firm("Rival")
        rows, named = suite.populate(firm)
        other_rows, other_named = suite.populate(other)
    standby.wait_for_replay(primary.position())
    return suite.World(firm, other, rows, other_rows, named, other_named)


@pytest.fixture(autouse=True)
def on_the_replica(
    committed: suite.World, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test reaches the module's databases (no test transaction: the standby must see what it reads),
    and the suite's own clients are replica clients."""
    monkeypatch.setattr(suite, "client_for", replica_client_for)
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def world(committed: suite.World) -> suite.World:
    return committed


@pytest.fixture
def firm(committed: suite.World) -> Firm:
    return committed.firm


@pytest.fixture
def other_firm(committed: suite.World) -> Firm:
    return committed.other


@pytest.fixture
def admin(firm: Firm) -> APIClient:
    return replica_client_for(firm.admin)


@pytest.fixture
def manager(firm: Firm) -> APIClient:
    return replica_client_for(firm.manager)


@pytest.fixture
def viewer(firm: Firm) -> APIClient:
    return replica_client_for(firm.viewer)


def test_a_url_reaching_another_database_of_the_standby_is_never_read(configured: Cluster) -> None:
    """A replica URL must reach a standby of this primary's cluster and of this database: the standby's
    `postgres` database is in recovery and answers, yet it is never read (`another cluster`)."""
    alias = "replica_2"
    connections.settings[alias] = {**connections["replica_1"].settings_dict, "NAME": "postgres"}
    try:
        with override_settings(DATABASES={**settings.DATABASES, alias: connections.settings[alias]}):
            state = replicas.state_of(alias, fresh=True)
            assert (state.in_recovery, state.ours, state.usable) == (True, False, False)
            assert state.describe()["state"] == "another cluster"
            assert replicas.state_of("replica_1", fresh=True).ours is True
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
        replicas._states.pop(alias, None)


def test_zz_the_standby_served_the_reads_in_recovery(configured: Cluster) -> None:
    """Runs last: the reads above went to `replica_1`, a standby in recovery, under the runtime role's policies
    (a connection of it without the request's context sees nothing)."""
    assert SERVED.get("replica", 0) > 300, SERVED
    assert SERVED.get("primary", 0) < SERVED["replica"] / 10, SERVED
    with connections["replica_1"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('data_directory')")
        in_recovery, data = cursor.fetchone()
    assert in_recovery and data.startswith(str(configured.directory)), data
