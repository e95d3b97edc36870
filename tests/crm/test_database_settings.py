"""Which database options the settings choose from the environment: prepared statements only where safe,
replicas, and libpq's multi-host URLs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections

from crm import database_urls
from tests.pgbouncer.test_transaction_pooling import free_port

ROOT = Path(__file__).resolve().parents[2]
PRINT_OPTIONS = (
    "import django, json; django.setup(); from django.conf import settings;"
    " d = settings.DATABASES['default']; print(json.dumps({'engine': d['ENGINE'],"
    " 'options': {k: v for k, v in d['OPTIONS'].items() if k in ('server_side_binding', 'prepare_threshold')}}))"
)


def _database_settings(**environment: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.pop("PYTEST_VERSION", None)
    env.update({"DJANGO_SETTINGS_MODULE": "crm.settings", "DEBUG": "1", **environment})
    done = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


URL = "postgresql://crm@db.example:6432/crm"


@pytest.mark.parametrize(
    ("environment", "prepared"),
    [
        ({"DATABASE_URL": URL}, False),  # maybe PgBouncer < 1.21: named statements would break
        ({"DATABASE_URL": URL, "DATABASE_PREPARED_STATEMENTS": "1"}, True),
        ({"DATABASE_URL": URL, "DATABASE_PREPARED_STATEMENTS": "0"}, False),
    ],
)
def test_prepared_statements_are_off_for_a_database_url_unless_turned_on(environment, prepared):
    chosen = _database_settings(**environment)
    assert chosen["engine"] == "crm.postgresql"
    if prepared:
        assert chosen["options"] == {"server_side_binding": True}
    else:
        assert chosen["options"] == {}


def test_the_embedded_database_prepares_statements(settings):
    # This suite runs on the embedded server unless DATABASE_URL says otherwise.
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options.get("server_side_binding") is (True if settings.DATABASE_PREPARED_STATEMENTS else None)
    assert settings.DATABASE_PREPARED_STATEMENTS is (not os.environ.get("DATABASE_URL"))


PRINT_REPLICAS = (
    "import django, json; django.setup(); from django.conf import settings;"
    " print(json.dumps({a: {k: d.get(k) for k in ('ENGINE', 'NAME', 'USER', 'PASSWORD', 'HOST', 'PORT', 'TEST')}"
    " | {'timeout': d['OPTIONS'].get('connect_timeout')} for a, d in settings.DATABASES.items()}))"
)


def test_each_replica_url_is_an_alias_with_the_primarys_settings_and_its_own_address():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.pop("PYTEST_VERSION", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DEBUG": "1",
            "DATABASE_URL": "postgresql://owner:pw@primary.example:5432/crm",
            "DATABASE_REPLICA_URLS": "postgresql://owner:pw@standby-a.example:5433/crm, postgresql://reader:s3@standby-b.example/crm, postgresql://standby-c.example",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", PRINT_REPLICAS], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    databases = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(databases) == ["default", "replica_1", "replica_2", "replica_3"]
    # A URL with the host alone takes the rest from the primary's.
    assert {k: databases["replica_3"][k] for k in ("HOST", "USER", "PASSWORD", "NAME")} == {
        "HOST": "standby-c.example",
        "USER": "owner",
        "PASSWORD": "pw",
        "NAME": "crm",
    }
    assert (databases["replica_1"]["HOST"], databases["replica_1"]["PORT"]) == ("standby-a.example", 5433)
    assert (databases["replica_2"]["USER"], databases["replica_2"]["PASSWORD"]) == ("reader", "s3")
    for alias in ("replica_1", "replica_2", "replica_3"):
        assert databases[alias]["ENGINE"] == databases["default"]["ENGINE"] == "crm.postgresql"
        # The primary's options, but a replica that does not answer is given up on after a second.
        assert (databases[alias]["timeout"], databases["default"]["timeout"]) == (1, 5)
        assert databases[alias]["TEST"]["MIRROR"] == "default"  # tests make no database for it


PRINT_ADDRESSES = (
    "import django, json; django.setup(); from django.conf import settings;"
    " print(json.dumps({a: {k: d.get(k) for k in ('HOST', 'PORT', 'USER', 'PASSWORD', 'NAME', 'OPTIONS')}"
    " for a, d in settings.DATABASES.items()}))"
)


def test_a_multi_host_database_url_is_libpqs_lists_of_hosts_and_ports():
    """libpq's multi-host URL (how the service follows a Patroni failover, deploy/patroni/), which
    dj-database-url alone refuses, for the primary and for a replica."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.pop("PYTEST_VERSION", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DEBUG": "1",
            "DATABASE_URL": "postgresql://owner:p%40ss@db1:5432,db2:5433,db3:5434/crm"
            "?target_session_attrs=read-write&connect_timeout=2",
            # A comma followed by a scheme starts the next URL; the others are inside a host list.
            "DATABASE_REPLICA_URLS": "postgresql://db2:5433,db3:5434/crm?target_session_attrs=standby,"
            " postgresql://db4/crm",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", PRINT_ADDRESSES], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    databases = json.loads(done.stdout.strip().splitlines()[-1])
    assert databases["default"] == {
        "HOST": "db1,db2,db3",
        "PORT": "5432,5433,5434",
        "USER": "owner",
        "PASSWORD": "p@ss",
        "NAME": "crm",
        "OPTIONS": {"target_session_attrs": "read-write", "connect_timeout": 2},
    }
    replica = databases["replica_1"]
    assert (replica["HOST"], replica["PORT"], replica["USER"]) == ("db2,db3", "5433,5434", "owner")
    assert replica["OPTIONS"] == {"target_session_attrs": "standby", "connect_timeout": 1}
    assert list(databases) == ["default", "replica_1", "replica_2"]
    assert (databases["replica_2"]["HOST"], databases["replica_2"]["PORT"]) == ("db4", "")


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("postgresql://db1,db2/crm", "db1,db2", ""),  # every host on the default port
        ("postgresql://db1:6432,db2/crm", "db1,db2", "6432,"),  # libpq: an empty port is the default
        ("postgresql://[::1]:5432,127.0.0.1:5433/crm", "::1,127.0.0.1", "5432,5433"),
        ("postgresql://%2Fvar%2Frun%2Fpostgresql,db2:5433/crm", "/var/run/postgresql,db2", ",5433"),
        ("postgresql://db1:5432/crm", "db1", 5432),  # one host: dj-database-url's own reading
    ],
)
def test_each_host_of_a_database_url_keeps_its_own_port(url, host, port):
    parsed = database_urls.parse(url)
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (host, port, "crm")


def test_a_multi_host_entry_that_is_not_host_and_port_is_refused():
    with pytest.raises(ImproperlyConfigured, match="db2:x"):
        database_urls.parse("postgresql://db1:5432,db2:x/crm")


@pytest.mark.django_db
def test_a_multi_host_url_connects_past_a_host_that_refuses_to_the_primary():
    """What the service does when the first host listed is a dead primary: libpq, given the parameters
    Django builds from the URL, goes on to the next host, which is read-write."""
    db = connection.settings_dict
    host = db["HOST"] or db.get("OPTIONS", {}).get("host") or "localhost"
    refused = free_port()  # nothing listens there
    parsed = database_urls.parse(
        f"postgresql://127.0.0.1:{refused},{quote(host, safe='')}:{db['PORT'] or 5432}/{db['NAME']}"
        "?target_session_attrs=read-write&connect_timeout=2"
    )
    settings_dict = {
        **db,
        "HOST": parsed["HOST"],
        "PORT": parsed["PORT"],
        "OPTIONS": {**db["OPTIONS"], **parsed["OPTIONS"]},
    }
    params = connections["default"].__class__(settings_dict).get_connection_params()
    assert (params["host"], params["target_session_attrs"]) == (f"127.0.0.1,{host}", "read-write")
    with psycopg.connect(**params) as conn:
        assert conn.execute("SELECT pg_is_in_recovery(), current_database()").fetchone() == (
            False,
            db["NAME"],
        )
        assert conn.info.port == int(db["PORT"] or 5432)
