"""A front end on another origin, in a real browser: headless Chromium enforces CORS as users' browsers do.

A page served from its own origin (another port of 127.0.0.1, as a Vite dev server would be) signs in with
a password, lists organizations, creates one and reads the response headers a front end needs (ETag,
X-Request-ID, Location) through `fetch`. The same page from an origin the server does not allow gets
nothing: the browser blocks the preflight. Needs Debian's chromium (`make test` installs it when it can);
without it these tests are skipped, loudly.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings

from organizations.models import Organization
from tests.conftest import make_firm
from tests.live import gunicorn_server
from tests.pgbouncer.test_transaction_pooling import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="CHROMIUM NOT INSTALLED: the cross-origin browser test is SKIPPED (apt-get install chromium)",
)

PASSWORD = "Harbor-cors-test-1"

# The front end: every step's outcome goes into <pre id="result"> as JSON, which the test reads back
# from the DOM Chromium dumps once the page is idle.
PAGE = """<!doctype html>
<html><body><pre id="result">pending</pre><script>
const api = %(api)s, email = %(email)s, password = %(password)s;
const out = {};
(async () => {
  try {
    const signIn = await fetch(api + "/api/v1/auth/token/", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({email, password}),
    });
    out.sign_in = signIn.status;
    out.sign_in_request_id = signIn.headers.get("X-Request-ID");
    const {access} = await signIn.json();
    const auth = {"Authorization": "Bearer " + access};
    const list = await fetch(api + "/api/v1/organizations/?page_size=5", {headers: auth});
    out.list = list.status;
    out.listed = (await list.json()).results.map((o) => o.name);
    const created = await fetch(api + "/api/v1/organizations/", {
      method: "POST", headers: {...auth, "Content-Type": "application/json", "X-Request-ID": "cors-create-1"},
      body: JSON.stringify({name: "Harbor Cross-Origin Cafe", type: "prospect"}),
    });
    out.create = created.status;
    out.create_etag = created.headers.get("ETag");
    out.create_request_id = created.headers.get("X-Request-ID");
    out.create_location = created.headers.get("Location");
    const id = (await created.json()).id;
    const detail = await fetch(api + "/api/v1/organizations/" + id + "/", {headers: auth});
    out.detail = detail.status;
    out.detail_etag = detail.headers.get("ETag");
    const renamed = await fetch(api + "/api/v1/organizations/" + id + "/", {
      method: "PATCH",
      headers: {...auth, "Content-Type": "application/json", "If-Match": "\\"0\\""},
      body: JSON.stringify({name: "Harbor Cross-Origin Bistro"}),
    });
    out.stale_patch = renamed.status;
    out.stale_patch_type = renamed.headers.get("Content-Type");
  } catch (error) {
    out.error = String(error);
  }
  document.getElementById("result").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


@pytest.fixture
def front_end(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on its own port: the front end's origin, and the directory it serves."""
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def run_page(origin: str, directory: Path, *, api: str, email: str) -> dict[str, Any]:
    """Open the front end page in headless Chromium and return what its script recorded."""
    (directory / "index.html").write_text(
        PAGE % {"api": json.dumps(api), "email": json.dumps(email), "password": json.dumps(PASSWORD)}
    )
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM,
            *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"),
            f"--user-data-dir={directory / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{origin}/index.html",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    start, end = dom.index('<pre id="result">') + len('<pre id="result">'), dom.index("</pre>")
    text = dom[start:end].replace("&quot;", '"').replace("&amp;", "&")
    assert text != "pending", f"the page's script did not finish:\n{dom[-2000:]}"
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.fixture
def manager_email(transactional_db: Any, settings: Any) -> str:
    firm = make_firm("Harbor")
    # The server hashes as deployed: the password must be stored with a hasher it knows.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    firm.manager.set_password(PASSWORD)
    firm.manager.save(update_fields=["password"])
    return str(firm.manager.email)


def test_a_front_end_on_an_allowed_origin_signs_in_lists_creates_and_reads_headers(
    front_end: tuple[str, Path], manager_email: str
) -> None:
    origin, directory = front_end
    with gunicorn_server(CORS_ALLOWED_ORIGINS=f"http://localhost:1,{origin}") as api:
        result = run_page(origin, directory, api=api, email=manager_email)
    assert "error" not in result, result
    assert result["sign_in"] == 200
    assert result["sign_in_request_id"]  # exposed: the browser lets the script read it
    assert result["list"] == 200 and "Harbor Bistro" in result["listed"]
    assert result["create"] == 201
    assert result["create_etag"] == '"1"' and result["detail_etag"] == '"1"'
    assert result["create_request_id"] == "cors-create-1"
    assert result["detail"] == 200
    # A write with a stale If-Match passes the preflight (If-Match is an allowed header) and gets its 412.
    assert result["stale_patch"] == 412
    assert result["stale_patch_type"] == "application/problem+json"
    assert Organization.objects.filter(name="Harbor Cross-Origin Cafe").exists()


def test_a_front_end_on_an_origin_not_allowed_is_blocked_by_the_browser(
    front_end: tuple[str, Path], manager_email: str
) -> None:
    origin, directory = front_end
    with gunicorn_server(CORS_ALLOWED_ORIGINS="https://app.example.com") as api:
        result = run_page(origin, directory, api=api, email=manager_email)
    assert result == {"error": "TypeError: Failed to fetch"}


def test_an_origin_regex_admits_matching_origins(front_end: tuple[str, Path], manager_email: str) -> None:
    origin, directory = front_end
    with gunicorn_server(
        CORS_ALLOWED_ORIGINS="",
        CORS_ALLOWED_ORIGIN_REGEXES=r"^https://x\.example\.com$ ^http://127\.0\.0\.1:\d+$",
    ) as api:
        result = run_page(origin, directory, api=api, email=manager_email)
    assert result.get("sign_in") == 200 and result.get("create") == 201, result
