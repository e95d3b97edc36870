"""Which database options the settings choose from the environment: prepared statements only where safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
