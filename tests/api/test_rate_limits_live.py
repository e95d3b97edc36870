"""Rate limits across two gunicorn worker processes (crm.rate_limits, ADR 0019): one caller's requests, spread
over both workers, are counted as one process would count them, per member and per API key; a refused
request is a 429 problem with Retry-After and the RateLimit headers; another member or key is unaffected;
with the limits off nothing is limited. On PostgreSQL here; the same on Redis in test_rate_limits_redis.py.

Quotas of 10 per 10 minutes: a unit comes back a minute, so the count does not depend on how fast the
machine serves; requests go 4 at a time over new connections to workers of one thread each, so both
workers serve (their access log says which process answered each).
"""

from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crm.api_keys import api_key_create
from crm.rls import acting_as
from crm.tokens import tokens_for
from tests.conftest import Firm, make_firm
from tests.live import gunicorn_server

pytestmark = pytest.mark.django_db(transaction=True)

QUOTA = 10
LIMITS = {
    "RATE_LIMIT_ENABLED": "1",
    "RATE_LIMIT_BURST": f"{QUOTA}/600",
    "RATE_LIMIT_SUSTAINED": "1000/600",
    "RATE_LIMIT_WRITES": "1000/600",
}
ME = "/api/v1/me/"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


def get(base_url: str, authorization: str | None, path: str = ME) -> Answer:
    """One GET on a new connection (so that either worker may take it)."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)
    try:
        headers = {"Authorization": authorization} if authorization else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(body))
    finally:
        connection.close()


def burst(base_url: str, authorization: str | None, count: int) -> list[Answer]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda _: get(base_url, authorization), range(count)))


def remaining(answer: Answer) -> int:
    """The burst policy's `r` in the RateLimit field."""
    for member in answer.headers["ratelimit"].split(","):
        name, *parameters = member.strip().split(";")
        if name == '"burst"':
            return int(dict(p.split("=") for p in parameters)["r"])
    raise AssertionError(answer.headers["ratelimit"])


@contextmanager
def two_workers(tmp_path: Path, **environment: str) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "access.log"
    # Sync workers: one busy with a request accepts no other connection, so requests sent at once are
    # spread over both (a gthread worker, even of one thread, accepts connections while busy and could
    # take a whole burst).
    options = [
        *("--worker-class", "sync", "--threads", "1"),
        *("--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s"),
    ]
    with gunicorn_server(workers=2, options=options, **environment) as url:
        # The port listens once the first worker is up: probes (never limited) until both answer.
        deadline = time.monotonic() + 60
        while len(workers_that_answered(log)) < 2:
            assert time.monotonic() < deadline, "the second worker never answered"
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: get(url, None, "/healthz"), range(8)))
        yield url, log


def workers_that_answered(log: Path, since: int = 0) -> set[str]:
    """The worker processes that answered, from the access log's line `since` on."""
    if not log.exists():
        return set()
    return {line.split()[0] for line in log.read_text().splitlines()[since:] if line.strip()}


def lines(log: Path) -> int:
    return len(log.read_text().splitlines())


def assert_counted_as_one(answers: list[Answer]) -> None:
    """Exactly the quota let through, each with its own count of what is left; the rest refused, as 429
    problems with Retry-After and both RateLimit fields."""
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {200: QUOTA, 429: len(answers) - QUOTA}, statuses
    assert sorted(remaining(a) for a in answers if a.status == 200) == list(range(QUOTA))
    for answer in (a for a in answers if a.status == 429):
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.body["code"] == "rate_limited" and answer.body["violated_policies"] == ["burst"]
        assert answer.body["request_id"] == answer.headers["x-request-id"]
        assert 1 <= int(answer.headers["retry-after"]) <= 60
        assert answer.headers["ratelimit-policy"] == f'"burst";q={QUOTA};w=600, "sustained";q=1000;w=600'
        assert remaining(answer) == 0


@pytest.fixture
def firm() -> Firm:
    return make_firm("Limited Brokers")


def bearer(user: object) -> str:
    return f"Bearer {tokens_for(user).access_token}"


def test_a_members_requests_over_two_workers_are_counted_as_one(firm: Firm, tmp_path: Path) -> None:
    with two_workers(tmp_path, **LIMITS) as (url, log):
        start = lines(log)
        answers = burst(url, bearer(firm.manager), QUOTA + 6)
        assert_counted_as_one(answers)
        assert len(workers_that_answered(log, start)) == 2  # both processes counted
        # The same member with a new token shares the quota; another member has their own.
        assert get(url, bearer(firm.manager)).status == 429
        assert remaining(get(url, bearer(firm.other_manager))) == QUOTA - 1


def test_an_api_keys_requests_over_two_workers_are_counted_per_key(firm: Firm, tmp_path: Path) -> None:
    with acting_as(firm.admin.pk):
        key = api_key_create(name="Warehouse sync", role="viewer").key
        other_key = api_key_create(name="BI export", role="viewer").key
    with two_workers(tmp_path, **LIMITS) as (url, log):
        start = lines(log)
        answers = burst(url, f"Api-Key {key}", QUOTA + 6)
        assert_counted_as_one(answers)
        assert len(workers_that_answered(log, start)) == 2
        assert get(url, f"Api-Key {other_key}").status == 200
        # A key's first request in each worker counted against the address too: at most two of its ten.
        assert remaining(get(url, None)) >= QUOTA - 1 - 3


def test_with_the_limits_off_nothing_is_limited_or_said(firm: Firm, tmp_path: Path) -> None:
    with two_workers(tmp_path, **{**LIMITS, "RATE_LIMIT_ENABLED": "0"}) as (url, _):
        answers = burst(url, bearer(firm.manager), QUOTA + 6)
    assert {answer.status for answer in answers} == {200}
    assert not any("ratelimit" in answer.headers for answer in answers)
