"""`embedded_db`: the embedded server's status, URL and stop, and its silence when DATABASE_URL is set."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pgserver
import pytest
from django.core.management import call_command

from crm import embedded_db


def run(action: str) -> str:
    out = StringIO()
    call_command("embedded_db", action, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("action", ["start", "stop", "status", "url"])
def test_embedded_db_says_it_is_not_in_use_when_database_url_is_set(
    action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm@db.example/crm")
    assert "not in use" in run(action)


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if not (embedded_db.data_dir() / "PG_VERSION").exists():
        pytest.skip("these tests run against the embedded server")


def test_embedded_db_status_and_url_describe_the_running_server(embedded: None) -> None:
    assert "is running" in run("status")
    assert run("url").strip().startswith("postgresql://postgres@/")


def test_embedded_db_stop_runs_pg_ctl_stop_on_the_data_dir(
    embedded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real server is shared by everyone's tests: record the call instead of stopping it.
    calls: list[tuple[list[str], Path]] = []

    def fake_pg_ctl(args: list[str], pgdata: Path, **kwargs: Any) -> str:
        calls.append((args, pgdata))
        return ""

    monkeypatch.setattr(pgserver, "pg_ctl", fake_pg_ctl, raising=False)
    output = run("stop")

    assert calls == [(["-w", "stop"], embedded_db.data_dir())]
    assert "stopped" in output


@pytest.mark.parametrize(
    ("left", "kept"), [("", "[]"), ("[12, 3", "[]"), ("{}", "[]"), ("[12, 34]", "[12, 34]")]
)
def test_a_cut_short_handle_list_is_reset_before_pgserver_reads_it(
    tmp_path: Path, left: str, kept: str
) -> None:
    """A `make run` stopped while pgserver wrote its list of attached pids left it empty, and every later
    command failed to start the server."""
    path = tmp_path / ".handle_pids.json"
    path.write_text(left)
    embedded_db.repair_handle_list(path)
    assert path.read_text() == kept
    embedded_db.repair_handle_list(tmp_path / "absent.json")  # nothing to repair
    assert not (tmp_path / "absent.json").exists()
