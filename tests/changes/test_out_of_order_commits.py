"""The feed's cursor against transactions that commit out of order (ADR 0026), with real concurrent
transactions on their own connections: an entry whose transaction commits after a later id was already
read is not skipped, none is given twice, and one record's changes come in the order they were made."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.support import API, ok
from tests.conftest import Firm, client_for
from tests.live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

FEED = f"{API}/changes/"


@pytest.fixture
def connect() -> Iterator[Any]:
    """Writers on connections of their own (the test database's owner), each in an open transaction
    until the test commits it."""
    opened: list[psycopg.Connection[Any]] = []

    def open_one() -> psycopg.Connection[Any]:
        conn = psycopg.connect(database_url(), autocommit=False)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


def write(conn: psycopg.Connection[Any], organization_id: int, notes: str) -> int:
    """Changes an organization in `conn`'s open transaction; the history entry's id."""
    conn.execute("UPDATE organization SET notes = %s WHERE id = %s", [notes, organization_id])
    row = conn.execute(
        "SELECT id FROM history WHERE table_name = 'organization' AND row_id = %s ORDER BY id DESC LIMIT 1",
        [organization_id],
    ).fetchone()
    assert row is not None
    return int(row[0])


class Reader:
    """A consumer polling the feed from its last `next`."""

    def __init__(self, client: APIClient, resource: str = "organizations") -> None:
        self.client, self.resource = client, resource
        self.cursor: str | None = None
        self.seen: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while True:
            params = {"resource": self.resource, "limit": 50}
            if self.cursor is not None:
                params["after"] = self.cursor
            body = ok(self.client.get(FEED, params))
            got += body["results"]
            self.cursor = body["next"]
            if not body["has_more"]:
                break
        self.seen += got
        return got


def test_an_entry_committed_after_a_later_one_was_read_is_served_later_not_skipped(
    firm: Firm, connect: Any
) -> None:
    first = f.CustomerFactory(tenant=firm.tenant)
    second = f.CustomerFactory(tenant=firm.tenant)
    reader = Reader(client_for(firm.admin))
    reader.poll()

    t1, t2 = connect(), connect()
    t1_entry = write(t1, first.pk, "T1")  # the lower id, still uncommitted
    t2_entry = write(t2, second.pk, "T2")
    assert t1_entry < t2_entry
    t2.commit()

    # "id > last seen" would now hand out T2's entry and, once T1 commits, never T1's. The feed holds
    # T2's back while T1 runs: its cursor does not pass T1's uncommitted entry.
    assert reader.poll() == []
    t1.commit()
    assert [c["id"] for c in reader.poll()] == [t1_entry, t2_entry]
    assert reader.poll() == []


def test_a_transaction_with_an_older_id_that_writes_last_is_still_served(firm: Firm, connect: Any) -> None:
    first = f.CustomerFactory(tenant=firm.tenant)
    second = f.CustomerFactory(tenant=firm.tenant)
    reader = Reader(client_for(firm.admin))
    reader.poll()

    old, young = connect(), connect()
    old.execute("SELECT pg_current_xact_id()")  # the older transaction id, but no entry yet
    young_entry = write(young, second.pk, "young")
    young.commit()
    assert reader.poll() == []  # the older transaction may still write before it
    old_entry = write(old, first.pk, "old")  # the higher history id, the lower transaction id
    assert reader.poll() == []
    old.commit()
    assert sorted(c["id"] for c in reader.poll()) == sorted([old_entry, young_entry])
    assert reader.poll() == []


def test_one_records_changes_come_in_the_order_they_were_made(firm: Firm, connect: Any) -> None:
    record = f.CustomerFactory(tenant=firm.tenant)
    reader = Reader(client_for(firm.admin))
    reader.poll()

    early, late = connect(), connect()
    early.execute("SELECT pg_current_xact_id()")  # the lower transaction id...
    first_change = write(late, record.pk, "first")  # ...but the other transaction changes the record first
    late.commit()
    second_change = write(early, record.pk, "second")
    early.commit()

    changes = reader.poll()
    assert [c["id"] for c in changes] == [first_change, second_change]
    assert [c["changes"]["notes"][1] for c in changes] == ["first", "second"]


def test_a_reader_polling_through_concurrent_writers_gets_every_committed_change_once(
    firm: Firm, connect: Any
) -> None:
    records = [f.CustomerFactory(tenant=firm.tenant).pk for _ in range(6)]
    reader = Reader(client_for(firm.admin))
    reader.poll()
    reader.seen = []
    committed: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + 6

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        conn = connect()
        n = 0
        while time.monotonic() < stop:
            # Several records per transaction, locked in one order (no deadlocks between writers).
            chosen = sorted(rng.sample(records, rng.randint(1, 3)))
            entries = [write(conn, record, f"w{seed}-{n}") for record in chosen]
            n += 1
            time.sleep(rng.random() * 0.05)  # commit late: other writers' later ids commit first
            if rng.random() < 0.2:
                conn.rollback()  # a rolled-back change is never in the feed
            else:
                conn.commit()
                with lock:
                    committed.extend(entries)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        reader.poll()
        time.sleep(0.01)
    reader.poll()

    ids = [c["id"] for c in reader.seen]
    assert len(ids) == len(set(ids)), "a change was given twice"
    assert sorted(ids) == sorted(committed), "a committed change was skipped, or a rolled-back one given"
    assert len(committed) > 50
    # Each record's changes in the order they were made (its history ids increase under its row lock).
    for record in records:
        of_record = [c["id"] for c in reader.seen if c["record_id"] == record]
        assert of_record == sorted(of_record)


def test_a_transaction_of_another_database_does_not_hold_the_feed_back_one_of_this_database_does(
    firm: Firm, connect: Any
) -> None:
    """Transaction ids are the cluster's: a long transaction of another database (another application,
    another test run) must not delay this one's feed (crm_feed_horizon, crm 0027); one of this database,
    which may still write history, must."""
    organization = f.CustomerFactory(tenant=firm.tenant)
    reader = Reader(client_for(firm.admin))
    reader.poll()

    scheme, rest = database_url().split("://", 1)
    path, _, query = rest.partition("?")
    elsewhere = psycopg.connect(
        f"{scheme}://{path.rsplit('/', 1)[0]}/postgres" + (f"?{query}" if query else "")
    )
    try:
        elsewhere.execute("SELECT pg_current_xact_id()")  # an older transaction id, in another database
        mine = connect()
        entry = write(mine, organization.pk, "committed")
        mine.commit()
        assert [c["id"] for c in reader.poll()] == [entry]

        here = connect()
        here.execute("SELECT pg_current_xact_id()")  # an older transaction id, in this database
        later = connect()
        held = write(later, organization.pk, "held back")
        later.commit()
        assert reader.poll() == []
        here.rollback()
        assert [c["id"] for c in reader.poll()] == [held]
    finally:
        elsewhere.close()
