"""Rate limits in-process, on PostgreSQL (crm.rate_limits, crm migration 0024, ADR 0019): per member, per API
key and per client address; a 429 problem with Retry-After and the RateLimit headers; nothing of a refused
request runs; one statement a request, before the request's transaction.

The quotas are small and the windows long (3 requests a minute…), so that no test depends on how fast the
machine runs it. The same behaviour across two gunicorn workers, and on Redis: test_rate_limits_live.py.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import DataError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm import rate_limits
from interactions.models import Interaction
from tests.api.support import API, assert_problem
from tests.api.test_api_keys import create_key, with_key
from tests.conftest import Firm, client_for

ME = f"{API}/me/"


@pytest.fixture
def limits(settings: Any) -> Any:
    """Rate limits on: 3 requests a minute at once, 5 a minute sustained, 2 writes a minute."""
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_BURST = (3, 60)
    settings.RATE_LIMIT_SUSTAINED = (5, 60)
    settings.RATE_LIMIT_WRITES = (2, 60)
    settings.REDIS_URL = ""
    rate_limits.forget_accepted_keys()
    yield settings
    rate_limits.forget_accepted_keys()


def buckets() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT bucket, tat_us FROM rate_limit_bucket")
        return dict(cursor.fetchall())


def parse_list(value: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy field (a structured-field list): name → its integer parameters."""
    parsed = {}
    for member in value.split(","):
        name, *parameters = member.strip().split(";")
        parsed[name.strip('"')] = {key: int(number) for key, number in (p.split("=") for p in parameters)}
    return parsed


def remaining(response: Any) -> dict[str, int]:
    return {name: params["r"] for name, params in parse_list(response["RateLimit"]).items()}


def assert_rate_limited(response: Any, *violated: str) -> dict[str, Any]:
    body = assert_problem(response, 429)
    assert body["code"] == "rate_limited" and body["violated_policies"] == list(violated), body
    retry_after = int(response["Retry-After"])
    assert retry_after >= 1
    for name in violated:
        limit = parse_list(response["RateLimit"])[name]
        # Nothing left, and the window ends no later than Retry-After (draft, section 6).
        assert limit["r"] == 0 and 1 <= limit["t"] <= retry_after
    return body


def test_every_api_response_says_the_policies_and_what_is_left(firm: Firm, limits: Any) -> None:
    manager = client_for(firm.manager)
    first = manager.get(ME)
    assert first.status_code == 200
    assert parse_list(first["RateLimit-Policy"]) == {
        "burst": {"q": 3, "w": 60},
        "sustained": {"q": 5, "w": 60},
    }
    assert remaining(first) == {"burst": 2, "sustained": 4}
    # A unit of the burst comes back every 20 s: within that, no more than what is left.
    assert 1 <= parse_list(first["RateLimit"])["burst"]["t"] <= 20
    assert remaining(manager.get(f"{API}/nothing-here/")) == {"burst": 1, "sustained": 3}  # a 404 counts
    assert buckets().keys() == {f"burst:member:{firm.manager.pk}", f"sustained:member:{firm.manager.pk}"}


def test_a_member_past_the_burst_gets_a_429_problem_and_another_member_is_unaffected(
    firm: Firm, limits: Any
) -> None:
    manager = client_for(firm.manager)
    for _ in range(3):
        assert manager.get(ME).status_code == 200
    refused = manager.get(ME)
    assert_rate_limited(refused, "burst")
    assert 19 <= int(refused["Retry-After"]) <= 20  # one unit of 3 a minute
    assert refused["RateLimit-Policy"] == '"burst";q=3;w=60, "sustained";q=5;w=60'
    # Refused requests take nothing: the sustained policy still has the two the three left.
    assert remaining(refused)["sustained"] == 2
    assert_rate_limited(manager.get(ME), "burst")
    # The same member with another token (another device) shares the quota; other members do not.
    assert_rate_limited(client_for(firm.manager).get(ME), "burst")
    assert remaining(client_for(firm.other_manager).get(ME)) == {"burst": 2, "sustained": 4}
    assert client_for(None).get(ME).status_code == 401  # nobody: the client address's own buckets


def test_writes_have_their_own_policy_and_reads_do_not_count_against_it(firm: Firm, limits: Any) -> None:
    limits.RATE_LIMIT_BURST = (10, 60)
    limits.RATE_LIMIT_SUSTAINED = (10, 60)
    manager = client_for(firm.manager)
    body = {
        "type": "call",
        "subject": "Menu review",
        "organization": firm.customer.pk,
        "occurred_at": "2026-11-02T15:00:00Z",
    }
    created = manager.post(f"{API}/interactions/", body)
    assert created.status_code == 201, created.content
    assert remaining(created) == {"burst": 9, "sustained": 9, "writes": 1}
    assert parse_list(created["RateLimit-Policy"])["writes"] == {"q": 2, "w": 60}
    assert "writes" not in remaining(manager.get(ME))
    assert manager.post(f"{API}/interactions/", body).status_code == 201
    before = Interaction.objects.count()
    assert_rate_limited(manager.post(f"{API}/interactions/", body), "writes")
    assert Interaction.objects.count() == before  # nothing of a refused request runs
    assert manager.get(ME).status_code == 200  # reads go on


def test_a_refused_write_claims_no_idempotency_key_and_a_replay_counts_like_any_request(
    firm: Firm, limits: Any
) -> None:
    limits.RATE_LIMIT_BURST = (10, 60)
    limits.RATE_LIMIT_SUSTAINED = (10, 60)
    manager = client_for(firm.manager)
    body = {
        "type": "call",
        "subject": "Menu review",
        "organization": firm.customer.pk,
        "occurred_at": "2026-11-02T15:00:00Z",
    }
    first = manager.post(f"{API}/interactions/", body, HTTP_IDEMPOTENCY_KEY="once")
    assert first.status_code == 201
    replay = manager.post(f"{API}/interactions/", body, HTTP_IDEMPOTENCY_KEY="once")
    assert replay["Idempotent-Replayed"] == "true"
    assert remaining(replay)["writes"] == 0  # the replay took the second write
    refused = manager.post(f"{API}/interactions/", body, HTTP_IDEMPOTENCY_KEY="later")
    assert_rate_limited(refused, "writes")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM idempotency_key ORDER BY key")
        assert cursor.fetchall() == [("once",)]  # the 429 claimed nothing: the key is free for the retry
    with connection.cursor() as cursor:  # as if the client had waited a minute
        cursor.execute("UPDATE rate_limit_bucket SET tat_us = 0 WHERE bucket LIKE 'writes:%'")
    retried = manager.post(f"{API}/interactions/", body, HTTP_IDEMPOTENCY_KEY="later")
    assert retried.status_code == 201 and not retried.has_header("Idempotent-Replayed")


def test_an_api_key_has_its_own_quota_which_its_public_id_alone_cannot_spend(firm: Firm, limits: Any) -> None:
    limits.RATE_LIMIT_BURST = (20, 60)
    limits.RATE_LIMIT_SUSTAINED = (20, 60)
    admin = client_for(firm.admin)
    key, other_key = create_key(admin)["key"], create_key(admin)["key"]
    limits.RATE_LIMIT_BURST = (3, 60)
    limits.RATE_LIMIT_SUSTAINED = (9, 60)
    # Someone who knows the key's id but not its secret: refused (401), counted against their address.
    _, key_id, secret = key.split("_", 2)  # the secret is URL-safe base64: it may hold "_" itself
    forged = with_key(f"crm_{key_id}_{secrets.token_urlsafe(32)}")
    assert forged.get(ME).status_code == 401
    for _ in range(3):
        assert with_key(key).get(ME).status_code == 200
    assert_rate_limited(with_key(key).get(ME), "burst")
    assert with_key(other_key).get(ME).status_code == 200  # another key: its own quota
    assert client_for(firm.manager).get(ME).status_code == 200  # members are not keys
    # The key's buckets are named by a hash of the whole credential: no key id, no secret, no digest.
    names = " ".join(buckets())
    assert key_id not in names and secret not in names


def test_random_keys_are_limited_by_the_address_they_come_from_while_an_accepted_key_is_not(
    firm: Firm, limits: Any
) -> None:
    limits.RATE_LIMIT_BURST = (20, 60)
    limits.RATE_LIMIT_SUSTAINED = (20, 60)
    key = create_key(client_for(firm.admin))["key"]
    rate_limits.forget_accepted_keys()
    limits.RATE_LIMIT_BURST = (3, 60)
    limits.RATE_LIMIT_SUSTAINED = (30, 60)
    # The real key, seen for the first time by this process: counted against the address too, once.
    assert with_key(key).get(ME).status_code == 200
    rows = len(buckets())
    # Every random key has a fresh bucket of its own, but all of them share the address's.
    sprayed = [with_key(f"crm_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}").get(ME) for _ in range(3)]
    assert [response.status_code for response in sprayed] == [401, 401, 429]
    assert_rate_limited(sprayed[-1], "burst")
    assert len(buckets()) == rows + 2 * 2  # two policies for each key let through; the refused left none
    # Unauthenticated requests from the address are refused now too; the accepted key is not.
    assert_rate_limited(client_for(None).get(ME), "burst")
    assert with_key(key).get(ME).status_code == 200
    assert remaining(with_key(key).get(ME))["burst"] == 0  # its own three, counted alone since accepted


def test_an_invalid_token_or_a_malformed_key_counts_against_the_client_address(
    firm: Firm, limits: Any
) -> None:
    bad_token, malformed = APIClient(), APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    malformed.credentials(HTTP_AUTHORIZATION="Api-Key crm_nope")
    assert bad_token.get(ME).status_code == 401
    assert malformed.get(ME).status_code == 401
    assert client_for(None).get(ME).status_code == 401
    assert_rate_limited(bad_token.get(ME), "burst")
    assert set(buckets()) == {"burst:address:127.0.0.1", "sustained:address:127.0.0.1"}
    assert client_for(firm.manager).get(ME).status_code == 200


def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(db: Any, limits: Any) -> None:
    anonymous = APIClient()
    for n in range(3):
        anonymous.get(ME, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")  # spoofed: ignored
    assert_rate_limited(anonymous.get(ME, HTTP_X_FORWARDED_FOR="203.0.113.99"), "burst")
    limits.SIGNIN_TRUSTED_PROXIES = 1
    assert anonymous.get(ME, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 401
    assert "burst:address:203.0.113.99" in buckets()


def test_with_limits_off_nothing_is_taken_or_said(firm: Firm, limits: Any) -> None:
    limits.RATE_LIMIT_ENABLED = False
    manager = client_for(firm.manager)
    for _ in range(5):
        response = manager.get(ME)
        assert response.status_code == 200
    assert not response.has_header("RateLimit") and not response.has_header("RateLimit-Policy")
    assert buckets() == {}


def test_the_limiter_is_one_statement_before_the_requests_transaction(firm: Firm, limits: Any) -> None:
    manager = client_for(firm.manager)
    manager.get(ME)  # the token validated, the connection warm
    limits.RATE_LIMIT_ENABLED = False
    with CaptureQueriesContext(connection) as off:
        assert manager.get(ME).status_code == 200
    limits.RATE_LIMIT_ENABLED = True
    with CaptureQueriesContext(connection) as on:
        assert manager.get(ME).status_code == 200
    statements = [query["sql"] for query in on.captured_queries]
    assert len(statements) == len(off.captured_queries) + 1
    assert "crm_rate_limit_take" in statements[0]
    with CaptureQueriesContext(connection) as refused:
        manager.get(ME)
        assert_rate_limited(manager.get(ME), "burst")
    assert [q["sql"] for q in refused.captured_queries][-1].count("crm_rate_limit_take") == 1
    assert len(refused.captured_queries) == len(on.captured_queries) + 1  # a 429 costs the take alone


def test_the_runtime_role_can_neither_read_nor_take_buckets(firm: Firm, limits: Any) -> None:
    client_for(firm.manager).get(ME)
    with connection.cursor() as cursor:
        for statement in (
            "SELECT * FROM rate_limit_bucket",
            "DELETE FROM rate_limit_bucket",
            "SELECT * FROM crm_rate_limit_take('{burst:member:1}', '{1}', '{1}')",
        ):
            cursor.execute("SAVEPOINT refused")
            cursor.execute("SET LOCAL ROLE crm_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                cursor.cursor.execute(statement)
            cursor.execute("ROLLBACK TO SAVEPOINT refused")


def test_the_take_is_all_or_nothing_and_refuses_bad_arguments(db: Any) -> None:
    def take(names: list[str], intervals: list[int], quotas: list[int]) -> tuple[bool, list[int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT allowed, ahead_us FROM crm_rate_limit_take(%s::text[], %s::bigint[], %s::integer[])",
                [names, intervals, quotas],
            )
            return cursor.fetchone()

    minute = 60_000_000
    assert take(["a", "b"], [minute, minute], [1, 2])[0] is True
    allowed, ahead = take(["b", "a"], [minute, minute], [2, 1])  # "a" is used up: "b" keeps its second
    assert allowed is False and ahead[1] > minute - 5_000_000
    assert take(["b"], [minute], [2])[0] is True
    bad_arguments: list[tuple[list[str], list[int], list[int]]] = [
        ([], [], []),
        (["a"], [0], [1]),
        (["a"], [1], [0]),
        (["a", "b"], [1], [1, 1]),
    ]
    for bad in bad_arguments:
        with pytest.raises(DataError, match="positive interval and quota"), connection.cursor() as cursor:
            cursor.execute("SAVEPOINT bad")
            try:
                take(*bad)
            finally:
                cursor.execute("ROLLBACK TO SAVEPOINT bad")


def test_the_purge_deletes_full_buckets_only(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rate_limit_bucket (bucket, tat_us) VALUES ('burst:address:192.0.2.1', 0),"
            " ('burst:address:192.0.2.2', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 60000000)"
        )
    out = io.StringIO()
    call_command("purge_rate_limits", stdout=out)
    assert re.search(r"Deleted 1 full rate limit buckets", out.getvalue())
    assert list(buckets()) == ["burst:address:192.0.2.2"]


def test_the_buckets_are_unlogged_and_leave_room_for_hot_updates(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence, reloptions FROM pg_class WHERE relname = 'rate_limit_bucket'")
        assert cursor.fetchone() == ("u", ["fillfactor=70"])


def test_a_store_that_fails_limits_nothing_and_says_so_in_the_log(
    firm: Firm, limits: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(*args: Any) -> rate_limits.Taken:
        raise OperationalError("connection refused")

    monkeypatch.setattr(rate_limits.PostgresStore, "take", unreachable)
    monkeypatch.setattr(rate_limits, "_last_failure_logged", 0.0)
    manager = client_for(firm.manager)
    for _ in range(5):  # past the burst of 3: nothing refused
        response = manager.get(ME)
        assert response.status_code == 200 and not response.has_header("RateLimit")
    assert caplog.text.count("Rate limits not applied: the store cannot be reached") == 1  # once in 10 s
