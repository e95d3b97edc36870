"""django-silk: absent unless enabled; when on, it records every statement of a request, RLS still holds,
profiles are for superusers only, sign-ins are never recorded; and the silk replay judges requests."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import global_settings
from django.db import ProgrammingError, connection
from django.test import Client

from crm import rls
from crm.profiling import is_operator, sampler
from crm.tokens import tokens_for
from tests import factories as f
from tests.conftest import make_firm
from workbench.bench import server, silk_replay
from workbench.bench.load import Call
from workbench.bench.scenario import build_scene
from workbench.datagen import generate

PROBE = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.urls import get_resolver
import crm.urls
print(json.dumps({
    "apps": [a for a in settings.INSTALLED_APPS if "silk" in a],
    "middleware": [m for m in settings.MIDDLEWARE if "silk" in m.lower()],
    "modules": sorted(m for m in sys.modules if m == "silk" or m.startswith("silk.") or m == "crm.profiling"),
    "routes": [str(p.pattern) for p in get_resolver().url_patterns if "silk" in str(p.pattern)],
}))
"""


def settings_in_child(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings and the URLs in a fresh interpreter with these environment variables."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("SILK_")} | env
    child.update(DJANGO_SETTINGS_MODULE="crm.settings", DEBUG="1")
    child.pop("PYTEST_VERSION", None)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=server.ROOT, env=child, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "env", [{}, {"SILK_ENABLED": "0"}, {"SILK_ENABLED": ""}], ids=["unset", "0", "empty"]
)
def test_silk_off_is_absent_from_apps_middleware_routes_and_imports(env):
    done = settings_in_child(**env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"apps": [], "middleware": [], "modules": [], "routes": []}


def test_silk_on_installs_the_app_the_middleware_first_and_the_route():
    done = settings_in_child(SILK_ENABLED="1")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["apps"] == ["silk"]
    assert found["middleware"] == ["silk.middleware.SilkyMiddleware", "crm.profiling.SilkQueryRecorder"]
    assert "silk" in found["modules"] and "crm.profiling" in found["modules"]
    assert found["routes"] == ["silk/"]


def test_a_sample_percent_outside_0_to_100_is_refused_at_start():
    for bad in ("150", "-1", "ten"):
        done = settings_in_child(SILK_ENABLED="1", SILK_SAMPLE_PERCENT=bad)
        assert done.returncode != 0 and "SILK_SAMPLE_PERCENT must be a number from 0 to 100" in done.stderr


def test_sampler_keeps_its_share_and_never_records_sign_ins_or_probes(rf):
    api = rf.get("/api/v1/organizations/")
    assert sampler(100)(api) and not sampler(0)(api)
    half = sampler(50)
    share = sum(half(api) for _ in range(4000)) / 4000
    assert 0.45 < share < 0.55
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/auth/token/refresh/",
        "/admin/login/",
        "/healthz",
        "/readyz",
    ):
        assert not sampler(100)(rf.post(path)), path


def test_only_active_superusers_are_operators():
    assert is_operator(f.UserFactory.build(is_superuser=True, is_staff=True))
    assert not is_operator(f.UserFactory.build(is_superuser=True, is_active=False))
    # A firm's admin is staff (it signs in to the Django admin): not an operator.
    assert not is_operator(f.UserFactory.build(is_staff=True))
    assert not is_operator(None)


# ---------------------------------------------------------------------------------------------------
# A live server with silk on, over the test database (silk's tables created for the module, then dropped).


@pytest.fixture(scope="module")
def silk_tables(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        url = server.database_url(connection.settings_dict)
        silk_replay.migrate_silk(url)
        yield url
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'silk\\_%'"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            cursor.execute("DELETE FROM django_migrations WHERE app = 'silk'")


def get(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(base_url.split("//")[1].split(":")[0], int(base_url.rsplit(":", 1)[1]))
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def session_cookie(user: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def recorded_statements(request_id: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT q.query FROM silk_request r JOIN silk_sqlquery q ON q.request_id = r.id"
            " WHERE r.encoded_headers::jsonb ->> 'x-request-id' = %s ORDER BY q.start_time, q.id",
            [request_id],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_silk_records_a_managers_request_with_every_statement_and_rls_still_decides(silk_tables, settings):
    firm, rival = make_firm("Acme"), make_firm("Rival")
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # one the server checks, for the sign-in
    firm.manager.set_password("pw-for-tests-1")
    firm.manager.save()
    firm.admin.is_staff = True  # as create_tenant makes a firm's admin: staff is not enough for /silk/
    firm.admin.save()
    operator = f.UserFactory(is_superuser=True, is_staff=True)
    with server.serve(silk_tables, workers=1, threads=1, environment=silk_replay.SILK_ON) as base_url:
        token = {
            "Authorization": f"Bearer {tokens_for(firm.manager).access_token}",
            "X-Request-ID": "silk-test-1",
        }
        status, headers, body = get(base_url, "/api/v1/organizations/?page_size=200", token)
        assert status == 200
        seen = {row["id"] for row in json.loads(body)["results"]}
        # The manager's book (principal A) and the shared accounts; not principal B, not the other firm.
        assert seen == {firm.principal_a.pk, firm.distributor.pk, firm.customer.pk}
        assert not seen & {firm.principal_b.pk, rival.principal_a.pk, rival.customer.pk}

        statements = recorded_statements("silk-test-1")
        # Every statement, the raw RLS context included, as many as the server itself counted.
        assert len(statements) == int(headers["X-Query-Count"]) == 2
        assert statements[0].startswith("SELECT set_config('role', 'crm_app', true)")
        assert 'FROM "organization"' in statements[1]

        # Profiles are every firm's data: a firm's admin is refused, a visitor sent to sign in.
        assert get(base_url, "/silk/", session_cookie(firm.admin))[0] == 403
        status, headers, _ = get(base_url, "/silk/", {})
        assert status == 302 and headers["Location"].startswith("/admin/login/?next=/silk/")
        status, _, page = get(base_url, "/silk/requests/", session_cookie(operator))
        assert status == 200 and b"/api/v1/organizations/" in page

        # Sign-ins are never recorded: no password, no token in silk's tables.
        conn = http.client.HTTPConnection("127.0.0.1", int(base_url.rsplit(":", 1)[1]))
        credentials = {"email": firm.manager.email, "password": "pw-for-tests-1"}
        conn.request(
            "POST", "/api/v1/auth/token/", json.dumps(credentials), {"Content-Type": "application/json"}
        )
        assert conn.getresponse().status == 200
        conn.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM silk_request WHERE path LIKE '/api/v1/auth/%%'")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM silk_request r LEFT JOIN silk_response s ON s.request_id = r.id"
            " WHERE r.body LIKE '%%pw-for-tests%%' OR r.raw_body LIKE '%%pw-for-tests%%'"
            " OR s.body <> '' OR s.raw_body <> ''"
        )
        assert cursor.fetchone()[0] == 0  # and no response body kept at all
    # A tenant request (the runtime role) cannot read the profiles: no grant on silk's tables.
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        rls.acting_as(firm.admin.pk),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT count(*) FROM silk_sqlquery")


@pytest.mark.django_db(transaction=True)
def test_silk_replay_passes_fast_requests_in_budget_and_fails_slow_or_over_budget_ones(silk_tables):
    generate(scale=0.01, seed=7)
    scene = build_scene()
    listing = next(op for op in scene.operations if op.name == "organizations: customers by name")
    create = next(op for op in scene.operations if op.name == "interactions: create")
    tight = dataclasses.replace(listing, name="tight budget", query_budget=1)
    wrong = dataclasses.replace(
        listing, name="wrong status", calls=(Call("GET", "/api/v1/organizations/0/"),)
    )
    with server.serve(silk_tables, workers=1, threads=1, environment=silk_replay.SILK_ON) as base_url:
        checks = silk_replay.replay(scene, [listing, create, tight, wrong], base_url, repeat=2, max_ms=500)
        slow = silk_replay.replay(scene, [listing], base_url, repeat=1, max_ms=0.001)
    verdicts = {c.operation: c for c in checks}
    assert len(checks) == 8
    for check in checks[:4]:
        assert check.ok, check
        assert check.queries == check.server_queries and check.queries is not None
        assert check.time_ms is not None and 0 < check.time_ms <= 500
    assert verdicts["interactions: create"].queries == create.query_budget  # its budget is what it runs
    assert verdicts["tight budget"].problems == [f"{verdicts['tight budget'].queries} queries, budget 1"]
    assert verdicts["wrong status"].problems[0] == "answered 404, not 200"
    assert slow[0].problems == ["over 0.001 ms"]

    report = silk_replay.run(
        only="customers by name", overhead_requests=3, log=lambda line: None, scene=scene
    )
    assert not report.failed
    assert [o.operation for o in report.overhead] == ["organizations: customers by name"]
    p50 = report.overhead[0].p50_ms
    assert set(p50) == {"off", "silk 0%", "silk 100%"} and all(v and v > 0 for v in p50.values())
    text = silk_replay.render(report)
    assert "organizations: customers by name" in text and "silk 100% ÷ off" in text
    assert "all within 500 ms" in silk_replay.summary(report)
