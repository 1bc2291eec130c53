"""The audit trail as the API shows it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from digiden.shapes.base import Shape


class AuditEntryOut(Shape):
    id: int
    at: str = Field(description="ISO 8601 timestamp")
    actor: str
    action: str
    entity: str
    entity_key: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
