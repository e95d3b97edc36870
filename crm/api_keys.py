"""API keys: how a key is made, read from a request, and revoked (crm migration 0023 holds the rules)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models.functions import Now

from crm.models import ApiKey, PrincipalAssignment, Role

# crm_<key id>_<secret>: the prefix lets secret scanners and people recognise a key; the key id (64 random
# bits, hex) is public and finds the key; the secret (256 random bits, URL-safe base64) is never stored,
# only its SHA-256.
KEY_PREFIX = "crm_"
_KEY = re.compile(r"crm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
SCHEME = "api-key"  # Authorization: Api-Key <key> (compared without case, as HTTP schemes are)
KEY_ROLES = (Role.MANAGER, Role.VIEWER)
# A key's roles as choices (the API's and the schema's ApiKeyRoleEnum): never admin.
KEY_ROLE_CHOICES = [(role.value, role.label) for role in KEY_ROLES]


@dataclass(frozen=True)
class PresentedKey:
    """What a request presented: the key's public id and the SHA-256 of its secret (never the secret)."""

    key_id: str
    digest: bytes


# No key has it: refused by the database as an unknown key is.
MALFORMED = PresentedKey(key_id="", digest=b"")


def digest_of(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def parse(raw: str) -> PresentedKey | None:
    """A key as the service makes them, or None; the secret leaves this function only as its digest."""
    found = _KEY.fullmatch(raw.strip())
    if found is None:
        return None
    return PresentedKey(key_id=found[1], digest=digest_of(found[2]))


def presented_key(authorization: str) -> PresentedKey | None:
    """The key an Authorization header presents with the Api-Key scheme, or None for another scheme. A
    malformed key is presented as one that matches nothing, so the database refuses it like any other."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return parse(value) or MALFORMED


@dataclass(frozen=True)
class CreatedKey:
    api_key: ApiKey
    key: str  # the whole key, secret included: shown once, at creation, and kept nowhere


def api_key_create(
    *, name: str, role: str, book: Iterable[int] = (), expires_at: datetime | None = None
) -> CreatedKey:
    """A new key of the request's firm, with its backing user, membership and book, made by
    crm_create_api_key(), which refuses anyone but a verified admin and any role but manager or viewer.
    The book's assignments are written as the admin, so their reference checks (a principal of the firm)
    run as for any book."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT crm_create_api_key(%s, %s, %s, %s, %s)",
                [name, role, key_id, digest_of(secret), expires_at],
            )
            row = cursor.fetchone()
        assert row is not None
        api_key = ApiKey.objects.select_related("user__membership").get(pk=row[0])
        for principal_id in sorted(set(book)):
            PrincipalAssignment.objects.create(
                tenant_id=api_key.tenant_id, user_id=api_key.user_id, principal_id=principal_id
            )
    return CreatedKey(api_key=api_key, key=f"{KEY_PREFIX}{key_id}_{secret}")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoked for good, at once: the database stamps the time and who, and deactivates the key's user in
    the same statement (crm_api_key_revoked), so the next request with the key is a 401."""
    if api_key.revoked_at is None:
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=Now())
        api_key.refresh_from_db()
    return api_key
