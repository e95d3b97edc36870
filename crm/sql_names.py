"""Table, column and role names spliced into SQL: checked to be plain identifiers, composed with psycopg's sql."""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured
from psycopg import sql

# Lower case, as PostgreSQL folds an unquoted name, within its 63 bytes: the same name quoted or not.
PLAIN_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def plain(name: str, what: str = "identifier") -> sql.SQL:
    """`name`, checked to be a plain identifier, to splice unquoted. SQL frozen into migrations (trigger
    bodies, search functions) names its tables and columns so; sql.Identifier's quotes would change it."""
    if not PLAIN_IDENTIFIER.match(name):
        raise ImproperlyConfigured(f"not a plain {what}: {name!r}")
    return sql.SQL(name)
