"""The orjson renderer writes what DRF's JSONRenderer writes, and falls back to it where orjson cannot."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import Serializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from crm.api.renderers import ORJSONRenderer
from tests.api.support import API, PROBLEM
from tests.api.test_fast_read import AWKWARD, AWKWARD_NAME

SERIALIZER: Serializer[Any] = Serializer()  # what ReturnDict and ReturnList carry along

PAYLOADS = {
    "strings": {"text": AWKWARD, "empty": "", "controls": "".join(chr(c) for c in range(32)) + "\x7f"},
    "numbers": {"int": -(2**63), "big": 2**63 - 1, "zero": 0, "bool": True, "none": None, "float": 0.1},
    "decimals": [Decimal("0.10"), Decimal("-12345678901234.5678"), Decimal("1E+3")],
    "times": [
        dt.datetime(2030, 3, 9, 23, 30, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2030, 3, 9, 23, 30, tzinfo=ZoneInfo("Asia/Kolkata")),
        dt.datetime(2030, 3, 9, 23, 30),
        dt.date(1999, 12, 31),
        dt.time(8, 15, 0, 500),
        dt.timedelta(days=1, seconds=5),
    ],
    "objects": [uuid.UUID(int=12345), gettext_lazy("Not found."), ErrorDetail("bad", code="invalid")],
    "shapes": ReturnDict(
        {
            "nested": ReturnList([{"b": 1, "a": (1, 2)}], serializer=SERIALIZER),
            3: "int key",
            None: "null key",
        },
        serializer=SERIALIZER,
    ),
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_orjson_renderer_writes_the_same_bytes_as_drfs(name):
    data = PAYLOADS[name]
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        ({"beyond 64 bits": 2**70}, None),  # orjson refuses it
        ({"pretty": [1, {"text": AWKWARD}]}, "application/json; indent=4"),  # pretty-printing asked for
    ],
)
def test_what_orjson_cannot_do_is_rendered_by_drf(data, media_type):
    assert ORJSONRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)
    assert json.loads(ORJSONRenderer().render(data, media_type)) == data


def test_nothing_renders_as_an_empty_body():
    assert ORJSONRenderer().render(None) == b""


def test_api_answers_json_and_problem_details_through_it(firm, manager):
    listed = manager.get(f"{API}/contacts/")
    assert listed["Content-Type"] == "application/json" and json.loads(listed.content)["results"] == []
    missing = manager.get(f"{API}/contacts/999999999/")
    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM
    assert json.loads(missing.content)["status"] == 404
    bad = manager.get(f"{API}/contacts/?expand=nope")
    assert bad.status_code == 400 and bad["Content-Type"] == PROBLEM
    assert json.loads(bad.content)["errors"][0]["field"] == "expand"


def test_browsable_api_still_shows_lists_and_details_pretty_printed(firm):
    from rest_framework.test import APIClient

    from tests import factories as f

    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name=AWKWARD_NAME)
    client = APIClient()
    client.force_login(firm.admin)
    for url in (f"{API}/contacts/?expand=organization", f"{API}/contacts/{contact.pk}/"):
        page = client.get(url, HTTP_ACCEPT="text/html")
        assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
        assert "&quot;first_name&quot;: &quot;Crème" in page.content.decode()  # DRF's indented JSON
