"""The principals a one-principal report is about, and those the dashboard offers to pick from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from reports.selectors.common import PRINCIPAL, fetch


@dataclass(frozen=True)
class PrincipalRef:
    id: int
    name: str


_PRINCIPAL_SQL = """
SELECT id, name FROM organization
 WHERE tenant_id = %(tenant)s AND id = %(principal)s AND type = {principal_type} AND deleted_at IS NULL
"""

_PRINCIPAL_CHOICES_SQL = """
SELECT id, name FROM organization
 WHERE tenant_id = %(tenant)s AND type = {principal_type} AND deleted_at IS NULL
 ORDER BY name, id
"""


def principal_of(*, tenant_id: int, principal_id: int) -> PrincipalRef | None:
    """The principal, if it exists for this user (in their book, for a manager or a viewer)."""
    query = sql.SQL(_PRINCIPAL_SQL).format(principal_type=PRINCIPAL)
    rows = fetch(query, {"tenant": tenant_id, "principal": principal_id})
    return PrincipalRef(**rows[0]) if rows else None


def principal_choices(*, tenant_id: int) -> Sequence[PrincipalRef]:
    """The principals this user sees (their book), by name: what the dashboard offers to pick from."""
    query = sql.SQL(_PRINCIPAL_CHOICES_SQL).format(principal_type=PRINCIPAL)
    return [PrincipalRef(**r) for r in fetch(query, {"tenant": tenant_id})]
