"""The base of every shape: built from a view's attributes or by keyword, keys as the JSON has them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Shape(BaseModel):
    """A JSON body. ``from_attributes`` lets a shape be built from a service's view (a dataclass
    whose attributes carry the same names); ``populate_by_name`` lets a key that is a Python
    keyword (``from``, ``with``) be filled by its field name (``from_``, ``with_``)."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    def json_data(self) -> dict[str, object]:
        """The body as the API sends it (aliases as keys): what the CLI's ``--json`` prints."""
        return self.model_dump(mode="json", by_alias=True)


class CodeName(Shape):
    code: str
    name: str


def _iso(v: Any) -> Any:
    """ISO 8601 with the offset. SQLite gives back stored times without one; they are UTC (as
    PostgreSQL answers them), so the same instant reads the same on both databases."""
    if isinstance(v, datetime):
        return (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).isoformat()
    return v


#: A stored time as the API shows it: ISO 8601 with its offset.
IsoTime = Annotated[str, BeforeValidator(_iso), Field(json_schema_extra={"format": "date-time"})]
