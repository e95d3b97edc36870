"""Throwaway PostgreSQL clusters for tests that must stop, crash or replicate a server: built with pgserver's
binaries (a pinned dependency) or Debian's, on a unix socket in a temporary directory (no TCP port)."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from crm import rls

PROGRAMS = ("initdb", "pg_ctl", "pg_dump", "pg_restore", "postgres")
# A disposable cluster: nothing it writes needs to survive a crash of this machine (fsync). A crash of the
# server (`pg_ctl stop -m immediate`) it must survive: synchronous_commit=off would lose the last commits,
# the restored schema among them.
SERVER_OPTIONS = "-c listen_addresses= -c fsync=off"


def major_version(bin_dir: Path) -> int:
    output = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\) (\d+)", output)
    assert match, output
    return int(match.group(1))


def server_binaries(server_major: int) -> tuple[Path | None, str]:
    """The bin directory to build the cluster with: pgserver's (a pinned dependency, so always there), or
    Debian's newest when the test database's server is newer than pgserver's pg_dump can read. Else None
    and the reason."""
    import pgserver._commands

    candidates = [
        pgserver._commands.POSTGRES_BIN_PATH,
        *(Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)),
    ]
    for bin_dir in candidates:
        if (
            all((bin_dir / program).exists() for program in PROGRAMS)
            and major_version(bin_dir) >= server_major
        ):
            return bin_dir, ""
    return None, (
        f"no PostgreSQL {server_major}+ binaries with {', '.join(PROGRAMS)} (pgserver's, or Debian's in"
        f" /usr/lib/postgresql): pg_dump cannot copy the test database of a PostgreSQL {server_major} server"
    )


def system_user(*paths: Path) -> str | None:
    """initdb refuses root: as root the cluster runs as the user pgserver runs its own servers as, created
    and given access to the binaries and `paths` the way pgserver does it. None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    user = "pgserver"
    ensure_user_exists(user)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    for path in paths:
        ensure_prefix_permissions(path)
        shutil.chown(path, user)
    return user


@dataclass
class Cluster:
    """A PostgreSQL cluster in `directory` (data/, log, and the unix socket: no TCP port, so nothing to
    collide with other workers or users of this machine), superuser `owner`."""

    bin_dir: Path
    directory: Path
    owner: str
    user: str | None
    database: str = "crm"

    def run(self, program: str, *args: str, **options: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(self.bin_dir / program), *args], check=True, capture_output=True, timeout=60, **options
        )

    def start(self) -> None:
        self.run(
            "pg_ctl",
            *("-D", str(self.directory / "data"), "-l", str(self.directory / "log"), "-w"),
            *("-o", f"-k {self.directory} {SERVER_OPTIONS}", "start"),
            user=self.user,
        )

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop", user=self.user)

    def is_running(self) -> bool:
        status = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), "status"],
            capture_output=True,
            user=self.user,
        )
        return status.returncode == 0

    @property
    def url(self) -> str:
        return f"postgresql://{quote(self.owner, safe='')}@/{self.database}?host={self.directory}"

    def connect(self, database: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.directory), user=self.owner, dbname=database or self.database, autocommit=True
        )

    def create(self, copy_of: str) -> None:
        """initdb, start, and the database as a copy of `copy_of`'s, with what `migrate` makes outside it:
        the runtime role, granted to the owner. Roles are cluster-wide, so pg_dump leaves them out; the
        grants to the role and the RLS context's secret (crm_context_key) are in the database and come
        along. The owner has the same name as the source's, so the dump's ownerships apply as they are."""
        data = str(self.directory / "data")
        self.run(
            "initdb", "-D", data, "-U", self.owner, "--auth=trust", "-E", "UTF8", "--no-sync", user=self.user
        )
        dump = self.run("pg_dump", "--format=custom", "--compress=0", "-d", copy_of).stdout
        self.start()
        role = sql.Identifier(rls.runtime_role())
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
                ).format(role)
            )
            conn.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(self.owner)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.run("pg_restore", "--single-transaction", "--exit-on-error", "-d", self.url, input=dump)

    def standby(self, directory: Path) -> Cluster:
        """A streaming standby of this cluster in `directory` (pg_basebackup, with the replication settings it
        writes: -R), started and catching up."""
        standby = Cluster(self.bin_dir, directory, self.owner, self.user, self.database)
        self.run(
            "pg_basebackup",
            *("-h", str(self.directory), "-U", self.owner, "-D", str(directory / "data")),
            *("-R", "-X", "stream", "--no-sync", "--checkpoint=fast"),
            user=self.user,
        )
        standby.start()
        return standby

    def position(self) -> str:
        """The primary's WAL position now."""
        with self.connect() as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])

    def wait_for_replay(self, position: str, timeout: float = 30) -> None:
        """Until this standby has replayed `position`."""
        import time

        deadline = time.monotonic() + timeout
        with self.connect() as conn:
            while True:
                row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position]).fetchone()
                if row and row[0]:
                    return
                assert time.monotonic() < deadline, f"the standby did not replay {position} in {timeout} s"
                time.sleep(0.02)
