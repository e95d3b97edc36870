"""Every request runs in one transaction, as the runtime role, with its user's RLS variables set."""

from __future__ import annotations

import contextlib
import functools
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import DatabaseError, InterfaceError, connection, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token

from crm import api_keys, idempotency, replicas, rls, signin
from crm.api.limits import valid_id

_jwt = JWTAuthentication()
PROBES = frozenset({"/healthz", "/readyz"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Access tokens already validated, with the instant they stop being valid. A token's signature and claims
# never change, so a client sending the same token again needs only its expiry checked (simplejwt's and
# PyJWT's rule: expired once exp <= now - leeway), not another decode (~0.1 ms). Bounded: emptied when full.
_validated: dict[bytes, tuple[Token, float]] = {}
VALIDATED_TOKENS_KEPT = 10_000


def validated_token(raw: bytes) -> Token:
    """The access token `raw`, validated (signature, type, expiry); InvalidToken otherwise."""
    known = _validated.get(raw)
    if known is not None:
        token, valid_until = known
        if time.time() < valid_until:
            return token
        _validated.pop(raw, None)
    token = _jwt.get_validated_token(raw)
    if len(_validated) >= VALIDATED_TOKENS_KEPT:
        _validated.clear()
    leeway = token.get_token_backend().get_leeway().total_seconds()
    _validated[raw] = (token, float(token["exp"]) + leeway)
    return token


class TokenRevoked(InvalidToken):
    """Signed by us and unexpired, but issued before the user's password, activity or role changed."""

    default_detail = gettext_lazy(
        "This token was issued before the account's password, access or role changed; sign in again."
    )
    default_code = "token_revoked"


def credentials_epoch_of(token: Token) -> int:
    """The token's `cred` claim (crm.tokens): the epoch it was issued under; -1 (never current) when the
    claim is missing or not a small non-negative integer, so tokens from before the claim are refused."""
    value = token.get("cred")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return -1


@functools.cache
def signin_paths() -> frozenset[str]:
    """The endpoints that sign in (API, admin) or trade a refresh token: the only requests given a sign-in
    (crm.rls.begin(signin=policy)), that is, one user looked up by email or one token's user by id."""
    return frozenset({reverse("token-obtain"), reverse("token-refresh"), reverse("admin:login")})


@functools.cache
def own_signin_paths() -> frozenset[str]:
    """The endpoints where a signed-in user proves their own password again (a sign-in of that user only)."""
    return frozenset({reverse("me-password")})


def signin_policy(request: HttpRequest) -> dict[str, Any] | None:
    """The sign-in this request may make (crm.signin.policy), or None: only the sign-in endpoints, and a
    POST to the own-password ones."""
    if request.path in signin_paths():
        return signin.policy(signin.client_key(request))
    if request.method == "POST" and request.path in own_signin_paths():
        return signin.policy(signin.client_key(request), own=True)
    return None


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one: recorded in history."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def bearer_token(request: HttpRequest) -> bytes | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode()


class CrmRequest(HttpRequest):
    """What the middleware adds to every request it handles (a type for the checker: requests stay
    Django's own objects, cast to this where the attributes are set or read)."""

    request_id: str
    crm: rls.RequestContext
    jwt_error: Exception | None
    jwt_token: Token
    api_key_presented: bool


class RowLevelSecurityMiddleware:
    """Opens the request's transaction and sets the RLS variables in it, for every way in.

    DRF authenticates only when the view runs, after middleware: so a bearer token is validated here
    (signature and expiry, no query), and crm.authentication hands DRF what was found. Either way one
    statement then switches to the runtime role and sets the variables, transaction-local: they end
    with the request, whatever the connection is reused for next.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        if http_request.path_info in PROBES:  # probes check the database themselves (crm/health.py)
            return self.get_response(http_request)
        request = cast(CrmRequest, http_request)
        request.request_id = request_id_of(request)
        try:
            replica = replicas.choose(request)
        except replicas.BadPosition as exc:  # the client's mistake
            from crm.api.problems import invalid_header_problem  # it imports DRF's views, which import us

            return invalid_header_problem(request, replicas.POSITION_HEADER, str(exc))
        if replica is not None and not self._replica_may_serve(request, replica):
            replica = None
        response = None
        if replica is not None:
            try:
                with replicas.serving(replica):
                    response = self._in_transaction(request)
            except (DatabaseError, InterfaceError) as exc:  # before DRF could answer (the context statement)
                replicas.mark_down(replica, exc)
            if response is not None and response.status_code == 503:
                # The replica failed during the request (a recovery conflict, a killed backend, a stop): a
                # safe request is simply served again, by the primary. Marked down only if it is down.
                replicas.state_of(replica, fresh=True)
                response = None
            if response is None:
                replica = None
        if response is None:
            response = self._in_transaction(request)
        if replicas.replica_aliases():
            response[replicas.SERVED_BY_HEADER] = "replica" if replica is not None else "primary"
            if request.method not in replicas.SAFE_METHODS and response.status_code < 400:
                # The commit's position: a read presenting it sees this write (crm.replicas). If it cannot
                # be read, the write is committed all the same: its answer stands, without the position.
                with contextlib.suppress(DatabaseError, InterfaceError):
                    response[replicas.POSITION_HEADER] = replicas.primary_position()
        response["X-Request-ID"] = request.request_id
        return response

    @staticmethod
    def _replica_may_serve(request: CrmRequest, replica: str) -> bool:
        """The replica answers, and the primary still takes the request's token: a replica's copy of the
        users lags, so a token revoked on the primary would still open the replica's context."""
        wrapper = connections[replica]
        try:
            wrapper.close_if_health_check_failed()  # a connection the server ended since its last use
            wrapper.ensure_connection()
        except (DatabaseError, InterfaceError) as exc:  # unreachable since its last check: the primary serves
            replicas.mark_down(replica, exc)
            return False
        raw = bearer_token(request)
        if raw is None:
            return True
        try:
            token = validated_token(raw)
            user_id = valid_id(token.get("user_id"))
            credentials = credentials_epoch_of(token)
        except (InvalidToken, TokenError, KeyError, ValueError, TypeError, OverflowError):
            return True  # refused wherever it is read
        if user_id is None:
            return True
        try:
            return replicas.credentials_current(user_id, credentials)
        except (DatabaseError, InterfaceError):
            return False  # the primary serves, and says what is wrong

    def _in_transaction(self, request: CrmRequest) -> HttpResponse:
        outer = connection.in_atomic_block  # only in tests: the request runs inside the test's transaction
        with transaction.atomic():
            request.crm = self._identify(request)
            try:
                response = idempotency.respond(request, self.get_response)
            finally:
                if outer and not connection.needs_rollback:
                    rls.end()
        return response

    def _identify(self, request: CrmRequest) -> rls.RequestContext:
        return identify(request)


@contextlib.contextmanager
def streaming_transaction(http_request: HttpRequest) -> Iterator[rls.RequestContext]:
    """A transaction of its own, under the request's identity, for a body streamed after the request's
    transaction has ended (crm.api.exports, ADR 0024).

    A WSGI server iterates a streamed body after the middleware has returned, so the request's transaction
    (and its transaction-local role and variables) is gone by then. The caller is identified again, by the
    same statement and the same credentials (token, API key or session): a token revoked meanwhile gets
    nobody. Yields the context; the caller compares it with the request's.
    """
    request = cast(CrmRequest, http_request)
    outer = connection.in_atomic_block  # only in tests, as in _in_transaction
    with transaction.atomic():
        context = identify(request)
        try:
            yield context
        finally:
            if outer and not connection.needs_rollback:
                rls.end()


def identify(request: CrmRequest) -> rls.RequestContext:
    """Switch the current transaction to the runtime role with `request`'s caller's context (rls.begin)."""
    opened = signin_policy(request)
    # An API key (crm.api_keys) is checked by the database in the context statement itself. Never on
    # the paths that sign in or prove a password: a key has none, and is refused there as nobody.
    presented = api_keys.presented_key(request.META.get("HTTP_AUTHORIZATION", ""))
    request.api_key_presented = presented is not None
    if presented is not None:
        if opened is not None:
            return rls.begin(None, request_id=request.request_id)
        context = rls.begin(None, request_id=request.request_id, api_key=(presented.key_id, presented.digest))
        if context.user_id is not None:
            key_user = context.user_id
            request.user = SimpleLazyObject(lambda: get_user_model().objects.get(pk=key_user))  # type: ignore[assignment]
        return context
    raw = bearer_token(request)
    if raw is not None:
        request.jwt_error = None
        try:
            token = validated_token(raw)
            user_id = valid_id(token.get("user_id"))
            if user_id is None:  # signed by us, yet not a user id PostgreSQL can hold
                raise InvalidToken("The token's user_id is not a user id.")
        # OverflowError: signed by us, yet an `exp` no date can hold (1e30): invalid, like any other.
        except (InvalidToken, TokenError, KeyError, ValueError, TypeError, OverflowError) as exc:
            request.jwt_error = exc
            return rls.begin(None, request_id=request.request_id, signin=opened)
        request.jwt_token = token
        context = rls.begin(
            user_id,
            request_id=request.request_id,
            credentials=credentials_epoch_of(token),
            signin=opened,
        )
        if context.revoked:
            request.jwt_error = TokenRevoked()
            return context
        # Django code that asks for the user gets it on demand; the API itself needs only the id.
        request.user = SimpleLazyObject(lambda: get_user_model().objects.get(pk=user_id))  # type: ignore[assignment]
        return context
    # The session and its user are read before the switch, by the connection's own role (users
    # are under RLS and nobody is known yet); the session row is then reachable only by its key.
    user = request.user
    session_key = request.session.session_key if hasattr(request, "session") else None
    return rls.begin(
        user.pk if user.is_authenticated else None,
        session_key=session_key,
        request_id=request.request_id,
        signin=opened,
    )
