"""Server-rendered pages of the conversations app: the widget's demo host page, and the
page an email's resume link opens."""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation.trans_real import DjangoTranslation
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe
from django.views.i18n import JSONCatalog

from .authentication import identity_hash
from .mail.outbound import BadResumeLink, read_resume_token
from .models import Conversation
from .seams import campaign_invitations

DEMO_TEAM = "billing"
# The user the demo shop pretends is signed in when the visitor picks "Sign in".
DEMO_USER = {"identifier": "demo-shop-user-42", "name": "Deniz Kaya", "email": "deniz@example.com"}


def widget_demo(request: HttpRequest) -> HttpResponse:
    """A small shop page that embeds the widget with one script tag, as a customer's site would.

    `?signed_in=1` plays a shop whose visitor is logged in: the page passes a verified identity
    (the HMAC is computed here, server side, exactly as an embedding site must do it).
    """
    signed_in = request.GET.get("signed_in") == "1" and bool(settings.HELPDESK_IDENTITY_SECRET)
    identity = None
    if signed_in:
        identity = {**DEMO_USER, "hash": identity_hash(DEMO_USER["identifier"])}
    context = {
        "helpdesk_url": f"{request.scheme}://{request.get_host()}",
        "team": request.GET.get("team") or DEMO_TEAM,
        "widget_lang": (get_language() or settings.LANGUAGE_CODE).split("-")[0],
        "identity": identity,
        "identity_available": bool(settings.HELPDESK_IDENTITY_SECRET),
    }
    return render(request, "widget/demo.html", context)


# --- Resume links (email continuity) ---------------------------------------------------------

# widget.js keeps its state under "helpdesk-widget:" + the helpdesk's origin (localStorage)
# and the open conversation of a tab under that key + ":tab" (sessionStorage).
WIDGET_STORE_PREFIX = "helpdesk-widget:"
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """What `new URL(url).origin` says in a browser: scheme://host[:port], default port left out."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port and parts.port != DEFAULT_PORTS.get(parts.scheme) else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def widget_resume(request: HttpRequest, token: str) -> HttpResponse:
    """Open the widget on the conversation an email links to, as that email's customer.

    The link carries a signed, dated (customer, conversation) pair, never the widget token;
    this page hands the token to the widget the way widget.js stores it, then the widget
    opens that conversation. A bad or expired link gets a friendly page, status 400.
    """
    try:
        customer_id, conversation_id = read_resume_token(token)
    except BadResumeLink as error:
        return resume_refused(request, expired=error.expired)
    conversation = (
        Conversation.objects.select_related("customer")
        .filter(pk=conversation_id, customer_id=customer_id)
        .first()
    )
    if conversation is None:
        return resume_refused(request, expired=False)
    customer = conversation.customer
    helpdesk_url = origin_of(f"{request.scheme}://{request.get_host()}")
    store_key = WIDGET_STORE_PREFIX + helpdesk_url
    language = customer.language if customer.language in dict(settings.LANGUAGES) else None
    with translation.override(language or get_language() or settings.LANGUAGE_CODE):
        response = render(
            request,
            "widget/resume.html",
            {
                "conversation": conversation,
                "helpdesk_url": helpdesk_url,
                "widget_lang": (translation.get_language() or "en").split("-")[0],
                "resume": {
                    "storeKey": store_key,
                    "tabKey": store_key + ":tab",
                    "token": customer.token,
                    "customer": {"id": customer.pk, "name": customer.name, "email": customer.email},
                    "conversation": conversation.pk,
                },
            },
        )
    return private_page(response)


def resume_refused(request: HttpRequest, *, expired: bool) -> HttpResponse:
    response = render(request, "widget/resume_invalid.html", {"expired": expired}, status=400)
    return private_page(response)


def private_page(response: HttpResponse) -> HttpResponse:
    """Never cached, never indexed, and the link (a credential) never leaks as a Referer."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@method_decorator(cache_control(public=True, max_age=3600), name="dispatch")
class WidgetStringsView(JSONCatalog):
    """The widget's text in the visitor's language: Django's JSON catalog of the djangojs
    domain, plus the language it is in (picked by LocaleMiddleware from Accept-Language) and
    the longest message the helpdesk takes (the widget counts towards it).

    Served under /api/v1/widget/ so that the embedding sites' origins get CORS headers.
    """

    packages = ["conversations"]  # with LOCALE_PATHS: the project's catalog, not the admin's

    def render_to_response(self, context: dict, **response_kwargs) -> HttpResponse:
        return super().render_to_response(
            {
                **context,
                "language": get_language(),
                "max_message_length": settings.HELPDESK_MAX_MESSAGE_LENGTH,
            },
            **response_kwargs,
        )


# --- The widget's loader: the fixed URL that sites embed ---------------------------------------


@require_safe
@gzip_page
def widget_loader(request: HttpRequest) -> HttpResponse:
    """`/static/helpdesk/widget.js`, the one URL a site pastes (docs/widget.md). A few hundred
    bytes of code and the strings of every language, cached like the other fixed names: it
    starts the widget's own files at once, under their hashed (year-long cached) names."""
    boot = {
        "bundle": static("helpdesk/widget-app.js"),
        "client": static("helpdesk/client.js"),
        "stylesheet": static("helpdesk/widget.css"),
        "catalogs": {code: widget_catalog(code) for code, _name in settings.LANGUAGES},
        "default_language": settings.LANGUAGE_CODE.split("-")[0],
        "max_message_length": settings.HELPDESK_MAX_MESSAGE_LENGTH,
        # Without any campaign the widget asks for no invitations (docs/campaigns.md).
        "invitations": campaign_invitations().any_enabled(),
    }
    # JSON in a script: "<" escaped, so no string can close a tag around it.
    body = render_to_string(
        "widget/loader.js", {"boot": json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")}
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"  # as WhiteNoise's files: no cookies read
    patch_cache_control(response, public=True, max_age=settings.WHITENOISE_MAX_AGE)
    set_response_etag(response)
    return get_conditional_response(request, etag=response["ETag"], response=response)


def widget_catalog(language: str) -> dict:
    """The djangojs catalog of one language, as GET /api/v1/widget/strings answers it."""
    view = WidgetStringsView()
    with translation.override(language):
        view.translation = DjangoTranslation(
            language, domain=view.domain, localedirs=view.get_paths(view.packages)
        )
        return view.get_catalog()
