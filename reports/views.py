"""The reports API: thin views that validate the query, call a selector and serialize (JSON or CSV)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm import timezones
from crm.api.exports import FormatParameterNegotiation
from crm.api.filters import refuse_repeats, refuse_unknown
from crm.permissions import IsTenantMember
from crm.rls import RequestContext, context_of
from reports import selectors
from reports import serializers as s
from reports.renderers import CSVRenderer

ALL_PRINCIPALS = "All principals"


class ReportView(GenericAPIView):
    """One report: GET with the report's query parameters; `?format=csv` downloads its rows as CSV.

    Subclasses declare which parameters they take (`params_class`), the selector that builds the report
    and what it takes (`selector`, `covers_book`, `about_one_principal`, `own_params`), its response
    shape (`serializer_class`), its name in the schema (`operation_id`, `summary`: the schema is declared
    for each subclass when it is defined) and how it reads as one table (`csv_rows`). A generic view
    for its serializer plumbing (schema, browsable API), without filter backends or pagination: a report
    validates its own parameters, and an unknown one is a 400 as on every list.
    """

    permission_classes = [IsTenantMember]
    filter_backends = ()
    pagination_class = None
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    content_negotiation_class = FormatParameterNegotiation
    params_class: type[s.ReportParamsSerializer]
    serializer_class: type[drf_serializers.Serializer]
    file_stem: str
    # The schema's name and title of the report's GET.
    operation_id: ClassVar[str]
    summary: ClassVar[str]
    # The selector, called with the tenant, today, `owner_id`, `date_from`, `date_to` and the principal:
    # `principal` (resolved, see `principal()`) when the report is about one, else `principal_id`.
    selector: ClassVar[Callable[..., Any]]
    about_one_principal: ClassVar[bool] = False
    # The caller's book (`selectors.book_of`) as `book`, for the selectors that cover several principals.
    covers_book: ClassVar[bool] = False
    # The report's own parameters, passed to the selector under their own names.
    own_params: ClassVar[tuple[str, ...]] = ()
    # Whose days the report counts: the firm's (its time zone, tenant.time_zone) or, for a report about
    # the caller's own work, the member's (their zone, else the firm's). ADR 0028.
    days_of: ClassVar[str] = "firm"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _report_schema(cls)

    def get(self, request: Request) -> Response:
        params = self.query_params(request)
        context = context_of(request)
        zones = timezones.zones_of(tenant_id=context.member_tenant_id, user_id=context.user_id)
        zone = zones.member if self.days_of == "member" else zones.firm
        report = self.build(context, params, today=timezones.today_in(zone), zone=zone)
        return Response(self.serializer_class(report, context={"time_zone": zone.key}).data)

    def query_params(self, request: Request) -> dict[str, Any]:
        """The validated parameters; an unknown one is a 400, as on every list."""
        serializer = self.params_class(data=request.query_params)
        refuse_unknown(request, set(serializer.fields) | {"format"})
        many = {
            name
            for name, field in serializer.fields.items()
            if isinstance(field, drf_serializers.ListField | drf_serializers.MultipleChoiceField)
        }
        refuse_repeats(request, many=many)  # as on every list: one value, or a 400 naming it
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def build(
        self, context: RequestContext, params: dict[str, Any], *, today: dt.date, zone: zoneinfo.ZoneInfo
    ) -> Any:
        return type(self).selector(
            tenant_id=context.member_tenant_id,
            today=today,
            zone=zone,
            **self.selector_arguments(context, params),
        )

    def selector_arguments(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """What the selector takes besides the tenant and today."""
        arguments: dict[str, Any] = {
            "owner_id": params.get("owner"),
            "date_from": params.get("date_from"),
            "date_to": params.get("date_to"),
            **{name: params[name] for name in self.own_params},
        }
        if self.about_one_principal:
            arguments["principal"] = self.principal(context, params["principal"])
        else:
            arguments["principal_id"] = params.get("principal")
        if self.covers_book:
            arguments["book"] = selectors.book_of(context)
        return arguments

    def principal(self, context: RequestContext, principal_id: int) -> selectors.PrincipalRef:
        """The principal a one-principal report is about; one outside the book is like one that does not
        exist (no existence leak)."""
        principal = selectors.principal_of(tenant_id=context.member_tenant_id, principal_id=principal_id)
        if principal is None:
            raise ValidationError(
                {"principal": [f'Invalid pk "{principal_id}" - object does not exist.']},
                code="does_not_exist",
            )
        return principal

    # --- CSV

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        rows: Iterable[Mapping[str, Any]] = data["rows"]
        return rows

    def csv_filename(self, data: Mapping[str, Any]) -> str:
        if self.about_one_principal:
            return (
                f"{self.file_stem}-{slugify(data['principal_name']) or data['principal']}-{data['as_of']}.csv"
            )
        return f"{self.file_stem}-{data['as_of']}.csv"

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            is_report = request.method in ("GET", "HEAD") and response.status_code < 300
            if is_report and isinstance(response.data, Mapping):
                response["Content-Disposition"] = f'attachment; filename="{self.csv_filename(response.data)}"'
            else:
                # Only a report is a CSV file: problem details and OPTIONS' description stay JSON.
                request.accepted_renderer = JSONRenderer()
                request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _report_schema(view: type[ReportView]) -> None:
    """The report's GET in the schema: its parameters, JSON shape and CSV download."""
    extend_schema_view(
        get=extend_schema(
            parameters=[
                view.params_class,
                OpenApiParameter(
                    "format",
                    str,
                    OpenApiParameter.QUERY,
                    enum=["json", "csv"],
                    description="`csv` downloads the report as a CSV file named after it and the day;"
                    " JSON by default.",
                ),
            ],
            responses={(200, "application/json"): view.serializer_class, (200, "text/csv"): OpenApiTypes.STR},
            tags=["reports"],
            operation_id=view.operation_id,
            summary=view.summary,
        )
    )(view)


class PipelineReportView(ReportView):
    """Open opportunities per principal × stage: how many, weekly case volume, weighted volume and average
    days in stage, with totals per principal and overall."""

    operation_id = "reports_pipeline"
    summary = "Pipeline per principal and stage"
    params_class = s.PipelineParamsSerializer
    serializer_class = s.PipelineReportSerializer
    file_stem = "pipeline"
    selector = staticmethod(selectors.pipeline_report)
    covers_book = True

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        by_principal: dict[int, list[Mapping[str, Any]]] = {}
        for row in data["rows"]:
            by_principal.setdefault(row["principal"], []).append(row)
        for total in data["principals"]:
            yield from by_principal.get(total["principal"], [])
            yield {**total, "stage": "total"}
        yield {"principal": None, "principal_name": ALL_PRINCIPALS, "stage": "total", **data["total"]}


class WeeklyActivityReportView(ReportView):
    """Interactions per principal per ISO week, by type, for the last N weeks (or the period given), with
    the change against the period of the same length before. The CSV is the table a broker sends each
    principal: one row per principal and type, one column per week."""

    operation_id = "reports_weekly_activity"
    summary = "Interactions per principal per ISO week"
    params_class = s.WeeklyActivityParamsSerializer
    serializer_class = s.WeeklyActivityReportSerializer
    file_stem = "weekly-activity"
    selector = staticmethod(selectors.weekly_activity_report)
    covers_book = True
    own_params = ("weeks",)

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        for activity in [
            *data["principals"],
            {**data["total"], "principal": None, "principal_name": ALL_PRINCIPALS},
        ]:
            head = {"principal": activity["principal"], "principal_name": activity["principal_name"]}
            yield {
                **head,
                "type": "all",
                **{week["week"]: week["interactions"] for week in activity["weeks"]},
                "interactions": activity["interactions"],
                "previous_interactions": activity["previous_interactions"],
                "change": activity["change"],
                "change_percent": activity["change_percent"],
            }
            for kind in activity["by_type"]:
                yield {
                    **head,
                    "type": kind["type"],
                    **{week["week"]: week["by_type"].get(kind["type"], 0) for week in activity["weeks"]},
                    "interactions": kind["interactions"],
                    "previous_interactions": kind["previous_interactions"],
                    "change": kind["change"],
                    "change_percent": selectors.change_percent(
                        kind["interactions"], kind["previous_interactions"]
                    ),
                }


class FollowUpsReportView(ReportView):
    """Your interactions with a follow-up due (today or earlier) and not done, your open tasks due (not
    snoozed past the day), and your open opportunities whose next action date has passed; oldest first."""

    operation_id = "reports_follow_ups"
    summary = "My follow-ups and tasks due, and next actions passed"
    params_class = s.FollowUpsParamsSerializer
    serializer_class = s.FollowUpsReportSerializer
    file_stem = "follow-ups"
    selector = staticmethod(selectors.follow_ups_report)
    own_params = ("limit",)
    days_of = "member"

    def selector_arguments(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # `owner` says whose follow-ups (yours by default), not an owner filter over them.
        arguments = super().selector_arguments(context, params)
        arguments["user_id"] = arguments.pop("owner_id") or context.member_user_id
        return arguments

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        rows = (
            [
                {
                    "kind": "interaction",
                    "id": i["id"],
                    "due_on": i["follow_up_on"],
                    "days_overdue": i["days_overdue"],
                    "title": i["subject"],
                    "detail": i["type"],
                    "organization": i["organization"],
                    "organization_name": i["organization_name"],
                    "principal": i["principal"],
                    "principal_name": i["principal_name"],
                    "next_action": "",
                }
                for i in data["interactions"]
            ]
            + [
                {
                    "kind": "task",
                    "id": t["id"],
                    "due_on": t["due_on"],
                    "days_overdue": t["days_overdue"],
                    "title": t["title"],
                    "detail": t["priority"],
                    "organization": t["organization"],
                    "organization_name": t["organization_name"],
                    "principal": t["principal"],
                    "principal_name": t["principal_name"],
                    "next_action": "",
                }
                for t in data["tasks"]
            ]
            + [
                {
                    "kind": "opportunity",
                    "id": o["id"],
                    "due_on": o["next_action_date"],
                    "days_overdue": o["days_overdue"],
                    "title": o["name"],
                    "detail": o["stage"],
                    "organization": o["customer"],
                    "organization_name": o["customer_name"],
                    "principal": o["principal"],
                    "principal_name": o["principal_name"],
                    "next_action": o["next_action"],
                }
                for o in data["opportunities"]
            ]
        )
        # Oldest first across both kinds (ISO dates sort as text).
        return sorted(rows, key=lambda r: (str(r["due_on"]), r["kind"], r["id"]))


class StaleAccountsReportView(ReportView):
    """Customers and prospects of your book (a live opportunity of one of your principals) with no
    interaction in the last N days (default 30), never-touched first, then longest untouched."""

    operation_id = "reports_stale_accounts"
    summary = "Accounts of the book with no interaction in N days"
    params_class = s.StaleAccountsParamsSerializer
    serializer_class = s.StaleAccountsReportSerializer
    file_stem = "stale-accounts"
    selector = staticmethod(selectors.stale_accounts_report)
    covers_book = True
    own_params = ("days", "limit")

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        rows: Iterable[Mapping[str, Any]] = data["accounts"]
        return rows


class StaleOpportunitiesReportView(ReportView):
    """Open opportunities whose stage has not changed in the last N days (default 21), longest in their
    stage first."""

    operation_id = "reports_stale_opportunities"
    summary = "Open opportunities with no stage change in N days"
    params_class = s.StaleOpportunitiesParamsSerializer
    serializer_class = s.StaleOpportunitiesReportSerializer
    file_stem = "stale-opportunities"
    selector = staticmethod(selectors.stale_opportunities_report)
    covers_book = True
    own_params = ("days", "limit")

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        rows: Iterable[Mapping[str, Any]] = data["opportunities"]
        return rows


class WinLossReportView(ReportView):
    """Opportunities closed won and lost per principal per quarter (the last four quarters by default),
    with volumes, win rate and how often each reason was given."""

    operation_id = "reports_win_loss"
    summary = "Closed won and lost per principal per quarter, with reasons"
    params_class = s.WinLossParamsSerializer
    serializer_class = s.WinLossReportSerializer
    file_stem = "win-loss"
    selector = staticmethod(selectors.win_loss_report)
    covers_book = True

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        def row(line: Mapping[str, Any], **head: Any) -> dict[str, Any]:
            return {
                **head,
                **{
                    k: v
                    for k, v in line.items()
                    if k not in head and k not in ("win_reasons", "loss_reasons")
                },
                "win_reasons": [f"{r['reason']} ({r['opportunities']})" for r in line["win_reasons"]],
                "loss_reasons": [f"{r['reason']} ({r['opportunities']})" for r in line["loss_reasons"]],
            }

        by_principal: dict[int, list[Mapping[str, Any]]] = {}
        for line in data["rows"]:
            by_principal.setdefault(line["principal"], []).append(line)
        for total in data["principals"]:
            for line in by_principal.get(total["principal"], []):
                yield row(
                    line,
                    principal=line["principal"],
                    principal_name=line["principal_name"],
                    quarter=line["quarter"],
                    quarter_start=line["quarter_start"],
                )
            yield row(
                total,
                principal=total["principal"],
                principal_name=total["principal_name"],
                quarter="total",
                quarter_start=None,
            )
        yield row(
            data["total"], principal=None, principal_name=ALL_PRINCIPALS, quarter="total", quarter_start=None
        )


class DistributorCoverageReportView(ReportView):
    """For one principal: the distributors authorized to carry it (today, or during the period given) and,
    per distributor, the customers it serves and the principal's open opportunities through it."""

    operation_id = "reports_distributor_coverage"
    summary = "A principal's authorized distributors, their customers and open opportunities"
    params_class = s.CoverageParamsSerializer
    serializer_class = s.CoverageReportSerializer
    file_stem = "distributor-coverage"
    selector = staticmethod(selectors.coverage_report)
    about_one_principal = True

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        head = {"principal": data["principal"], "principal_name": data["principal_name"]}
        return [{**head, **line} for line in data["distributors"]]


class PrincipalScorecardReportView(ReportView):
    """One principal: products by status, open pipeline by stage and its weighted volume, activity in the
    last four weeks (or the period given) against the four before, the top customers, its samples
    (sent, awaiting feedback, sample-to-win conversion), and its sell-through (cases from distributors'
    weekly sales, points of distribution gained and lost, top distributors). The CSV lists every figure as section, item,
    measure, value."""

    operation_id = "reports_principal_scorecard"
    summary = "One principal on one page"
    params_class = s.ScorecardParamsSerializer
    serializer_class = s.ScorecardReportSerializer
    file_stem = "principal-scorecard"
    selector = staticmethod(selectors.scorecard_report)
    about_one_principal = True

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        def figure(section: str, item: Any, measure: str, value: Any) -> dict[str, Any]:
            return {"section": section, "item": item, "measure": measure, "value": value}

        for status in data["products"]:
            yield figure("products", status["status"], "products", status["products"])
        yield figure("products", "total", "products", data["products_total"])
        for stage in data["pipeline"]:
            for measure in ("opportunities", "weekly_case_volume", "weighted_weekly_volume"):
                yield figure("pipeline", stage["stage"], measure, stage[measure])
        for measure in ("open_opportunities", "weekly_case_volume", "weighted_weekly_volume"):
            yield figure("pipeline", "total", measure, data[measure])
        activity = data["activity"]
        for measure in ("interactions", "previous_interactions", "change", "change_percent"):
            yield figure("activity", "all", measure, activity[measure])
        for kind in activity["by_type"]:
            for measure in ("interactions", "previous_interactions", "change"):
                yield figure("activity", kind["type"], measure, kind[measure])
        for customer in data["top_customers"]:
            for measure in (
                "won_opportunities",
                "won_weekly_case_volume",
                "open_opportunities",
                "open_weighted_weekly_volume",
                "interactions",
            ):
                yield figure("top_customers", customer["customer_name"], measure, customer[measure])
        for measure, value in data["samples"].items():
            yield figure("samples", "all", measure, value)
        sales = data["sell_through"]
        for measure, value in sales.items():
            if measure != "top_distributors":
                yield figure("sell_through", "all", measure, value)
        for distributor in sales["top_distributors"]:
            for measure in ("cases", "previous_cases", "change", "customers"):
                yield figure("sell_through", distributor["distributor_name"], measure, distributor[measure])


class _SalesArguments:
    """Reports over distributors' sales facts (the sales app): the period is `weeks` ISO weeks up to
    date_to (default 13) or date_from–date_to, compared with as long a period before; the distributor and
    product filters go to the selector as ids."""

    covers_book = True
    own_params: ClassVar[tuple[str, ...]] = ("weeks", "period_kind", "rows_limit")

    def selector_arguments(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = super().selector_arguments(context, params)  # type: ignore[misc]
        arguments["distributor_id"] = params.get("distributor")
        arguments["product_id"] = params.get("product")
        return arguments


class SalesVelocityReportView(_SalesArguments, ReportView):
    """Cases sold per principal × distributor × product in the period, per week, with the change against
    the period before and the customers buying; totals per principal and overall."""

    operation_id = "reports_sales_velocity"
    summary = "Sell-through velocity per principal, distributor and product"
    params_class = s.SalesParamsSerializer
    serializer_class = s.VelocityReportSerializer
    file_stem = "sales-velocity"
    selector = staticmethod(selectors.velocity_report)

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        by_principal: dict[int, list[Mapping[str, Any]]] = {}
        for row in data["rows"]:
            by_principal.setdefault(row["principal"], []).append(row)
        for total in data["principals"]:
            yield from by_principal.get(total["principal"], [])
            yield {**total, "distributor_name": "total"}
        yield {**data["total"], "principal_name": ALL_PRINCIPALS, "distributor_name": "total"}


class PointsOfDistributionReportView(_SalesArguments, ReportView):
    """Points of distribution (a product bought by a customer: net cases above zero in the period) per
    principal's product, against the period before: how many, gained and lost; and the lost ones,
    biggest first."""

    operation_id = "reports_points_of_distribution"
    summary = "Points of distribution gained and lost"
    params_class = s.DistributionParamsSerializer
    serializer_class = s.DistributionReportSerializer
    file_stem = "points-of-distribution"
    selector = staticmethod(selectors.distribution_report)
    own_params = ("weeks", "period_kind", "rows_limit", "limit")

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        by_principal: dict[int, list[Mapping[str, Any]]] = {}
        for row in data["rows"]:
            by_principal.setdefault(row["principal"], []).append(row)
        for total in data["principals"]:
            yield from by_principal.get(total["principal"], [])
            yield {**total, "product_name": "total"}
        yield {**data["total"], "principal_name": ALL_PRINCIPALS, "product_name": "total"}


class BuyingOpportunitiesReportView(ReportView):
    """Open opportunities for a product their customer already buys (cases in the last weeks) or bought and
    stopped: placements to close, lapsed accounts to win back."""

    operation_id = "reports_buying_opportunities"
    summary = "Open opportunities for products the account buys or stopped buying"
    params_class = s.BuyingOpportunitiesParamsSerializer
    serializer_class = s.BuyingOpportunitiesReportSerializer
    file_stem = "buying-opportunities"
    selector = staticmethod(selectors.buying_opportunities_report)
    covers_book = True
    own_params = ("weeks", "limit")

    def selector_arguments(self, context: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arguments = super().selector_arguments(context, params)
        arguments.pop("date_to", None)
        return arguments

    def csv_rows(self, data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        rows: Iterable[Mapping[str, Any]] = data["opportunities"]
        return rows
