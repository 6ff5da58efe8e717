"""Errors that services raise and every entry point turns into the API's error shape."""

from typing import Any


class HelpdeskError(Exception):
    """A refusal a user can understand: `{"error": {"code", "message", "fields"?}}`."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            error["fields"] = {key: _messages(value) for key, value in self.fields.items()}
        return {"error": error}


class InvalidInput(HelpdeskError):
    status = 400
    code = "invalid"


class NotAllowed(HelpdeskError):
    """The request is well formed but the conversation's state forbids it."""

    status = 409
    code = "conflict"


class Forbidden(HelpdeskError):
    """The user may not do this (someone else's view, a team they are not in)."""

    status = 403
    code = "permission_denied"


class NotFound(HelpdeskError):
    status = 404
    code = "not_found"


def _messages(value: Any) -> list[str]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [str(item) for item in values]
