"""The OpenAPI schema: valid, warning-free, committed as generated, and describing what the API does.

Front ends generate their client from the committed openapi.yaml (see client/), so a schema that drifts
from the code, or that leaves out an error, a parameter or a header, makes that client lie.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import CommandError
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.yaml"
REFRESH = "run `make client` (or `python manage.py spectacular --file openapi.yaml`) to refresh it"
METHODS = ("get", "post", "put", "patch", "delete")


def generated_yaml() -> bytes:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(generated_yaml())
    return loaded


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in operation.get("parameters", []) if p.get("name") == name), None)


def test_schema_generates_without_warnings_and_validates(tmp_path: Path, capsys: Any) -> None:
    GENERATOR_STATS.reset()  # warnings of schemas generated earlier in this process are not this run's
    try:
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "openapi.yaml"))
    except CommandError as error:
        pytest.fail(
            f"`manage.py spectacular --validate --fail-on-warn` failed: {error}\n{capsys.readouterr().err}"
        )


def test_committed_schema_is_what_the_code_generates() -> None:
    generated = generated_yaml().decode()
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""
    if generated != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    generated.splitlines(keepends=True),
                    "openapi.yaml (committed)",
                    "openapi.yaml (generated)",
                )
            )[:80]
        )
        pytest.fail(f"openapi.yaml differs from the schema the code generates: {REFRESH}.\n{diff}")


def test_operation_ids_are_unique_snake_case_names(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id) for operation_id in ids), ids
    assert {
        "auth_token_obtain",
        "auth_token_refresh",
        "opportunities_change_stage",
        "organizations_restore",
    } <= set(ids)


def test_every_choice_set_is_a_named_enum_component(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    enums = {name for name, component in components.items() if "enum" in component}
    assert not [name for name in enums if re.search(r"[0-9A-F]{3}Enum$", name)], "unnamed enum collisions"
    assert {"ContactRoleEnum", "MemberRoleEnum", "StageEnum", "TimelineEventKindEnum"} <= enums
    stage = parameter(schema["paths"]["/api/v1/opportunities/"]["get"], "stage")
    assert stage is not None
    assert stage["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/StageEnum"}}
    assert (stage["style"], stage["explode"]) == ("form", True)


def test_every_error_response_is_a_documented_problem(schema: dict[str, Any]) -> None:
    responses = schema["components"]["responses"]
    for response in responses.values():
        assert list(response["content"]) == ["application/problem+json"]
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        errors = {code for code in codes if code >= "400"}
        assert errors, (method, path)
        for code in errors:
            assert set(operation["responses"][code]) == {"$ref"}, (method, path, code)
        secured = bool(operation.get("security"))
        assert ("401" in codes) == (secured or path.startswith("/api/v1/auth/")), (method, path)
        assert ("403" in codes) == secured, (method, path)
        assert ("404" in codes) == ("{id}" in path), (method, path)
        if method in ("post", "put", "patch") and "requestBody" in operation:
            assert {"400", "415"} <= codes, (method, path)
        if method == "get" and path.endswith("s/"):
            assert "400" in codes, (method, path)
    delete = schema["paths"]["/api/v1/organizations/{id}/"]["delete"]
    assert delete["responses"]["409"] == {"$ref": "#/components/responses/Conflict"}
    assert "409" not in schema["paths"]["/api/v1/contacts/{id}/"]["delete"]["responses"]


def test_lists_are_cursor_pages(schema: dict[str, Any]) -> None:
    page = schema["components"]["schemas"]["PaginatedOrganizationList"]
    assert page["required"] == ["next", "previous", "results"]
    assert page["properties"]["next"] == {"type": "string", "format": "uri", "nullable": True}
    listing = schema["paths"]["/api/v1/organizations/"]["get"]
    assert {"cursor", "page_size", "ordering", "search", "expand"} <= {
        p["name"] for p in listing["parameters"]
    }
    for name in ("cursor", "page_size"):
        assert parameter(schema["paths"]["/api/v1/organizations/{id}/timeline/"]["get"], name)


def test_filters_have_the_types_the_server_parses(schema: dict[str, Any]) -> None:
    listing = schema["paths"]["/api/v1/opportunities/"]["get"]
    assert parameter(listing, "principal") == {
        "in": "query",
        "name": "principal",
        "schema": {"type": "integer"},
        "description": "Only rows whose principal has this id.",
    }
    is_open = parameter(listing, "is_open")
    assert is_open is not None and is_open["schema"] == {"type": "boolean"}
    ordering = parameter(listing, "ordering")
    assert ordering is not None and (ordering["style"], ordering["explode"]) == ("form", False)
    assert {"name", "-name", "id", "-id"} <= set(ordering["schema"]["items"]["enum"])


def test_expand_is_documented_and_turns_a_foreign_key_into_an_object(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/interactions/", "/api/v1/interactions/{id}/"):
        expand = parameter(schema["paths"][path]["get"], "expand")
        assert expand is not None
        assert (expand["style"], expand["explode"]) == ("form", False)
        assert expand["schema"]["items"]["enum"] == [
            "contact",
            "opportunity",
            "organization",
            "principal",
            "user",
        ]
    components = schema["components"]["schemas"]
    assert components["Interaction"]["properties"]["opportunity"]["oneOf"] == [
        {"type": "integer"},
        {"$ref": "#/components/schemas/OpportunitySummary"},
    ]
    assert components["Interaction"]["properties"]["opportunity"]["nullable"] is True
    # Requests still take ids.
    assert components["InteractionRequest"]["properties"]["opportunity"] == {
        "type": "integer",
        "nullable": True,
    }


def test_if_match_and_etag_are_documented_where_they_apply(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for path, method in (
        ("/api/v1/contacts/{id}/", "put"),
        ("/api/v1/contacts/{id}/", "patch"),
        ("/api/v1/contacts/{id}/", "delete"),
        ("/api/v1/contacts/{id}/restore/", "post"),
        ("/api/v1/opportunities/{id}/change-stage/", "post"),
    ):
        operation = paths[path][method]
        assert parameter(operation, "If-Match") is not None, (method, path)
        assert operation["responses"]["412"] == {"$ref": "#/components/responses/PreconditionFailed"}
    assert parameter(paths["/api/v1/contacts/{id}/"]["get"], "If-Match") is None
    etag = {"$ref": "#/components/headers/ETag"}
    assert paths["/api/v1/contacts/{id}/"]["get"]["responses"]["200"]["headers"]["ETag"] == etag
    assert paths["/api/v1/contacts/"]["post"]["responses"]["201"]["headers"]["ETag"] == etag
    assert "ETag" not in paths["/api/v1/contacts/"]["get"]["responses"]["200"]["headers"]
    precondition = schema["components"]["schemas"]["PreconditionFailedProblem"]
    assert precondition["allOf"][1]["required"] == ["current_version"]


def test_every_auth_scheme_is_declared(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"] == {
        "ApiKeyAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API key an admin created at `api-keys/`, sent as `Api-Key <key>`.",
        },
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        "jwtAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    assert "security" not in schema["paths"]["/api/v1/auth/token/"]["post"]


@pytest.mark.django_db
def test_the_served_schema_is_the_committed_one() -> None:
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json() == yaml.safe_load(COMMITTED.read_text()), REFRESH


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_are_served_from_the_package_not_a_cdn(page: str) -> None:
    response = APIClient().get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert not re.search(r"https?://(cdn|unpkg|fastly)", html), "docs load assets from a CDN"
    for asset in re.findall(r"/static/(drf_spectacular_sidecar/[^\"']+\.js)", html):
        assert finders.find(asset), asset
