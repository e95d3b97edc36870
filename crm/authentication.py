"""DRF authentication that reuses what the RLS middleware already resolved for the request."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.models import TokenUser

from crm.middleware import CrmRequest, TokenRevoked, bearer_token
from crm.rls import context_of


class RequestJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access token>`; the middleware validated it and set the RLS context."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        django_request = request._request
        if bearer_token(django_request) is None:
            return None
        error = getattr(django_request, "jwt_error", None)
        if isinstance(error, TokenRevoked):
            raise exceptions.AuthenticationFailed(str(error.default_detail), code="token_revoked")
        if error is not None:
            raise exceptions.AuthenticationFailed(
                "The access token is invalid or expired.", code="token_not_valid"
            )
        context = context_of(django_request)
        if not context.is_member:
            raise exceptions.AuthenticationFailed(
                "This user is inactive or belongs to no firm.", code="user_inactive"
            )
        token = cast(CrmRequest, django_request).jwt_token
        return TokenUser(token), token


class RequestSessionAuthentication(SessionAuthentication):
    """The Django session (admin, browsable API), with CSRF checks on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        django_request = request._request
        if bearer_token(django_request) is not None:
            return None
        user = getattr(django_request, "user", None)
        if not user or not user.is_active or not user.is_authenticated:
            return None
        self.enforce_csrf(request)
        return user, None
