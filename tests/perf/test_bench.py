"""The benchmark's measurement code: statistics, tables, load generators, and one tiny live run."""

from __future__ import annotations

import dj_database_url
import pytest

from workbench.bench import runner
from workbench.bench.load import Call, rows_in, wrk_script
from workbench.bench.server import database_url
from workbench.bench.stats import Latency, format_table, percentile, ratio
from workbench.datagen import generate


def test_percentile_interpolates_between_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1
    assert percentile([4, 1, 3, 2], 100) == 4
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_of_nothing_is_not_a_number_and_ratios_skip_it():
    nothing = Latency.of([])
    assert nothing.count == 0 and nothing.p50 != nothing.p50
    assert ratio(10.0, 2.0) == 5.0
    assert ratio(nothing.p50, 2.0) is None and ratio(1.0, None) is None and ratio(1.0, 0.0) is None


def test_format_table_aligns_names_left_and_numbers_right():
    table = format_table(["operation", "p50"], [["list", "1.5"], ["a longer name", "12.0"]])
    assert table.splitlines() == [
        "operation       p50",
        "-------------  ----",
        "list            1.5",
        "a longer name  12.0",
    ]
    with pytest.raises(ValueError):
        format_table(["a", "b"], [["only one"]])


def test_rows_in_counts_pages_lists_records_and_reports():
    assert rows_in({"next": None, "results": [1, 2, 3]}) == 3
    assert rows_in({"rows": [1, 2]}) == 2
    assert rows_in([1]) == 1
    assert rows_in({"id": 1}) == 1
    assert rows_in("text") is None


def test_wrk_script_carries_every_call_and_body_verbatim():
    script = wrk_script("tok", [Call("GET", "/a/?x=1"), Call("POST", "/b/", {"subject": "It's ]] here"})])
    assert "[=[GET]=]" in script and "[=[/a/?x=1]=]" in script
    assert '{"subject": "It\'s ]] here"}' in script  # a long bracket that does not clash with the body
    assert "[ [=[Authorization]=] ] = [=[Bearer tok]=]" in script


def test_database_url_keeps_socket_directories_and_passwords():
    for settings_dict in (
        {
            "NAME": "crm",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "OPTIONS": {"host": "/srv/pg"},
        },
        {"NAME": "crm", "USER": "owner", "PASSWORD": "p@ss w", "HOST": "db", "PORT": "5433", "OPTIONS": {}},
    ):
        parsed = dj_database_url.parse(database_url(settings_dict))
        assert parsed["NAME"] == "crm" and parsed["USER"] == settings_dict["USER"]
        assert parsed["PASSWORD"] == settings_dict["PASSWORD"]
        assert (parsed["HOST"] or parsed["OPTIONS"].get("host")) in ("/srv/pg", "db")


@pytest.mark.django_db(transaction=True)
def test_a_tiny_run_against_a_live_server_measures_every_operation_and_its_baselines():
    generate(scale=0.01, seed=5)
    options = runner.Options(connections=(1, 2), seconds=10, requests=5, client="python", only="interactions")
    report = runner.run(options, log=lambda line: None)

    assert report.failures == []
    names = {r.operation for r in report.results}
    assert {"interactions: recent", "interactions: create", "interactions: detail"} <= names
    for result in report.results:
        assert result.requests == 5 and result.errors == 0, result
        assert result.queries is not None and result.queries >= 2
        assert result.p50_ms is not None and result.p99_ms is not None and result.p50_ms <= result.p99_ms
    recent = next(r for r in report.results if r.operation == "interactions: recent")
    assert recent.rows == 50
    baselines = {b.operation: b for b in report.baselines}
    assert baselines["interactions: recent"].orm_sql_p50_ms is not None
    assert baselines["interactions: recent"].json_sql_p50_ms is not None
    assert baselines["interactions: recent"].no_rls_p50_ms is not None
    assert "interactions: recent" in runner.render(report)
    assert report.as_json()["results"][0]["connections"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_tiny_run_measures_cpu_per_request_of_both_servers_and_their_workers_memory():
    generate(scale=0.01, seed=6)
    options = runner.Options(connections=(1,), seconds=10, requests=20, client="python", only="detail")
    report = runner.run(options, log=lambda line: None)

    assert report.failures == [] and report.results
    assert report.database_cpu.startswith("its backends serving the server's connections")
    for result in report.results:  # 10 ms ticks over 20 requests: some cells may read 0
        assert result.server_cpu_ms is not None and result.server_cpu_ms >= 0
        assert result.database_cpu_ms is not None and result.database_cpu_ms >= 0
    assert sum(r.server_cpu_ms or 0 for r in report.results) > 0
    assert sum(r.database_cpu_ms or 0 for r in report.results) > 0
    for baseline in report.baselines:
        assert baseline.endpoint_server_cpu_ms is not None and baseline.no_rls_server_cpu_ms is not None
        assert baseline.orm_sql_database_cpu_ms is not None and baseline.no_rls_database_cpu_ms is not None
    assert [m.server for m in report.memory] == ["endpoint", "no RLS"]
    assert all(m.workers_start == m.workers_end == 2 and m.start_bytes > 0 for m in report.memory)
    endpoint = report.memory[0]
    assert endpoint.requests == sum(r.requests for r in report.results) > 0
    assert f"{endpoint.requests:,} measured requests" in runner.summary(report)
    document = report.as_json()
    assert {"server_cpu_ms", "database_cpu_ms"} <= document["results"][0].keys()
    assert document["worker_memory"][0]["change_percent"] is not None
    assert "server CPU" in runner.render(report) and "Worker RSS" in runner.summary(report)


def test_a_database_off_this_machine_shows_n_a_in_its_cpu_column_and_says_why_once():
    report = runner.Report(
        options=runner.Options(connections=(1,)),
        facts={"client": "python"},
        database_cpu="n/a: the database server (db.example.com) is not on this machine",
    )
    report.results.append(
        runner.Result("contacts: detail", "contacts", "/x/", 1, "python", 9, 0, 9.0, 1.0, 2.0, 3.0, 2, 1, 0.5)
    )
    rendered = runner.render(report)
    assert rendered.count("db.example.com") == 1
    assert rendered.splitlines()[-1].split()[-4:] == ["n/a", "2", "1", "0"]
    assert "0.50" in rendered.splitlines()[-1]


def test_with_replicas_each_operation_says_which_database_answered_it():
    report = runner.Report(options=runner.Options(connections=(1,)), facts={"client": "python"})
    for name, served_by in (("contacts: detail", "replica"), ("interactions: create", "primary")):
        report.results.append(
            runner.Result(
                name, "x", "/x/", 1, "python", 9, 0, 9.0, 1.0, 2.0, 3.0, 2, 1, 0.5, served_by=served_by
            )
        )
    lines = runner.render(report).splitlines()
    assert next(line for line in lines if line.startswith("operation")).split()[-1] == "database"
    assert lines[-2].split()[-1] == "replica" and lines[-1].split()[-1] == "primary"
    assert report.as_json()["results"][0]["served_by"] == "replica"
    # Without replicas the column is not there.
    for result in report.results:
        result.served_by = None
    lines = runner.render(report).splitlines()
    assert next(line for line in lines if line.startswith("operation")).split()[-1] == "errors"


@pytest.mark.django_db(transaction=True)
def test_a_tiny_export_run_streams_every_interaction_and_measures_the_workers_memory():
    from workbench.bench import export

    generate(scale=0.01, seed=7)
    results = export.run(["csv", "xlsx"], log=lambda line: None)
    assert [r.format for r in results] == ["csv", "xlsx"]
    for result in results:
        assert result.rows > 0 and result.bytes > 0 and result.seconds > 0
        assert result.rss_start > 0 and result.rss_peak >= result.rss_start
    assert "rows/s" in export.render(results)
    assert results[0].as_json()["rows_per_second"] > 0


@pytest.mark.django_db(transaction=True)
def test_a_tiny_merge_run_merges_fresh_duplicates_through_the_api_and_times_each():
    from organizations.models import Organization
    from workbench.bench import merge

    generate(scale=0.01, seed=8)
    results = merge.run(interactions=30, repeat=2, log=lambda line: None)
    assert [r.status for r in results] == [200, 200]
    assert all(r.milliseconds > 0 and r.queries > 0 and r.moved_rows == 30 + 11 for r in results)
    assert (
        Organization.objects.filter(merged_into__isnull=False, name__startswith="BENCHMARK MERGE").count()
        == 2
    )
    assert "merge ms" in merge.render(results)


@pytest.mark.django_db(transaction=True)
def test_the_scene_lists_the_duplicates_of_organizations_and_contacts():
    from workbench.bench.scenario import build_scene

    generate(scale=0.01, seed=9)
    names = {operation.name: operation for operation in build_scene().operations}
    assert names["organizations: duplicates"].calls[0].path.endswith("/organizations/duplicates/")
    assert names["contacts: duplicates"].query_budget == 2


@pytest.mark.django_db(transaction=True)
def test_the_scene_measures_the_sell_through_reports_within_their_budgets():
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from workbench.bench.scenario import REPORT_BUDGET, build_scene

    generate(scale=0.01, seed=10)
    scene = build_scene()
    names = {operation.name: operation for operation in scene.operations}
    client = Client(HTTP_AUTHORIZATION=f"Bearer {scene.token}")
    assert names["reports: principal-scorecard"].query_budget == REPORT_BUDGET + 2
    for report in ("sales-velocity", "points-of-distribution", "buying-opportunities"):
        for name in (f"reports: {report}", f"reports: {report}, filtered"):
            operation = names[name]
            assert operation.query_budget == REPORT_BUDGET
            for call in operation.calls:
                client.get(call.path)  # a process's first request fills Django's caches
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(call.path)
                assert response.status_code == 200, (call.path, response.content)
                # Every statement the request runs (the RLS context and the time zones included), not the
                # transaction's BEGIN and COMMIT.
                statements = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]
                assert len(statements) <= operation.query_budget, (
                    call.path,
                    [sql[:50] for sql in statements],
                )


@pytest.mark.django_db(transaction=True)
def test_a_tiny_sales_bench_import_matches_most_rows_and_replaces_its_periods_when_run_again():
    import io

    from django.core.management import call_command

    from imports.models import Import
    from sales.models import SalesFact

    generate(scale=0.01, seed=11)
    before = SalesFact.objects.count()
    out = io.StringIO()
    call_command("bench_import", kind="sales", rows=600, stdout=out)
    lines = out.getvalue().splitlines()
    timed = {line.split(":")[0].strip(): line for line in lines if " rows/s" in line}
    assert set(timed) == {"dry run", "import", "re-import"}, lines
    for line in timed.values():
        assert "succeeded" in line and " 0 error" in line, line
        created = int(line.split(" create")[0].rsplit(" ", 1)[1])
        unmatched = int(line.split(" unmatched")[0].rsplit(" ", 1)[1])
        assert created + unmatched == 600 and created >= 450, line  # names and item numbers are the firm's
    # The real run wrote its facts; the re-import replaced the same periods rather than adding to them.
    replaced = int(timed["re-import"].split(" facts replaced")[0].rsplit(" ", 1)[1].replace(",", ""))
    real, again = Import.objects.filter(kind="sales", dry_run=False).order_by("id")
    assert not SalesFact.objects.filter(source_import_id=real.pk).exists()
    assert replaced == SalesFact.objects.filter(source_import_id=again.pk).count() > 0
    assert (
        SalesFact.objects.count()
        == before
        - int(timed["import"].split(" facts replaced")[0].rsplit(" ", 1)[1].replace(",", ""))
        + replaced
    )
