"""DRF authentication that reuses what the RLS middleware already resolved for the request."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

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


class RequestApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>`; the middleware had the database check the key (crm.api_keys) and set
    the context of the key's user. An unknown key, another firm's, a revoked, expired or malformed one all
    get the same 401."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        django_request = request._request
        if not getattr(django_request, "api_key_presented", False):
            return None
        context = context_of(django_request)
        if not (context.api_key and context.is_member):
            raise exceptions.AuthenticationFailed(
                "The API key is invalid, expired or revoked.", code="api_key_not_valid"
            )
        # What DRF's request.user needs (an id, authenticated) without a query, as for a bearer token.
        return TokenUser(cast(Token, {"user_id": context.user_id})), None

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class RequestSessionAuthentication(SessionAuthentication):
    """The Django session (admin, browsable API), with CSRF checks on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        django_request = request._request
        if bearer_token(django_request) is not None or getattr(django_request, "api_key_presented", False):
            return None
        user = getattr(django_request, "user", None)
        if not user or not user.is_active or not user.is_authenticated:
            return None
        self.enforce_csrf(request)
        return user, None
