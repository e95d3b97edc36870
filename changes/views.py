"""GET /api/v1/changes/: the change feed (ADR 0026). Thin: validate, call the selector, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from changes.positions import BadCursor, position_of
from changes.resources import RESOURCES
from changes.selectors import DEFAULT_LIMIT, MAX_LIMIT, feed_page
from changes.serializers import ChangeSerializer, FeedPageSerializer, FeedParamsSerializer
from crm.api.filters import refuse_repeats, refuse_unknown
from crm.permissions import IsTenantMember
from crm.rls import context_of


class ChangeFeedView(GenericAPIView):
    """Every create, update, delete, restore, purge and merge you may see, oldest first.

    Poll with `after` set to the previous response's `next`: no change is skipped and none is given twice,
    even when writers commit out of order (a change appears once every transaction older than it has
    finished). Rows you may not see are not in it (the same rules as each record's history).
    """

    permission_classes = [IsTenantMember]
    filter_backends = ()
    pagination_class = None
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    serializer_class = FeedPageSerializer

    @extend_schema(
        operation_id="changes_list",
        parameters=[
            OpenApiParameter(
                "after",
                str,
                description="The `next` cursor of your previous read; absent: from the oldest change.",
            ),
            OpenApiParameter(
                "resource",
                {"type": "array", "items": {"type": "string", "enum": list(RESOURCES)}},
                style="form",
                explode=False,
                description="Only these resources, comma-separated (`organizations,contacts`).",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                description=f"At most this many changes (default {DEFAULT_LIMIT}).",
            ),
        ],
        responses=FeedPageSerializer,
    )
    def get(self, request: Request) -> Response:
        refuse_repeats(request)
        refuse_unknown(request, {"after", "resource", "limit", "format"})
        params = FeedParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            after = position_of(params.validated_data.get("after"))
        except BadCursor as error:
            raise ValidationError({"after": [str(error)]}) from None
        page = feed_page(
            tenant_id=context_of(request).member_tenant_id,
            after=after,
            resources=params.validated_data.get("resource"),
            limit=params.validated_data["limit"],
        )
        return Response(
            {
                "results": ChangeSerializer(page.changes, many=True).data,
                "next": page.next.cursor(),
                "has_more": page.has_more,
            }
        )
