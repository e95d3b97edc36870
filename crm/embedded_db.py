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

    # cleanup_mode=None: the server outlives this process, so `make run` and later commands share it.
    return pgserver.get_server(str(data_dir()), cleanup_mode=None)


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
