"""Running the checks: their order, each in its own savepoint under a timeout, and the Report they make."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from crm.ops.dbhealth.base import SEVERITY, Check, Db, Status, Thresholds, worst
from crm.ops.dbhealth.constraints import check_not_valid_constraints, check_tables_without_primary_key
from crm.ops.dbhealth.indexes import (
    check_duplicate_indexes,
    check_foreign_keys_without_index,
    check_invalid_indexes,
    check_redundant_indexes,
    check_unused_indexes,
)
from crm.ops.dbhealth.maintenance import check_autovacuum, check_sequences, check_wraparound
from crm.ops.dbhealth.queue import check_job_queue
from crm.ops.dbhealth.security import (
    check_rls_always_true_policy,
    check_rls_command_without_policy,
    check_rls_disabled,
    check_rls_not_forced,
    check_rls_per_row_current_setting,
    check_rls_policy_ignores_tenant,
    check_rls_unverified_context,
    check_rls_views_bypass,
    check_runtime_role,
    check_security_definer_functions,
)
from crm.ops.dbhealth.sessions import (
    check_blocked_queries,
    check_connections,
    check_idle_in_transaction,
    check_long_queries,
    check_replication,
)
from crm.ops.dbhealth.storage import check_bloat, check_cache_hit_rate

CHECKS: tuple[Callable[[Db], Check], ...] = (
    check_invalid_indexes,
    check_duplicate_indexes,
    check_redundant_indexes,
    check_unused_indexes,
    check_foreign_keys_without_index,
    check_tables_without_primary_key,
    check_not_valid_constraints,
    check_bloat,
    check_cache_hit_rate,
    check_wraparound,
    check_autovacuum,
    check_sequences,
    check_connections,
    check_idle_in_transaction,
    check_long_queries,
    check_blocked_queries,
    check_replication,
    check_job_queue,
    check_rls_disabled,
    check_rls_not_forced,
    check_rls_command_without_policy,
    check_rls_always_true_policy,
    check_rls_per_row_current_setting,
    check_rls_policy_ignores_tenant,
    check_rls_unverified_context,
    check_rls_views_bypass,
    check_security_definer_functions,
    check_runtime_role,
)
CHECK_NAMES = tuple(check.__name__.removeprefix("check_") for check in CHECKS)


@dataclass
class Report:
    database: str
    server_version: str
    connected_as: str
    superuser: bool
    checks: list[Check]
    seconds: float

    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {status: sum(check.status == status for check in self.checks) for status in SEVERITY}

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "server_version": self.server_version,
            "connected_as": self.connected_as,
            "superuser": self.superuser,
            "status": self.status,
            "counts": self.counts(),
            "seconds": round(self.seconds, 2),
            "checks": [check.as_dict() for check in self.checks],
        }


def run_checks(
    connection: BaseDatabaseWrapper,
    *,
    thresholds: Thresholds | None = None,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the checks (all, or those named in `only`) on `connection`, each in its own savepoint."""
    db = Db(connection, thresholds or Thresholds())
    unknown = set(only) - set(CHECK_NAMES)
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
    selected = [
        (name, check) for name, check in zip(CHECK_NAMES, CHECKS, strict=True) if not only or name in only
    ]
    started = time.perf_counter()
    results = []
    with transaction.atomic(using=connection.alias):
        about = db.one(
            """SELECT current_database() AS database, current_setting('server_version') AS version,
                      current_user AS "user", rolsuper AS superuser
                 FROM pg_roles WHERE rolname = current_user"""
        )
        # set_config(…, true) lasts until the outer transaction ends: restore the caller's values after.
        saved = db.one(
            "SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt"
        )
        db.rows(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
            [str(db.thresholds.statement_timeout_ms), str(db.thresholds.lock_timeout_ms)],
        )
        for position, (name, check) in enumerate(selected, start=1):
            if progress:
                progress(f"[{position:>2}/{len(selected)}] {name}")
            try:
                with transaction.atomic(using=connection.alias):
                    results.append(check(db))
            except DatabaseError as error:
                results.append(
                    Check(
                        name,
                        "warn",
                        f"could not run: {str(error).strip().splitlines()[0]}",
                        {},
                        "Run it again; "
                        "a timeout means a lock or a slow catalog, a permission error a non-superuser connection.",
                    )
                )
        db.rows(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
            [saved["st"], saved["lt"]],
        )
    return Report(
        database=about["database"],
        server_version=about["version"],
        connected_as=about["user"],
        superuser=bool(about["superuser"]),
        checks=results,
        seconds=time.perf_counter() - started,
    )
