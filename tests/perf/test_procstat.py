"""The benchmark's /proc readings, on real processes: CPU of a process tree (children alive and reaped),
of a PostgreSQL backend found by application_name, and resident memory."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from workbench.bench import meters, procstat
from workbench.bench.server import connection_params

# A parent that, once told to, runs one child to its end (reaped: its CPU moves to the parent's cutime),
# starts a second that burns and stays alive, burns itself, then says so and waits to be closed. Burning
# is of its own CPU (process_time), not of wall time: the machine is shared.
FAMILY = """
import subprocess, sys, time

def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass

child = [sys.executable, "-c", sys.argv[2], "child", sys.argv[2]]
if sys.argv[1] == "child":
    burn(0.3)
    print("burnt", flush=True)
    sys.stdin.read()
else:
    print("ready", flush=True)
    sys.stdin.readline()
    subprocess.run(child, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    alive = subprocess.Popen(child, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    alive.stdout.readline()
    burn(0.2)
    print("burnt", flush=True)
    sys.stdin.read()
    alive.stdin.close()
    alive.wait()
"""


@contextmanager
def running(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(30)


def test_stat_lines_are_parsed_past_a_command_name_with_spaces_and_parentheses():
    line = "4242 (we (ird) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 123 45 6 7 20 0 1 0 99 0 0"
    parsed = procstat.parse_stat(line)
    assert (parsed.pid, parsed.comm, parsed.ppid) == (4242, "we (ird) name", 17)
    assert (parsed.utime, parsed.stime, parsed.cutime, parsed.cstime) == (123, 45, 6, 7)
    assert parsed.own_ticks == 168 and parsed.ticks_with_reaped_children == 181


def test_a_process_trees_cpu_counts_its_own_its_live_child_and_its_reaped_child():
    with running(FAMILY, "parent", FAMILY) as family:
        assert family.stdin is not None and family.stdout is not None
        assert family.stdout.readline().strip() == "ready"
        before = procstat.tree_ticks(family.pid)
        family.stdin.write("go\n")
        family.stdin.flush()
        assert family.stdout.readline().strip() == "burnt"
        tree = procstat.tree(family.pid)
        spent = procstat.seconds(procstat.tree_ticks(family.pid) - before)
        own = procstat.seconds(procstat.ticks_of([family.pid])[family.pid])

    assert len(tree) == 2  # the parent and the live child; the reaped one counts through the parent
    assert tree[1].ppid == family.pid
    # 0.3 + 0.3 + 0.2 s burnt, plus two interpreters' start-up; ticks are 10 ms and the kernel samples.
    assert 0.7 <= spent <= 2.0, spent
    assert own < spent - 0.4  # the children's share is not the parent's own


def test_a_process_that_has_ended_reads_as_nothing():
    with running("import sys; sys.stdin.read()") as idle:
        pid = idle.pid
    assert procstat.stat(pid) is None and procstat.tree(pid) == [] and procstat.resident_bytes(pid) is None
    assert procstat.ticks_of([pid]) == {}


def test_resident_memory_grows_by_what_a_worker_touches():
    grow = "import sys\nsys.stdin.readline()\nheld = b'x' * (64 << 20)\nprint('held', flush=True)\nsys.stdin.read()"
    with running("print('ready', flush=True)\n" + grow) as worker:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdout.readline()
        before = procstat.resident_bytes(worker.pid)
        worker.stdin.write("go\n")
        worker.stdin.flush()
        worker.stdout.readline()
        after = procstat.resident_bytes(worker.pid)
    assert before is not None and after is not None
    assert 60 << 20 <= after - before <= 80 << 20


def test_workers_are_the_direct_children_and_their_memory_is_summed():
    # Each child says it is ready once its interpreter has started, and the parent waits for both: a child
    # still loading grows between the two readings (CI once saw 12.5 MB summed, then 17 MB one by one).
    spawn = (
        "import subprocess, sys\n"
        "kid = 'import sys; print(1, flush=True); sys.stdin.read()'\n"
        "kids = [subprocess.Popen([sys.executable, '-c', kid], stdin=subprocess.PIPE, stdout=subprocess.PIPE)"
        " for _ in range(2)]\n"
        "for k in kids:\n    k.stdout.readline()\n"
        "print('ready', flush=True)\nsys.stdin.read()\nfor k in kids:\n    k.stdin.close()\n    k.wait()"
    )
    with running(spawn) as master:
        assert master.stdout is not None
        master.stdout.readline()
        workers, resident = meters.workers_resident(master.pid)
        kids = procstat.children(master.pid)
        each = [procstat.resident_bytes(k) or 0 for k in kids]
    assert workers == 2 and len(kids) == 2
    assert resident > 0 and abs(resident - sum(each)) < 4 << 20


@pytest.mark.django_db
def test_a_backends_cpu_is_found_by_application_name_and_measured():
    with connection.cursor() as cursor:
        assert meters.local_backend_problem(cursor, connection.settings_dict["OPTIONS"].get("host")) is None
    conninfo = make_conninfo(
        "", **connection_params(connection.settings_dict), application_name="crm-test-meter"
    )
    with (
        psycopg.connect(conninfo, autocommit=True) as watch,
        psycopg.connect(conninfo, autocommit=True) as busy,
    ):
        watch.execute("SET application_name = 'crm-test-watch'")
        meter = meters.Meter(None, meters.backends_named(watch.cursor(), "crm-test-meter"))
        before = meter.read()
        assert before.database is not None and busy.info.backend_pid in before.database
        busy.execute("SET max_parallel_workers_per_gather = 0")
        started = time.monotonic()
        busy.execute("SELECT count(*) FROM generate_series(1, 3000000) g WHERE g % 7 = 3").fetchall()
        wall = time.monotonic() - started
        spent = meter.since(before)
    assert spent.server is None and spent.database is not None
    # One backend on one core: no more CPU than the wall clock gave it (plus a tick), and a real share.
    assert 0.05 <= spent.database <= wall + 0.05, (spent.database, wall)
    assert spent.per_request_ms(2)[1] == pytest.approx(spent.database * 500, abs=0.001)


def test_a_remote_database_is_not_measured():
    assert meters.local_backend_problem(None, "db.example.com") == (
        "the database server (db.example.com) is not on this machine"
    )
