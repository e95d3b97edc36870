"""The `Idempotency-Key` request header: a POST or PATCH sent again with its key gets the first answer.

IETF httpapi draft "The Idempotency-Key HTTP Header Field"; why it is built this way: ADR 0016. Called by
RowLevelSecurityMiddleware inside the request's transaction, once the request context is set:

- the key is claimed (crm_idempotency_claim, crm migration 0021) with a transaction-level advisory lock
  before anything of the request runs: a concurrent request with the key gets a 409 at once;
- a key already answered gives the stored answer back (`Idempotent-Replayed: true`) and runs nothing,
  unless it was stored for another request (method, path, query or body): a 422;
- otherwise the request runs in a savepoint and its answer is stored in the same transaction, so it is
  committed with the request's effects or not at all. A 4xx problem's rollback (crm.api.problems) undoes
  the savepoint, not the stored answer: a validation error is answered again too. A 5xx (or a 429) is not
  stored and its effects are rolled back: the client may simply try again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse

from crm.postgresql.base import prepared
from crm.rls import context_of

if TYPE_CHECKING:
    from django.http import JsonResponse

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255
# The answer's headers a replay gives back. Not X-Request-ID (the replay's own, for its log line; the body
# of a problem keeps the first request's id) nor X-Database and X-Database-Position, which the middleware
# sets afresh for the replay: the primary answered it, at a position at or after the first write's commit.
STORED_HEADERS = (
    "Content-Type",
    "Location",
    "ETag",
    "Last-Modified",
    "Allow",
    "Vary",
    "Content-Language",
    "Content-Disposition",
    "WWW-Authenticate",  # a 401 kept (a signed-in caller's logout with a bad refresh token) says it again
)
# sf-string (RFC 8941): printable ASCII between double quotes, `"` and `\` escaped. Without the quotes the
# key is taken as it is sent (most clients do), visible ASCII without spaces.
_QUOTED = re.compile(r'^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$')
_BARE = re.compile(r"^[\x21-\x7e]+$")


class InvalidKey(ValueError):
    """The header is there but is not a key the service takes."""


def key_of(value: str) -> str:
    """The key in an `Idempotency-Key` header's value: 1–255 characters of printable ASCII, quoted as a
    structured-field string or not."""
    value = value.strip(" \t")
    quoted = _QUOTED.match(value)
    if quoted:
        key = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif not value or _BARE.match(value):
        key = value
    else:
        raise InvalidKey(
            f"{HEADER} must be 1–{MAX_KEY_LENGTH} printable ASCII characters (a quoted string may hold spaces)."
        )
    if not key:
        raise InvalidKey(f"{HEADER} must not be empty.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"{HEADER} must be at most {MAX_KEY_LENGTH} characters long.")
    return key


def applies(request: HttpRequest) -> bool:
    """A POST or PATCH under /api/ that sends the header. Not the sign-in, the token refresh nor the
    password change: their answers are credentials, which are not to be kept in a table, and none of them
    makes a record a retry would duplicate."""
    if (
        request.method not in METHODS
        or META_KEY not in request.META
        or not request.path_info.startswith("/api/")
    ):
        return False
    from crm.middleware import own_signin_paths, signin_paths

    return request.path not in signin_paths() | own_signin_paths()


def fingerprint_of(request: HttpRequest) -> str:
    """SHA-256 of the request as the key is bound to: method, path, query string and body. A JSON body is
    hashed as canonical JSON (keys sorted, no spaces), so a client that serialises the same object in
    another key order or spacing is not refused; any other body byte for byte."""
    body = request.body
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256()
    head = [request.method, request.path, request.META.get("QUERY_STRING", ""), request.content_type]
    digest.update(orjson.dumps(head))
    digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def stores(response: HttpResponse) -> bool:
    """Whether an answer is kept for replays: a completed request's (2xx, 3xx, 4xx). Not a 5xx (the server
    failed: the draft's advice, and the client should be able to try again), not a 429 (nothing was done,
    the client is told when to try again), not a streamed one (its body is not in hand)."""
    return not response.streaming and response.status_code < 500 and response.status_code != 429


def respond(request: HttpRequest, get_response: Callable[[HttpRequest], HttpResponse]) -> HttpResponse:
    """The request's answer under its Idempotency-Key; a request without one is simply answered."""
    if not applies(request):
        return get_response(request)
    from crm.api.problems import header_problem, invalid_header_problem  # they import DRF's views: late

    try:
        key = key_of(request.META[META_KEY])
    except InvalidKey as exc:
        return invalid_header_problem(request, HEADER, str(exc))
    context = context_of(request)
    if context.tenant_id is None or context.user_id is None:
        # Nobody the key could belong to (not signed in, a revoked token, no membership): the request is
        # answered as any other (a 401 or 403), and nothing is kept.
        return get_response(request)
    fingerprint = fingerprint_of(request)
    outcome, status, headers, body = _claim(key, fingerprint)
    if outcome == "in_flight":
        return header_problem(
            request,
            409,
            "Conflict",
            HEADER,
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being processed; try again once it has finished.",
        )
    if outcome == "mismatch":
        return header_problem(
            request,
            422,
            "Unprocessable Content",
            HEADER,
            "idempotency_key_reused",
            "This Idempotency-Key was used for another request (method, path, query or body); use a new key.",
        )
    if outcome == "replay":
        return replayed(status, headers, body)
    with transaction.atomic():
        response = get_response(request)
        keep = stores(response)
        if not keep and response.status_code >= 500:
            transaction.set_rollback(True)  # never a committed write whose answer is not kept
    if keep:
        _store(key, fingerprint, response)
    return response


def replayed(status: int, headers: dict[str, str], body: bytes) -> HttpResponse:
    response = HttpResponse(bytes(body), status=status)
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(key: str, fingerprint: str) -> tuple[str, Any, Any, Any]:
    with prepared(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT outcome, status, headers, body FROM crm_idempotency_claim(%s, %s)", [key, fingerprint]
        )
        row = cursor.fetchone()
    assert row is not None
    headers = row[2] if row[2] is None or isinstance(row[2], dict) else orjson.loads(row[2])
    return row[0], row[1], headers, row[3]


def _store(key: str, fingerprint: str, response: HttpResponse | JsonResponse) -> None:
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    with prepared(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT crm_idempotency_store(%s, %s, %s, %s::jsonb, %s, %s)",
            [
                key,
                fingerprint,
                response.status_code,
                orjson.dumps(headers).decode(),
                response.content,
                settings.IDEMPOTENCY_WINDOW_SECONDS,
            ],
        )


PURGE_BATCH = 5_000


class PurgeNotAllowed(PermissionError):
    """The database user cannot reach every firm's keys (the table's RLS is forced, even on its owner)."""


def may_purge() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def count_expired() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM idempotency_key WHERE expires_at <= clock_timestamp()")
        return int(cursor.fetchone()[0])


def purge_expired(batch: int = PURGE_BATCH) -> int:
    """Delete every firm's keys past their window, in short transactions (a large backlog never holds many
    row locks for long); returns how many. Raises PurgeNotAllowed without BYPASSRLS or superuser."""
    if not may_purge():
        raise PurgeNotAllowed(
            "The database user must have BYPASSRLS (or be superuser) to reach every firm's idempotency keys."
        )
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM idempotency_key WHERE id IN (SELECT id FROM idempotency_key"
                " WHERE expires_at <= clock_timestamp() ORDER BY expires_at LIMIT %s)",
                [batch],
            )
            count = cursor.rowcount
        deleted += count
        if count < batch:
            return deleted
