"""The API side of merging duplicates (ADR 0029): a page of candidate pairs, and a merge's request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.utils.urls import replace_query_param

from crm.api.filters import refuse_nul, refuse_repeats, refuse_unknown
from crm.api.keyset import page_size_of
from crm.api.positions import decode_pair_position, encode_pair_position
from crm.rls import RequestContext

PAIR_PARAMETERS = frozenset({"cursor", "page_size", "format"})


def duplicates_page(
    request: Request,
    context: RequestContext,
    selector: Callable[..., Sequence[Any]],
    serializer: type[Serializer],
) -> Response:
    """One page of `selector`'s pairs (best first, `?cursor=` and `?page_size=`), one query."""
    refuse_unknown(request, PAIR_PARAMETERS)
    refuse_nul(request)
    refuse_repeats(request)
    size = page_size_of(request)
    before = decode_pair_position(request.query_params.get("cursor"))
    pairs = list(selector(tenant_id=context.member_tenant_id, before=before, limit=size + 1))
    more = len(pairs) > size
    pairs = pairs[:size]
    next_link = None
    if more and pairs:
        next_link = replace_query_param(
            request.build_absolute_uri(), "cursor", encode_pair_position(pairs[-1].position)
        )
    return Response({"next": next_link, "results": serializer(pairs, many=True).data})
