"""Load generated firms through COPY with triggers off, then check them and ANALYZE.

How: one transaction, as the owner, which must be a superuser (`session_replication_role = replica`
switches off every trigger, foreign keys included, and COPY into a table under forced RLS needs RLS
bypassed). The tables are locked against other writers, the id ranges reserved (ids are supplied, so
rows can name each other before they exist), each firm's tables copied in order, the identity
sequences moved past the new ids, then every rule the triggers would have kept is checked in SQL
(workbench.datagen.checks): one violation rolls everything back. No history is written for generated rows.

Repeatable: the same seed, scale, tenants and --as-of give the same rows (ids aside, which start after
whatever the database already holds).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from workbench.datagen.checks import run_checks
from workbench.datagen.firm import GENERATED_MARK, TABLES, Clock, FirmBuilder, Ids, Row
from workbench.datagen.plan import FirmPlan, firm_plans

__all__ = ["GENERATED_MARK", "GENERATED_PASSWORD", "GenerationError", "GenerationReport", "generate"]

# Every generated user signs in with this (hashed once per run: hashing dominates otherwise).
GENERATED_PASSWORD = "generated-pass-2026"
CHUNK = 50_000  # rows between progress lines


class GenerationError(Exception):
    """The data could not be generated (nothing was written)."""


@dataclass
class GenerationReport:
    seed: int
    scale: float
    as_of: dt.date
    tenant_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    plans: list[FirmPlan] = field(default_factory=list)
    checks: list[tuple[str, int]] = field(default_factory=list)
    load_seconds: float = 0.0
    check_seconds: float = 0.0
    analyze_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _expected_rows(plan: FirmPlan, table: str) -> int:
    """Rows a firm will put into `table`, relationship tables estimated (for progress and index plans)."""
    return round(
        {
            "tenant": 1,
            "crm_user": plan.managers + 2,
            "membership": plan.managers + 2,
            "organization": plan.principals + plan.distributors + plan.operators,
            "principal_assignment": plan.managers * 10 + 2,
            "distributor_authorization": plan.principals * 8,
            "customer_distributor": plan.operators * 1.8,
            "contact": plan.contacts,
            "product": plan.products,
            "product_distributor": plan.products * 2,
            "opportunity": plan.opportunities,
            "opportunity_product": plan.opportunities * 1.8,
            "opportunity_contact": plan.opportunities * 0.9,
            "interaction": plan.interactions,
            "sample": plan.interactions * 0.054,  # 60 % deal touches × 9 % samples
            "sample_line": plan.interactions * 0.11,
            # SALES_POINTS averages 1.4 per operator, bought in 85 % of 52 weeks (less the gained and lost).
            "sales_fact": plan.operators * 52,
        }[table]
    )


class Progress:
    """Progress lines: per table and chunk for one firm, per firm when there are many."""

    def __init__(self, report: Callable[[str], None] | None, plans: list[FirmPlan]) -> None:
        self.report = report
        self.expected = sum(_expected_rows(p, t) for p in plans for t in TABLES) or 1
        self.done = 0
        self.firms = len(plans)
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        if self.report is not None:
            self.report(f"[{time.perf_counter() - self.started:6.1f}s] {text}")

    def overall(self) -> str:
        return f"overall {min(99, int(100 * self.done / self.expected)):>2}%"

    def chunk(self, firm: int, table: str, rows: int, planned: int | None) -> None:
        if self.firms == 1:
            of = f" / {planned:,}" if planned else ""
            self.line(f"firm {firm + 1}/{self.firms}  {table:<26} {rows:>10,}{of}   {self.overall()}")

    def table_done(self, firm: int, table: str, rows: int, seconds: float) -> None:
        if self.firms == 1:
            rate = f"{rows / seconds:,.0f} rows/s" if seconds > 0 else ""
            self.line(
                f"firm {firm + 1}/{self.firms}  {table:<26} {rows:>10,} rows  {rate:>16}   {self.overall()}"
            )

    def firm_done(self, firm: int, rows: int) -> None:
        if self.firms > 1:
            self.line(f"firm {firm + 1}/{self.firms} loaded: {rows:,} rows   {self.overall()}")


def _planned(plan: FirmPlan, table: str) -> int | None:
    """The exact row count of the tables the plan fixes (None for relationship tables)."""
    if table in ("organization", "contact", "product", "opportunity", "interaction"):
        return _expected_rows(plan, table)
    return None


# Tables whose global unique indexes stay during the load (few rows; ids and emails checked live).
KEEP_INDEXES = frozenset({"tenant", "crm_user", "membership"})


def _drop_indexes(cursor: psycopg.Cursor[tuple[object, ...]], plans: list[FirmPlan]) -> list[tuple[str, str]]:
    """Drop the secondary indexes of the tables this load at least doubles; return (name, definition)
    to rebuild them. PostgreSQL builds an index from sorted rows far faster than it maintains one row
    by row (GIN above all). Primary keys and indexes behind constraints stay. Transactional: a failed
    load rolls the drop back; unique indexes are re-checked by their rebuild."""
    dropped: list[tuple[str, str]] = []
    for table in TABLES:
        if table in KEEP_INDEXES:
            continue
        cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
        existing = float(row[0]) if row else 0.0  # type: ignore[arg-type]
        if sum(_expected_rows(p, table) for p in plans) < existing:
            continue
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
            [table],
        )
        for name, definition in cursor.fetchall():
            dropped.append((str(name), str(definition)))
            cursor.execute(f'DROP INDEX "{name}"')
    return dropped


def _rebuild_indexes(
    cursor: psycopg.Cursor[tuple[object, ...]], indexes: list[tuple[str, str]], tracker: Progress
) -> None:
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for n, (name, definition) in enumerate(indexes, 1):
        try:
            cursor.execute(definition)
        except psycopg.Error as exc:
            raise GenerationError(f"rebuilding index {name} failed: {exc}") from exc
        if n % 10 == 0 or n == len(indexes):
            tracker.line(f"indexes rebuilt: {n}/{len(indexes)}")


def _check_privileges(cursor: psycopg.Cursor[tuple[object, ...]]) -> None:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    if not row or not row[0]:
        raise GenerationError(
            "generate_data loads with triggers off (session_replication_role), which needs a superuser"
            " connection: set DATABASE_URL to a superuser (the embedded server's postgres user is one)."
        )


def _check_columns(cursor: psycopg.Cursor[tuple[object, ...]]) -> None:
    """Fail early and clearly when a table gained a required column the generator does not fill."""
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s) AND is_nullable = 'NO'"
        " AND column_default IS NULL AND is_generated = 'NEVER' AND is_identity = 'NO'",
        [list(TABLES)],
    )
    missing = sorted(f"{t}.{c}" for t, c in cursor.fetchall() if c not in TABLES[str(t)])
    if missing:
        raise GenerationError(f"the generator does not fill required columns: {', '.join(missing)}")


def _reserve_ids(cursor: psycopg.Cursor[tuple[object, ...]]) -> tuple[dict[str, int], dict[str, str]]:
    """First free id and identity sequence of each table (the tables are locked: nobody else inserts)."""
    bases: dict[str, int] = {}
    sequences: dict[str, str] = {}
    for table in TABLES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        row = cursor.fetchone()
        assert row is not None and row[0], f"{table}.id has no identity sequence"
        sequences[table] = str(row[0])
        # The highest id taken: the table's, or the sequence's last value (NULL before its first call).
        cursor.execute(
            sql.SQL(
                "SELECT greatest((SELECT coalesce(max(id), 0) FROM {}),"
                " coalesce(pg_sequence_last_value(%s::regclass), 0))"
            ).format(sql.Identifier(table)),
            [row[0]],
        )
        top = cursor.fetchone()
        assert top is not None
        bases[table] = int(top[0]) + 1  # type: ignore[call-overload]
    return bases, sequences


def _copy(
    cursor: psycopg.Cursor[tuple[object, ...]],
    table: str,
    rows: Iterable[Row],
    on_chunk: Callable[[int], None],
) -> int:
    count = 0
    try:
        with cursor.copy(f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
                count += 1
                if count % CHUNK == 0:
                    on_chunk(count)
    except psycopg.Error as exc:
        raise GenerationError(f"COPY into {table} failed: {exc}") from exc
    return count


# The match keys the tables' match_keys triggers keep (ADR 0029), which COPY with triggers off skips: the
# triggers' expressions, set once over the new rows.
MATCH_KEYS = {
    "organization": "match_words = crm_name_words(name), match_city = crm_name_key(city),"
    " match_phone = crm_phone_key(phone)",
    "contact": "match_name = crm_name_key(first_name || ' ' || last_name),"
    " match_email = nullif(crm_name_key(email), ''),"
    " match_phone = crm_phone_key(coalesce(nullif(phone, ''), mobile))",
}


def _fill_match_keys(cursor: psycopg.Cursor[tuple[object, ...]], tenant_ids: list[int]) -> None:
    for table, assignments in MATCH_KEYS.items():
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE tenant_id = ANY(%s)", [tenant_ids])  # noqa: S608


def generate(
    *,
    scale: float,
    tenants: int = 1,
    seed: int = 1,
    as_of: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    analyze: bool = True,
) -> GenerationReport:
    """Generate `tenants` firms sharing `scale` (1 = one mid-sized firm, see workbench.datagen.plan).

    Raises GenerationError (nothing written) when the connection is not a superuser's or a check fails.
    """
    plans = firm_plans(scale, tenants)
    report = GenerationReport(seed=seed, scale=scale, as_of=as_of or timezone.now().date(), plans=plans)
    report.counts = dict.fromkeys(TABLES, 0)
    clock = Clock(report.as_of)
    password_hash = make_password(GENERATED_PASSWORD)
    tracker = Progress(progress, plans)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor: psycopg.Cursor[tuple[object, ...]] = wrapper.cursor
        _check_privileges(cursor)
        _check_columns(cursor)
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
        bases, sequences = _reserve_ids(cursor)
        dropped = _drop_indexes(cursor, plans)
        ids = Ids(bases)
        for index, plan in enumerate(plans):
            firm = FirmBuilder(
                plan=plan,
                rng=random.Random(f"{seed}:{index}"),
                ids=ids,
                clock=clock,
                index=index,
                password_hash=password_hash,
            )
            report.tenant_ids.append(firm.tenant_id)
            for table in TABLES:
                table_started = time.perf_counter()
                planned = _planned(plan, table)
                done_before = tracker.done

                def on_chunk(
                    rows: int,
                    table: str = table,
                    planned: int | None = planned,
                    before: int = done_before,
                    index: int = index,
                ) -> None:
                    tracker.done = before + rows
                    tracker.chunk(index, table, rows, planned)

                rows = _copy(cursor, table, firm.rows(table), on_chunk)
                tracker.done = done_before + rows
                report.counts[table] += rows
                tracker.table_done(index, table, rows, time.perf_counter() - table_started)
            tracker.firm_done(index, sum(firm.counts.values()))
        for table, sequence in sequences.items():
            if ids.next[table] > bases[table]:
                cursor.execute("SELECT setval(%s, %s)", [sequence, ids.next[table] - 1])
        _fill_match_keys(cursor, report.tenant_ids)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        _rebuild_indexes(cursor, dropped, tracker)
        report.load_seconds = time.perf_counter() - started
        if analyze:  # before the checks, so that their joins get plans made for the new row counts
            tracker.line("ANALYZE")
            analyzed = time.perf_counter()
            cursor.execute(f"ANALYZE {', '.join(TABLES)}")
            report.analyze_seconds = time.perf_counter() - analyzed

        tracker.line("checking integrity (what the bypassed triggers and foreign keys would refuse)")
        checked = time.perf_counter()
        report.checks = run_checks(report.tenant_ids)
        report.check_seconds = time.perf_counter() - checked
        broken = [(name, count) for name, count in report.checks if count]
        if broken:
            details = "; ".join(f"{name}: {count}" for name, count in broken)
            raise GenerationError(f"generated data breaks {len(broken)} rule(s), nothing written: {details}")
    return report
