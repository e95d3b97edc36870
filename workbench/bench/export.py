"""`benchmark --export`: a whole list streamed as a file, its rows per second and the worker's memory.

The generated firm's admin (who sees every row) downloads `/interactions/?format=csv` (and `xlsx`) from a
one-worker, one-thread server, so the process that streams is the one measured: its resident set size is
sampled every 50 ms from /proc while the body arrives. The client only counts bytes; the rows are the
firm's live interactions, counted as the owner beforehand.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection

from crm.models import Membership, Role
from crm.tokens import tokens_for
from workbench.bench import procstat, server
from workbench.bench.scenario import NoGeneratedData, generated_tenant
from workbench.bench.stats import format_table

EXPORT_PATH = "/api/v1/interactions/"
SAMPLE_SECONDS = 0.05
READ_BYTES = 1024 * 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class ExportResult:
    format: str
    rows: int
    bytes: int
    seconds: float
    first_byte_seconds: float
    rss_start: int
    rss_peak: int
    rss_end: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def growth(self) -> int:
        """The worker's resident memory at its peak during the export, over where it started."""
        return self.rss_peak - self.rss_start

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": self.rows_per_second, "rss_growth": self.growth}


class PeakSampler(threading.Thread):
    """The highest resident set size of `pid` while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = procstat.resident_bytes(pid) or 0
        self._finished = threading.Event()

    def run(self) -> None:
        while not self._finished.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, procstat.resident_bytes(self.pid) or 0)

    def stop(self) -> int:
        self._finished.set()
        self.join()
        return self.peak


def _download(base_url: str, path: str, token: str) -> tuple[int, int, float, float]:
    """GET `path`, reading the body to its end: (status, bytes, seconds, seconds to the first byte)."""
    parts = urllib.parse.urlsplit(base_url)
    client = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=3600)
    started = time.monotonic()
    client.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = client.getresponse()
    total, first = 0, 0.0
    while chunk := response.read1(READ_BYTES):
        if not total:
            first = time.monotonic() - started
        total += len(chunk)
    elapsed = time.monotonic() - started
    client.close()
    return response.status, total, elapsed, first


def run(
    formats: Sequence[str], *, app_server: str = "gthread", log: Callable[[str], None] = print
) -> list[ExportResult]:
    """Export the generated firm's interactions whole in each of `formats`, measuring each."""
    tenant = generated_tenant()
    if tenant is None:
        raise NoGeneratedData("no generated firm in this database: run generate_data first")
    admin = Membership.objects.filter(tenant=tenant, role=Role.ADMIN).order_by("id").first()
    if admin is None:
        raise NoGeneratedData(f"firm {tenant.pk} has no admin")
    with connection.cursor() as cursor:  # as the owner: every live row, which the admin sees
        cursor.execute(
            "SELECT count(*) FROM interaction WHERE tenant_id = %s AND deleted_at IS NULL", [tenant.pk]
        )
        rows = int(cursor.fetchone()[0])
    token = str(tokens_for(admin.user).access_token)
    url = server.database_url(connection.settings_dict)
    results = []
    with server.serve_process(url, server=app_server, workers=1, threads=1) as served:
        workers = procstat.children(served.pid) or [served.pid]
        worker = workers[0]
        status, *_ = _download(served.url, f"{EXPORT_PATH}?page_size=1", token)  # code and connection warm
        if status != 200:
            raise RuntimeError(f"the list answered {status}")
        for file_format in formats:
            log(f"exporting {rows:,} interactions as {file_format} …")
            start = procstat.resident_bytes(worker) or 0
            sampler = PeakSampler(worker)
            sampler.start()
            status, size, seconds, first = _download(served.url, f"{EXPORT_PATH}?format={file_format}", token)
            peak = sampler.stop()
            if status != 200:
                raise RuntimeError(f"the {file_format} export answered {status}")
            end = procstat.resident_bytes(worker) or 0
            result = ExportResult(file_format, rows, size, seconds, first, start, max(peak, end), end)
            log(render([result]))
            results.append(result)
    return results


def render(results: Sequence[ExportResult]) -> str:
    rows = [
        [
            r.format,
            f"{r.rows:,}",
            f"{r.bytes / MB:,.1f}",
            f"{r.seconds:,.1f}",
            f"{r.first_byte_seconds:,.2f}",
            f"{r.rows_per_second:,.0f}",
            f"{r.rss_start / MB:,.1f}",
            f"{r.rss_peak / MB:,.1f}",
            f"{r.growth / MB:+,.1f}",
        ]
        for r in results
    ]
    return format_table(
        ["export", "rows", "MB", "s", "first byte s", "rows/s", "RSS start MB", "RSS peak MB", "growth MB"],
        rows,
    )
