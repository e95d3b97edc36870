"""Schemathesis over every operation of the live API, as a Sales Manager, from the committed schema.

Two firms with records of every kind are committed to the test database; gunicorn serves the API on it
(DEBUG off, as deployed); `st run` then sends generated requests, valid and invalid, to each operation
with the manager's bearer token and checks every response: no 5xx, status code, content type, headers
and body as the schema says, invalid input refused, valid input accepted, authentication enforced, and
(tests/fuzz/hooks.py) nothing that belongs to the other firm ever in a response.

`make test` runs a small fixed-seed budget; `make fuzz` the same with FUZZ_EXAMPLES (default 200).
FUZZ_SEED picks another seed. On failure the assertion shows schemathesis's report (each failing
request as curl) and the end of the server's log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from contacts.models import Contact
from crm.models import Membership, PrincipalAssignment, Tenant, User
from crm.rls import acting_as
from crm.tokens import tokens_for
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from samples.models import Sample, SampleLine
from tasks.models import Task
from tests import factories as f
from tests.conftest import Firm, make_firm
from tests.fuzz.hooks import KIND_OF_RESOURCE
from tests.live import database_url
from tests.pgbouncer.test_transaction_pooling import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The schema clients are built from, once committed; until then the one the code generates.
COMMITTED_SCHEMAS = (ROOT / "openapi.yaml", ROOT / "client" / "openapi.yaml")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = int(os.environ.get("FUZZ_SEED", "20250611"))
# django.request's one-line warnings for 4xx responses: not what a failure's reader needs from the log.
CLIENT_ERROR_LOG_LINE = re.compile(r"^(?!Internal Server Error)[A-Z][A-Za-z ]+: /")
# Sent as If-Match most of the time, so that writes pass their precondition and reach validation and the
# database (any other value is a 412 before the body is read): "any version", or a new record's.
ETAGS = ["*", "*", '"1"']
# Long enough for `make fuzz`: the access token must outlive the run.
TOKEN_LIFETIME = dt.timedelta(hours=12)

# What the manager may reach is fuzzed by id too: these kinds' ids (both firms') are drawn for `{id}`.
RECORD_MODELS: dict[str, Any] = {
    "organization": Organization,
    "contact": Contact,
    "product": Product,
    "opportunity": Opportunity,
    "interaction": Interaction,
    "task": Task,
    "membership": Membership,
    "principal_assignment": PrincipalAssignment,
    "distributor_authorization": DistributorAuthorization,
    "customer_distributor": CustomerDistributor,
    "product_distributor": ProductDistributor,
    "opportunity_product": OpportunityProduct,
    "opportunity_contact": OpportunityContact,
    "sample": Sample,
    "sample_line": SampleLine,
}


def stock(firm: Firm) -> None:
    """Records of every kind, a few of each in both principals' books and among the shared accounts (so
    writes and deletes by the fuzzer leave some to work on); every text names the firm, so another
    firm's texts are recognisable in any response."""
    name, tenant = firm.tenant.name, firm.tenant
    slug = name.split()[0].lower()
    for user in (firm.admin, firm.manager, firm.other_manager, firm.viewer):
        User.objects.filter(pk=user.pk).update(email=f"user{user.pk}@{slug}-brokers.test")
    second_distributor = f.DistributorFactory(tenant=tenant, name=f"{name} Foodservice Supply")
    prospect = f.OrganizationFactory(tenant=tenant, type="prospect", name=f"{name} Prospect Diner")
    chain_unit = f.CustomerFactory(tenant=tenant, name=f"{name} Bistro Uptown", parent=firm.customer)
    customers = (firm.customer, chain_unit, prospect)
    contacts = [
        f.ContactFactory(tenant=tenant, organization=customer, email=f"chef{n}@{slug}-bistro.test")
        for n, customer in enumerate(customers)
    ]
    f.ContactFactory(tenant=tenant, organization=firm.distributor, email=f"buyer@{slug}-distribution.test")
    f.ContactFactory(
        tenant=tenant, organization=firm.customer, email=f"sous@{slug}-bistro.test", reports_to=contacts[0]
    )
    f.CustomerDistributorFactory(
        tenant=tenant, customer=firm.customer, distributor=firm.distributor, is_primary=True
    )
    f.CustomerDistributorFactory(tenant=tenant, customer=chain_unit, distributor=firm.distributor)
    f.CustomerDistributorFactory(tenant=tenant, customer=chain_unit, distributor=second_distributor)
    for letter, principal in (("A", firm.principal_a), ("B", firm.principal_b)):
        f.ContactFactory(tenant=tenant, organization=principal, email=f"rep-{letter}@{slug}-foods.test")
        for distributor in (firm.distributor, second_distributor):
            f.DistributorAuthorizationFactory(
                tenant=tenant, distributor=distributor, principal=principal, notes=f"{name} line {letter}"
            )
        for n, customer in enumerate(customers):
            product = f.ProductFactory(
                tenant=tenant,
                principal=principal,
                name=f"{name} {letter} product {n}",
                sku=f"{slug.upper()}-{letter}-{n}",
                list_price=Decimal("19.99"),
            )
            f.ProductDistributorFactory(
                tenant=tenant,
                product=product,
                distributor=firm.distributor,
                vendor_item_number=f"{slug.upper()}-VIN-{letter}{n}",
            )
            opportunity = f.OpportunityFactory(
                tenant=tenant,
                principal=principal,
                customer=customer,
                distributor=firm.distributor,
                owner=firm.manager,
                name=f"{name} {letter} placement {n}",
                expected_close_date=dt.date(2026, 3, 31),
            )
            f.OpportunityProductFactory(tenant=tenant, opportunity=opportunity, product=product)
            f.OpportunityContactFactory(tenant=tenant, opportunity=opportunity, contact=contacts[n])
            f.InteractionFactory(
                tenant=tenant,
                organization=customer,
                contact=contacts[n],
                opportunity=opportunity,
                principal=principal,
                user=firm.manager,
                subject=f"{name} {letter} tasting {n}",
                follow_up_on=dt.date(2026, 1, 15),
            )
            sampled = f.SampleInteractionFactory(
                tenant=tenant,
                organization=customer,
                principal=principal,
                user=firm.manager,
                subject=f"{name} {letter} samples {n}",
            )
            f.SampleFactory(tenant=tenant, interaction=sampled, status=("requested", "sent", "delivered")[n])
            f.SampleLineFactory(tenant=tenant, interaction=sampled, product=product)
            # one sample interaction without its sample yet, for the fuzzer's creates
            f.SampleInteractionFactory(
                tenant=tenant,
                organization=customer,
                principal=principal,
                subject=f"{name} {letter} drop-off {n}",
            )
            f.TaskFactory(
                tenant=tenant,
                organization=customer,
                opportunity=opportunity,
                assignee=firm.manager,
                title=f"{name} {letter} call back {n}",
                due_on=dt.date(2026, 1, 16),
            )
    f.InteractionFactory(tenant=tenant, organization=prospect, user=firm.manager, subject=f"{name} cold call")
    f.TaskFactory(
        tenant=tenant, organization=prospect, assignee=firm.manager, title=f"{name} shared call back"
    )


def texts_of(tenant: Tenant) -> set[str]:
    """The firm's own texts: names, emails, SKUs and item codes of its records and members."""
    texts = {tenant.name}
    texts.update(Organization.objects.filter(tenant=tenant).values_list("name", flat=True))
    texts.update(Contact.objects.filter(tenant=tenant).exclude(email="").values_list("email", flat=True))
    for product in Product.objects.filter(tenant=tenant):
        texts.update((product.name, product.sku))
    texts.update(
        ProductDistributor.objects.filter(tenant=tenant).values_list("vendor_item_number", flat=True)
    )
    texts.update(Opportunity.objects.filter(tenant=tenant).values_list("name", flat=True))
    texts.update(Interaction.objects.filter(tenant=tenant).values_list("subject", flat=True))
    texts.update(Task.objects.filter(tenant=tenant).values_list("title", flat=True))
    texts.update(User.objects.filter(membership__tenant=tenant).values_list("email", flat=True))
    return texts


def ids_of(tenant: Tenant) -> dict[str, list[int]]:
    ids = {
        kind: sorted(model.objects.filter(tenant=tenant).values_list("pk", flat=True))
        for kind, model in RECORD_MODELS.items()
    }
    ids["user"] = sorted(User.objects.filter(membership__tenant=tenant).values_list("pk", flat=True))
    ids["tenant"] = [tenant.pk]
    return ids


def schema_file(directory: Path) -> Path:
    """The committed schema; until there is one, the schema the code generates, written to `directory`."""
    for path in COMMITTED_SCHEMAS:
        if path.exists():
            return path
    schema = SchemaGenerator().get_schema(request=None, public=True)
    generated = directory / "openapi.yaml"
    generated.write_bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))
    return generated


# The main run is rate limited as deployed, with quotas out of its reach: every answer carries the
# RateLimit fields, checked against the schema, and none is refused. The rate limited run's quotas are
# used up at once: its answers are the 429 problems, checked the same way.
QUOTAS_OUT_OF_REACH = {
    "RATE_LIMIT_ENABLED": "1",
    "RATE_LIMIT_BURST": "1000000/1",
    "RATE_LIMIT_SUSTAINED": "1000000/60",
    "RATE_LIMIT_WRITES": "1000000/60",
}
QUOTAS_USED_UP = {**QUOTAS_OUT_OF_REACH, "RATE_LIMIT_BURST": "3/600"}


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serving(tmp_path, QUOTAS_OUT_OF_REACH) as served:
        yield served


@contextmanager
def serving(tmp_path: Path, limits: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """gunicorn on the test database, configured as deployed (DEBUG off) with these rate limits; yields the
    base URL and the directory of its logs (server.log: errors with tracebacks; access.log: method and
    status of each request)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,  # tokens made here must be valid there
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",  # 500s and unmapped database errors, with their tracebacks
        **limits,
    }
    env.pop("PYTEST_VERSION", None)
    command = [sys.executable, "-m", "gunicorn", "crm.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
    command += ["--threads", "4", "--timeout", "120", "--no-control-socket"]
    command += ["--access-logfile", str(tmp_path / "access.log"), "--access-logformat", "%(m)s %(s)s"]
    with (tmp_path / "server.log").open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        process.terminate()
        process.wait(10)


def reachable_references(manager: User) -> dict[str, list[int]]:
    """For each foreign key a request body can carry, the ids the manager may point it at (asked of the
    database as the manager, under RLS), so that valid requests also get written, not only refused."""
    with acting_as(manager.pk):
        organizations = Organization.objects.all()

        def ids(queryset: Any) -> list[int]:
            return sorted(queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True))

        members = sorted(
            User.objects.filter(membership__tenant=manager.membership.tenant_id).values_list("pk", flat=True)
        )
        return {
            "organization": ids(organizations),
            "principal": ids(organizations.filter(type="principal")),
            "customer": ids(organizations.filter(type__in=("customer", "prospect"))),
            "distributor": ids(organizations.filter(type="distributor")),
            "parent": ids(organizations.exclude(type="principal")),
            "contact": ids(Contact.objects.all()),
            "reports_to": ids(Contact.objects.all()),
            "product": ids(Product.objects.all()),
            "opportunity": ids(Opportunity.objects.all()),
            "owner": members,
            "account_manager": members,
            "user": members,
        }


def access_token(user: User) -> str:
    token = tokens_for(user).access_token
    token.set_exp(lifetime=TOKEN_LIFETIME)
    return str(token)


def dictionary_name(key: str) -> str:
    return re.sub(r"\W", "_", key)


def run_config(directory: Path, draws: dict[str, list[Any]], record_ids: dict[str, list[int]]) -> Path:
    """schemathesis.toml plus what only this run knows: the manager's token (from the environment); for
    some parameters (`body.customer`, `header.If-Match`), values drawn most of the time; and for each
    resource's `{id}`, its records' ids (both firms', so other firms' ids are tried too).

    (schemathesis's object_level_authorization, with the rival manager as a peer, is not used: the
    values it reads as the peer feed the generator, so the manager's requests then carry, and store,
    the rival firm's texts, which hooks.no_other_firm_data rightly flags wherever they come back.)"""
    lines = ["", "[auth.openapi.jwtAuth]", 'bearer = "${CRM_FUZZ_TOKEN}"', ""]
    dictionaries = draws | {f"{resource}.ids": ids for resource, ids in record_ids.items()}
    for key, values in dictionaries.items():
        lines += [f"[dictionaries.{dictionary_name(key)}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key in draws:
        lines.append(f'"{key}" = {{ dictionary = "{dictionary_name(key)}", probability = 0.8 }}')
    for resource in record_ids:
        binding = f'{{ dictionary = "{dictionary_name(f"{resource}.ids")}", probability = 0.8 }}'
        path = json.dumps(f"^/api/v1/{resource}/\\{{id\\}}/")  # a TOML basic string is a JSON string
        lines += [
            "",
            "[[operations]]",
            f"include-path-regex = {path}",
            f'parameters = {{ "path.id" = {binding} }}',
        ]
    config = directory / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + "\n".join(lines) + "\n")
    return config


def traffic_summary(access_log: Path) -> str:
    """Requests the server answered, by method and status: how much of the run got past validation."""
    counts = Counter(tuple(line.split()[:2]) for line in access_log.read_text().splitlines() if line.strip())
    methods = sorted({method for method, _ in counts})
    rows = [
        f"  {method:7s}"
        + "".join(f"  {status}: {n}" for (m, status), n in sorted(counts.items()) if m == method)
        for method in methods
    ]
    return f"Requests served ({sum(counts.values())}), by method and status:\n" + "\n".join(rows)


def forgiven_summary(path: Path) -> str:
    """How many failures hooks.filter_failure forgave, by reason, busiest first."""
    if not path.exists():
        return "Forgiven: none"
    reasons = Counter(
        reason for line in path.read_text().splitlines() for reason in json.loads(line)["reasons"]
    )
    return "Forgiven (failures explained by data or a known schema gap, by reason):\n" + "\n".join(
        f"  {count:5d}  {reason}" for reason, count in reasons.most_common()
    )


@pytest.mark.django_db(transaction=True)
def test_every_operation_answers_as_its_schema_says_and_never_with_another_firms_data(
    api_server: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, logs = api_server
    acme, rival = make_firm("Acme Brokers"), make_firm("Rival Brokers")
    stock(acme)
    stock(rival)

    own_texts, foreign_texts = texts_of(acme.tenant), texts_of(rival.tenant)
    # Each firm's texts name it, so a rival text in a response can only have come from the rival firm.
    assert not any("rival" in text.lower() for text in own_texts)
    assert all("rival" in text.lower() for text in foreign_texts)
    own_ids, foreign_ids = ids_of(acme.tenant), ids_of(rival.tenant)
    (tmp_path / "foreign.json").write_text(json.dumps({"texts": sorted(foreign_texts), "ids": foreign_ids}))
    record_ids = {
        resource: own_ids[kind] + foreign_ids[kind]
        for resource, kind in KIND_OF_RESOURCE.items()
        if kind in RECORD_MODELS
    }
    draws: dict[str, list[Any]] = {"header.If-Match": ETAGS}
    draws |= {f"body.{field}": ids for field, ids in reachable_references(acme.manager).items() if ids}

    config = run_config(tmp_path, draws, record_ids)
    result = schemathesis_run(tmp_path, config, base_url, access_token(acme.manager))

    # The whole report (every failing request as curl) is printed: pytest shows it under "Captured
    # stdout" when the test fails. The assertion adds the end of the server's log (500s' tracebacks).
    summaries = (forgiven_summary(tmp_path / "forgiven.jsonl"), traffic_summary(logs / "access.log"))
    print(result.stdout, result.stderr[-5_000:], *summaries, sep="\n")
    server = "\n".join(
        line
        for line in (logs / "server.log").read_text(errors="replace").splitlines()
        if not CLIENT_ERROR_LOG_LINE.match(line)
    )[-20_000:]
    assert result.returncode == 0, f"schemathesis reported failures (see the report above)\n{server}"


def schemathesis_run(
    tmp_path: Path, config: Path, base_url: str, token: str, *options: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CRM_FUZZ_TOKEN": token,
        "CRM_FUZZ_FOREIGN": str(tmp_path / "foreign.json"),
        "CRM_FUZZ_FORGIVEN": str(tmp_path / "forgiven.jsonl"),
        "NO_COLOR": "1",
    }
    env.pop("PYTEST_VERSION", None)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    command += [str(schema_file(tmp_path)), "--url", base_url]
    command += ["--max-examples", str(EXAMPLES), "--seed", str(SEED), "--no-color", *options]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3 * 3600)


@pytest.mark.django_db(transaction=True)
def test_rate_limited_answers_are_as_the_schema_says(tmp_path: Path) -> None:
    """With the manager's and the address's quotas used up at once, every operation answers 429 problems:
    their status, body, Retry-After and RateLimit fields as the schema documents them."""
    firm = make_firm("Acme Brokers")
    (tmp_path / "foreign.json").write_text(json.dumps({"texts": [], "ids": {}}))
    config = run_config(tmp_path, {}, {})
    with serving(tmp_path, QUOTAS_USED_UP) as (base_url, logs):
        result = schemathesis_run(
            tmp_path,
            config,
            base_url,
            access_token(firm.manager),
            "--include-method",
            "GET",
            "--max-examples",
            "5",
            # A request with invalid credentials is refused by the limiter (429) before authentication is
            # looked at, as it should be with the address's quota used up: not the 401 this check expects.
            "--exclude-checks",
            "ignored_auth",
        )
    print(result.stdout, result.stderr[-5_000:], traffic_summary(logs / "access.log"), sep="\n")
    assert result.returncode == 0, "schemathesis reported failures (see the report above)"
    statuses = Counter(line.split()[1] for line in (logs / "access.log").read_text().splitlines() if line)
    assert statuses["429"] >= 0.9 * sum(statuses.values()), statuses  # nearly every answer was a 429


@pytest.mark.django_db(transaction=True)
def test_admin_only_operations_answer_as_their_schema_says(
    api_server: tuple[str, Path], tmp_path: Path
) -> None:
    """The operations only a firm's admin may use (webhook endpoints and their deliveries, API keys,
    members, the firm's time zone and stage probabilities), which the manager's run above sees only as
    403s: run as the admin, with the same checks, and never with another firm's data."""
    base_url, logs = api_server
    acme, rival = make_firm("Acme Brokers"), make_firm("Rival Brokers")
    stock(acme)
    stock(rival)
    foreign_texts, foreign_ids = texts_of(rival.tenant), ids_of(rival.tenant)
    (tmp_path / "foreign.json").write_text(json.dumps({"texts": sorted(foreign_texts), "ids": foreign_ids}))
    config = run_config(tmp_path, {"header.If-Match": ETAGS}, {})
    result = schemathesis_run(
        tmp_path,
        config,
        base_url,
        access_token(acme.admin),
        "--include-path-regex",
        "^/api/v1/(webhooks|api-keys|members|firm|stage-probabilities)/",
    )
    summaries = (forgiven_summary(tmp_path / "forgiven.jsonl"), traffic_summary(logs / "access.log"))
    print(result.stdout, result.stderr[-5_000:], *summaries, sep="\n")
    assert result.returncode == 0, "schemathesis reported failures (see the report above)"
    statuses = Counter(line.split()[1] for line in (logs / "access.log").read_text().splitlines() if line)
    # The admin got past the permission checks: most answers are not 403s.
    assert statuses["403"] < 0.5 * sum(statuses.values()), statuses
