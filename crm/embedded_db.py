"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is not set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from psycopg import sql

DATABASE_NAME = "crm"


def data_dir() -> Path:
    base = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("PGDATA_DIR", base / ".pgdata")).resolve()


def server() -> Any:
    """Start the embedded server (or attach to the one already running on the data dir)."""
    import logging
    import warnings

    # pgserver logs every start/attach at INFO and platformdirs warns about XDG_RUNTIME_DIR: noise here.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported lazily: only needed without DATABASE_URL

    repair_handle_list(data_dir() / ".handle_pids.json")
    # cleanup_mode=None: the server outlives this process, so `make run` and later commands share it.
    return pgserver.get_server(str(data_dir()), cleanup_mode=None)


def repair_handle_list(path: Path) -> None:
    """pgserver keeps the pids attached to its server in this JSON list; a process stopped while writing
    it leaves it empty or cut short, and pgserver then fails to start at all. Such a list is reset (the
    server it describes is found again from its postmaster.pid)."""
    import json

    try:
        text = path.read_text()
    except FileNotFoundError:
        return
    try:
        if isinstance(json.loads(text), list):
            return
    except ValueError:
        pass
    path.write_text("[]")


def database_url() -> str:
    srv = server()
    # psql takes the text, not parameters: composed without a connection (psycopg >= 3.2).
    exists = srv.psql(
        sql.SQL("SELECT 1 FROM pg_database WHERE datname = {};")
        .format(sql.Literal(DATABASE_NAME))
        .as_string()
    )
    if "(1 row)" not in exists:
        srv.psql(sql.SQL("CREATE DATABASE {};").format(sql.Identifier(DATABASE_NAME)).as_string())
    # pgserver listens on a unix socket inside the data dir only; no TCP port is opened.
    return f"postgresql://postgres@/{DATABASE_NAME}?host={data_dir()}"
