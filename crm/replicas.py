"""Read replicas: which database serves a safe API request, under the same RLS, and read-your-writes.

`DATABASE_REPLICA_URLS` adds one database alias per streaming standby (`replica_1`, `replica_2`, …). A
request the middleware may route (`routable`: GET/HEAD/OPTIONS under /api/, signed in by a bearer token
or by nobody, no session cookie) is served by a healthy replica: for that request, in its thread, the
`default` alias *is* the replica's connection (`serving`), so every statement — the RLS context statement
first, the ORM's, raw SQL — runs there, under the same policies (a physical standby has the same roles,
functions and policies). Writes, sign-in, the admin and session requests stay on the primary.

Health, per process: a replica is checked at most every REPLICA_CHECK_SECONDS (one statement on it:
recovery, replay position, lag) and skipped while it is unreachable, no longer in recovery (promoted:
it may have diverged) or lagging more than DATABASE_REPLICA_MAX_LAG seconds.

Read-your-writes: a write's response carries the primary's WAL position after its commit
(`X-Database-Position`); a read that presents it is served by a replica only once that replica has
replayed past it (waiting up to DATABASE_REPLICA_WAIT_MS), else by the primary.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connections
from django.http import HttpRequest

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica_"
POSITION_HEADER = "X-Database-Position"
SERVED_BY_HEADER = "X-Database"
# How often a process re-reads a replica's state, and how long an unreachable one is left alone.
REPLICA_CHECK_SECONDS = 1.0
REPLICA_DOWN_SECONDS = 5.0
# Positions remembered for a replica that is behind: a thousand checks, a quarter hour, is lag enough.
MAX_PENDING = 1000
# A WAL position as PostgreSQL writes a pg_lsn: two hex numbers of up to 8 digits.
_LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Whether it is in recovery, how far it has replayed, and how far it is current: the WAL it has received
# when its replay waits for more (the startup process's wait event, readable with pg_monitor or as
# superuser). The primary flushes WAL that no commit asked for (an aborted transaction's, page pruning) up to
# the middle of a record, whose rest stays unsent until something commits; a standby that has replayed all
# it can holds every commit the primary has made, though its replay position stops short of the primary's.
STATE_SQL = """SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
       CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE backend_type = 'startup' AND wait_event = 'RecoveryWalStream')
            THEN greatest(pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn())
            ELSE pg_last_wal_replay_lsn() END::text"""


# Which cluster and database a connection reaches: a standby has its primary's system identifier and
# database oids. A URL pointing at another cluster's standby (or at another database) is never read.
IDENTITY_SQL = """SELECT system_identifier::text, (SELECT oid FROM pg_database WHERE datname = current_database())
                    FROM pg_control_system()"""


def lsn(text: str) -> int:
    """A pg_lsn's text ("16/B374D848") as a number, to compare."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class BadPosition(ValueError):
    """A malformed X-Database-Position header."""


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


@dataclass
class ReplicaState:
    """What a process last saw of a replica."""

    alias: str
    checked_at: float = 0.0
    down_until: float = 0.0
    in_recovery: bool = False
    replay_position: str | None = None
    lag_seconds: float | None = None
    error: str = ""  # what went wrong, as a kind (shown by /readyz)
    detail: str = ""  # and in full (dbhealth)
    primary_seen: int = 0  # the primary's furthest position read by a check
    # The primary's positions seen at each check, not replayed here yet, each with the time of the check
    # before the one that first saw it (it was written since): the replica's lag is the age of the oldest.
    # (The time since its last replayed transaction would call an idle, caught-up standby late.)
    pending: deque[tuple[int, float]] = field(default_factory=deque)
    # Whether it is a standby of this primary's cluster and holds this database (system identifier and the
    # database's oid, the same on every physical copy): None until read, once per process.
    ours: bool | None = None
    checking: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def usable(self) -> bool:
        return (
            time.monotonic() >= self.down_until
            and self.ours is True
            and self.in_recovery
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.DATABASE_REPLICA_MAX_LAG
        )

    def describe(self, *, detailed: bool = False) -> dict[str, Any]:
        if time.monotonic() < self.down_until:
            state = "down"
        elif self.ours is False:
            state = "another cluster"
        elif not self.in_recovery:
            state = "not a standby"
        elif self.lag_seconds is None or self.lag_seconds > settings.DATABASE_REPLICA_MAX_LAG:
            state = "lagging"
        else:
            state = "ok"
        return {
            "alias": self.alias,
            "state": state,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
            "replay_position": self.replay_position,
            "error": self.detail if detailed else self.error,
        }


_states: dict[str, ReplicaState] = {}
_BEING_CHECKED = ReplicaState("")  # never usable: not in recovery
_lock = threading.Lock()


def state_of(alias: str, *, fresh: bool = False) -> ReplicaState:
    """`alias`'s state, read again when older than REPLICA_CHECK_SECONDS (or `fresh`); while another thread
    of the process reads it, the last one seen."""
    with _lock:
        state = _states.setdefault(alias, ReplicaState(alias))
    now = time.monotonic()
    if not fresh and (now - state.checked_at < REPLICA_CHECK_SECONDS or now < state.down_until):
        return state
    if not state.checking.acquire(blocking=False):
        return _BEING_CHECKED  # overdue and being read by another thread: not trusted meanwhile
    try:
        _check(state, now)
    finally:
        state.checking.release()
    return state


def _check(state: ReplicaState, now: float) -> None:
    wrapper = connections[state.alias]
    try:
        primary = lsn(primary_position(flushed=True))
        ours = None
        if state.ours is None:
            with connections["default"].cursor() as cursor:
                cursor.execute(IDENTITY_SQL)
                ours = cursor.fetchone()
    except (DatabaseError, InterfaceError):
        return  # the primary is away: the request fails there anyway; the replica keeps its state
    state.primary_seen = max(state.primary_seen, primary)
    try:
        wrapper.close_if_health_check_failed()
        with wrapper.cursor() as cursor:
            cursor.execute(STATE_SQL)
            in_recovery, position, current = cursor.fetchone()
            if ours is not None:
                cursor.execute(IDENTITY_SQL)
                state.ours = cursor.fetchone() == ours
                if not state.ours:
                    logger.error(
                        "%s is not a standby of the primary's cluster, or not of its database: never read",
                        state.alias,
                    )
    except (DatabaseError, InterfaceError) as exc:
        wrapper.close()
        failed_at = time.monotonic()  # after the connect timeout, not before it
        state.down_until = failed_at + REPLICA_DOWN_SECONDS
        state.in_recovery, state.lag_seconds = False, None
        state.error = type(exc).__name__
        state.detail = _first_line(exc)
        state.checked_at = failed_at
        return
    state.in_recovery, state.replay_position = bool(in_recovery), position
    if (not state.pending or state.pending[-1][0] < primary) and len(state.pending) < MAX_PENDING:
        # Written at most since the check before this one: the lag is counted from there (an upper bound,
        # so a replica is skipped early rather than late).
        state.pending.append((primary, state.checked_at or now))
    replayed = lsn(current) if current else -1
    while state.pending and state.pending[0][0] <= replayed:
        state.pending.popleft()
    state.lag_seconds = now - state.pending[0][1] if state.pending else 0.0
    state.error = state.detail = ""
    state.down_until = 0.0
    state.checked_at = now


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def mark_down(alias: str, error: Exception) -> None:
    with _lock:
        state = _states.setdefault(alias, ReplicaState(alias))
    state.down_until = time.monotonic() + REPLICA_DOWN_SECONDS
    state.error, state.detail = type(error).__name__, _first_line(error)
    connections[alias].close()


def routable(request: HttpRequest) -> bool:
    """Whether `request` may be served by a replica: a safe method under /api/ (not sign-in, not the change
    feed), without a session (the admin and the browsable API may write theirs), not by an API key (its
    check records the key's last use, a write, and must see a revocation or a new key the moment the
    primary has it)."""
    return (
        request.method in SAFE_METHODS
        and request.path_info.startswith("/api/")
        and not request.path_info.startswith("/api/v1/auth/")
        # The change feed's horizon is a snapshot's xmin (ADR 0026): read where the writes commit.
        and not request.path_info.startswith("/api/v1/changes/")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("api-key")
    )


def requested_position(request: HttpRequest) -> str | None:
    """The WAL position the client asks to read after (`X-Database-Position`); a malformed one is a 400."""
    raw = request.headers.get(POSITION_HEADER)
    if raw is None or not raw.strip():
        return None
    if not _LSN.fullmatch(raw.strip()):
        raise BadPosition("Not a database position (as a write's response gives it).")
    return raw.strip()


def _replayed(alias: str, position: int, deadline: float) -> bool:
    wrapper = connections[alias]
    wrapper.close_if_health_check_failed()
    while True:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            replayed = cursor.fetchone()[0]
        if replayed is not None and lsn(replayed) >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def choose(request: HttpRequest) -> str | None:
    """The replica that serves `request`, or None for the primary."""
    aliases = replica_aliases()
    if not aliases or not routable(request):
        return None
    text = requested_position(request)
    position = None if text is None else lsn(text)
    deadline = time.monotonic() + settings.DATABASE_REPLICA_WAIT_MS / 1000  # one wait, whatever the replicas
    for alias in random.sample(aliases, len(aliases)):
        state = state_of(alias)
        if not state.usable:
            continue
        if position is not None:
            if position > state.primary_seen:
                # Written after this process last read the primary's position (or not a position the
                # primary has reached at all): the primary serves it, with no wait a client could
                # make every replica spend.
                return None
            try:
                if not _replayed(alias, position, deadline):
                    continue
            except (DatabaseError, InterfaceError) as exc:
                mark_down(alias, exc)
                continue
        return alias
    return None


@contextmanager
def serving(alias: str | None) -> Iterator[None]:
    """Inside, this thread's `default` connection is `alias`'s (nothing changes for None)."""
    if alias is None:
        yield
        return
    primary = connections["default"]
    connections["default"] = connections[alias]
    try:
        yield
    finally:
        connections["default"] = primary


# (user, credentials epoch) → (still current on the primary, when read): a replica's copy of the users
# lags, so a token the primary has revoked would still open a replica's context. Read from the primary,
# kept CREDENTIALS_SECONDS per process.
CREDENTIALS_SECONDS = 1.0
_credentials: dict[tuple[int, int | None], tuple[bool, float]] = {}


def credentials_current(user_id: int, credentials: int | None) -> bool:
    """Whether the primary still takes a token of `user_id` issued under `credentials` (not revoked by a
    password change, deactivation, a role change or an ended membership); read at most once a second."""
    global _credentials
    key = (user_id, credentials)
    now = time.monotonic()
    known = _credentials.get(key)
    if known is not None and now - known[1] < CREDENTIALS_SECONDS:
        return known[0]
    with connections["default"].cursor() as cursor:  # the primary, outside any transaction: settings vanish
        cursor.execute(
            "SELECT c.revoked, c.tenant_id FROM crm_request_context(%s::bigint, %s::bigint, NULL::jsonb) c",
            [user_id, credentials],
        )
        row = cursor.fetchone()
    # Revoked (another epoch), or nobody now (deactivated, no longer a member): the primary answers it.
    current = row is not None and not row[0] and row[1] is not None
    if len(_credentials) >= 10_000:
        _credentials = {}
    _credentials[key] = (current, now)
    return current


def primary_position(*, flushed: bool = False) -> str:
    """The primary's WAL position now. By default where its next record will go: after a commit, at or past
    that commit's record whatever synchronous_commit says (a write's response gives it). `flushed`: as far
    as the primary has flushed, so as far as a standby can have received; the lag is measured against it.
    WAL written but not flushed (an aborted transaction's, in a partial page) stays unsent for as long as
    nothing commits: measured against the write position, an idle standby would seem to fall behind."""
    function = "pg_current_wal_flush_lsn" if flushed else "pg_current_wal_insert_lsn"
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT {function}()::text")
        position: str = cursor.fetchone()[0]
    return position


def describe_all(*, fresh: bool = True, detailed: bool = False) -> list[dict[str, Any]]:
    """Each replica's state, for /readyz (errors by kind: the probe is public) and dbhealth (`detailed`)."""
    described = []
    for alias in replica_aliases():
        state = state_of(alias, fresh=fresh)
        if state is _BEING_CHECKED:
            state = _states[alias]
        described.append(state.describe(detailed=detailed))
    return described
