"""`manage.py profile_request`: a request's CPU, profiled in-process on the generated firm."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from workbench.datagen import generate


@pytest.mark.django_db(transaction=True)
def test_a_profiled_request_reports_its_cpu_and_the_functions_it_spent_it_in():
    generate(scale=0.01, seed=5)
    out = io.StringIO()
    call_command("profile_request", "/api/v1/interactions/", requests=3, warmup=1, lines=60, stdout=out)
    report = out.getvalue()
    assert "GET /api/v1/interactions/: 200 OK" in report and "ms of CPU a request" in report
    assert "crm/api/viewsets.py" in report and "paginate" in report  # the list's own frames are listed
    with pytest.raises(CommandError, match="404"):
        call_command("profile_request", "/api/v1/nothing/", requests=1, warmup=0, stdout=io.StringIO())
