"""The report API of shared/API.md: /api/v1/reports/summary and /timeseries (staff only),
plus the agent table and CSV exports the reports page uses."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.api.base import AgentView, error_responses
from conversations.errors import InvalidInput, NotAllowed
from conversations.ids import parse_id
from conversations.models import Inbox, Team

from . import selectors
from .export import default_interval, export_create, export_filename
from .models import ExportStatus, ReportExport
from .selectors import INTERVALS, METRICS, Slice
from .tasks import run_report_export

DEFAULT_PERIOD = timedelta(days=7)
MAX_POINTS = 5000
MAX_OFFSET = timedelta(hours=16)

# What parse_moment reads: an ISO 8601 time, a date (its midnight in `tz`), or nothing.
MOMENT = {
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "string", "maxLength": 0},
    ]
}

FILTERS = [
    OpenApiParameter("since", MOMENT, description="Start (included); default 7 days before until"),
    OpenApiParameter("until", MOMENT, description="End (excluded); default now"),
    OpenApiParameter("team", OpenApiTypes.STR, description="Team id or name"),
    OpenApiParameter("agent", OpenApiTypes.STR, description="Agent id or email"),
    OpenApiParameter("channel", OpenApiTypes.STR, description="Channel name, e.g. web"),
    OpenApiParameter(
        "inbox",
        {"type": "string", "pattern": "^[0-9]*$"},
        description="Inbox id (a conversation's `inbox`; the widget and email have one each)",
    ),
    OpenApiParameter(
        "tz", OpenApiTypes.STR, description="IANA time zone for dates without one and for intervals"
    ),
]


def parse_zone(value: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(value or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            _("Unknown time zone."), fields={"tz": _("Use an IANA name such as Europe/Istanbul.")}
        ) from None


def parse_moment(name: str, value: str | None, tz: ZoneInfo) -> datetime | None:
    """An ISO 8601 time, or a date meaning its midnight in `tz`."""
    if not value:
        return None
    moment = None
    try:  # a well-formed but impossible time (month 13) raises rather than answering None
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime(day.year, day.month, day.day)
    except ValueError:
        pass
    if moment is None:
        raise InvalidInput(
            _("Not a date or time."), fields={name: _("Use ISO 8601, e.g. 2026-03-01T00:00:00Z.")}
        )
    if not timezone.is_aware(moment):
        return moment.replace(tzinfo=tz)
    # PostgreSQL takes offsets up to ±15:59, ISO 8601 up to ±23:59: the same moment in UTC.
    return moment.astimezone(UTC) if abs(moment.utcoffset()) >= MAX_OFFSET else moment


def parse_period(params: Any, tz: ZoneInfo) -> tuple[datetime, datetime]:
    try:
        until = parse_moment("until", params.get("until"), tz) or timezone.now()
        since = parse_moment("since", params.get("since"), tz) or until - DEFAULT_PERIOD
    except OverflowError:  # a moment at the very edge of the calendar (year 1 or 9999)
        raise InvalidInput(
            _("The period is out of range."),
            fields={"since": _("Choose a period between the years 1 and 9999.")},
        ) from None
    if since >= until:
        raise InvalidInput(
            _("The period is empty."), fields={"since": _("since must be before until.")}
        )
    return since, until


def parse_slice(params: Any) -> Slice:
    return Slice(
        team=_reference("team", params.get("team"), lambda v: Team.objects.filter(name=v)),
        agent=_reference(
            "agent", params.get("agent"), lambda v: get_user_model().objects.filter(email__iexact=v)
        ),
        channel=params.get("channel") or None,
        inbox=parse_inbox(params.get("inbox")),
    )


def parse_inbox(value: str | None) -> int | None:
    """The id of an existing inbox, or None when not given."""
    if not value:
        return None
    pk = parse_id(value)
    if pk is None or not Inbox.objects.filter(pk=pk).exists():
        raise InvalidInput(
            _("Unknown inbox."), fields={"inbox": _("Give the id of an existing inbox.")}
        )
    return pk


def _reference(name: str, value: str | None, by_name: Any) -> int | None:
    if not value:
        return None
    if (pk := parse_id(value)) is not None:
        return pk
    found = by_name(value).values_list("pk", flat=True).first() if "\x00" not in value else None
    if found is None:
        raise InvalidInput(
            _("Nothing by that name."), fields={name: _("Unknown %(name)s.") % {"name": name}}
        )
    return found


class ReportView(AgentView):
    """Agents read reports (the agents' base view: same authentication and permission)."""


class SummaryView(ReportView):
    @extend_schema(parameters=FILTERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        tz = parse_zone(request.query_params.get("tz"))
        since, until = parse_period(request.query_params, tz)
        return Response(selectors.summary(since, until, parse_slice(request.query_params)))


class TimeseriesView(ReportView):
    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("metric", OpenApiTypes.STR, enum=list(METRICS), required=True),
            OpenApiParameter("interval", OpenApiTypes.STR, enum=list(INTERVALS)),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        tz = parse_zone(params.get("tz"))
        since, until = parse_period(params, tz)
        metric, interval = params.get("metric", ""), params.get("interval", "day")
        if metric not in METRICS:
            raise InvalidInput(
                _("Unknown metric."),
                fields={"metric": _("Choose one of: %(m)s.") % {"m": ", ".join(METRICS)}},
            )
        if interval not in INTERVALS:
            raise InvalidInput(
                _("Unknown interval."), fields={"interval": _("Choose hour, day, week or month.")}
            )
        if interval == "hour" and until - since > timedelta(hours=MAX_POINTS):
            raise InvalidInput(
                _("Too many points."),
                fields={"interval": _("Choose a longer interval for this period.")},
            )
        return Response(
            selectors.timeseries(metric, interval, tz, since, until, parse_slice(params))
        )


class AgentTableView(ReportView):
    """`GET /api/v1/reports/agents`: one row per agent, busiest first (selectors.agent_table)."""

    @extend_schema(parameters=FILTERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        tz = parse_zone(request.query_params.get("tz"))
        since, until = parse_period(request.query_params, tz)
        rows = selectors.agent_table(since, until, parse_slice(request.query_params))
        return Response({"since": since.isoformat(), "until": until.isoformat(), "results": rows})


# --- CSV exports -----------------------------------------------------------------------------

INTERVAL_LENGTH = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=28),
}


def export_data(export: ReportExport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": export.pk,
        "status": export.status,
        "progress": export.progress,
        "error": export.error or None,
        "params": {k: v for k, v in export.params.items() if k != "language"},
        "created_at": export.created_at.isoformat(),
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "download_url": None,
    }
    if export.status == ExportStatus.DONE:
        data["download_url"] = f"/api/v1/reports/exports/{export.pk}/download"
    return data


# The export's period and slice, as the report filters' query parameters say them (a JSON
# object; numbers are read as their digits, nulls and empty strings as not given).
_ID_OR_NAME = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}], "nullable": True}
EXPORT_INPUT = {
    "application/json": {
        "type": "object",
        "properties": {
            "since": {**MOMENT, "nullable": True},
            "until": {**MOMENT, "nullable": True},
            "team": _ID_OR_NAME,
            "agent": _ID_OR_NAME,
            "channel": {"type": "string", "nullable": True},
            "inbox": {
                "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
                "nullable": True,
            },
            "tz": {"type": "string", "nullable": True},
            "interval": {"type": "string", "enum": [*INTERVALS, ""], "nullable": True},
        },
    }
}


def export_params(data: Any) -> dict[str, str]:
    """The request body as strings, so ids given as JSON numbers read like query parameters."""
    if not isinstance(data, dict):
        raise InvalidInput(_("Send a JSON object."))
    return {key: str(value) for key, value in data.items() if value not in (None, "")}


def parse_interval(params: dict[str, str], since: Any, until: Any) -> str:
    interval = params.get("interval") or default_interval(since, until)
    if interval not in INTERVALS:
        raise InvalidInput(
            _("Unknown interval."), fields={"interval": _("Choose hour, day, week or month.")}
        )
    if (until - since) / INTERVAL_LENGTH[interval] > MAX_POINTS:
        raise InvalidInput(
            _("Too many points."),
            fields={"interval": _("Choose a longer interval for this period.")},
        )
    return interval


class ExportListView(ReportView):
    """`POST /api/v1/reports/exports` queues a CSV export; `GET` lists the caller's own."""

    @extend_schema(request=EXPORT_INPUT, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        params = export_params(request.data)
        tz = parse_zone(params.get("tz"))
        since, until = parse_period(params, tz)
        export = export_create(
            owner=request.user,
            since=since,
            until=until,
            tz=tz,
            slice_=parse_slice(params),
            interval=parse_interval(params, since, until),
            language=get_language() or "en",
        )
        run_report_export.delay_on_commit(export.pk)
        return Response(export_data(export), status=202)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="reports_exports_list")
    def get(self, request: Request) -> Response:
        exports = ReportExport.objects.filter(owner=request.user).defer("content")[:20]
        return Response({"results": [export_data(export) for export in exports]})


class ExportDetailView(ReportView):
    """`GET /api/v1/reports/exports/{id}`: status and progress of one of the caller's exports."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        export = get_object_or_404(ReportExport.objects.defer("content"), pk=pk, owner=request.user)
        return Response(export_data(export))


class ExportDownloadView(ReportView):
    """`GET /api/v1/reports/exports/{id}/download`: the CSV, once the job is done."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(409)})
    def get(self, request: Request, pk: int) -> HttpResponse:
        export = get_object_or_404(ReportExport, pk=pk, owner=request.user)
        if export.status != ExportStatus.DONE:
            raise NotAllowed(_("This export is not ready yet."), code="not_ready")
        # A byte-order mark so spreadsheet programs read the UTF-8 (names in any language).
        response = HttpResponse("\ufeff" + export.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(export)}"'
        return response
