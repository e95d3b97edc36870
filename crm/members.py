"""Services for the firm's members: a user and their membership are written together."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from crm import signin
from crm.models import Membership, User


class WrongPassword(Exception):
    """The current password given was not the member's."""


def member_create(
    *, email: str, role: str, password: str | None = None, first_name: str = "", last_name: str = ""
) -> Membership:
    """A new user in the request's firm, created with their membership by crm_create_member(), which
    refuses anyone but an admin of the firm. Without a password the user cannot sign in until one is set."""
    user = User(email=email.strip().lower(), first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT crm_create_member(%s, %s, %s, %s, %s)",
            [user.email, first_name, last_name, user.password, role],
        )
        row = cursor.fetchone()
    assert row is not None
    return Membership.objects.select_related("user").get(user_id=row[0])


def member_update(
    *,
    membership: Membership,
    role: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> Membership:
    """Change what is given. A new password (already validated) replaces the old one at once; the member's
    sessions end with it (Django checks each session's password-derived hash on every request)."""
    with transaction.atomic():
        if role is not None and role != membership.role:
            membership.role = role
            membership.save(update_fields=["role"])
        user = membership.user
        changed = []
        for name, value in (("first_name", first_name), ("last_name", last_name), ("is_active", is_active)):
            if value is not None and getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        if password is not None:
            user.set_password(password)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
    return membership


def member_set_time_zone(*, user_id: int, time_zone: str | None) -> None:
    """A member's own time zone (None: the firm's), set by crm_set_member_time_zone(): by themselves, or an
    admin of their firm (crm migration 0028)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_set_member_time_zone(%s, %s)", [user_id, time_zone])


def firm_set_time_zone(time_zone: str) -> None:
    """The firm's time zone, set by crm_set_firm_time_zone(): its admins only (crm migration 0028)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_set_firm_time_zone(%s)", [time_zone])


def member_deactivate(*, membership: Membership) -> None:
    """Members are never deleted (their name stays on what they did): they can no longer sign in."""
    member_update(membership=membership, is_active=False)


def member_change_own_password(*, user: User, current_password: str, new_password: str) -> None:
    """A member changes their own password, proving the current one first. A wrong current password is
    a failed sign-in of the account (crm.signin): a stolen access token cannot be used to guess it. The new
    one must pass the password validators (Django's ValidationError keyed by `new_password`, a 400). Changing the password moves
    the credentials epoch on: every token issued before dies (crm migration 0010), and the sessions end."""
    signin.attempt(email=user.email)  # the request's own sign-in, opened `own` by the middleware
    if not user.check_password(current_password):
        signin.failed()
        raise WrongPassword
    signin.succeeded()
    if new_password == current_password:  # the current one was just proved: no second hash needed
        raise ValidationError({"new_password": ["The new password must differ from the current one."]})
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as refused:  # the field's errors (a 400 naming new_password)
        raise ValidationError({"new_password": refused.error_list}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
