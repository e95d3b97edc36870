"""The API behind PgBouncer in transaction-pooling mode: no RLS variable or role leaks across clients.

Many clients (gunicorn threads, each with its own persistent connection, plus a raw connection that
spies on the pool) share two server connections. Each request's role and variables are
transaction-local, so every response must hold exactly its own user's rows, and a transaction that
sets nothing must see no runtime role and no variables, whichever server connection it lands on.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from crm.tokens import tokens_for
from tests import factories as f
from tests.conftest import make_firm

ROOT = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)

pytestmark = pytest.mark.skipif(
    PGBOUNCER is None,
    reason="PgBouncer is not installed: `make test` installs it (Debian package pgbouncer) when it can",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def pgbouncer() -> Iterator[dict[str, Any]]:
    """PgBouncer in transaction mode, two server connections, in front of the test database."""
    db = connection.settings_dict
    workdir = Path(tempfile.mkdtemp(prefix="crm-pgbouncer-"))
    port = free_port()
    host = db["HOST"] or db.get("OPTIONS", {}).get("host") or "/tmp"
    target = f"host={host} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
    if db.get("PASSWORD"):
        target += f" password={db['PASSWORD']}"
    (workdir / "userlist.txt").write_text(f'"{db["USER"]}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
{db["NAME"]} = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    command = [str(PGBOUNCER), str(workdir / "pgbouncer.ini")]
    if (
        os.geteuid() == 0
    ):  # PgBouncer refuses to run as root; the embedded server's own user can reach its socket
        user = "pgserver" if _user_exists("pgserver") else "nobody"
        uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, uid, gid)
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield {"port": port, "user": db["USER"], "name": db["NAME"], "workdir": workdir}
    finally:
        process.terminate()
        process.wait(10)
        log = workdir / "pgbouncer.log"
        print(log.read_text()[-3000:] if log.exists() else "no PgBouncer log")  # shown when the test fails
        shutil.rmtree(workdir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def api_server(pgbouncer: dict[str, Any]) -> Iterator[str]:
    """gunicorn with 8 threads, persistent connections, all through PgBouncer."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{pgbouncer['user']}@127.0.0.1:{pgbouncer['port']}/{pgbouncer['name']}",
        "CONN_MAX_AGE": "600",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("PYTEST_VERSION", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--threads",
            "8",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def get_json(url: str, token: str | None) -> tuple[int, Any]:
    import json

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.django_db(transaction=True)
def test_requests_through_transaction_pooling_never_see_another_clients_rows(pgbouncer, api_server):
    acme, rival = make_firm("Acme"), make_firm("Rival")
    expected: dict[str, set[int]] = {}
    users = {
        "acme_manager": (acme.manager, acme, acme.principal_a),
        "acme_other_manager": (acme.other_manager, acme, acme.principal_b),
        "acme_viewer": (acme.viewer, acme, acme.principal_a),
        "rival_manager": (rival.manager, rival, rival.principal_a),
    }
    for firm in (acme, rival):
        for principal in (firm.principal_a, firm.principal_b):
            for _ in range(3):
                f.OpportunityFactory(tenant=firm.tenant, principal=principal, customer=firm.customer)
    from opportunities.models import Opportunity

    for key, (_user, firm, principal) in users.items():
        expected[key] = set(
            Opportunity.objects.filter(tenant=firm.tenant, principal=principal).values_list("id", flat=True)
        )
    tokens = {key: str(tokens_for(user).access_token) for key, (user, _, _) in users.items()}
    tenants = {key: firm.tenant.pk for key, (_, firm, _) in users.items()}

    def call(index: int) -> str | None:
        key = list(users)[index % (len(users) + 1)] if index % (len(users) + 1) < len(users) else None
        if key is None:
            status, _ = get_json(f"{api_server}/api/v1/opportunities/", None)
            return None if status == 401 else f"anonymous got {status}"
        status, body = get_json(f"{api_server}/api/v1/opportunities/?page_size=200", tokens[key])
        if status != 200:
            return f"{key} got {status}: {body}"
        seen = {row["id"] for row in body["results"]}
        if seen != expected[key]:
            return f"{key} saw {sorted(seen)} instead of {sorted(expected[key])}"
        status, me = get_json(f"{api_server}/api/v1/me/", tokens[key])
        if status != 200 or me["tenant"]["id"] != tenants[key]:
            return f"{key} /me/ answered {status} {me}"
        return None

    spy_findings: list[tuple[Any, ...]] = []
    spy = psycopg.connect(
        host="127.0.0.1",
        port=pgbouncer["port"],
        dbname=pgbouncer["name"],
        user=pgbouncer["user"],
        autocommit=True,
        prepare_threshold=None,  # PgBouncer 1.18 in transaction mode cannot keep prepared statements
    )

    def spy_on_pool() -> int:
        # A client that sets nothing must never inherit the runtime role or a variable from another one.
        checks = 0
        for _ in range(150):
            row = spy.execute(
                "SELECT current_user, current_setting('crm.tenant_id', true), current_setting('crm.user_id', true),"
                " current_setting('crm.book', true), (SELECT count(*) FROM opportunity)"
            ).fetchone()
            assert row is not None
            checks += 1
            if row[0] != pgbouncer["user"] or any(row[1:4]):
                spy_findings.append(row)
            time.sleep(0.005)
        return checks

    with ThreadPoolExecutor(max_workers=17) as pool:
        spy_run = pool.submit(spy_on_pool)
        failures = [failure for failure in pool.map(call, range(400)) if failure]
        checks = spy_run.result()
    spy.close()

    assert failures == []
    assert spy_findings == [], f"variables leaked into a bare transaction: {spy_findings[:5]}"
    assert checks == 150
    log = (pgbouncer["workdir"] / "pgbouncer.log").read_text()
    assert "transaction" in (pgbouncer["workdir"] / "pgbouncer.ini").read_text() and log is not None
