"""Failed sign-ins lock an account and a client out for a while, for the API and the admin alike.

The counts live in PostgreSQL (crm migration 0011), so every worker and every app node shares them and
the embedded set-up needs nothing more. django-axes would do the bookkeeping too, but it writes through
the ORM in the request's transaction, which this service rolls back for every 4xx problem (the failure
would vanish with it), and keeps its tables readable by whoever can write them; DRF throttling counts
requests, not failures, and needs a shared cache this project does not otherwise run.

How a sign-in goes (crm.auth_backend.EmailBackend calls these, inside the sign-in the middleware opened
for the sign-in and refresh endpoints, crm migration 0015): `attempt()` takes transaction locks on the
client, then on the account, so parallel guesses from one client or at one account queue and each sees
the failures committed before it; the database computes the account key from crm_name_key(), the key the
user is found by, in the same statement, and raises SignInLocked while too many failures of this account
or this client fall in the window; `user()` is the user that attempt found; a wrong password is recorded
with `failed()` in the same transaction, which commits (crm.tokens and the admin form keep it); the right
one clears the account's failures with `succeeded()`. An unknown email is counted like a known one, and a
locked account refuses the right password as it does a wrong one, so a stranger learns nothing about
which accounts exist or which password was right. The runtime role can neither open a sign-in itself nor
name another account to `failed()` or `succeeded()`: they act on this transaction's attempt only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from crm.models import User


class SignInLocked(Exception):
    """Too many failed sign-ins for this account or from this client; try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} seconds.")
        self.retry_after = retry_after


def client_key(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or with SIGNIN_TRUSTED_PROXIES = n > 0 the n-th address from the
    right of X-Forwarded-For (what the nearest trusted proxy saw). IPv6 clients are counted per /64."""
    if request is None:
        return "-"
    address = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.SIGNIN_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "-"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def enabled() -> bool:
    return settings.SIGNIN_MAX_FAILURES > 0 or settings.SIGNIN_MAX_FAILURES_PER_CLIENT > 0


def policy(client: str, *, own: bool = False) -> dict[str, Any]:
    """What a sign-in opened for a request counts under: its client, the window and the limits (0 is no
    limit), from the settings. Given to the database by the connection's own role when it opens the
    sign-in (crm.rls.begin), so code running as the runtime role cannot change it. `own`: only the
    request's own user may be attempted (a password proved again)."""
    huge = 2**31 - 1
    return {
        "client": client,
        "window": settings.SIGNIN_WINDOW_SECONDS,
        "max_account": settings.SIGNIN_MAX_FAILURES or huge,
        "max_client": settings.SIGNIN_MAX_FAILURES_PER_CLIENT or huge,
        "own": own,
    }


def attempt(*, email: str) -> None:
    """Start this transaction's sign-in: raise SignInLocked while this account or this client has too
    many failures in the window. Made with the limits off too: `user()` answers for this attempt alone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_signin_attempt(%s)", [email])
        row = cursor.fetchone()
    retry_after = int(row[0]) if row else 0
    if retry_after > 0:
        raise SignInLocked(retry_after)


def user() -> User | None:
    """The user this transaction's attempt found by its email (with the password hash to check)."""
    users = list(User.objects.raw("SELECT * FROM crm_signin_user()"))
    return users[0] if len(users) == 1 else None


def failed() -> None:
    """Count this transaction's attempt as a failure of its account and client (with both limits off,
    nothing is recorded)."""
    if enabled():
        with connection.cursor() as cursor:
            cursor.execute("SELECT crm_signin_failed()")


def succeeded() -> None:
    """The right password for this transaction's attempt: its account's failures are forgotten."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_signin_succeeded()")
