"""JWT views: token refresh checks the user is still active through crm_token_user() (users are under RLS,
and the runtime role may read the active flag and credentials epoch only of the user a sign-in found, of
the request's own user, or of one user per refresh request: crm migration 0015)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import APIException, AuthenticationFailed, Throttled
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from crm.api.limits import valid_id
from crm.middleware import TokenRevoked, credentials_epoch_of
from crm.signin import SignInLocked


class TokenPairSerializer(serializers.Serializer):
    """A signed-in session: send `access` as a bearer token; trade `refresh` for a new access token."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")
    refresh = serializers.CharField(help_text="Refresh token (JWT) for `auth/token/refresh/`.")


class AccessTokenSerializer(serializers.Serializer):
    """A new access token (the refresh token stays valid until it expires)."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")


class TooManySignIns(Throttled):
    """429: too many failed sign-ins for this account or from this address (crm.signin)."""

    default_detail = "Too many failed sign-ins for this account or from this address."
    default_code = "signin_locked"

    def __init__(self, wait: int) -> None:
        # Not Throttled's own __init__, which appends "Expected available in …" to a detail that says it.
        APIException.__init__(
            self, f"Too many failed sign-ins for this account or from this address; try again in {wait} s."
        )
        self.wait = wait


class SignInFailed(AuthenticationFailed):
    """A wrong email or password: the failure it recorded (crm.signin) must commit with the 401."""

    commit_anyway = True


def token_user(user_id: int) -> tuple[bool, int] | None:
    """Whether the user is active, and their current credentials epoch (crm migration 0010), read afresh."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_active, credentials_epoch FROM crm_token_user(%s)", [user_id])
        row = cursor.fetchone()
    return (bool(row[0]), int(row[1])) if row is not None else None


def credentials_epoch(user_id: int) -> int:
    """The user's current credentials epoch, read afresh: signing in may have just re-hashed the password,
    which moves it on."""
    found = token_user(user_id)
    return found[1] if found is not None else -1


def tokens_for(user: Any) -> RefreshToken:
    """A refresh token for `user` (its `.access_token` the access token), carrying the credentials epoch:
    what signing in issues. simplejwt's bare `RefreshToken.for_user` lacks the claim and is refused."""
    token = RefreshToken.for_user(user)
    token["cred"] = credentials_epoch(user.pk)
    return token


@extend_schema_serializer(component_name="TokenObtainPair")
class SignInSerializer(TokenObtainPairSerializer):
    """Email and password; tokens carry the credentials epoch they were issued under (claim `cred`)."""

    @classmethod
    def get_token(cls, user: Any) -> Token:
        return tokens_for(user)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bounded before the database or a hasher sees them: a 1 MB email cost ~2 s of a worker. 254 is
        # the longest address SMTP carries (RFC 5321) and the column's length; 1024 is far beyond any
        # passphrase or generated password, and keeps what PBKDF2 and the validators are handed small.
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=254)
        self.fields["password"] = PasswordField(max_length=1024)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except SignInLocked as locked:
            raise TooManySignIns(locked.retry_after) from None
        except AuthenticationFailed as failed:
            raise SignInFailed(failed.detail, getattr(failed, "default_code", None)) from None


@extend_schema_serializer(component_name="TokenRefresh")
class ActiveUserTokenRefreshSerializer(TokenRefreshSerializer):
    # A refresh token this service signs is a few hundred characters; anything far longer is refused
    # before it is decoded.
    refresh = serializers.CharField(max_length=4096)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            refresh = RefreshToken(attrs["refresh"])
        except (OverflowError, ValueError):  # signed by us, yet an `exp` no date can hold (1e30)
            raise InvalidToken("Token is invalid or expired") from None
        user_id = valid_id(refresh.payload.get("user_id"))
        found = token_user(user_id) if user_id is not None else None
        if found is None or not found[0]:
            raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
        if credentials_epoch_of(refresh) != found[1]:
            raise TokenRevoked()
        return {"access": str(refresh.access_token)}


@extend_schema_view(
    post=extend_schema(operation_id="auth_token_obtain", summary="Sign in", responses=TokenPairSerializer)
)
class SignInView(TokenObtainPairView):
    """Trade an email and password for an access and a refresh token."""

    serializer_class = SignInSerializer  # type: ignore[assignment]
    problem_statuses = (429,)  # too many failed sign-ins (crm.signin)


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_refresh", summary="Refresh the access token", responses=AccessTokenSerializer
    )
)
class ActiveUserTokenRefreshView(TokenRefreshView):
    """Trade a refresh token for a new access token, while the user is still an active member."""

    serializer_class = ActiveUserTokenRefreshSerializer  # type: ignore[assignment]
