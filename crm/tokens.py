"""JWT views: token refresh checks the user is still active through crm_token_user() (users are under RLS,
and the runtime role may read the active flag and credentials epoch only of the user a sign-in found, of
the request's own user, or of one user per refresh request: crm migration 0015).

Refresh tokens rotate (ADR 0017, crm migration 0022): a sign-in opens a family (claim `fam`) and each
refresh trades the family's current token (claim `gen`) for the next; a rotated token presented again
revokes the family, and signing out (`auth/logout/`) revokes the presented token's family."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import (
    PasswordField,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenViewBase

from crm.api.limits import valid_id
from crm.middleware import TokenRevoked, credentials_epoch_of
from crm.signin import SignInLocked


class TokenPairSerializer(serializers.Serializer):
    """A signed-in session: send `access` as a bearer token; trade `refresh` for a new access token."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")
    refresh = serializers.CharField(help_text="Refresh token (JWT) for `auth/token/refresh/`.")


class RefreshedTokensSerializer(serializers.Serializer):
    """A new access token and the refresh token that replaces the one traded (which is spent: presented
    again, it ends the session)."""

    access = serializers.CharField(help_text="Access token (JWT), short-lived.")
    refresh = serializers.CharField(help_text="The next refresh token; keep it instead of the one sent.")


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


class RefreshTokenReused(InvalidToken):
    """A refresh token already traded, presented again: someone else holds its session's tokens. Its
    whole family is revoked, and the revocation commits with the 401."""

    default_detail = gettext_lazy(
        "This refresh token was already used; its session is ended everywhere. Sign in again."
    )
    default_code = "token_reused"
    commit_anyway = True


class RefreshTokenRevoked(InvalidToken):
    """A refresh token of a family that ended: signed out, or a token of it was reused."""

    default_detail = gettext_lazy(
        "This refresh token's session has ended (signed out, or a token of it reused); sign in again."
    )
    default_code = "token_revoked"


def refresh_family_open(user_id: int, expires_at: dt.datetime) -> str:
    """A new refresh-token family for `user_id`, live until `expires_at` (crm migration 0022)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_refresh_family_open(%s, %s)", [user_id, expires_at])
        return str(cursor.fetchone()[0])


def refresh_family_rotate(*, family: str, user_id: int, generation: int, expires_at: dt.datetime) -> str:
    """Trade `generation` of `family`: "rotated", "reused" (now revoked) or "revoked" (crm migration 0022)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_refresh_rotate(%s, %s, %s, %s)", [family, user_id, generation, expires_at])
        return str(cursor.fetchone()[0])


def refresh_family_revoke(*, family: str, user_id: int) -> None:
    """End `family` (signing out); nothing happens if it has ended already."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_refresh_revoke(%s, %s)", [family, user_id])


def family_of(token: Token) -> tuple[str, int] | None:
    """The token's family id and generation (claims `fam`, `gen`), or None when either is missing or not
    of its type (a refresh token from before rotation, which is refused)."""
    family, generation = token.get("fam"), token.get("gen")
    if not isinstance(family, str) or not isinstance(generation, int) or isinstance(generation, bool):
        return None
    if not 0 <= generation < 2**63:
        return None
    try:
        return str(uuid.UUID(family)), generation
    except ValueError:
        return None


def expiry_of(token: Token) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(token["exp"]), tz=dt.UTC)


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
    what signing in issues, the first of a new family of refresh tokens. simplejwt's bare
    `RefreshToken.for_user` lacks these claims and is refused."""
    token = RefreshToken.for_user(user)
    token["cred"] = credentials_epoch(user.pk)
    token["fam"] = refresh_family_open(user.pk, expiry_of(token))
    token["gen"] = 0
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
        if user_id is None or found is None or not found[0]:
            raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
        if credentials_epoch_of(refresh) != found[1]:
            raise TokenRevoked()
        family = family_of(refresh)
        if family is None:
            raise RefreshTokenRevoked()
        # The next of the family: the same claims (user, credentials epoch, family), a new id and lifetime.
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        outcome = refresh_family_rotate(
            family=family[0], user_id=user_id, generation=family[1], expires_at=expiry_of(refresh)
        )
        if outcome == "reused":
            raise RefreshTokenReused()
        if outcome != "rotated":
            raise RefreshTokenRevoked()
        refresh["gen"] = family[1] + 1
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


class SignOutSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, write_only=True, help_text="Your refresh token.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            refresh = RefreshToken(attrs["refresh"])
        except (OverflowError, ValueError):
            raise InvalidToken("Token is invalid or expired") from None
        except TokenError as error:
            raise InvalidToken(error.args[0]) from None
        user_id = valid_id(refresh.payload.get("user_id"))
        family = family_of(refresh)
        if user_id is not None and family is not None:
            refresh_family_revoke(family=family[0], user_id=user_id)
        return {}


@extend_schema_view(
    post=extend_schema(operation_id="auth_token_obtain", summary="Sign in", responses=TokenPairSerializer)
)
class SignInView(TokenObtainPairView):
    """Trade an email and password for an access and a refresh token."""

    serializer_class = SignInSerializer  # type: ignore[assignment]
    problem_statuses = (429,)  # too many failed sign-ins (crm.signin)


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token_refresh", summary="Refresh the tokens", responses=RefreshedTokensSerializer
    )
)
class ActiveUserTokenRefreshView(TokenRefreshView):
    """Trade a refresh token for a new access token and the next refresh token, while the user is still an
    active member. The refresh token sent is spent: sent again, it is a 401 (`code` `token_reused`) and
    ends its session, the refresh token issued in its place included, since only a copy kept by someone
    else would be sent twice."""

    serializer_class = ActiveUserTokenRefreshSerializer  # type: ignore[assignment]


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_logout", summary="Sign out", request=SignOutSerializer, responses={204: None}
    )
)
class SignOutView(TokenViewBase):
    """End the session of a refresh token: it, and every refresh token issued from the same sign-in,
    are refused from now on (a 204 also when it had ended already). Access tokens already issued live
    until they expire (`JWT_ACCESS_MINUTES`)."""

    serializer_class = SignOutSerializer  # type: ignore[assignment]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(status=status.HTTP_204_NO_CONTENT)
