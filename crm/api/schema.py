"""drf-spectacular extensions: how our authentication classes appear in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class RequestJWTScheme(SimpleJWTScheme):
    target_class = "crm.authentication.RequestJWTAuthentication"
    name = "jwtAuth"


class RequestSessionScheme(OpenApiAuthenticationExtension):
    target_class = "crm.authentication.RequestSessionAuthentication"
    name = "cookieAuth"
    priority = -1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
