"""The benchmark's app servers (`benchmark --server`): gunicorn's gthread and sync workers and granian, each
serving the API as the benchmark runs it, with its processes found by the CPU and memory meters."""

from __future__ import annotations

import pytest
from django.db import connection

from workbench.bench import baselines, load, meters, procstat, runner, server
from workbench.bench.scenario import build_scene
from workbench.datagen import generate


def test_sync_workers_are_not_given_threads_which_would_make_gunicorn_run_gthread():
    sync = server.server_command("sync", 8000, workers=2, threads=4)
    assert sync[sync.index("--worker-class") + 1] == "sync" and "--threads" not in sync
    gthread = server.server_command("gthread", 8000, workers=2, threads=4)
    assert gthread[gthread.index("--threads") + 1] == "4"
    assert server.describe("sync", workers=2, threads=4).endswith("sync, 2 workers × 1 thread")
    assert server.describe("gthread", workers=1, threads=8).endswith("gthread, 1 worker × 8 threads")


def test_granian_serves_the_wsgi_app_with_the_threads_asked_for_as_its_blocking_threads():
    command = server.server_command("granian", 8000, workers=3, threads=5)
    assert command[command.index("--interface") + 1] == "wsgi"
    assert "workbench.bench.wsgi:application" in command
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--blocking-threads") + 1] == "5"
    assert server.describe("granian", workers=3, threads=5).startswith("granian 2.")
    with pytest.raises(ValueError, match="unknown server"):
        server.server_command("uwsgi", 8000, workers=1, threads=1)


def test_the_reports_header_and_json_say_which_server_ran_with_how_many_workers_and_threads():
    served_by = server.describe("granian", workers=2, threads=4)
    report = runner.Report(
        options=runner.Options(connections=(1,), server="granian"),
        facts={"client": "python", "server": served_by},
    )
    assert f"served by {served_by};" in runner.render(report).splitlines()[0]
    document = report.as_json()
    assert document["data"]["server"] == served_by
    assert (document["options"]["server"], document["options"]["workers"]) == ("granian", 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["granian", "sync"])
def test_each_server_answers_an_authenticated_list_on_persistent_connections_its_workers_metered(kind):
    generate(scale=0.01, seed=8)
    scene = build_scene()
    listing = next(op for op in scene.operations if op.name == "organizations: customers by name")
    application = f"crm-test-{kind}"  # the server's sessions, told apart in pg_stat_activity
    settings_dict = connection.settings_dict
    url = server.database_url(
        {**settings_dict, "OPTIONS": {**settings_dict["OPTIONS"], "application_name": application}}
    )
    workers, threads = 2, 2
    with (
        baselines.connect(settings_dict) as watch,
        server.serve_process(url, server=kind, workers=workers, threads=threads) as served,
    ):
        checked = load.probe(served.url, scene.token, listing.calls[0])
        assert checked.status == 200, checked.excerpt
        assert checked.rows and checked.queries is not None

        # The workers are the main process's children: the CPU meter reads all of them, and the memory
        # meter finds each one.
        tree = procstat.tree(served.pid)
        assert len(tree) == 1 + workers, tree
        assert all(s.ppid == served.pid for s in tree[1:])
        assert meters.workers_resident(served.pid)[0] == workers
        worker_pids = [s.pid for s in tree[1:]]
        meter = meters.Meter(served.pid, None)
        before, workers_before = meter.read(), procstat.ticks_of(worker_pids)

        backends = meters.backends_named(watch.cursor(), application)
        first = load.python_load(
            served.url, scene.token, listing.calls, connections=4, max_requests=40, seconds=60
        )
        opened = set(backends())
        second = load.python_load(
            served.url, scene.token, listing.calls, connections=4, max_requests=40, seconds=60
        )
        spent = meter.since(before)
        workers_spent = procstat.ticks_between(workers_before, procstat.ticks_of(worker_pids))

        assert (first.requests, first.errors, second.requests, second.errors) == (40, 0, 40, 0)
        # The app ran in the workers (granian: in its Rust-started threads), inside the tree the meter reads.
        assert spent.server is not None and spent.server > 0 and workers_spent > 0
        # One connection per thread that served, kept between requests (CONN_MAX_AGE), not one per request:
        # the second round finds the first's still open (and may open one for a thread that had not served).
        kept = set(backends())
        assert opened and opened <= kept, (opened, kept)
        assert len(kept) <= workers * server.threads_per_worker(kind, threads), kept
