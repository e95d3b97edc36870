"""Tenancy services: creating a firm together with its first admin."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Value

from crm import text, timezones
from crm.models import Membership, Role, Tenant, User
from crm.text import NameKey


def tenant_create(*, name: str, admin_email: str, admin_password: str, time_zone: str = "UTC") -> Tenant:
    """Create a tenant and its first admin (a user with an admin membership), all or nothing.

    Runs as the database owner (a management command), outside row level security: creating a firm
    is the one write no tenant member may make. Raises ValidationError keyed by argument name.
    """
    errors: dict[str, list[str]] = {}
    # Stored NFC, without control or invisible characters, compared by crm_name_key (crm.text).
    try:
        name = text.normalized(name.strip())
    except text.ForbiddenCharacter as exc:
        errors["name"] = [str(exc)]
    try:
        email = text.normalized(User.objects.normalize_email(admin_email.strip()).lower())
    except text.ForbiddenCharacter as exc:
        errors["admin_email"] = [str(exc)]
        email = ""

    if "name" in errors:
        pass  # holds a forbidden character
    elif not name:
        errors["name"] = ["The tenant name must not be blank."]
    elif Tenant.objects.alias(key=NameKey("name")).filter(key=NameKey(Value(name))).exists():
        errors["name"] = [f'A tenant named "{name}" already exists.']

    if "admin_email" not in errors:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["admin_email"] = list(exc.messages)
        else:
            if User.objects.alias(key=NameKey("email")).filter(key=NameKey(Value(email))).exists():
                errors["admin_email"] = [f"A user with the email {email} already exists."]

    if not timezones.is_known(time_zone):
        errors["time_zone"] = [f'"{time_zone}" is not an IANA time zone name (such as "America/Chicago").']

    try:
        # The user is passed so that similarity validators, when configured, can compare with the email.
        validate_password(admin_password, user=User(email=email))
    except ValidationError as exc:
        errors["admin_password"] = list(exc.messages)

    if errors:
        raise ValidationError(errors)

    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, time_zone=time_zone)
            # is_staff: a firm's admin may sign in to the Django admin (row level security still applies).
            user = User.objects.create_user(email, admin_password, is_staff=True)
            Membership.objects.create(tenant=tenant, user=user, role=Role.ADMIN)
    except IntegrityError as exc:
        # A concurrent create won the race between the checks above and the unique indexes.
        raise ValidationError("A tenant with this name or a user with this email already exists.") from exc
    return tenant
