"""Sign-in by email. Users are under RLS, and nobody is known before sign-in: the lookup goes through the
sign-in the middleware opened for this request (crm.signin, crm migration 0015), which finds the user by
the key the lockout counts under. Sessions find their user by id through crm_auth_user(), which only the
connection's own role may run (the middleware reads the session before it switches to the runtime role)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.http import HttpRequest

from crm import rls, signin
from crm.models import User


def session_user(user_id: int) -> User | None:
    """The user a session names, read by the connection's own role (the runtime role may not)."""
    users = list(User.objects.raw("SELECT * FROM crm_auth_user(NULL, %s)", [user_id]))
    return users[0] if len(users) == 1 else None


class EmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if not email or password is None:
            return None
        if request is None:
            # Outside a request (a shell, a command, a test): open this transaction's sign-in as the
            # middleware does for the sign-in endpoints; only the connection's own role can.
            with transaction.atomic():
                rls.begin(None, signin=signin.policy("-"))
                try:
                    return self._check(None, email, password)
                finally:
                    rls.end()
        return self._check(request, email, password)

    def _check(self, request: HttpRequest | None, email: str, password: str) -> User | None:
        # Failed sign-ins are counted per account and per client (crm.signin): SignInLocked propagates
        # to the API (429) and the admin form, which say so.
        signin.attempt(email=email)
        user = signin.user()
        if user is None:
            User().set_password(
                password
            )  # same work as a real check: no timing difference for unknown emails
            signin.failed()
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            signin.succeeded()
            return user
        signin.failed()
        return None

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = session_user(int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
