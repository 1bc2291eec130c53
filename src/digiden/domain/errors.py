"""The one error family of digiden. Every layer raises these; web and CLI map them once."""

from __future__ import annotations


class DigidenError(Exception):
    """Base of every error digiden reports to a user.

    ``message`` is English (API, CLI); ``message_ja`` is shown in the Japanese UI.
    ``field`` names the input that was wrong, where there is one; ``details`` carries anything
    else a client can act on (the other problems of a request, a limit, …).

    On the wire (API, import jobs) every error is one shape, ``{"error": {"code", "message",
    "message_ja", "details"}}``: ``code`` is the class name (``InvalidInput``, ``NotFound``, …).
    """

    status_code = 400

    def __init__(self, message: str, *, message_ja: str | None = None, field: str | None = None,
                 details: dict[str, object] | None = None):
        super().__init__(message)
        self.message = message
        self.message_ja = message_ja or message
        self.field = field
        self.details = dict(details or {})

    @property
    def code(self) -> str:
        return type(self).__name__

    def as_dict(self) -> dict[str, object]:
        """The inside of the error shape: code, messages and details (``field`` among them)."""
        details = ({"field": self.field} if self.field is not None else {}) | self.details
        return {"code": self.code, "message": self.message, "message_ja": self.message_ja,
                "details": details}

    def envelope(self) -> dict[str, object]:
        """The whole error body: ``{"error": {...}}``."""
        return {"error": self.as_dict()}


class InvalidInput(DigidenError):
    """The user gave something we cannot accept; nothing was written."""

    status_code = 422


class NotFound(DigidenError):
    """The thing asked for does not exist (or is not visible to the asker)."""

    status_code = 404


class SignInRequired(DigidenError):
    """The request needs a signed-in user (or an API token) and came without one."""

    status_code = 401


class PermissionDenied(DigidenError):
    """The asker may not do this."""

    status_code = 403


class Conflict(DigidenError):
    """The change collides with what is already stored."""

    status_code = 409
