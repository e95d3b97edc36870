"""generate_data: the plan's proportions, repeatable rows, and data the database's own rules accept."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from crm.models import Tenant
from workbench.datagen import SCALE_ONE, FirmPlan, firm_plans, generate
from workbench.datagen.firm import TABLES, Clock, FirmBuilder, Ids

AS_OF = dt.date(2026, 6, 1)


def test_scale_one_is_one_mid_sized_firm():
    assert firm_plans(1) == [
        FirmPlan(
            managers=10,
            principals=120,
            distributors=60,
            operators=5000,
            contacts=20000,
            products=2400,
            opportunities=20000,
            interactions=200000,
        )
    ]


def test_tenants_split_the_scale_and_tiny_scales_keep_a_working_firm():
    assert firm_plans(100, tenants=100) == [SCALE_ONE] * 100
    (big,) = firm_plans(20, tenants=1)
    assert big.interactions == 4_000_000 and big.managers == 200
    (tiny,) = firm_plans(0.01)
    assert tiny.interactions == 2000 and tiny.opportunities == 200 and tiny.contacts == 200
    assert tiny.managers == 1 and tiny.principals >= 2 and tiny.distributors >= 2
    with pytest.raises(ValueError):
        firm_plans(0)


def _rows(seed: int) -> dict[str, list[tuple[object, ...]]]:
    (plan,) = firm_plans(0.01)
    firm = FirmBuilder(
        plan=plan,
        rng=random.Random(f"{seed}:0"),
        ids=Ids(dict.fromkeys(TABLES, 1000)),
        clock=Clock(AS_OF),
        index=0,
        password_hash="hash",
    )
    return {table: list(firm.rows(table)) for table in TABLES}


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows():
    first, again, other = _rows(7), _rows(7), _rows(8)
    assert first == again
    assert first["interaction"] != other["interaction"]
    assert all(len(row) == len(TABLES[table]) for table, rows in first.items() for row in rows)


def _counts(tenant_id: int) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            if table == "tenant":
                continue
            column = (
                "id IN (SELECT user_id FROM membership WHERE tenant_id = %s)"
                if table == "crm_user"
                else "tenant_id = %s"
            )
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {column}", [tenant_id])
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db
def test_generated_firms_pass_every_integrity_check_and_match_the_plan():
    report = generate(scale=0.02, tenants=2, seed=7, as_of=AS_OF)

    assert len(report.tenant_ids) == 2
    assert len(report.checks) > 80 and all(count == 0 for _, count in report.checks)
    plan = firm_plans(0.02, tenants=2)[0]
    for tenant_id in report.tenant_ids:
        counts = _counts(tenant_id)
        assert counts["organization"] == plan.principals + plan.distributors + plan.operators
        assert counts["contact"] == plan.contacts
        assert counts["product"] == plan.products
        assert counts["opportunity"] == plan.opportunities
        assert counts["interaction"] == plan.interactions
        assert counts["membership"] == counts["crm_user"] == plan.managers + 2
        assert all(counts[t] > 0 for t in counts), counts
    # Identity sequences moved past the supplied ids: the next row gets a fresh id.
    assert Tenant.objects.create(name="After the load").pk > max(report.tenant_ids)


@pytest.mark.django_db
def test_generated_rows_pass_the_database_triggers_when_rewritten():
    report = generate(scale=0.01, seed=3, as_of=AS_OF)
    scoped = {
        "interaction": "principal_id",
        "contact": "scope_principal_id",
        "opportunity": "principal_id",
        "opportunity_product": "scope_principal_id",
        "opportunity_contact": "scope_principal_id",
        "product_distributor": "scope_principal_id",
        "organization": "scope_principal_id",
        "customer_distributor": "id",
        "distributor_authorization": "principal_id",
        "sample": "scope_principal_id",
        "sample_line": "scope_principal_id",
    }
    with connection.cursor() as cursor:
        for table, scope in scoped.items():
            cursor.execute(
                f"SELECT md5(string_agg({scope}::text, ',' ORDER BY id)) FROM {table} WHERE tenant_id = %s",
                report.tenant_ids,
            )
            before = cursor.fetchone()[0]
            cursor.execute(f"SELECT sum(version) FROM {table} WHERE tenant_id = %s", report.tenant_ids)
            versions = cursor.fetchone()[0]
            # Every reference, type and scope rule runs again (triggers on, as any write would).
            cursor.execute(f"UPDATE {table} SET version = version WHERE tenant_id = %s", report.tenant_ids)
            rows = cursor.rowcount
            assert rows > 0
            cursor.execute(f"SELECT sum(version) FROM {table} WHERE tenant_id = %s", report.tenant_ids)
            assert cursor.fetchone()[0] == versions + rows, "the audit trigger did not run"
            cursor.execute(
                f"SELECT md5(string_agg({scope}::text, ',' ORDER BY id)) FROM {table} WHERE tenant_id = %s",
                report.tenant_ids,
            )
            assert cursor.fetchone()[0] == before, f"{table}: the triggers computed other scope keys"


@pytest.mark.django_db
def test_generated_rows_have_the_match_keys_their_triggers_keep():
    """COPY skips the match_keys triggers (ADR 0029): generate_data fills the keys as they would."""
    report = generate(scale=0.01, seed=5, as_of=AS_OF, analyze=False)
    keys = {
        "organization": "match_words::text, match_city, match_phone",
        "contact": "match_name, match_email, match_phone",
    }
    with connection.cursor() as cursor:
        for table, columns in keys.items():
            query = f"SELECT count(*), md5(string_agg(concat_ws('|', {columns}), ',' ORDER BY id)) FROM {table} WHERE tenant_id = %s"
            cursor.execute(query, report.tenant_ids)
            rows, before = cursor.fetchone()
            assert rows > 0 and before is not None
            cursor.execute(f"UPDATE {table} SET version = version WHERE tenant_id = %s", report.tenant_ids)
            cursor.execute(query, report.tenant_ids)
            assert cursor.fetchone() == (rows, before), f"{table}: the trigger keeps other match keys"
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE tenant_id = %s AND {columns.split(',')[0].split('::')[0]} IS NULL",
                report.tenant_ids,
            )
            assert cursor.fetchone()[0] == 0


def _fingerprint(tenant_id: int) -> tuple[str, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT md5(string_agg(concat_ws('|', type, occurred_at, subject, sentiment, follow_up_on,"
            "        duration_minutes), ',' ORDER BY id)) FROM interaction WHERE tenant_id = %(t)s),"
            " (SELECT md5(string_agg(concat_ws('|', name, type, city, priority), ',' ORDER BY id))"
            "    FROM organization WHERE tenant_id = %(t)s),"
            " (SELECT md5(string_agg(concat_ws('|', name, stage, closed_on, weekly_case_volume), ',' ORDER BY id))"
            "    FROM opportunity WHERE tenant_id = %(t)s)",
            {"t": tenant_id},
        )
        return tuple(cursor.fetchone())


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data_in_the_database():
    first = generate(scale=0.01, seed=11, as_of=AS_OF, analyze=False)
    again = generate(scale=0.01, seed=11, as_of=AS_OF, analyze=False)
    other = generate(scale=0.01, seed=12, as_of=AS_OF, analyze=False)
    (a,), (b,), (c,) = first.tenant_ids, again.tenant_ids, other.tenant_ids
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)


@pytest.mark.django_db
def test_the_command_refuses_a_database_with_firms_when_debug_is_off(settings):
    settings.DEBUG = False
    Tenant.objects.create(name="A real firm")
    with pytest.raises(CommandError, match="already has firms"):
        call_command("generate_data", "--scale", "0.01")
