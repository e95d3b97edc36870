"""CORS headers (django-cors-headers): preflights answered without the database, the API's headers exposed."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

ORIGIN = "https://app.example.com"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cors_origin")]


@pytest.fixture
def cors_origin() -> Any:
    with override_settings(CORS_ALLOWED_ORIGINS=[ORIGIN]):
        yield


def preflight(path: str, method: str = "POST", headers: str = "authorization,content-type") -> Any:
    return Client().options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_a_sign_in_preflight_is_allowed_cached_and_touches_no_database() -> None:
    with CaptureQueriesContext(connection) as queries:
        response = preflight("/api/v1/auth/token/")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert int(response["Access-Control-Max-Age"]) == 86400
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies
    assert len(queries) == 0


def test_writes_may_send_if_match_a_request_id_and_an_idempotency_key() -> None:
    response = preflight(
        "/api/v1/organizations/1/",
        "PATCH",
        "authorization,content-type,if-match,x-request-id,x-database-position,idempotency-key",
    )
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    sent = {
        "authorization",
        "content-type",
        "if-match",
        "x-request-id",
        "x-database-position",
        "idempotency-key",
    }
    assert sent <= allowed


def test_responses_expose_the_headers_a_front_end_reads() -> None:
    response = Client().get("/api/v1/organizations/", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 401  # problems carry CORS headers too, so the front end can read them
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    # X-Database-Position: a write's, for reading it back from a replica (README, "Read replicas");
    # Idempotent-Replayed: the answer is a stored one (README, "Retries: Idempotency-Key"); RateLimit-Policy
    # and RateLimit: the quotas and what is left of them (README, "Rate limits").
    assert exposed == {
        "etag",
        "x-request-id",
        "location",
        "retry-after",
        "x-database-position",
        "x-database",
        "idempotent-replayed",
        "ratelimit-policy",
        "ratelimit",
    }


def test_another_origin_gets_no_cors_headers() -> None:
    response = preflight("/api/v1/auth/token/")
    other = Client().options(
        "/api/v1/auth/token/",
        HTTP_ORIGIN="https://evil.example.net",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.has_header("Access-Control-Allow-Origin")
    assert not other.has_header("Access-Control-Allow-Origin")


def test_the_admin_is_not_served_cross_origin() -> None:
    response = Client().get("/admin/login/", HTTP_ORIGIN=ORIGIN)
    assert not response.has_header("Access-Control-Allow-Origin")
