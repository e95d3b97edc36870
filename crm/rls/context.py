"""Who is asking, in PostgreSQL: the runtime role and the request's transaction-local session variables."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from crm.postgresql.base import prepared
from crm.sql_names import PLAIN_IDENTIFIER


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: what the policies see through the session variables."""

    user_id: int | None = None
    tenant_id: int | None = None
    role: str | None = None
    book: tuple[int, ...] = field(default=())
    revoked: bool = False
    api_key: bool = False  # the user is an API key's (crm migration 0023)

    @property
    def member_tenant_id(self) -> int:
        """The firm's id, for code that runs only behind a membership permission."""
        if self.tenant_id is None:
            raise PermissionError("no firm in this request")
        return self.tenant_id

    @property
    def member_user_id(self) -> int:
        if self.user_id is None:
            raise PermissionError("nobody is signed in")
        return self.user_id

    @property
    def is_member(self) -> bool:
        return self.tenant_id is not None and self.role is not None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "manager")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = RequestContext()
# A token issued under credentials that have changed since (password, is_active, role): nobody.
REVOKED = RequestContext(revoked=True)


def context_of(request: Any) -> RequestContext:
    """The RLS context the middleware put on a Django (or DRF) request; nobody when there is none."""
    request = getattr(request, "_request", request)
    context = getattr(request, "crm", ANONYMOUS)
    assert isinstance(context, RequestContext)
    return context


def runtime_role() -> str:
    """The runtime role's name, checked to be a plain identifier (it is spliced into DDL)."""
    role = str(settings.DATABASE_RUNTIME_ROLE)
    if not PLAIN_IDENTIFIER.match(role):
        raise ImproperlyConfigured(f"DATABASE_RUNTIME_ROLE must be a lower-case identifier, not {role!r}")
    return role


def begin(
    user_id: int | None,
    *,
    session_key: str | None = None,
    request_id: str = "",
    credentials: int | None = None,
    signin: Mapping[str, Any] | None = None,
    api_key: tuple[str, bytes] | None = None,
) -> RequestContext:
    """Switch the current transaction to the runtime role and set the variables for `user_id`.

    One statement, called as the connection's own (owner) role: crm_request_context() runs before the
    role switch in the same statement, and the runtime role itself may not call it, so code running as
    the runtime role cannot assume another identity. Must run inside a transaction (the settings are
    transaction-local). `credentials`: the epoch a token was issued under (crm migration 0010); a stale
    one gets nobody, with `revoked` set. None (sessions, commands) is not checked. `signin`: open this
    transaction's one sign-in under this policy (crm.signin.policy: client, window, limits, own), for the
    sign-in and refresh endpoints and me/password/ only (crm migration 0015). `api_key`: the key id and the
    SHA-256 of the secret a request presented instead of a user (crm migration 0023): the context is the
    key's user's, or nobody's when the key is unknown, revoked, expired or wrong.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("rls.begin() must run inside transaction.atomic()")
    if api_key is not None:
        return _begin_with_api_key(*api_key, request_id=request_id)
    with prepared(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config('crm.session_key', %s, true),"
            " set_config('crm.request_id', %s, true), c.tenant_id, c.role, c.book, c.revoked"
            " FROM crm_request_context(%s::bigint, %s::bigint, %s::jsonb) c",
            [
                runtime_role(),
                session_key or "",
                request_id,
                user_id,
                credentials,
                None if signin is None else json.dumps(dict(signin)),
            ],
        )
        row = cursor.fetchone()
    if row is not None and row[6]:
        return REVOKED
    if row is None or row[3] is None:
        return RequestContext(user_id=user_id) if user_id is not None else ANONYMOUS
    return RequestContext(user_id=user_id, tenant_id=row[3], role=row[4], book=tuple(row[5] or ()))


def _begin_with_api_key(key_id: str, digest: bytes, *, request_id: str) -> RequestContext:
    """As begin(), for an API key: crm_api_key_context() finds and checks the key as the owner, in the
    statement that switches to the runtime role, and sets its user's context."""
    with prepared(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config('crm.session_key', '', true),"
            " set_config('crm.request_id', %s, true), c.user_id, c.tenant_id, c.role, c.book"
            " FROM crm_api_key_context(%s, %s) c",
            [runtime_role(), request_id, key_id, digest],
        )
        row = cursor.fetchone()
    if row is None or row[3] is None or row[4] is None:
        return ANONYMOUS
    return RequestContext(
        user_id=row[3], tenant_id=row[4], role=row[5], book=tuple(row[6] or ()), api_key=True
    )


def end() -> None:
    """Drop the runtime role and variables before the transaction ends.

    Needed only when the request ran inside an outer transaction (tests): committing or rolling back
    the request's own transaction clears them anyway.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('crm.user_id', '', true), set_config('crm.tenant_id', '', true),"
            " set_config('crm.role', '', true), set_config('crm.book', '', true),"
            " set_config('crm.session_key', '', true), set_config('crm.request_id', '', true),"
            " set_config('crm.context_mac', '', true), set_config('crm.signin', '', true),"
            " set_config('crm.signin_mac', '', true),"
            " set_config('role', 'none', true)"
        )


@contextmanager
def acting_as(user_id: int | None, *, request_id: str = "") -> Iterator[RequestContext]:
    """Run a block as a user would through the API: runtime role, that user's tenant, role and book.

    For management commands and tests that must act on a tenant's data: there is no other way in.
    """
    with transaction.atomic():
        context = begin(user_id, request_id=request_id)
        yield context
        # On error (raised, or caught inside the block) the transaction or savepoint is rolled back,
        # which undoes the settings anyway.
        if not connection.needs_rollback:
            end()
