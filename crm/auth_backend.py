"""Sign-in by email. Users are under RLS, and nobody is known before sign-in, so the lookup goes
through crm_auth_user(), a SECURITY DEFINER function that returns one user by email or id."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from crm import signin
from crm.models import User


def auth_user(*, email: str | None = None, user_id: int | None = None) -> User | None:
    users = list(User.objects.raw("SELECT * FROM crm_auth_user(%s, %s)", [email, user_id]))
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
        # Failed sign-ins are counted per account and per client (crm.signin): SignInLocked propagates
        # to the API (429) and the admin form, which say so.
        account, client = signin.account_key(email), signin.client_key(request)
        signin.check(account=account, client=client)
        user = auth_user(email=email)
        if user is None:
            User().set_password(
                password
            )  # same work as a real check: no timing difference for unknown emails
            signin.failed(account=account, client=client)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            signin.succeeded(account=account)
            return user
        signin.failed(account=account, client=client)
        return None

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = auth_user(user_id=int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
