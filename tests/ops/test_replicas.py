"""Read replicas for real: a primary this test owns, a streaming standby of it (pg_basebackup), and gunicorn
with DATABASE_REPLICA_URLS. Reads are served by the standby under the same RLS, a write's position makes
the client's next read see it even while the standby's replay is paused, a lagging or stopped standby is
skipped without a single 5xx, and /readyz says how each replica is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from crm import rls
from crm.tokens import tokens_for
from organizations.models import Organization
from tests.clusters import Cluster, server_binaries, system_user
from tests.conftest import make_firm
from tests.live import database_url, gunicorn_server

MAX_LAG = 2.0  # seconds; a loaded machine (make test on 2 cores) can lag a second


def call(
    url: str,
    method: str = "GET",
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.fixture
def clusters() -> Iterator[tuple[Cluster, Path]]:
    """A primary of this test's own (filled by the test) and a directory for its standby."""
    bin_dir, reason = server_binaries(connection.pg_version // 10000)
    if bin_dir is None:
        pytest.skip(f"*** SKIPPED LOUDLY: {reason}: the replica test did not run ***")
    directory = Path(tempfile.mkdtemp(prefix="crm-primary-"))
    standby_directory = Path(tempfile.mkdtemp(prefix="crm-standby-"))
    user = system_user(directory, standby_directory)
    primary = Cluster(bin_dir, directory, connection.settings_dict["USER"], user)
    standby = Cluster(bin_dir, standby_directory, primary.owner, user)
    try:
        yield primary, standby_directory
    finally:
        for cluster in (standby, primary):
            if cluster.is_running():
                cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(standby_directory, ignore_errors=True)


def replication_check(environment: dict[str, str]) -> dict[str, Any]:
    """`manage.py dbhealth --check replication --json` with the server's settings."""
    done = subprocess.run(
        [sys.executable, "manage.py", "dbhealth", "--check", "replication", "--json"],
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 50, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(done.stdout)
    (check,) = [c for c in report["checks"] if c["name"] == "replication"]
    return dict(check)


def visible_names(user_id: int) -> set[str]:
    """What `user_id` may see of the organizations, by the policies on the test database (same rows)."""
    with rls.acting_as(user_id):
        return set(Organization.objects.values_list("name", flat=True))


def names(body: Any) -> set[str]:
    return {row["name"] for row in body["results"]}


@pytest.mark.django_db(transaction=True)
def test_reads_are_served_by_a_standby_under_the_same_rls_and_the_clients_writes_stay_visible(clusters):
    primary, standby_directory = clusters
    firm, rival = make_firm("Harbor"), make_firm("Rival")
    expected = {who: visible_names(who.pk) for who in (firm.admin, firm.manager, firm.viewer, rival.manager)}
    tokens = {who: str(tokens_for(who).access_token) for who in expected}
    primary.create(copy_of=database_url())
    standby = primary.standby(standby_directory)
    standby.wait_for_replay(primary.position())
    environment = {
        "DATABASE_URL": primary.url,
        "DATABASE_REPLICA_URLS": standby.url,
        "DATABASE_REPLICA_MAX_LAG": str(MAX_LAG),
        "DATABASE_REPLICA_WAIT_MS": "50",
    }
    with gunicorn_server(**environment) as api:
        # Every role sees on the standby exactly what the policies give it; nobody sees another firm.
        for who, token in tokens.items():
            status, headers, body = call(f"{api}/api/v1/organizations/?page_size=200", token=token)
            assert (status, headers["X-Database"]) == (200, "replica"), body
            assert names(body) == expected[who], who
        assert (
            not names(call(f"{api}/api/v1/organizations/", token=tokens[rival.manager])[2])
            & expected[firm.admin]
        )
        status, headers, _ = call(f"{api}/api/v1/organizations/")
        assert (status, headers["X-Database"]) == (401, "replica")
        check = replication_check(environment)
        assert check["figures"]["configured_replicas"] == 1 and check["status"] == "ok", check
        assert [row["state"] for row in check["details"] if "alias" in row] == ["ok"]
        with standby.connect() as conn:
            # The standby really served them, as the runtime role; and without a context it shows nothing.
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            served = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()",
                [standby.database],
            ).fetchone()
            assert served is not None and served[0] >= 1
            conn.execute(f"SET ROLE {rls.runtime_role()}")
            assert conn.execute("SELECT count(*) FROM organization").fetchone() == (0,)

        # A write goes to the primary and says where it committed.
        manager = tokens[firm.manager]
        created = call(
            f"{api}/api/v1/organizations/",
            "POST",
            {"name": "Replayed Diner", "type": "prospect"},
            token=manager,
        )
        assert created[0] == 201 and created[1]["X-Database"] == "primary", created
        position = created[1]["X-Database-Position"]
        detail = f"{api}/api/v1/organizations/{created[2]['id']}/"
        standby.wait_for_replay(position)
        # A position newer than the process last read from the primary (at most a second ago) is served by
        # the primary without waiting; after that, by the replica that has replayed it.
        time.sleep(1.2)
        status, headers, _ = call(detail, token=manager, headers={"X-Database-Position": position})
        assert (status, headers["X-Database"]) == (200, "replica")

        # Replay paused: the standby falls behind. The client presenting its write's position reads it
        # from the primary; without it the standby answers, still without the row.
        with standby.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        paused = call(
            f"{api}/api/v1/organizations/",
            "POST",
            {"name": "Unreplayed Diner", "type": "prospect"},
            token=manager,
        )
        assert paused[0] == 201, paused
        unreplayed = f"{api}/api/v1/organizations/{paused[2]['id']}/"
        status, headers, body = call(
            unreplayed, token=manager, headers={"X-Database-Position": paused[1]["X-Database-Position"]}
        )
        assert (status, headers["X-Database"], body["name"]) == (200, "primary", "Unreplayed Diner")
        status, headers, _ = call(unreplayed, token=manager)
        assert (status, headers["X-Database"]) == (404, "replica")
        # Past DATABASE_REPLICA_MAX_LAG behind (its state is read again each second), it is skipped.
        time.sleep(MAX_LAG + 1.2)
        status, headers, _ = call(unreplayed, token=manager)
        assert (status, headers["X-Database"]) == (200, "primary")
        ready = call(f"{api}/readyz")
        assert ready[0] == 200 and ready[2]["replicas"][0]["state"] == "lagging", ready
        with standby.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        standby.wait_for_replay(primary.position())
        time.sleep(1.2)
        assert call(unreplayed, token=manager)[1]["X-Database"] == "replica"

        # A malformed position is the client's mistake: a 400 problem naming the header.
        status, headers, problem = call(detail, token=manager, headers={"X-Database-Position": "yesterday"})
        assert status == 400 and headers["Content-Type"] == "application/problem+json"
        assert problem["errors"][0]["field"] == "X-Database-Position" and problem["request_id"]

        # A token the primary has revoked (the viewer deactivated) while the standby's copy still takes it:
        # read on the primary, which refuses it, however little the standby lags.
        with standby.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        with primary.connect() as conn:
            conn.execute("UPDATE crm_user SET is_active = false WHERE id = %s", [firm.viewer.pk])
        with gunicorn_server(**{**environment, "DATABASE_REPLICA_MAX_LAG": "3600"}) as patient:
            status, headers, _ = call(f"{patient}/api/v1/organizations/", token=tokens[firm.viewer])
            assert (status, headers["X-Database"]) == (401, "primary")
            status, headers, _ = call(f"{patient}/api/v1/organizations/", token=manager)
            assert (status, headers["X-Database"]) == (200, "replica")  # the others still read the standby
        with standby.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

        # The standby stops: not one 5xx; the primary serves every read until it is back.
        standby.stop("fast")
        answers = [call(f"{api}/api/v1/organizations/", token=manager) for _ in range(12)]
        assert {(status, headers["X-Database"]) for status, headers, _ in answers} == {(200, "primary")}
        ready = call(f"{api}/readyz")
        assert ready[0] == 200 and ready[2]["replicas"][0]["state"] == "down", ready
        check = replication_check(environment)
        assert check["status"] == "fail" and "replica_1 down" in check["summary"], check
        standby.start()
        time.sleep(5.5)  # REPLICA_DOWN_SECONDS: then it is tried again
        back = call(f"{api}/api/v1/organizations/", token=manager)
        assert back[1]["X-Database"] == "replica", call(f"{api}/readyz")
