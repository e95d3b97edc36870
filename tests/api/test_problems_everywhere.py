"""Every error under /api/ is a JSON problem: whatever the client accepts, and with DEBUG on as under
`make run` (where Django would show its technical HTML pages), including a database that cannot be
reached."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api.support import API, PROBLEM, assert_problem
from tests.conftest import Firm
from tests.live import gunicorn_server, runserver
from tests.pgbouncer.test_transaction_pooling import free_port

ORGS = f"{API}/organizations/"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{ORGS}999999999/", 404),
        (f"{ORGS}?ordering=--name", 400),
        (f"{ORGS}?cursor=junk", 400),
        (f"{ORGS}?nonsense=1", 400),
    ],
)
@pytest.mark.parametrize("how", ["browser Accept", "?format=api"])
def test_a_problem_is_json_even_when_the_client_asks_for_html(
    manager: APIClient, path: str, status: int, how: str
) -> None:
    if how == "?format=api":
        response = manager.get(path + ("&" if "?" in path else "?") + "format=api")
    else:
        response = manager.get(path, HTTP_ACCEPT=BROWSER_ACCEPT)
    body = assert_problem(response, status)
    assert not response.content.lstrip().startswith(b"<"), response.content[:80]
    assert body["status"] == status


def test_an_unauthenticated_browser_gets_a_json_401(db: Any) -> None:
    response = APIClient().get(ORGS, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert_problem(response, 401)


def test_the_browsable_api_still_renders_a_successful_page_as_html(manager: APIClient) -> None:
    response = manager.get(ORGS, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


# --- DEBUG on: Django's technical pages are not what /api/ answers ---------------------------------


def test_with_debug_on_an_address_matching_no_route_is_a_404_problem(db: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = Client(raise_request_exception=False).get(f"{API}/nothing-here/")
    body = assert_problem(response, 404)
    assert "Django" not in response.content.decode() and body["detail"] == "No API endpoint at this address."


def test_with_debug_on_a_bad_host_is_a_400_problem(db: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = Client(HTTP_HOST="evil.example.net", raise_request_exception=False).get(ORGS)
    assert_problem(response, 400)
    assert "evil.example.net" not in response.content.decode()  # the technical page's internals stay out


def test_with_debug_on_an_uncaught_error_is_a_500_problem_without_internals(
    firm: Firm, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = True
    from crm import middleware

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(middleware.RowLevelSecurityMiddleware, "_identify", explode)
    response = Client(raise_request_exception=False).get(ORGS)
    assert_problem(response, 500)
    assert "secret" not in response.content.decode()


def test_outside_the_api_debug_pages_remain(db: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = Client(raise_request_exception=False).get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.slow
def test_with_debug_on_a_database_that_cannot_be_reached_is_a_503_problem(db: Any) -> None:
    """As under `make run` with the embedded server stopped: a server whose database refuses connections."""
    closed = free_port()  # nothing listens there
    with gunicorn_server(DEBUG="1", DATABASE_URL=f"postgresql://nobody@127.0.0.1:{closed}/nothing") as api:
        for path in ("/api/v1/organizations/", "/api/v1/auth/token/"):
            request = urllib.request.Request(api + path, headers={"Accept": BROWSER_ACCEPT})
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(request, timeout=20)
            error = raised.value
            body = json.loads(error.read())
            assert error.code == 503 and error.headers["Content-Type"] == PROBLEM, body
            assert error.headers["Retry-After"] == "5"
            assert body["request_id"] == error.headers["X-Request-ID"]
            assert str(closed) not in json.dumps(body)  # no connection details


def test_a_chunked_body_is_a_411_problem_not_an_empty_one(manager: APIClient) -> None:
    # As gunicorn hands Django a chunked request: no CONTENT_LENGTH at all.
    response = manager.generic(
        "POST",
        ORGS,
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    body = assert_problem(response, 411)
    assert "Content-Length" in body["detail"] and response["Connection"] == "close"


@pytest.mark.slow
def test_a_chunked_body_sent_to_gunicorn_is_a_411_problem(db: Any) -> None:
    import http.client

    with gunicorn_server() as api:
        host, port = api.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=20)
        payload = b'{"email": "a@example.com", "password": "x"}'
        connection.putrequest("POST", "/api/v1/auth/token/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 411 and response.headers["Content-Type"] == PROBLEM, body
        assert body["request_id"] == response.headers["X-Request-ID"]


def _raw(api: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
    import http.client

    host, port = api.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    connection.putrequest("POST", "/api/v1/auth/token/", skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(body)
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    return response.status, dict(response.headers), json.loads(raw)  # json.loads fails a text/HTML page


@pytest.mark.slow
def test_under_the_development_server_body_limits_are_problems_too(db: Any) -> None:
    """runserver (wsgiref) refuses hop-by-hop headers such as `Connection: close` from an application: the
    limit answers must not carry one there, or they turn into its own 500 page."""
    payload = b'{"email": "a@example.com", "password": "x"}'
    cases = [
        # The body is sent, as a client does: runserver reads what is announced before it closes.
        (
            {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)},
            b" " * (2 * 1024 * 1024),
            413,
        ),
        ({"Content-Type": "application/json", "Content-Length": "many"}, b"", 400),
        (
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload),
            411,
        ),
    ]
    with runserver() as api:
        for headers, body, status in cases:
            got, response_headers, problem = _raw(api, headers, body)
            assert got == status and response_headers["Content-Type"] == PROBLEM, (headers, problem)
            assert problem["request_id"] == response_headers["X-Request-ID"]
