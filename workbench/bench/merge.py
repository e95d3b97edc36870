"""The merge benchmark (ADR 0029): two duplicate accounts of the generated firm, each with N interactions
(and contacts, opportunities, a distributor link), merged through the API as the firm's typical Sales
Manager; each run times the POST alone, on fresh accounts (a merge cannot be sent twice).

The accounts are added to the firm for good (named "Benchmark merge …"): run it on a benchmark database.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from crm import rls
from crm.tokens import tokens_for
from interactions.models import Interaction
from opportunities.models import Opportunity
from organizations.models import CustomerDistributor, Organization, OrganizationType
from workbench.bench import procstat
from workbench.bench.scenario import API, NoGeneratedData, generated_tenant, typical_manager
from workbench.bench.stats import format_table

CONTACTS = 5
OPPORTUNITIES = 5


@dataclass(frozen=True)
class MergeResult:
    interactions_each: int
    moved_rows: int
    milliseconds: float
    queries: int
    status: int
    # CPU the merge cost, whatever else the machine runs: this process (the request in-process) and its
    # PostgreSQL backend (/proc, when the database is on this machine; None otherwise).
    app_cpu_ms: float = 0.0
    db_cpu_ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "interactions_each": self.interactions_each,
            "moved_rows": self.moved_rows,
            "ms": round(self.milliseconds, 1),
            "queries": self.queries,
            "status": self.status,
            "app_cpu_ms": round(self.app_cpu_ms, 1),
            "db_cpu_ms": None if self.db_cpu_ms is None else round(self.db_cpu_ms, 1),
        }


def _account(tenant_id: int, name: str, principal: int, distributor: int, manager: int, n: int) -> int:
    """A customer with contacts, opportunities, a distributor and `n` interactions, as the manager."""
    account = Organization.objects.create(tenant_id=tenant_id, name=name, type=OrganizationType.CUSTOMER)
    contacts = Contact.objects.bulk_create(
        Contact(tenant_id=tenant_id, organization=account, first_name=f"Buyer {i}", last_name=name[-8:])
        for i in range(CONTACTS)
    )
    Opportunity.objects.bulk_create(
        Opportunity(
            tenant_id=tenant_id,
            name=f"{name} placement {i}",
            principal_id=principal,
            customer=account,
            owner_id=manager,
            weekly_case_volume=10,
            probability=20,
        )
        for i in range(OPPORTUNITIES)
    )
    CustomerDistributor.objects.create(tenant_id=tenant_id, customer=account, distributor_id=distributor)
    start = timezone.now() - dt.timedelta(days=365)
    Interaction.objects.bulk_create(
        (
            Interaction(
                tenant_id=tenant_id,
                type="call",
                occurred_at=start + dt.timedelta(hours=i),
                subject=f"Menu review {i}",
                organization=account,
                contact=contacts[i % CONTACTS],
                principal_id=principal,
                user_id=manager,
            )
            for i in range(n)
        ),
        batch_size=1000,
    )
    return account.pk


def run(*, interactions: int, repeat: int = 3, log: Callable[[str], object] = print) -> list[MergeResult]:
    tenant = generated_tenant()
    if tenant is None:
        raise NoGeneratedData("no generated firm in this database: run generate_data first")
    manager, book = typical_manager(tenant)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM organization WHERE tenant_id = %s AND type = 'distributor' AND deleted_at IS NULL"
            " ORDER BY id LIMIT 1",
            [tenant.pk],
        )
        found = cursor.fetchone()
    if found is None:
        raise NoGeneratedData(f"firm {tenant.pk} has no distributor")
    distributor = found[0]
    # One persistent connection for the command and its in-process requests (request_finished would close
    # it otherwise): the merge's backend is the one whose CPU is read.
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = None
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens_for(manager).access_token}", HTTP_HOST="localhost")
    results = []
    for attempt in range(repeat):
        mark = uuid.uuid4().hex[:8]
        log(f"merge {attempt + 1}/{repeat}: two accounts with {interactions:,} interactions each…")
        with transaction.atomic(), rls.acting_as(manager.pk):
            survivor = _account(
                tenant.pk, f"Benchmark merge {mark} Grill", book[0], distributor, manager.pk, interactions
            )
            merged = _account(
                tenant.pk, f"BENCHMARK MERGE – {mark} grill", book[0], distributor, manager.pk, interactions
            )
        backend = _backend_pid()
        with CaptureQueriesContext(connection) as queries:
            db_before = procstat.stat(backend) if backend else None
            cpu_before, started = time.process_time(), time.perf_counter()
            response = client.post(
                f"{API}/organizations/{survivor}/merge/", {"merge": [merged]}, content_type="application/json"
            )
            elapsed = (time.perf_counter() - started) * 1000
            app_cpu = (time.process_time() - cpu_before) * 1000
            db_after = procstat.stat(backend) if backend else None
        db_cpu = None
        if db_before is not None and db_after is not None:
            db_cpu = procstat.seconds(db_after.own_ticks - db_before.own_ticks) * 1000
        moved = interactions + CONTACTS + OPPORTUNITIES + 1
        results.append(
            MergeResult(
                interactions,
                moved,
                elapsed,
                len(queries.captured_queries),
                response.status_code,
                app_cpu,
                db_cpu,
            )
        )
        if response.status_code != 200:
            raise RuntimeError(f"the merge answered {response.status_code}: {response.content[:500]!r}")
    return results


def _backend_pid() -> int | None:
    """This connection's PostgreSQL backend, when it runs on this machine (its /proc entry is readable)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    return pid if procstat.stat(pid) is not None else None


def render(results: list[MergeResult]) -> str:
    rows = [
        [
            str(i + 1),
            f"{r.interactions_each:,}",
            f"{r.moved_rows:,}",
            f"{r.milliseconds:,.0f}",
            f"{r.app_cpu_ms:,.0f}",
            "n/a" if r.db_cpu_ms is None else f"{r.db_cpu_ms:,.0f}",
            str(r.queries),
        ]
        for i, r in enumerate(results)
    ]
    table = format_table(
        ["run", "interactions each", "rows moved", "merge ms", "app CPU ms", "db CPU ms", "queries"], rows
    )
    best = min(r.milliseconds for r in results)
    cpu = min(r.app_cpu_ms + (r.db_cpu_ms or 0) for r in results)
    return (
        f"{table}\n\nBest {best:,.0f} ms wall, {cpu:,.0f} ms CPU (app + database) (target: at most 1,000 ms"
        " for 1,000 interactions each at scale 20)."
    )
