"""CSV exports of a report: the summary (with the previous period), the time series and the
agent table, for one period and slice.

`export_create` records what a manager asked for; `export_run` (the Celery job behind
reports.tasks.run_report_export) computes it and stores the CSV on the row. Running it
again recomputes and overwrites, so the task is safe with acks_late.
"""

import csv
import io
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from conversations.models import Inbox, Team
from inboxes.selectors import inbox_label

from .metrics import Metric
from .models import ExportStatus, ReportExport
from .selectors import Slice, agent_table, summary, timeseries

logger = logging.getLogger(__name__)

SERIES_METRICS = (
    Metric.CREATED,
    Metric.RESOLVED,
    Metric.REOPENED,
    Metric.ESCALATED,
    *Metric.DURATIONS,
    Metric.CSAT,
    Metric.NPS,
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets run cells that start so


def default_interval(since: datetime, until: datetime) -> str:
    """The interval a chart of this period reads best in (the page chooses the same)."""
    length = until - since
    if length <= timedelta(days=2):
        return "hour"
    if length <= timedelta(days=90):
        return "day"
    return "week"


def export_create(
    *,
    owner: Any,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    slice_: Slice,
    interval: str,
    language: str,
) -> ReportExport:
    params = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "tz": str(tz),
        "team": slice_.team,
        "agent": slice_.agent,
        "channel": slice_.channel,
        "inbox": slice_.inbox,
        "interval": interval,
        "language": language,
    }
    return ReportExport.objects.create(owner=owner, params=params)


def export_run(export_id: int) -> None:
    """Compute the export and store its CSV; a failure marks the export failed, with why."""
    export = ReportExport.objects.filter(pk=export_id).first()
    if export is None:
        return  # deleted meanwhile: nothing to do
    _set_state(export_id, status=ExportStatus.RUNNING, progress=0, error="", finished_at=None)
    try:
        with translation.override(export.params.get("language") or "en"):
            content = report_csv(
                export.params, lambda percent: _set_state(export_id, progress=percent)
            )
    except Exception as exc:  # noqa: BLE001 - whatever it was, the manager must see it failed
        logger.exception("report export %s failed", export_id)
        with translation.override(export.params.get("language") or "en"):
            message = _("The export could not be computed (%(error)s). Try again.") % {
                "error": type(exc).__name__
            }
        _set_state(export_id, status=ExportStatus.FAILED, error=message, finished_at=timezone.now())
        return
    _set_state(
        export_id,
        status=ExportStatus.DONE,
        progress=100,
        content=content,
        finished_at=timezone.now(),
    )


def _set_state(export_id: int, **fields: Any) -> None:
    # A plain UPDATE, committed at once, so the page polling the job sees progress live.
    ReportExport.objects.filter(pk=export_id).update(**fields)


def export_filename(export: ReportExport) -> str:
    since = export.params["since"][:10]
    until = export.params["until"][:10]
    return f"helpdesk-report-{since}-{until}-{export.pk}.csv"


# --- The CSV ---------------------------------------------------------------------------------


def report_csv(params: dict[str, Any], progress: Callable[[int], Any] = lambda _p: None) -> str:
    """The whole report as CSV text, for the period and slice in `params`."""
    tz = ZoneInfo(params["tz"])
    since = datetime.fromisoformat(params["since"])
    until = datetime.fromisoformat(params["until"])
    slice_ = Slice(
        team=params.get("team"),
        agent=params.get("agent"),
        channel=params.get("channel"),
        inbox=params.get("inbox"),
    )
    interval = params.get("interval") or default_interval(since, until)

    current = summary(since, until, slice_)
    progress(15)
    previous = summary(since - (until - since), since, slice_)
    progress(30)
    series = {}
    for number, metric in enumerate(SERIES_METRICS, start=1):
        series[metric] = timeseries(metric, interval, tz, since, until, slice_)["points"]
        progress(30 + 55 * number // len(SERIES_METRICS))
    agents = agent_table(since, until, slice_)
    progress(95)

    out = io.StringIO()
    writer = csv.writer(out)  # QUOTE_MINIMAL: commas, quotes and newlines are escaped
    rows = [
        *_header_rows(params, tz, since, until, slice_, interval),
        [],
        *_summary_rows(current, previous),
        [],
        *_series_rows(series),
        [],
        *_agent_rows(agents),
    ]
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # a team called "=HYPERLINK(…)" stays text in a spreadsheet
    return value


def _header_rows(
    params: dict[str, Any],
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    slice_: Slice,
    interval: str,
) -> list[list[Any]]:
    everything = _("All")
    team = Team.objects.filter(pk=slice_.team).values_list("name", flat=True).first()
    agent = get_user_model().objects.filter(pk=slice_.agent).first()
    inbox = Inbox.objects.filter(pk=slice_.inbox).first()
    return [
        [_("Helpdesk report")],
        [_("From"), since.astimezone(tz).isoformat(timespec="seconds")],
        [_("Until"), until.astimezone(tz).isoformat(timespec="seconds")],
        [_("Time zone"), str(tz)],
        [_("Team"), team if slice_.team is not None else everything],
        [_("Agent"), (agent.email if agent else "") if slice_.agent is not None else everything],
        [_("Channel"), slice_.channel or everything],
        [
            _("Inbox"),
            (inbox_label(inbox) if inbox else "") if slice_.inbox is not None else everything,
        ],
        [_("Interval"), interval],
        [_("Generated at"), timezone.now().astimezone(tz).isoformat(timespec="seconds")],
    ]


def _change_percent(now: float | None, before: float | None) -> float | None:
    if now is None or not before:
        return None
    return 100 * (now - before) / before


def _summary_rows(current: dict[str, Any], previous: dict[str, Any]) -> list[list[Any]]:
    def row(label: str, now: Any, before: Any = None, compare: bool = True) -> list[Any]:
        if not compare:
            return [label, now, "", ""]
        return [label, now, before, _change_percent(now, before)]

    volume, was = current["conversations"], previous["conversations"]
    rows = [
        [_("Summary")],
        [_("Metric"), _("Value"), _("Previous period"), _("Change %")],
        row(_("Conversations created"), volume["created"], was["created"]),
        row(_("Conversations resolved"), volume["resolved"], was["resolved"]),
        row(_("Conversations reopened"), volume["reopened"], was["reopened"]),
        row(_("Escalations (call back by phone)"), volume["escalated"], was["escalated"]),
        row(_("Resolved by the bot alone"), volume["bot_resolved"], was["bot_resolved"]),
        row(_("Handed over by the bot"), volume["handed_over"], was["handed_over"]),
        row(_("Open now"), volume["open_now"], compare=False),
        row(_("Waiting now"), current["waiting_now"]["count"], compare=False),
        row(_("Longest wait now (s)"), current["waiting_now"]["longest_seconds"], compare=False),
    ]
    labels = {
        Metric.FIRST_RESPONSE: _("First response time"),
        Metric.WAIT: _("Wait time"),
        Metric.HANDLE: _("Handle time"),
        Metric.RESOLUTION: _("Resolution time"),
    }
    for metric, label in labels.items():
        now, before = current[metric], previous[metric]
        rows += [
            row(_("%(metric)s, mean (s)") % {"metric": label}, now["mean"], before["mean"]),
            row(_("%(metric)s, median (s)") % {"metric": label}, now["median"], before["median"]),
            row(_("%(metric)s, p90 (s)") % {"metric": label}, now["p90"], before["p90"]),
            row(_("%(metric)s, values") % {"metric": label}, now["count"], before["count"]),
        ]
    csat, was_csat = current["csat"], previous["csat"]
    rate = lambda value: None if value is None else 100 * value  # noqa: E731
    rows += [
        row(_("CSAT %"), csat["score_percent"], was_csat["score_percent"]),
        row(_("CSAT mean score"), csat["mean"], was_csat["mean"]),
        row(_("CSAT ratings"), csat["responses"], was_csat["responses"]),
        row(
            _("CSAT response rate %"), rate(csat["response_rate"]), rate(was_csat["response_rate"])
        ),
    ]
    nps, was_nps = current["nps"], previous["nps"]
    labels = {
        "score": _("NPS (% promoters − % detractors)"),
        "responses": _("NPS answers"),
        "promoters": _("NPS promoters (9–10)"),
        "passives": _("NPS passives (7–8)"),
        "detractors": _("NPS detractors (0–6)"),
    }
    rows += [row(label, nps[key], was_nps[key]) for key, label in labels.items()]
    campaigns, was_campaigns = current["campaigns"], previous["campaigns"]
    labels = {
        "shown": _("Campaign invitations shown"),
        "answered": _("Campaign invitations answered"),
        "conversations": _("Conversations from campaign invitations"),
    }
    rows += [row(label, campaigns[key], was_campaigns[key]) for key, label in labels.items()]
    deflected = current["self_service"]["deflected"], previous["self_service"]["deflected"]
    rows.append(row(_("Questions deflected by suggested articles"), *deflected))
    return rows


def _series_rows(series: dict[str, list[dict[str, Any]]]) -> list[list[Any]]:
    headings = {
        Metric.CREATED: _("Created"),
        Metric.RESOLVED: pgettext("number of conversations", "Resolved"),
        Metric.REOPENED: _("Reopened"),
        Metric.ESCALATED: _("Escalated"),
        Metric.FIRST_RESPONSE: _("First response, mean (s)"),
        Metric.WAIT: _("Wait, mean (s)"),
        Metric.HANDLE: _("Handle, mean (s)"),
        Metric.RESOLUTION: _("Resolution, mean (s)"),
        Metric.CSAT: _("CSAT %"),
        Metric.NPS: _("NPS"),
    }
    starts = [point["start"] for point in series[Metric.CREATED]]
    values = {
        metric: {point["start"]: point["value"] for point in points}
        for metric, points in series.items()
    }
    rows: list[list[Any]] = [
        [_("Time series")],
        [_("Start"), *(headings[metric] for metric in SERIES_METRICS)],
    ]
    for start in starts:
        rows.append([start, *(values[metric].get(start) for metric in SERIES_METRICS)])
    return rows


def _agent_rows(agents: list[dict[str, Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [_("Agents")],
        [
            _("Agent"),
            _("Email"),
            pgettext("number of conversations", "Resolved"),
            _("Replies"),
            _("Handle time, mean (s)"),
            _("First response, mean (s)"),
            _("CSAT %"),
            _("CSAT mean score"),
            _("CSAT ratings"),
            _("NPS"),
            _("NPS answers"),
        ],
    ]
    for row in agents:
        rows.append(
            [
                row["agent"]["name"],
                row["agent"]["email"],
                row["resolved"],
                row["replies"],
                row["handle_time"]["mean"],
                row["first_response_time"]["mean"],
                row["csat"]["score_percent"],
                row["csat"]["mean"],
                row["csat"]["responses"],
                row["nps"]["score"],
                row["nps"]["responses"],
            ]
        )
    return rows
