"""Requests larger than any the helpdesk takes are refused (413) before their body is read.

Django's ASGI handler reads a whole body (to disk beyond FILE_UPLOAD_MAX_MEMORY_SIZE) before
any view runs, so a view's own check of Content-Length (conversations/api/files.py) comes
after the bytes have arrived. This check comes first: the largest message with files, or an
inbound email, is the most a request may declare. A body without Content-Length (chunked)
is left to the views' checks.
"""

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from conversations.mail.inbound import MAX_EMAIL_BYTES


def largest_body() -> int:
    uploads = (
        settings.HELPDESK_ATTACHMENT_MAX_FILES * settings.HELPDESK_ATTACHMENT_MAX_BYTES
        + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    return max(uploads, MAX_EMAIL_BYTES)


def declared_length(scope: dict[str, Any]) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return 0


def limit_body(app: Any) -> Any:
    """The ASGI app, behind the check."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and declared_length(scope) > largest_body():
            await refuse(send)
            return
        await app(scope, receive, send)

    return guarded


async def refuse(send: Any) -> None:
    error = {"code": "too_large", "message": _("The request body is too large.")}
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
