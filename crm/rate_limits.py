"""Rate limits per member, per API key and per client address, shared by every worker and node (ADR 0019).

Each policy (burst, sustained, writes; settings RATE_LIMIT_*) is a GCRA bucket per caller: a bucket keeps
one number, its theoretical arrival time (TAT), by the store's clock, so app nodes whose clocks differ
count alike. A request is let through when every bucket it counts against has room, and then takes one
from each; refused, it takes nothing (a client retrying too early does not push its own wait further).
The buckets live in PostgreSQL (crm migration 0024: one statement a request, in its own transaction
before the request's, so no bucket row stays locked while the request runs) or, with REDIS_URL set, in
Redis (the same arithmetic in one Lua script). The store's answer gives the draft-ietf-httpapi-ratelimit-
headers fields on every /api/ response (`RateLimit-Policy`, `RateLimit`) and a 429 problem with
`Retry-After` for a refused request, which runs nothing (no transaction, no Idempotency-Key claimed).

Who the caller is, decided before the database is asked anything about the request:

- a bearer token whose signature checks (crm.middleware.validated_token, no query): its member, by user
  id. A revoked but well-signed token still counts against its own member: only its holder has it.
- an `Api-Key` credential: its own bucket, named by a hash of the whole credential (key id and secret),
  so knowing a key's public id is not enough to spend its quota. Whether the key is real is known only
  once the request's context statement ran; until this process has seen the credential accepted, its
  requests count against the client address as well, so that random keys (each with a fresh bucket of its
  own) are limited by the address they come from.
- a session (the admin's browsable API): its user, read as Django does (crm.middleware does it anyway).
- anything else (nobody, an invalid token, a malformed key): the client address, as sign-in counts it
  (crm.signin.client_key: X-Forwarded-For only through SIGNIN_TRUSTED_PROXIES proxies; IPv6 per /64).

The limiter fails open: when its store cannot be reached the request is served (and logged), since the
database the request needs answers for itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from crm import api_keys, signin
from crm.api.limits import valid_id
from crm.postgresql.base import prepared

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

POLICY_HEADER = "RateLimit-Policy"
LIMIT_HEADER = "RateLimit"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MICROSECONDS = 1_000_000
# How long this process trusts that an API key credential was accepted (its requests then count against
# the key alone). A revoked key is refused by the database whatever this says.
KEY_ACCEPTED_SECONDS = 300.0
KEYS_REMEMBERED = 10_000
REDIS_PREFIX = "crm:rate:"
REDIS_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Policy:
    """A quota of requests per window of seconds (a GCRA bucket lets `quota` through at once, then one
    per `window / quota` seconds)."""

    name: str
    quota: int
    window: int
    writes_only: bool = False

    @property
    def interval_us(self) -> int:
        return max(1, self.window * MICROSECONDS // self.quota)

    @property
    def capacity_us(self) -> int:
        return self.interval_us * self.quota

    def applies_to(self, method: str) -> bool:
        return not self.writes_only or method in WRITE_METHODS

    def describe(self) -> str:
        """The policy as a RateLimit-Policy list member: `"burst";q=20;w=1`."""
        return f'"{self.name}";q={self.quota};w={self.window}'


@cache
def _policies(
    burst: tuple[int, int] | None, sustained: tuple[int, int] | None, writes: tuple[int, int] | None
) -> tuple[Policy, ...]:
    found = []
    for name, limit, writes_only in (
        ("burst", burst, False),
        ("sustained", sustained, False),
        ("writes", writes, True),
    ):
        if limit is not None:
            found.append(Policy(name, limit[0], limit[1], writes_only))
    return tuple(found)


def policies() -> tuple[Policy, ...]:
    """The policies in force (settings RATE_LIMIT_BURST, _SUSTAINED, _WRITES)."""
    return _policies(settings.RATE_LIMIT_BURST, settings.RATE_LIMIT_SUSTAINED, settings.RATE_LIMIT_WRITES)


def enabled() -> bool:
    return bool(settings.RATE_LIMIT_ENABLED) and bool(policies())


# --- who is asking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Whose buckets a request counts against: `partition` (`member:42`, `key:<hash>`, `address:<ip>`),
    and for a credential not yet seen accepted, the client address's too."""

    partition: str
    unverified_from: str | None = None

    @property
    def partitions(self) -> tuple[str, ...]:
        if self.unverified_from is None:
            return (self.partition,)
        return (self.partition, self.unverified_from)


_accepted_keys: dict[str, float] = {}
_accepted_lock = threading.Lock()


def key_partition(presented: api_keys.PresentedKey) -> str:
    """A key's partition: a hash of its id and its secret's digest (the whole credential), so neither the
    public id alone nor the stored digest names it, and the table holds no secret."""
    material = presented.key_id.encode() + b":" + presented.digest
    return "key:" + hashlib.sha256(material).hexdigest()[:32]


def key_accepted(partition: str) -> bool:
    until = _accepted_keys.get(partition)
    return until is not None and time.monotonic() < until


def remember_accepted_key(partition: str) -> None:
    with _accepted_lock:
        if len(_accepted_keys) >= KEYS_REMEMBERED:
            _accepted_keys.clear()
        _accepted_keys[partition] = time.monotonic() + KEY_ACCEPTED_SECONDS


def forget_accepted_keys() -> None:
    """For tests: every key credential unverified again in this process."""
    with _accepted_lock:
        _accepted_keys.clear()


def caller_of(request: HttpRequest) -> Caller:
    """Whose buckets this request takes from (see the module's docstring)."""
    from crm.middleware import bearer_token, validated_token  # the middleware imports this module

    address = "address:" + signin.client_key(request)
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    presented = api_keys.presented_key(authorization)
    if presented is not None:
        if presented == api_keys.MALFORMED:
            return Caller(address)
        partition = key_partition(presented)
        return Caller(partition) if key_accepted(partition) else Caller(partition, address)
    raw = bearer_token(request)
    if raw is not None:
        try:
            user_id = valid_id(validated_token(raw).get("user_id"))
        # Not signed by this service, expired, or an `exp` no date can hold (crm.middleware): nobody.
        except (InvalidToken, TokenError, KeyError, ValueError, TypeError, OverflowError):
            return Caller(address)
        return Caller(address if user_id is None else f"member:{user_id}")
    if authorization:  # another scheme (Basic, …): nobody, by address
        return Caller(address)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Caller(f"member:{user.pk}")
    return Caller(address)


# --- the stores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """The store's answer: whether the request may run, and for each bucket asked, in order, how far its
    theoretical arrival time is ahead of now, in microseconds (0: the bucket is full)."""

    allowed: bool
    ahead_us: tuple[int, ...]


class Store(Protocol):
    """Where the buckets live: `take` them all or none; `errors` are what it raises when it cannot."""

    errors: tuple[type[Exception], ...]

    def take(self, buckets: Sequence[str], intervals_us: Sequence[int], quotas: Sequence[int]) -> Taken: ...


class PostgresStore:
    """Buckets in `rate_limit_bucket`, through crm_rate_limit_take() (crm migration 0024), on the request's
    own connection as its own role, outside the request's transaction: autocommit, one statement."""

    errors: tuple[type[Exception], ...] = (DatabaseError, InterfaceError)

    def take(self, buckets: Sequence[str], intervals_us: Sequence[int], quotas: Sequence[int]) -> Taken:
        with prepared(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT allowed, ahead_us FROM crm_rate_limit_take(%s::text[], %s::bigint[], %s::integer[])",
                [list(buckets), list(intervals_us), list(quotas)],
            )
            row = cursor.fetchone()
        assert row is not None
        return Taken(bool(row[0]), tuple(int(value) for value in row[1]))


# The same arithmetic as crm_rate_limit_take(), atomically in Redis, by Redis's clock. Numbers in Lua are
# doubles: microseconds since the epoch (~1.8e15) are exact below 2^53. A bucket's key expires when it
# would be full again, so Redis keeps only callers being limited.
TAKE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local count = #KEYS
local tats, news, ahead = {}, {}, {}
local allowed = 1
for i = 1, count do
  local interval = tonumber(ARGV[i])
  local quota = tonumber(ARGV[count + i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  tats[i] = tat
  news[i] = math.max(tat, now) + interval
  if news[i] - now > interval * quota then allowed = 0 end
end
for i = 1, count do
  if allowed == 1 then
    local wait = news[i] - now
    redis.call('SET', KEYS[i], string.format('%.0f', news[i]), 'PX', math.ceil(wait / 1000) + 1)
    ahead[i] = wait
  else
    ahead[i] = math.max(tats[i] - now, 0)
  end
end
table.insert(ahead, 1, allowed)
return ahead
"""


class RedisStore:
    """Buckets in Redis (REDIS_URL), taken by one Lua script (EVALSHA): atomic across every client."""

    def __init__(self, url: str) -> None:
        import redis

        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self.script = self.client.register_script(TAKE_SCRIPT)

    def take(self, buckets: Sequence[str], intervals_us: Sequence[int], quotas: Sequence[int]) -> Taken:
        keys = [REDIS_PREFIX + bucket for bucket in buckets]
        reply = self.script(keys=keys, args=[*intervals_us, *quotas])
        return Taken(bool(int(reply[0])), tuple(int(value) for value in reply[1:]))


_stores: dict[str, RedisStore] = {}


def store() -> Store:
    """Redis when REDIS_URL is set (one client, with its connection pool, per process), else PostgreSQL."""
    url = settings.REDIS_URL
    if not url:
        return _POSTGRES
    found = _stores.get(url)
    if found is None:
        found = _stores.setdefault(url, RedisStore(url))
    return found


_POSTGRES = PostgresStore()


# --- what the client is told --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One policy's state for this caller after the request: requests left, seconds within which no more
    than those are available (None: the bucket is full), and for a refused request seconds to wait."""

    policy: Policy
    remaining: int
    reset: int | None
    wait: int | None


def limit_of(policy: Policy, ahead_us: int, allowed: bool) -> Limit:
    interval, capacity = policy.interval_us, policy.capacity_us
    remaining = max(0, min(policy.quota, (capacity - ahead_us) // interval))
    reset = None
    if remaining < policy.quota:
        # The next request beyond `remaining` fits once the TAT has come down to capacity - (remaining+1)·T.
        reset = max(1, math.ceil((ahead_us - (capacity - (remaining + 1) * interval)) / MICROSECONDS))
    wait = None
    if not allowed and ahead_us + interval > capacity:
        wait = max(1, math.ceil((ahead_us + interval - capacity) / MICROSECONDS))
    return Limit(policy, remaining, reset, wait)


def limits_of(applying: Sequence[Policy], caller: Caller, taken: Taken) -> list[Limit]:
    """Each policy's limit for the request: the tightest of its buckets (a caller counted against its
    address too is told the smaller of the two)."""
    limits = []
    partitions = len(caller.partitions)
    for index, policy in enumerate(applying):
        found = [
            limit_of(policy, taken.ahead_us[index * partitions + offset], taken.allowed)
            for offset in range(partitions)
        ]
        tightest = min(found, key=lambda limit: (limit.remaining, -(limit.wait or 0)))
        wait = max((limit.wait or 0 for limit in found), default=0) or None
        limits.append(Limit(policy, tightest.remaining, tightest.reset, wait))
    return limits


def set_headers(response: HttpResponse, limits: Sequence[Limit]) -> None:
    response[POLICY_HEADER] = ", ".join(limit.policy.describe() for limit in limits)
    response[LIMIT_HEADER] = ", ".join(
        f'"{limit.policy.name}";r={limit.remaining}'
        + (f";t={limit.reset}" if limit.reset is not None else "")
        for limit in limits
    )


def too_many_requests(request: HttpRequest, limits: Sequence[Limit]) -> HttpResponse:
    """The 429 problem: which policies are used up, and when to try again (the longest of their waits)."""

    from crm.api.problems import plain_problem  # it imports DRF's views: late

    violated = [limit for limit in limits if limit.wait is not None]
    retry_after = max(limit.wait or 1 for limit in violated) if violated else 1
    # The used-up policies' windows end when the client may come back: RateLimit's t is not later than
    # Retry-After (draft-ietf-httpapi-ratelimit-headers, section 6).
    limits = [
        Limit(limit.policy, 0, retry_after, limit.wait) if limit.wait is not None else limit
        for limit in limits
    ]
    said = ", ".join(
        f"{limit.policy.name} ({limit.policy.quota} requests per {limit.policy.window} s)"
        for limit in violated
    )
    response = plain_problem(
        request,
        429,
        "Too Many Requests",
        f"Rate limit reached: {said}. Try again in {retry_after} second{'' if retry_after == 1 else 's'}.",
        headers={"Retry-After": str(retry_after)},
        members={"code": "rate_limited", "violated_policies": [limit.policy.name for limit in violated]},
    )
    set_headers(response, limits)
    return response


# --- the middleware -----------------------------------------------------------------------------------

_last_failure_logged = 0.0


def _log_store_failure(exc: Exception) -> None:
    global _last_failure_logged
    now = time.monotonic()
    if now - _last_failure_logged >= 10:
        _last_failure_logged = now
        logger.warning(
            "Rate limits not applied: the store cannot be reached (%s: %s)", type(exc).__name__, exc
        )


class RateLimitMiddleware:
    """Takes the request's buckets before anything else of it reaches the database; answers 429 when one
    is used up, and puts RateLimit-Policy and RateLimit on every /api/ response it lets through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/") or not enabled():
            return self.get_response(request)
        method = request.method or "GET"
        applying = [policy for policy in policies() if policy.applies_to(method)]
        caller = caller_of(request)
        buckets, intervals, quotas = [], [], []
        for policy in applying:
            for partition in caller.partitions:
                buckets.append(f"{policy.name}:{partition}")
                intervals.append(policy.interval_us)
                quotas.append(policy.quota)
        backend = store()
        try:
            taken = backend.take(buckets, intervals, quotas)
        except backend.errors as exc:  # fail open: the request's own database work says what is wrong
            _log_store_failure(exc)
            return self.get_response(request)
        limits = limits_of(applying, caller, taken)
        if not taken.allowed:
            return too_many_requests(request, limits)
        response = self.get_response(request)
        if caller.unverified_from is not None and getattr(request, "api_key_presented", False):
            context = getattr(request, "crm", None)
            if context is not None and context.user_id is not None:  # the database accepted the key
                remember_accepted_key(caller.partition)
        set_headers(response, limits)
        return response


# Purging the PostgreSQL buckets (manage.py purge_rate_limits, and the worker every 5 minutes).
PURGE_BATCH = 10_000
# A bucket is full again once its theoretical arrival time (microseconds since the epoch) has passed.
PURGE_COUNT = (
    "SELECT count(*) FROM rate_limit_bucket"
    " WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
)
# One statement each, autocommit: a bucket being taken meanwhile is skipped (locked only for its own take),
# and a row is deleted only if its time has still passed once locked (a take in between wins).
PURGE_DELETE = (
    "DELETE FROM rate_limit_bucket WHERE bucket IN (SELECT bucket FROM rate_limit_bucket"
    " WHERE tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint LIMIT %s FOR UPDATE SKIP LOCKED)"
    " AND tat_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
)


def purge_full_buckets() -> int:
    """Deletes every full bucket, in batches of one autocommit statement each; returns how many."""
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(PURGE_DELETE, [PURGE_BATCH])
            count = cursor.rowcount
        deleted += count
        if count < PURGE_BATCH:
            return deleted
