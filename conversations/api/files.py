"""Files in the API: uploads with a message (multipart/form-data) and the signed downloads.

Uploads: `POST …/messages` takes JSON, or multipart/form-data with `body`, `client_id` and
one or more `files`. A request larger than every file could be together is refused (413) by
its Content-Length before anything is parsed; each file is then checked by the service
(files/checks.py: 413 `too_large`, 415 `unsupported_type`).

Downloads: `GET /api/v1/files/<signed link>` (files/links.py). Whoever may not read the file
(a forged, expired or foreign link; another user's staff link) gets 404, as for a file that
does not exist. Files are sent as downloads with `X-Content-Type-Options: nosniff` and a CSP
that runs nothing; only raster images (sniffed, never SVG) are shown inline.
"""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpResponseBase, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from .. import selectors
from ..authentication import AGENT_AUTHENTICATION
from ..errors import InvalidInput
from ..files import checks, links
from ..jobs import enqueue
from ..models import Attachment
from ..serializers import StrictCharField, campaign_field, client_id_field
from ..throttling import FilesThrottle, RateLimitedMixin
from .base import error_responses, validated

MESSAGE_PARSERS = [JSONParser, MultiPartParser]
FILE_CACHE_SECONDS = 600  # a browser reuses a downloaded file this long (links are stable as long)
THUMBNAIL_RETRY_SECONDS = 60


# --- Uploads ------------------------------------------------------------------------------------


def upload_body_field() -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        checked_by_service=True,
        max_length_hint=lambda: settings.HELPDESK_MAX_MESSAGE_LENGTH,
        help_text=gettext_lazy("The text; may be empty when files are sent."),
    )


def files_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        help_text=gettext_lazy(
            "One or more files (HELPDESK_ATTACHMENT_MAX_FILES, HELPDESK_ATTACHMENT_MAX_BYTES "
            "each); their type is told from their bytes."
        ),
    )


class CustomerMessageUpload(serializers.Serializer):
    body = upload_body_field()
    client_id = client_id_field()
    files = files_field()


class AgentMessageUpload(CustomerMessageUpload):
    private = serializers.BooleanField(required=False, default=False)


class ConversationStartUpload(CustomerMessageUpload):
    team = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)
    campaign = campaign_field()


def message_request(
    json_input: type[serializers.Serializer], upload: type[serializers.Serializer]
) -> dict[str, Any]:
    """The schema's request bodies of a message POST: JSON, or multipart with files."""
    return {"application/json": json_input, "multipart/form-data": upload}


def message_input(
    request: Request,
    json_input: type[serializers.Serializer],
    upload: type[serializers.Serializer],
) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The validated fields of a message POST and its files (none for JSON)."""
    check_request_size(request)
    if request.content_type.startswith("multipart/form-data"):
        files = request.FILES.getlist("files")
        fields = {key: request.data.get(key) for key in request.data if key != "files"}
        if not files:
            if "files" in request.data:  # text where files should be
                message = _("Send files as file parts of the form.")
                raise InvalidInput(message, fields={"files": message})
            return validated(json_input, fields), []  # a plain form says what JSON says
        checks.check_count(len(files))
        data = validated(upload, {**fields, "files": files})
        return {**data, "body": data.get("body", "")}, files
    return validated(json_input, request.data), []


def check_request_size(request: Request) -> None:
    """413 before parsing a body larger than the largest message with files could be."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = (
        settings.HELPDESK_ATTACHMENT_MAX_FILES * settings.HELPDESK_ATTACHMENT_MAX_BYTES
        + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    if length > limit:
        message = checks.too_large_message()
        raise checks.TooLarge(message, fields={"files": message})


# --- Downloads ----------------------------------------------------------------------------------


class FileView(RateLimitedMixin, APIView):
    """A file of a message, by its signed link (docs/attachments.md)."""

    authentication_classes = AGENT_AUTHENTICATION  # a staff link needs its user's session
    permission_classes: list = []
    throttle_classes = [FilesThrottle]

    @extend_schema(
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY, gettext_lazy("The file, as a download.")
            ),
            **error_responses(404, 429),
        },
        auth=[],
        operation_id="file_download",
        tags=["files"],
    )
    def get(self, request: Request, token: str) -> HttpResponseBase:
        """Download a message's file by its signed link; 404 for anyone who may not read it."""
        link = links.read(token)
        if link is None:
            raise Http404
        attachment = selectors.attachment_for_reader(link.attachment_id, link.reader, request.user)
        if attachment is None:
            raise Http404
        if attachment.external_url:  # imported as a link only
            return HttpResponseRedirect(attachment.external_url)
        if link.thumbnail:
            return thumbnail_response(attachment)
        return file_response(attachment)


def file_response(attachment: Attachment) -> FileResponse:
    inline = checks.is_raster_image(attachment.content_type)
    content_type = attachment.content_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=content_type,
    )
    return guarded(response)


def thumbnail_response(attachment: Attachment) -> FileResponse:
    """The thumbnail; until the worker has made it, the image itself (and ask again)."""
    if not attachment.thumbnail:
        if cache.add(f"helpdesk:thumbnail-asked:{attachment.pk}", 1, THUMBNAIL_RETRY_SECONDS):
            from ..tasks import make_thumbnail  # tasks import the services this app's views use

            enqueue(make_thumbnail, attachment.pk)
        response = file_response(attachment)
        response["Cache-Control"] = "private, no-cache"  # the thumbnail replaces it soon
        return response
    data = attachment.thumbnail.open("rb")
    head = data.read(16)
    data.seek(0)
    content_type = "image/png" if head.startswith(b"\x89PNG") else "image/jpeg"
    response = FileResponse(data, content_type=content_type)
    return guarded(response)


def guarded(response: FileResponse) -> FileResponse:
    """Headers that keep a file from running as a page of our origin."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = f"private, max-age={FILE_CACHE_SECONDS}"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # the widget shows it on shops
    response["Referrer-Policy"] = "no-referrer"
    return response
