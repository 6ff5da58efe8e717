"""Server-rendered pages of the conversations app: the widget's demo host page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from .authentication import identity_hash

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
