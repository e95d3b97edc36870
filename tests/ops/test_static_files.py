"""Deployed as the README says (collectstatic, then gunicorn with DEBUG off), the admin and the browsable
API are styled: the app serves its static files itself (WhiteNoise), with no database work."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.live import ROOT, gunicorn_server


@pytest.mark.slow
def test_collected_static_files_are_served_by_the_app_with_debug_off(db: Any, tmp_path: Path) -> None:
    root = tmp_path / "static"
    environment = {**os.environ, "STATIC_ROOT": str(root), "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY}
    environment.pop("PYTEST_VERSION", None)  # as deployed, not as under test
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    assert (root / "admin" / "css" / "base.css").exists()
    with gunicorn_server(STATIC_ROOT=str(root)) as api:
        for path, kind in (
            ("/static/admin/css/base.css", "text/css"),
            ("/static/rest_framework/js/default.js", "text/javascript"),
        ):
            request = urllib.request.Request(api + path, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith(kind), path
                assert (
                    response.headers["Content-Encoding"] == "gzip"
                )  # the compressed copy collectstatic made
