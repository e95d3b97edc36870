"""Shared fixtures: a firm with an admin, two managers with different books, a viewer, and a second firm;
fast password hashing for every suite.

Data is created as the database owner (set-up); every assertion about access goes through the API
(the middleware switches to the runtime role) or crm.rls.acting_as (the same, without HTTP).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import pytest
from psycopg import sql
from rest_framework.test import APIClient

from crm.models import Membership, PrincipalAssignment, Role, Tenant, User
from crm.tokens import tokens_for
from organizations.models import Organization
from tests import factories as f

# The servers suites start (gunicorn, runserver, schemathesis's target…) are not under test settings: they
# inherit this, so they too serve without rate limits (a suite's burst as one user is no client's mistake).
# The rate limit suites turn them on by name (tests/api/test_rate_limits*.py).
os.environ.setdefault("RATE_LIMIT_ENABLED", "0")

# The suites `make check` leaves out (`-m "not slow and not external"`; `make test` runs everything), by node
# id prefix (a directory, a module or one test) or by a fixture they use. `slow`: seconds to minutes each (a
# scratch database migrated step by step, a generated firm, a live gunicorn, schemathesis). `external`: needs
# a program from outside the virtualenv (PgBouncer, Chromium, Node.js, Debian's PostgreSQL with HypoPG, Patroni
# and etcd, Redis), which `make test` installs when it can. `pytest --durations=30` shows what belongs here.
SLOW = (  # the longest first: they are scheduled first (below)
    "tests/fuzz/",
    "tests/crm/test_demo.py",  # the demo firm loaded per test: ~7 s each, ~95 s in all
    "tests/migrations/test_reversibility.py",
    "tests/ops/test_analyze_queries.py::test_every_hot_operation_is_analysed",
    "tests/perf/test_explain_hot_queries.py",
    "tests/rls/test_visibility_property.py",
    "tests/perf/test_bench.py::test_a_tiny_run_against_a_live_server",
    "tests/perf/test_bench.py::test_a_tiny_run_measures_cpu",
    "tests/perf/test_servers.py::test_each_server",
    "tests/perf/test_profile_request.py",
    "tests/api/test_signin_lockout.py::test_parallel_guesses_against_gunicorn",
    "tests/ops/test_database_down.py",
    "tests/ops/test_replicas.py",  # a primary and a standby of its own, ~30 s
    "tests/ops/test_rls_http_on_a_replica.py",  # the same, and the RLS HTTP suite read from the standby
    "tests/api/test_rate_limits_live.py",  # gunicorn with two workers, three times
    "tests/integrity/test_names.py::test_python_name_key_is_the_databases_for_every_code_point",  # ~12 s
    "tests/tasks/test_demo.py",  # the demo firm, ~8 s
    "tests/api/test_batch.py::test_the_answers_are_the_ones_the_committed_schema_documents",  # ~8 s
    "tests/webhooks/test_worker_kill.py",  # worker processes killed and started, ~9 s
    "tests/changes/test_out_of_order_commits.py",  # concurrent writers, ~7 s
    "tests/perf/",  # generated firms (the rest of the module's tests: ~10 s)
)
SLOW_FIXTURES = {"silk_tables"}  # silk's migrations and a live server
EXTERNAL = (
    "tests/ops/test_failover.py",  # Patroni and etcd: three nodes of its own and a failover, ~30 s
    "tests/pgbouncer/",
    "tests/browser/",
    "tests/client/",
    "tests/api/test_rate_limits_redis.py",  # redis-server, and gunicorn with two workers on it
)
EXTERNAL_FIXTURES = {"hypopg_cluster"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the slow and external suites, and runs them first: under xdist (`--dist loadfile`) a long
    module scheduled last would leave the other workers idle while it finishes."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.nodeid.startswith(SLOW) or SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if item.nodeid.startswith(EXTERNAL) or EXTERNAL_FIXTURES & fixtures:
            item.add_marker(pytest.mark.external)
    # Whole modules (a module's fixtures are set up once) in a stable order, the same on every worker as xdist
    # requires: the slow and external ones first, the longest first.
    ranked = (*SLOW, *EXTERNAL)
    rank: dict[Any, int] = {}
    for item in items:
        if item.get_closest_marker("slow") or item.get_closest_marker("external"):
            index = next(
                (i for i, prefix in enumerate(ranked) if item.nodeid.startswith(prefix)), len(ranked)
            )
            rank[item.path] = min(rank.get(item.path, index), index)
    items.sort(key=lambda item: rank.get(item.path, len(ranked) + 1))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, django_db_blocker: Any
) -> None:
    """Creates the runtime role before the test databases are migrated, one worker at a time.

    The role is cluster-wide: on a server that has none yet (a fresh clone's embedded one), xdist workers
    migrating their databases at once would all see it missing in crm's first migration and all but one
    fail to create it. Same statement as crm.migration_operations.CreateRuntimeRole, under an advisory lock;
    the migration then finds the role and goes on as it does on any server that has it."""
    from django.db import connection

    from crm import rls

    role = rls.runtime_role()
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext('crm test runtime role'))")
        try:
            cursor.execute(
                f"""
                DO $$
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                        CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
                    END IF;
                    IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                        EXECUTE format('GRANT %I TO %I', '{role}', current_user);
                    END IF;
                END
                $$;
                """
            )
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('crm test runtime role'))")


# Under xdist every worker has its own test database (test_crm_gw0, …). Migrating each from nothing costs
# ~16 s of CPU apiece and the workers would do it at once on 2 cores; instead the first worker to take the lock
# migrates its own and copies it to a template, and every other one is a CREATE DATABASE … TEMPLATE of it
# (a tenth of a second), then migrated forward by pytest-django as a reused database (nothing to apply).
TEMPLATE_BUILDER = pytest.StashKey[tuple[Any, Any, str, str]]()


@pytest.fixture(scope="session")
def django_db_createdb(
    request: pytest.FixtureRequest,
    django_db_createdb: bool,
    django_db_keepdb: bool,
    django_db_modify_db_settings: None,
    django_db_blocker: Any,
) -> bool:
    """Gives this xdist worker a copy of the run's template database when there is one, and tells
    pytest-django it need not create it; otherwise this worker builds the template (django_db_setup below),
    holding the lock until it has.

    A template is the run's when `--create-db` made it in this run (its comment is xdist's run id); without
    `--create-db` (`make check`) any template will do for a worker whose database is missing, since
    pytest-django then migrates the copy forward, as it does a kept database."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None or not django_db_keepdb:
        return django_db_createdb  # serial, or databases torn down after the run: pytest-django as usual
    from django.db import connection

    own = connection.settings_dict["TEST"]["NAME"]
    template = own.removesuffix(f"_{workerinput['workerid']}") + "_template"
    run = workerinput["testrunuid"]
    held = contextlib.ExitStack()
    request.addfinalizer(held.close)  # the lock is let go whatever happens to the set-up
    with django_db_blocker.unblock():
        cursor = held.enter_context(connection._nodb_cursor())
        lock = f"crm test template {template}"
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock])
        held.callback(cursor.execute, "SELECT pg_advisory_unlock(hashtext(%s))", [lock])
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [template]
        )
        found = cursor.fetchone()
        if found is None or (django_db_createdb and found[0] != run):
            request.config.stash[TEMPLATE_BUILDER] = (held, cursor, own, template)
            return django_db_createdb
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [own])
        if django_db_createdb or cursor.fetchone() is None:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(own)))
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(own), sql.Identifier(template)
                )
            )
            # A database's own privileges are not the template's: what crm migration 0017 took away from
            # PUBLIC (temporary tables) comes back with every new database, so take it away again.
            cursor.execute(
                sql.SQL(
                    "REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC; GRANT TEMPORARY ON DATABASE {db} TO CURRENT_USER"
                ).format(db=sql.Identifier(own))
            )
        held.close()
    return False


@pytest.fixture(scope="session")
def django_db_setup(request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any) -> None:
    """The worker that built its database from the migrations copies it to the template the others wait for."""
    builder = request.config.stash.get(TEMPLATE_BUILDER, None)
    if builder is None:
        return
    held, cursor, own, template = builder
    from django.db import connections

    connections.close_all()  # a template must have no session open on it
    with django_db_blocker.unblock():
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(template)))
        cursor.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(template), sql.Identifier(own))
        )
        run = request.config.workerinput["testrunuid"]  # type: ignore[attr-defined]
        cursor.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(template), sql.Literal(run))
        )
        held.close()


# Tests create users by the dozen; the production hasher (PBKDF2) would dominate every suite's runtime.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@dataclass
class Firm:
    tenant: Tenant
    admin: User
    manager: User  # book: principal_a
    other_manager: User  # book: principal_b
    viewer: User  # book: principal_a
    principal_a: Organization
    principal_b: Organization
    distributor: Organization
    customer: Organization


def make_firm(name: str) -> Firm:
    """A firm with an admin, two managers (principal A's book, principal B's) and a viewer (A's book), two
    principals, a distributor and a customer. Nearly every test makes one or two, so its rows go in a
    statement per table (five in all) rather than one per row."""
    tenant = f.TenantFactory(name=name)
    roles = (Role.ADMIN, Role.MANAGER, Role.MANAGER, Role.VIEWER)
    users = User.objects.bulk_create([f.UserFactory.build() for _ in roles])
    Membership.objects.bulk_create(
        [Membership(tenant=tenant, user=user, role=role) for user, role in zip(users, roles, strict=True)]
    )
    admin, manager, other, viewer = users
    principal_a, principal_b, distributor, customer = Organization.objects.bulk_create(
        [
            f.PrincipalFactory.build(tenant=tenant, name=f"{name} Principal A"),
            f.PrincipalFactory.build(tenant=tenant, name=f"{name} Principal B"),
            f.DistributorFactory.build(tenant=tenant, name=f"{name} Distribution"),
            f.CustomerFactory.build(tenant=tenant, name=f"{name} Bistro"),
        ]
    )
    PrincipalAssignment.objects.bulk_create(
        [
            PrincipalAssignment(tenant=tenant, user=user, principal=principal)
            for user, principal in ((manager, principal_a), (other, principal_b), (viewer, principal_a))
        ]
    )
    return Firm(
        tenant=tenant,
        admin=admin,
        manager=manager,
        other_manager=other,
        viewer=viewer,
        principal_a=principal_a,
        principal_b=principal_b,
        distributor=distributor,
        customer=customer,
    )


@pytest.fixture
def firm(db: Any) -> Firm:
    return make_firm("Acme")


@pytest.fixture
def other_firm(db: Any) -> Firm:
    return make_firm("Rival")


def client_for(user: User | None) -> APIClient:
    """An API client authenticated with a real JWT access token (as a front end would be)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
    return client


@pytest.fixture
def api() -> Any:
    return client_for


@pytest.fixture(autouse=True)
def forget_failed_sign_ins(request: Any, django_db_blocker: Any) -> Any:
    """Failed sign-ins are counted in a table no model owns (crm.signin), which a transactional test's
    flush leaves alone: cleared after such a test so the next one starts with no lockout (and so are the
    rate limiter's buckets, crm.rate_limits). So are the answers kept for Idempotency-Key (crm.idempotency): a
    live server's test (schemathesis sends a key with every POST and PATCH) would otherwise leave thousands for
    the idempotency suite to count."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if transactional:
        from django.db import connection

        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM signin_failure")
            cursor.execute("DELETE FROM rate_limit_bucket")  # likewise the rate limiter's buckets
            cursor.execute("DELETE FROM idempotency_key")
