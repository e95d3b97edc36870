"""`manage.py embedded_db start|stop|status|url`: the embedded PostgreSQL used when DATABASE_URL is unset."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm import embedded_db


class Command(BaseCommand):
    help = "Manage the embedded PostgreSQL server (pgserver) that runs when DATABASE_URL is not set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status", "url"])

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get("DATABASE_URL"):
            self.stdout.write("DATABASE_URL is set: the embedded server is not in use.")
            return
        action = options["action"]
        if action == "start":
            embedded_db.server()
            self.stdout.write(self.style.SUCCESS(f"Embedded PostgreSQL is running. {self._describe()}"))
        elif action == "status":
            if self._pid() is None:
                self.stdout.write(f"Embedded PostgreSQL is stopped (data in {embedded_db.data_dir()}).")
            else:
                self.stdout.write(f"Embedded PostgreSQL is running. {self._describe()}")
        elif action == "url":
            self.stdout.write(embedded_db.database_url())
        else:
            self._stop()

    def _pid(self) -> int | None:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(embedded_db.data_dir())
        return info.pid if info is not None and info.is_running() else None

    def _describe(self) -> str:
        return f"pid {self._pid()}, data in {embedded_db.data_dir()}."

    def _stop(self) -> None:
        from pgserver import pg_ctl  # type: ignore[attr-defined]  # generated per binary by pgserver

        if self._pid() is None:
            self.stdout.write("Embedded PostgreSQL is not running.")
            return
        # pgserver runs the server as its own system user when we are root; pg_ctl must run as that user.
        user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "stop"], pgdata=embedded_db.data_dir(), user=user)
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"pg_ctl stop failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Embedded PostgreSQL stopped (data in {embedded_db.data_dir()}).")
        )
