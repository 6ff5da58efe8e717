"""The campaigns API: invitations for the widget under /api/v1/widget/campaigns, and
campaigns for agents under /api/v1/campaigns (admins write, agents read)."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language_from_request, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.base import (
    AgentView,
    agent_user_by_ref,
    error_responses,
    get_or_404,
    team_by_ref,
    validated,
)
from conversations.api.schema import NO_NUL
from conversations.authentication import CustomerTokenAuthentication, WidgetCustomer
from conversations.errors import InvalidInput
from conversations.models import Customer
from conversations.throttling import (
    RateLimitedMixin,
    WidgetAvailabilityThrottle,
    WidgetPageviewsThrottle,
    request_ip,
)

from . import selectors, services
from .models import Campaign
from .serializers import (
    CampaignInput,
    CampaignOutput,
    CampaignPatchInput,
    ShownOutput,
    WidgetCampaignOutput,
    sender_of,
)

URL_LIMIT = 2000

# --- Customer side --------------------------------------------------------------------------


def visitor_language(request: Request) -> str:
    """`lang` when given (checked by read_query), else the browser's (Accept-Language)."""
    return request.query_params.get("lang") or get_language_from_request(request)


def widget_customer(request: Request) -> Customer | None:
    """The customer whose Bearer token came along, if any."""
    user = request.user
    return user.customer if isinstance(user, WidgetCustomer) else None


class WidgetCampaignsView(RateLimitedMixin, APIView):
    """Readable with or without a widget session: most visitors invited have never chatted."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes: list = []
    throttle_classes = [WidgetAvailabilityThrottle]  # one read per page, as availability

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "url",
                {"type": "string", "minLength": 1, "maxLength": URL_LIMIT, "pattern": NO_NUL},
                required=True,
                description=gettext_lazy("The address of the page the visitor is on."),
            ),
            OpenApiParameter(
                "returning",
                {"type": "string", "enum": ["true", "false"]},
                description=gettext_lazy(
                    "Whether the visitor has been before; default: their first widget session "
                    "is at least 30 minutes old."
                ),
            ),
            OpenApiParameter(
                "lang",
                {"type": "string", "enum": ["en", "tr"]},
                description=gettext_lazy("The visitor's language; default the browser's."),
            ),
        ],
        responses={
            200: inline_serializer("WidgetCampaigns", {"results": WidgetCampaignOutput(many=True)}),
            **error_responses(400, 401, 429),
        },
        auth=[{"customerToken": []}, {}],
        operation_id="widget_campaigns_list",
        tags=["widget"],
    )
    def get(self, request: Request) -> Response:
        """The invitations to show on this page now: enabled campaigns whose rules match and
        whose team can take a chat at once (else none)."""
        url, returning = self.read_query(request)
        now = timezone.now()
        if returning is None:
            customer = widget_customer(request)
            returning = customer is not None and selectors.is_returning(customer, now)
        campaigns = selectors.campaigns_for_visitor(
            url=url, returning=returning, language=visitor_language(request), now=now
        )
        results = [
            {
                "id": campaign.pk,
                "message": campaign.message,
                "delay_seconds": campaign.delay_seconds,
                "sender": sender_of(campaign),
            }
            for campaign in campaigns
        ]
        return Response({"results": WidgetCampaignOutput(results, many=True).data})

    @staticmethod
    def read_query(request: Request) -> tuple[str, bool | None]:
        url = request.query_params.get("url", "")
        errors = {}
        if not url or len(url) > URL_LIMIT or "\x00" in url:
            errors["url"] = [_("The page's address, at most %(n)d characters.") % {"n": URL_LIMIT}]
        returning = request.query_params.get("returning")
        if returning not in (None, "true", "false"):
            errors["returning"] = [_("“true” or “false”.")]
        lang = request.query_params.get("lang")
        if lang is not None and lang not in services.language_codes():
            errors["lang"] = [_("“en” or “tr”.")]
        if errors:
            raise serializers.ValidationError(errors)
        return url, None if returning is None else returning == "true"


class WidgetCampaignShownView(RateLimitedMixin, APIView):
    """Sent by the widget with its session if it has one, else anonymously."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes: list = []
    throttle_classes = [WidgetPageviewsThrottle]  # one per page at most, as page views

    @extend_schema(
        request=None,
        responses={
            201: ShownOutput,
            200: ShownOutput,
            **error_responses(401, 404, 429),
        },
        auth=[{"customerToken": []}, {}],
        operation_id="widget_campaign_shown",
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        """The widget showed this campaign's invitation: counted once per visitor (the
        customer, else the address), campaign and day; again the same day: 200."""
        campaign = get_or_404(Campaign.objects.filter(enabled=True), pk)
        visitor = services.visitor_key(
            customer=widget_customer(request), ip=request_ip(request.META)
        )
        shown, created = services.campaign_mark_shown(campaign=campaign, visitor=visitor)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ShownOutput(shown).data, status=code)


# --- Agent side -----------------------------------------------------------------------------


class AdminsWrite(permissions.BasePermission):
    """Agents read campaigns; only admins (superusers) write them."""

    message = gettext_lazy("Only admins can change campaigns.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_superuser)


def campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("team", "sender__public_profile").order_by("id")


class AgentCampaignView(AgentView):
    permission_classes = [*AgentView.permission_classes, AdminsWrite]

    @staticmethod
    def campaign_fields(data: dict[str, Any]) -> dict[str, Any]:
        """The input as model fields, its references looked up (400 naming the field)."""
        fields = dict(data)
        if "team" in fields:
            fields["team"] = team_by_ref(fields["team"])
        if "sender" in fields:
            try:
                fields["sender"] = agent_user_by_ref(fields["sender"])
            except InvalidInput as error:
                raise InvalidInput(error.message, fields={"sender": error.message}) from error
        if "url_rule" in fields:
            rule = fields.pop("url_rule")
            fields["url_kind"], fields["url_value"] = rule["kind"], rule["value"]
        return fields

    def output(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        return Response(CampaignOutput(campaigns().get(pk=campaign.pk)).data, status=code)


@extend_schema(tags=["campaigns"])
class CampaignListView(AgentCampaignView):
    @extend_schema(
        responses={
            200: inline_serializer("Campaigns", {"results": CampaignOutput(many=True)}),
            **error_responses(401, 403),
        },
        operation_id="campaigns_list",
    )
    def get(self, request: Request) -> Response:
        """Every campaign, oldest first (agents and admins)."""
        return Response({"results": CampaignOutput(campaigns(), many=True).data})

    @extend_schema(
        request=CampaignInput,
        responses={201: CampaignOutput, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        """A new campaign (admins). A regex that does not compile: 400 naming `url_rule`."""
        data = validated(CampaignInput, request.data)
        campaign = services.campaign_save(campaign=Campaign(), **self.campaign_fields(data))
        return self.output(campaign, status.HTTP_201_CREATED)


@extend_schema(tags=["campaigns"])
class CampaignDetailView(AgentCampaignView):
    @extend_schema(responses={200: CampaignOutput, **error_responses(401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return self.output(get_or_404(campaigns(), pk))

    @extend_schema(
        request=CampaignInput,  # drf-spectacular makes it PatchedCampaignInput
        responses={200: CampaignOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Changes the fields given (admins)."""
        campaign = get_or_404(campaigns(), pk)
        data = validated(CampaignPatchInput, request.data)
        campaign = services.campaign_save(campaign=campaign, **self.campaign_fields(data))
        return self.output(campaign)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        """Deletes the campaign and its invitations shown (admins); conversations it started
        keep their messages."""
        services.campaign_delete(campaign=get_or_404(campaigns(), pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
