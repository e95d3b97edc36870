"""The edges hold: malformed bodies, parameters, cursors and tokens are 4xx problems with the request id,
never a 5xx, never HTML; a database that cannot be reached is a 503 problem."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from crm.api import problems
from crm.tokens import tokens_for
from tests.api.support import API, PROBLEM, assert_problem, ok
from tests.conftest import Firm

ORGS = f"{API}/organizations/"


def problem_of(
    response: Any, status: int, field: str | None = None, code: str | None = None
) -> dict[str, Any]:
    body = assert_problem(response, status, field=field, code=code)
    assert body["request_id"] and response["X-Request-ID"] == body["request_id"]
    return body


# --- bodies -----------------------------------------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000
MALFORMED_BODIES = {
    "nested 10,000 deep": DEEP.encode(),
    "nested 33 deep": ('{"name": ' + "[" * 33 + "]" * 33 + "}").encode(),
    "a key twice": b'{"name": "First", "type": "customer", "name": "Second"}',
    "NaN": b'{"name": "X", "type": "customer", "latitude": NaN}',
    "Infinity": b'{"name": "X", "type": "customer", "latitude": -Infinity}',
    "invalid UTF-8": b'{"name": "caf\xe9", "type": "customer"}',
    "a NUL in a string": b'{"name": "Nul\\u0000Bistro", "type": "customer"}',
    "a NUL in a key": b'{"na\\u0000me": "x"}',
    "truncated": b'{"name": "x',
    "empty": b"",
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_malformed_body_is_a_400_problem(manager: APIClient, body: bytes) -> None:
    problem_of(manager.generic("POST", ORGS, body, content_type="application/json"), 400)


@pytest.mark.parametrize("body", [DEEP.encode(), b'{"email": "a@b.c", "email": "d@e.f", "password": "x"}'])
def test_sign_in_refuses_a_malformed_body_before_checking_anything(db: Any, body: bytes) -> None:
    response = APIClient().generic("POST", f"{API}/auth/token/", body, content_type="application/json")
    problem_of(response, 400)


def test_nesting_within_the_limit_and_escaped_backslashes_are_fine(manager: APIClient) -> None:
    # An escaped backslash, then text: no NUL; brackets inside a string: no nesting.
    body = rb'{"name": "Back\\u0000slash [[{{", "type": "prospect"}'
    created = ok(manager.generic("POST", ORGS, body, content_type="application/json"), 201)
    assert created["name"] == "Back\\u0000slash [[{{"


def test_a_body_over_the_limit_is_a_413_before_it_is_read(manager: APIClient, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1000
    body = json.dumps({"name": "Big", "type": "customer", "notes": "x" * 2000}).encode()
    response = manager.generic("POST", ORGS, body, content_type="application/json")
    assert problem_of(response, 413)["detail"] == "The request body may be at most 1000 bytes."
    assert response["Connection"] == "close"


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x", "text/csv"])
def test_the_body_limit_holds_for_every_content_type_and_for_sign_in(
    db: Any, settings: Any, content_type: str
) -> None:
    settings.API_MAX_BODY_BYTES = 100
    response = APIClient().generic("POST", f"{API}/auth/token/", b"x" * 101, content_type=content_type)
    problem_of(response, 413)


def test_a_content_length_that_is_not_a_number_is_a_400(db: Any) -> None:
    response = Client().generic("POST", f"{API}/auth/token/", b"{}", CONTENT_LENGTH="many")
    problem_of(response, 400)


# --- parameters and cursors -------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", [",", "--name", "name,", ",name", "name,,id", "-", "na me"])
def test_a_malformed_ordering_is_a_400_naming_it(manager: APIClient, ordering: str) -> None:
    problem_of(manager.get(ORGS, {"ordering": ordering}), 400, field="ordering")


@pytest.mark.parametrize("param", ["type", "search", "ordering", "cursor", "page_size", "updated_after"])
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(manager: APIClient, param: str) -> None:
    problem_of(manager.get(ORGS, {param: "x\x00y"}), 400, field=param, code="null_characters_not_allowed")


@pytest.mark.parametrize(
    "query",
    [
        "ordering=name&ordering=-name",
        "search=a&search=b",
        "page_size=1&page_size=200",
        "cursor=x&cursor=y",
        "updated_after=2026-01-01T00:00:00Z&updated_after=2026-02-01T00:00:00Z",
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400_naming_it(manager: APIClient, query: str) -> None:
    name = query.split("=")[0]
    problem_of(manager.get(f"{ORGS}?{query}"), 400, field=name, code="repeated")


def test_a_multiple_choice_filter_takes_every_value_given(firm: Any, manager: APIClient) -> None:
    rows = ok(manager.get(f"{ORGS}?type=customer&type=distributor&page_size=200"))["results"]
    assert {row["type"] for row in rows} == {"customer", "distributor"}


def tampered_cursor(client: APIClient, url: str, value: Any, index: int = 0) -> str:
    """The `next` cursor of `url` with its `index`th ordering value replaced by `value`."""
    next_url = ok(client.get(url))["next"]
    assert next_url, "the list needs a second page"
    raw = next_url.split("cursor=")[1].split("&")[0]
    payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    payload["v"][index] = value
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("index", "value"), [(0, "Nul\x00Bistro"), (0, None), (0, [1]), (0, {"a": 1}), (1, 10**30), (1, "x")]
)
@pytest.mark.parametrize("query", ["?ordering=name&page_size=1", "?search=acme&ordering=name&page_size=1"])
def test_a_tampered_cursor_is_a_400_naming_it(
    firm: Firm, admin: APIClient, query: str, index: int, value: Any
) -> None:
    cursor = tampered_cursor(admin, ORGS + query, value, index)
    problem_of(admin.get(ORGS + query + f"&cursor={cursor}"), 400, field="cursor")


@pytest.mark.parametrize(
    "position", [["2026-01-01T00:00:00+00:00", "interaction\x00", 1], [None, "x", 1], ["x", "y", 10**30], [1]]
)
def test_a_tampered_timeline_cursor_is_a_400(firm: Firm, manager: APIClient, position: list[Any]) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    url = f"{ORGS}{firm.customer.pk}/timeline/?cursor={cursor}"
    problem_of(manager.get(url), 400, field="cursor")


# --- tokens -----------------------------------------------------------------------------------------

CLAIMS = [None, [1], {"id": 1}, True, 1.5, "01", " 1", "1e3", "\u0661", str(2**63), 10**20, -1, 0]


@pytest.mark.parametrize("claim", CLAIMS, ids=repr)
def test_a_signed_access_token_with_a_bad_user_id_is_a_401(firm: Firm, claim: Any) -> None:
    token = tokens_for(firm.manager).access_token
    token["user_id"] = claim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = problem_of(client.get(ORGS), 401)
    assert body["detail"] == "The access token is invalid or expired."


@pytest.mark.parametrize("claim", CLAIMS, ids=repr)
def test_a_signed_refresh_token_with_a_bad_user_id_is_a_401(firm: Firm, claim: Any) -> None:
    token = tokens_for(firm.manager)
    token["user_id"] = claim
    response = APIClient().post(f"{API}/auth/token/refresh/", {"refresh": str(token)}, format="json")
    problem_of(response, 401)


# --- failures outside DRF ---------------------------------------------------------------------------


def handled(exc: Exception, path: str = "/api/v1/organizations/") -> Any:
    request = RequestFactory().get(path)
    try:
        raise exc
    except Exception:  # the handler reads the exception being handled, as Django calls it
        return problems.server_error(request)


def test_an_uncaught_error_under_the_api_is_a_500_problem_without_internals() -> None:
    response = handled(RuntimeError("secret internals"))
    assert response.status_code == 500 and response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert "secret" not in response.content.decode() and body["request_id"]
    assert sys.exc_info() == (None, None, None)


def test_a_database_that_cannot_be_reached_is_a_503_problem_with_retry_after() -> None:
    response = handled(OperationalError("connection refused"))
    assert response.status_code == 503 and response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["title"] == "Service Unavailable"


def test_outside_the_api_a_database_that_cannot_be_reached_is_a_503_page() -> None:
    response = handled(OperationalError("connection refused"), path="/admin/login/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "text/html" in response["Content-Type"]


def test_outside_the_api_django_pages_remain() -> None:
    response = handled(RuntimeError("x"), path="/admin/")
    assert response.status_code == 500 and "text/html" in response["Content-Type"]


def test_a_bad_host_under_the_api_is_a_400_problem(db: Any, settings: Any) -> None:
    settings.DEBUG = False
    response = Client(HTTP_HOST="evil.example.net").get(ORGS)
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM


def test_readyz_answers_outside_the_rls_middleware(db: Any) -> None:
    body = Client().get("/readyz").json()
    assert body["status"] == "ready" and body["checks"]["database"] == "ok (as crm_app)"


# --- headers ----------------------------------------------------------------------------------------

MALFORMED_AUTHORIZATION = [
    "Bearer",
    "Bearer ",
    "Bearer  two spaces",
    "Bearer a.b",
    "Bearer a.b.c.d",
    "Bearer " + "x" * 10_000,
    "Basic dXNlcjpwYXNz",
    "bearer lowercase.scheme.token",
    "Token abc",
    "Bearer é.é.é",
]


@pytest.mark.parametrize("header", MALFORMED_AUTHORIZATION)
def test_a_malformed_authorization_header_is_a_401_problem(db: Any, header: str) -> None:
    problem_of(APIClient().get(ORGS, HTTP_AUTHORIZATION=header), 401)


@pytest.mark.parametrize(
    "if_match", ['"', "W/", "garbage", '"0"', '"v999999999999999999999"', "*, *", "x" * 5_000]
)
def test_a_malformed_or_stale_if_match_is_a_4xx_problem(
    firm: Firm, manager: APIClient, if_match: str
) -> None:
    response = manager.patch(f"{ORGS}{firm.customer.pk}/", {"city": "Elsewhere"}, HTTP_IF_MATCH=if_match)
    body = problem_of(response, response.status_code)
    assert response.status_code in (400, 412, 428), body


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("HTTP_ACCEPT", "application/xml"),
        ("HTTP_ACCEPT", "text/csv;q=abc"),
        ("HTTP_IF_NONE_MATCH", "garbage"),
        ("HTTP_X_REQUEST_ID", "x" * 5_000),
        ("HTTP_X_REQUEST_ID", "not a token; <script>"),
        ("HTTP_ACCEPT_LANGUAGE", "zz-ZZ;q=abc, *;q=nonsense"),
        ("HTTP_COOKIE", "sessionid=" + "x" * 4_000 + "; csrftoken=; ="),
    ],
)
def test_odd_headers_never_make_a_5xx(firm: Firm, manager: APIClient, header: str, value: str) -> None:
    response = manager.get(f"{ORGS}{firm.customer.pk}/", **{header: value})
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        problem_of(response, response.status_code)
    assert len(response["X-Request-ID"]) <= 64 and "<" not in response["X-Request-ID"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_of_another_content_type_is_a_415_problem(manager: APIClient, content_type: str) -> None:
    response = manager.generic("POST", ORGS, b'{"name": "X", "type": "customer"}', content_type=content_type)
    problem_of(response, 415)
