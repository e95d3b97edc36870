"""Rate limits on Redis (REDIS_URL; crm.rate_limits.RedisStore, ADR 0019), against a real redis-server started
for this module: the same limits as on PostgreSQL, in-process and across two gunicorn workers; buckets that
expire by themselves; and a Redis that cannot be reached limits nothing rather than failing requests.

Needs Debian's `redis-server` (`make redis`, run by `make test`, installs it when it can); without it these
tests are skipped, loudly.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from crm import rate_limits
from tests.api.test_rate_limits import ME, assert_rate_limited, remaining
from tests.api.test_rate_limits_live import (
    LIMITS,
    QUOTA,
    assert_counted_as_one,
    bearer,
    burst,
    get,
    two_workers,
)
from tests.api.test_rate_limits_live import remaining as burst_remaining
from tests.conftest import client_for, make_firm
from tests.pgbouncer.test_transaction_pooling import free_port

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="*** SKIPPED LOUDLY: REDIS-SERVER NOT INSTALLED: the rate limits' Redis tests did not run"
    " (`make redis`, or apt-get install redis-server) ***",
)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, nothing written to disk."""
    port = free_port()
    directory = tmp_path_factory.mktemp("redis")
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(directory), "--protected-mode", "yes"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)


@pytest.fixture
def on_redis(settings: Any, redis_url: str) -> Iterator[redis.Redis]:
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_BURST = (3, 60)
    settings.RATE_LIMIT_SUSTAINED = (5, 60)
    settings.RATE_LIMIT_WRITES = (2, 60)
    settings.REDIS_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    rate_limits.forget_accepted_keys()
    yield client
    client.close()


def test_a_member_is_limited_through_redis_and_postgresql_holds_no_bucket(
    db: Any, on_redis: redis.Redis
) -> None:
    firm = make_firm("Redis Brokers")
    manager = client_for(firm.manager)
    assert [remaining(manager.get(ME)) for _ in range(3)] == [
        {"burst": 2, "sustained": 4},
        {"burst": 1, "sustained": 3},
        {"burst": 0, "sustained": 2},
    ]
    refused = manager.get(ME)
    assert_rate_limited(refused, "burst")
    assert 19 <= int(refused["Retry-After"]) <= 20
    assert remaining(client_for(firm.other_manager).get(ME))["burst"] == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rate_limit_bucket")
        assert cursor.fetchone() == (0,)
    # Each bucket expires when it would be full again: Redis keeps only callers being limited.
    key = f"{rate_limits.REDIS_PREFIX}burst:member:{firm.manager.pk}"
    assert 59_000 <= on_redis.pttl(key) <= 60_001
    assert sorted(k.decode() for k in on_redis.keys("*")) == sorted(
        f"{rate_limits.REDIS_PREFIX}{policy}:member:{user.pk}"
        for policy in ("burst", "sustained")
        for user in (firm.manager, firm.other_manager)
    )


def test_a_redis_that_cannot_be_reached_limits_nothing(
    db: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_BURST = (1, 60)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    rate_limits._last_failure_logged = 0.0
    manager = client_for(make_firm("Unlimited Brokers").manager)
    for _ in range(3):
        response = manager.get(ME)
        assert response.status_code == 200 and not response.has_header("RateLimit")
    assert "Rate limits not applied: the store cannot be reached" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_members_requests_over_two_workers_are_counted_as_one_in_redis(
    redis_url: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    firm = make_firm("Shared Redis Brokers")
    with two_workers(tmp_path, **LIMITS, REDIS_URL=redis_url) as (url, _):
        assert_counted_as_one(burst(url, bearer(firm.manager), QUOTA + 6))
        assert burst_remaining(get(url, bearer(firm.other_manager))) == QUOTA - 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rate_limit_bucket")
        assert cursor.fetchone() == (0,)
