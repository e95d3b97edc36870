"""Idempotency-Key on POST and PATCH: a retry gets the first answer and writes nothing; the key is bound to
its request, its caller and its firm; a concurrent retry is a 409; expired keys execute again and are
purged (crm/idempotency.py, ADR 0016)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.test import APIClient

from crm import idempotency, replicas
from interactions.models import Interaction
from opportunities.models import Opportunity
from organizations.models import Organization
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm, client_for
from tests.stand_in_replica import stand_in_replica

INTERACTIONS = f"{API}/interactions/"
ORGANIZATIONS = f"{API}/organizations/"


def visit(firm: Firm, subject: str = "Kitchen walk-through") -> dict[str, Any]:
    return {
        "type": "site_visit",
        "occurred_at": "2026-11-20T15:00:00Z",
        "subject": subject,
        "organization": firm.customer.pk,
    }


def stored_keys() -> int:
    with connection.cursor() as cursor:  # the owner (superuser here: past the table's owner policies)
        cursor.execute("SELECT count(*) FROM idempotency_key")
        return int(cursor.fetchone()[0])


def same_answer(first: Any, again: Any) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    for header in ("Content-Type", "ETag", "Location", "Allow", "Vary", "WWW-Authenticate"):
        assert again.get(header) == first.get(header), header
    assert again[idempotency.REPLAYED_HEADER] == "true"
    assert idempotency.REPLAYED_HEADER not in first


def test_a_create_sent_again_with_its_key_gets_the_first_answer_and_creates_nothing(firm, manager):
    first = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="visit-1")
    created = ok(first, 201)
    again = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="visit-1")

    same_answer(first, again)
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 1
    assert again.json()["id"] == created["id"]
    assert again["X-Request-ID"] != first["X-Request-ID"]  # the replay's own, for its log line
    assert stored_keys() == 1


def test_a_patch_sent_again_is_not_applied_twice(firm, manager):
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    url = f"{API}/opportunities/{opportunity.pk}/"
    first = manager.patch(url, {"next_action": "Call chef"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert ok(first)["version"] == 2
    again = manager.patch(url, {"next_action": "Call chef"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")

    same_answer(first, again)
    assert again["ETag"] == '"2"'
    assert Opportunity.objects.get(pk=opportunity.pk).version == 2


def test_a_validation_error_is_kept_and_answered_again(firm, manager):
    invalid = {**visit(firm), "type": "séance"}
    first = manager.post(INTERACTIONS, invalid, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert_problem(first, 400, field="type")
    again = manager.post(INTERACTIONS, invalid, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")

    same_answer(first, again)
    assert again.json()["request_id"] == first["X-Request-ID"]  # the first answer, as it was
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 0


def test_a_forbidden_write_is_kept_too(firm, viewer):
    first = viewer.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="no")
    assert_problem(first, 403)
    same_answer(first, viewer.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="no"))


def test_a_kept_401_says_again_how_to_authenticate(firm, manager):
    """A signed-in caller's logout with a refresh token that is not one: a 401, kept, and its
    WWW-Authenticate given again (RFC 9110 §11.6.1; schemathesis found the replay without it)."""
    first = manager.post(f"{API}/auth/logout/", {"refresh": "0"}, format="json", HTTP_IDEMPOTENCY_KEY="out")
    assert_problem(first, 401)
    assert first["WWW-Authenticate"]
    same_answer(
        first,
        manager.post(f"{API}/auth/logout/", {"refresh": "0"}, format="json", HTTP_IDEMPOTENCY_KEY="out"),
    )


@pytest.mark.parametrize(
    "retry",
    [
        {"body": {"subject": "Another visit"}},
        {"path": ORGANIZATIONS},
        {"query": "?expand=organization"},
    ],
    ids=["body", "path", "query"],
)
def test_the_key_of_another_request_is_a_422_naming_the_header(firm, manager, retry):
    ok(manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="k"), 201)
    body = {**visit(firm), **retry.get("body", {})}
    url = retry.get("path", INTERACTIONS) + retry.get("query", "")
    problem = assert_problem(
        manager.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k"),
        422,
        field=idempotency.HEADER,
        code="idempotency_key_reused",
    )
    assert problem["code"] == "idempotency_key_reused"
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 1
    assert Organization.objects.filter(tenant=firm.tenant).count() == 4  # the firm's own, nothing new


def test_the_key_of_a_post_sent_with_a_patch_is_a_422(firm, manager):
    created = ok(manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="k"), 201)
    response = manager.patch(
        f"{INTERACTIONS}{created['id']}/", {"subject": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_problem(response, 422, field=idempotency.HEADER)


def test_the_same_json_in_another_key_order_or_spacing_is_the_same_request(firm, manager):
    first = manager.post(
        INTERACTIONS, json.dumps(visit(firm)), content_type="application/json", HTTP_IDEMPOTENCY_KEY="j"
    )
    respelled = json.dumps(dict(reversed(list(visit(firm).items()))), indent=2)
    again = manager.post(INTERACTIONS, respelled, content_type="application/json", HTTP_IDEMPOTENCY_KEY="j")
    same_answer(first, again)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "must not be empty"),
        ('""', "must not be empty"),
        ("k" * 256, "at most 255"),
        ("two words", "printable ASCII"),
        ("clé", "printable ASCII"),
        ("tab\there", "printable ASCII"),
        ('"half quoted', "printable ASCII"),
    ],
    ids=["empty", "empty-quoted", "too-long", "space", "non-ascii", "control", "half-quoted"],
)
def test_a_malformed_key_is_a_400_naming_the_header_and_runs_nothing(firm, manager, value, problem):
    response = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY=value)
    body = assert_problem(response, 400, field=idempotency.HEADER, code="invalid")
    assert problem in body["errors"][0]["detail"]
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 0


def test_a_quoted_key_is_the_key_it_quotes(firm, manager):
    assert idempotency.key_of('"a b\\"c"') == 'a b"c'
    assert idempotency.key_of("k" * 255) == "k" * 255
    assert idempotency.key_of('"unterminated') == '"unterminated'  # not a quoted string: taken as sent
    first = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY='"order-7"')
    same_answer(first, manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="order-7"))


def test_another_caller_with_the_same_key_executes_separately(firm, manager):
    ok(manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="shared"), 201)
    colleague = client_for(firm.admin).post(
        INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert colleague.status_code == 201 and idempotency.REPLAYED_HEADER not in colleague
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 2
    assert stored_keys() == 2


def test_another_firm_with_the_same_key_never_gets_the_stored_answer(firm, other_firm, manager):
    mine = ok(manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="same"), 201)
    theirs = client_for(other_firm.manager).post(
        INTERACTIONS, visit(other_firm), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert ok(theirs, 201)["id"] != mine["id"] and idempotency.REPLAYED_HEADER not in theirs
    # Even sent byte for byte as the first firm's request: theirs is another caller's key space.
    replayed_elsewhere = client_for(other_firm.admin).post(
        INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert replayed_elsewhere.status_code == 400  # the first firm's organization does not exist for them
    assert str(mine["id"]).encode() not in replayed_elsewhere.content


def test_requests_without_a_key_or_other_methods_keep_nothing(firm, manager):
    ok(manager.post(INTERACTIONS, visit(firm), format="json"), 201)
    ok(manager.get(INTERACTIONS, HTTP_IDEMPOTENCY_KEY="read"))
    created = Interaction.objects.get(tenant=firm.tenant)
    assert manager.delete(f"{INTERACTIONS}{created.pk}/", HTTP_IDEMPOTENCY_KEY="gone").status_code == 204
    assert stored_keys() == 0


def test_sign_in_refresh_and_password_change_ignore_the_key(firm):
    firm.manager.set_password("correct horse battery")
    firm.manager.save()
    signin = {"email": firm.manager.email, "password": "correct horse battery"}
    first = APIClient().post(f"{API}/auth/token/", signin, format="json", HTTP_IDEMPOTENCY_KEY="s")
    again = APIClient().post(f"{API}/auth/token/", signin, format="json", HTTP_IDEMPOTENCY_KEY="s")
    assert first.status_code == again.status_code == 200
    assert idempotency.REPLAYED_HEADER not in again
    refreshed = APIClient().post(
        f"{API}/auth/token/refresh/",
        {"refresh": first.json()["refresh"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="s",
    )
    assert refreshed.status_code == 200
    assert stored_keys() == 0  # no credentials kept in a table


def test_an_anonymous_write_is_answered_as_usual_and_keeps_nothing(firm):
    response = APIClient().post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="anon")
    assert_problem(response, 401)
    assert stored_keys() == 0


def test_what_is_kept_is_a_completed_requests_answer():
    assert idempotency.stores(HttpResponse(status=201))
    assert idempotency.stores(HttpResponse(status=422))
    assert not idempotency.stores(HttpResponse(status=500))
    assert not idempotency.stores(HttpResponse(status=503))
    assert not idempotency.stores(HttpResponse(status=429))
    assert not idempotency.stores(StreamingHttpResponse(iter([b"x"]), status=200))


def age_keys(hours: float) -> None:
    with connection.cursor() as cursor:  # as the owner: the window moved into the past
        cursor.execute(
            "UPDATE idempotency_key SET created_at = created_at - make_interval(secs => %s),"
            " expires_at = expires_at - make_interval(secs => %s)",
            [hours * 3600, hours * 3600],
        )


def test_a_key_older_than_its_window_executes_again(firm, manager):
    first = ok(manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="old"), 201)
    age_keys(24.01)
    again = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert ok(again, 201)["id"] != first["id"] and idempotency.REPLAYED_HEADER not in again
    assert Interaction.objects.filter(tenant=firm.tenant).count() == 2
    assert stored_keys() == 1  # the expired one went, the new one is kept


def test_purge_removes_expired_keys_of_every_firm_and_keeps_the_rest(firm, other_firm):
    client_for(firm.manager).post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="a")
    client_for(other_firm.manager).post(
        INTERACTIONS, visit(other_firm), format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    age_keys(25)
    client_for(firm.admin).post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="fresh")
    assert stored_keys() == 3
    call_command("purge_idempotency_keys", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM idempotency_key")
        assert cursor.fetchall() == [("fresh",)]


def test_a_write_sweeps_its_callers_expired_keys(firm, manager):
    for key in ("one", "two", "three"):
        manager.post(INTERACTIONS, visit(firm, key), format="json", HTTP_IDEMPOTENCY_KEY=key)
    client_for(firm.admin).post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="admin's")
    age_keys(25)
    manager.post(INTERACTIONS, visit(firm, "four"), format="json", HTTP_IDEMPOTENCY_KEY="four")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM idempotency_key ORDER BY key")
        assert cursor.fetchall() == [("admin's",), ("four",)]  # another caller's wait for the purge


# --- a retry while the first request is still running: two real sessions -----------------------------


def _wait_for_lock_waiters(cursor: Any, count: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if cursor.fetchone()[0] >= count:
            return
        assert time.monotonic() < deadline, "the first request never queued on the row lock"
        time.sleep(0.005)


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_is_a_409_and_after_it_the_first_answer(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    url = f"{API}/opportunities/{opportunity.pk}/"
    change = {"next_action": "Send samples"}
    responses: dict[str, Any] = {}

    def first() -> None:
        try:  # its own thread, so its own Django connection: a real second session
            responses["first"] = client_for(firm.manager).patch(
                url, change, format="json", HTTP_IDEMPOTENCY_KEY="slow"
            )
        finally:
            connection.close()

    running = threading.Thread(target=first)
    # The first request claims the key, then queues on a row lock the test holds: it is in flight.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM opportunity WHERE id = %s FOR UPDATE", [opportunity.pk])
        running.start()
        _wait_for_lock_waiters(cursor, 1)
        retry = {}

        def second() -> None:
            try:
                retry["response"] = client_for(firm.manager).patch(
                    url, change, format="json", HTTP_IDEMPOTENCY_KEY="slow"
                )
            finally:
                connection.close()

        concurrent = threading.Thread(target=second)
        concurrent.start()
        concurrent.join(timeout=30)
        assert not concurrent.is_alive(), "the retry waited for the first request instead of answering"
    running.join(timeout=30)
    assert not running.is_alive()

    assert_problem(retry["response"], 409, field=idempotency.HEADER, code="idempotency_key_in_use")
    assert ok(responses["first"])["version"] == 2
    after = client_for(firm.manager).patch(url, change, format="json", HTTP_IDEMPOTENCY_KEY="slow")
    same_answer(responses["first"], after)
    assert Opportunity.objects.get(pk=opportunity.pk).version == 2
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM idempotency_key")


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_with_one_key_make_one_record(firm: Firm) -> None:
    """Eight sessions at once: one executes; each other one is told 409 or, once it has finished, given its
    answer. Never two records."""
    responses: list[Any] = []
    start = threading.Barrier(8)

    def send() -> None:
        try:
            client = client_for(firm.manager)
            start.wait(timeout=20)
            responses.append(client.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="x"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        statuses = sorted(r.status_code for r in responses)
        assert len(statuses) == 8 and set(statuses) <= {201, 409}, statuses
        executed = [r for r in responses if r.status_code == 201 and idempotency.REPLAYED_HEADER not in r]
        assert len(executed) == 1
        assert all(r.content == executed[0].content for r in responses if r.status_code == 201)
        assert Interaction.objects.filter(tenant=firm.tenant).count() == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM idempotency_key")


# --- read replicas: a replay is the primary's, with a position a replica can be asked for ----------------


@pytest.fixture
def replica(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with stand_in_replica(settings, monkeypatch) as alias:
        yield alias


def test_a_replay_says_the_primary_answered_and_gives_a_position_at_or_after_the_write(
    firm, manager, replica
):
    first = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="r")
    again = manager.post(INTERACTIONS, visit(firm), format="json", HTTP_IDEMPOTENCY_KEY="r")
    same_answer(first, again)
    assert first["X-Database"] == again["X-Database"] == "primary"
    assert replicas.lsn(again["X-Database-Position"]) >= replicas.lsn(first["X-Database-Position"])
