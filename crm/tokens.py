"""JWT views: token refresh checks the user is still active through crm_auth_user (users are under RLS)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from crm.api.limits import valid_id
from crm.auth_backend import auth_user


class TokenPairSerializer(serializers.Serializer):
    """A signed-in session: send `access` as a bearer token; trade `refresh` for a new access token."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")
    refresh = serializers.CharField(help_text="Refresh token (JWT) for `auth/token/refresh/`.")


class AccessTokenSerializer(serializers.Serializer):
    """A new access token (the refresh token stays valid until it expires)."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")


@extend_schema_serializer(component_name="TokenRefresh")
class ActiveUserTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        user_id = valid_id(refresh.payload.get("user_id"))
        user = auth_user(user_id=user_id) if user_id is not None else None
        if user is None or not user.is_active:
            raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
        return {"access": str(refresh.access_token)}


@extend_schema_view(
    post=extend_schema(operation_id="auth_token_obtain", summary="Sign in", responses=TokenPairSerializer)
)
class SignInView(TokenObtainPairView):
    """Trade an email and password for an access and a refresh token."""


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_refresh", summary="Refresh the access token", responses=AccessTokenSerializer
    )
)
class ActiveUserTokenRefreshView(TokenRefreshView):
    """Trade a refresh token for a new access token, while the user is still an active member."""

    serializer_class = ActiveUserTokenRefreshSerializer  # type: ignore[assignment]
