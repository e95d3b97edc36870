"""`manage.py profile_request PATH`: where one API request's CPU goes, profiled in-process."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from workbench.bench.scenario import NoGeneratedData, build_scene


def _environ(path: str, token: str) -> dict[str, Any]:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
    }


class Command(BaseCommand):
    help = (
        "Call the WSGI application in this process with GET PATH as the benchmark's Sales Manager (the"
        " database's generated firm), --requests times after a warm-up, and print the CPU time a request"
        " took and cProfile's statistics on a CPU clock (time.process_time): where the time goes, by"
        " function. Run it with the settings of a deployment (DEBUG off) to see what production does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="e.g. '/api/v1/organizations/?type=customer'")
        parser.add_argument("--requests", type=int, default=500, help="Profiled requests (500).")
        parser.add_argument("--warmup", type=int, default=50, help="Unprofiled requests first (50).")
        parser.add_argument("--lines", type=int, default=40, help="Functions listed per ordering (40).")

    def handle(self, *args: Any, **options: Any) -> None:
        # Rate limits off: hundreds of requests as one manager in a second are the point here, and the
        # profile is the request's, not the limiter's.
        with override_settings(RATE_LIMIT_ENABLED=False):
            self._profile(**options)

    def _profile(self, **options: Any) -> None:
        try:
            scene = build_scene()
        except NoGeneratedData as exc:
            raise CommandError(str(exc)) from None
        application = WSGIHandler()
        path: str = options["path"]
        statuses: list[str] = []

        def call() -> None:
            def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return lambda body: None  # the WSGI write() callable; Django never calls it

            response = application(_environ(path, scene.token), start_response)  # type: ignore[arg-type]
            b"".join(response)
            response.close()  # type: ignore[attr-defined]

        call()
        if not statuses[-1].startswith("2"):
            raise CommandError(f"GET {path} answered {statuses[-1]}")
        for _ in range(options["warmup"]):
            call()
        count = max(1, options["requests"])
        started = time.process_time()
        for _ in range(count):
            call()
        plain = (time.process_time() - started) / count
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(count):
            call()
        profile.disable()
        self.stdout.write(
            f"GET {path}: {statuses[-1]}, {plain * 1000:.3f} ms of CPU a request unprofiled ({count} requests;"
            " profiled times below are inflated by the profiler)"
        )
        text = io.StringIO()  # pstats writes piecemeal; the command's stdout would end every piece
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("cumulative").print_stats(options["lines"])
        stats.sort_stats("tottime").print_stats(options["lines"])
        self.stdout.write(text.getvalue())
