"""Endpoint secrets: generated here, shown once, kept encrypted at rest for the worker to sign with.

A signing secret cannot be hashed like a password: the worker needs it in clear to compute each
signature. It is a Standard Webhooks secret (`whsec_` + base64 of 32 random bytes), encrypted with Fernet
(AES-128-CBC and HMAC-SHA256, from `cryptography`) under WEBHOOK_SECRET_KEYS (or a key derived from
SECRET_KEY): a database dump or backup alone does not reveal it. The API returns it once, when the
endpoint is created or its secret rotated; afterwards nobody reads it through the API, admins included.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as random

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(32)).decode()


def _fernet(material: str) -> Fernet:
    # Any string makes a key: its SHA-256, as Fernet's 32 url-safe base64 bytes.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"webhooks.secrets:{material}".encode()).digest()))


def _keys() -> MultiFernet:
    materials = list(settings.WEBHOOK_SECRET_KEYS) or [settings.SECRET_KEY]
    return MultiFernet([_fernet(material) for material in materials])


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


class SecretUnreadable(Exception):
    """The stored secret was encrypted under a key no longer configured."""


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("the endpoint's secret was encrypted under another key") from error
