"""The TypeScript client in client/: generated from the committed schema, and working against a live server.

The Node test (client/test/api.test.ts) runs as a front end would: gunicorn serves the API on the test
database (DEBUG off, as deployed), a manager signs in with a password and goes through openapi-fetch.
Needs Node.js 20+ and npm; without them these tests are skipped, and `make test` says so loudly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings

from tests import factories as f
from tests.conftest import make_firm
from tests.live import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
NODE, NPM = shutil.which("node"), shutil.which("npm")
REFRESH = "run `make client` (or `npm run generate --prefix client`) to regenerate it"

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="NODE.JS/NPM NOT INSTALLED: the TypeScript client's checks are SKIPPED (install Node 20+)",
)


def npm(
    *args: str, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, *args, "--prefix", str(CLIENT)],
        cwd=CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def client_dependencies() -> None:
    """client/node_modules as package-lock.json pins it (`make test` installs them first; so does this)."""
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_client_types_are_generated_from_the_committed_schema(client_dependencies: None) -> None:
    assert NODE is not None
    generated = subprocess.run(
        [NODE, str(CLIENT / "node_modules" / ".bin" / "openapi-typescript"), str(ROOT / "openapi.yaml")],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    committed = (CLIENT / "src" / "schema.ts").read_text()
    assert generated.stdout == committed, (
        f"client/src/schema.ts is not what openapi.yaml generates: {REFRESH}"
    )


@pytest.fixture
def api_server(transactional_db: Any) -> Iterator[str]:
    """gunicorn on the test database, configured as deployed (DEBUG off)."""
    with gunicorn_server() as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_the_node_client_test_passes_against_a_live_server(
    client_dependencies: None, api_server: str, settings: Any
) -> None:
    acme, rival = make_firm("Acme"), make_firm("Rival")
    # The server hashes as deployed: the manager's password must be stored with a hasher it knows.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    password = "Harbor-client-test-1"
    acme.manager.set_password(password)
    acme.manager.save(update_fields=["password"])
    for _ in range(4):  # enough customers for several pages of two
        f.CustomerFactory(tenant=acme.tenant)
    env = {
        **os.environ,
        "CRM_API_URL": api_server,
        "CRM_EMAIL": acme.manager.email,
        "CRM_PASSWORD": password,
        "CRM_FOREIGN_ORGANIZATION_ID": str(rival.customer.pk),
    }
    result = npm("test", env=env)
    assert result.returncode == 0, f"npm test failed:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
