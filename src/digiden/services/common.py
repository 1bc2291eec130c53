"""Small helpers several capabilities share: the packaged data files, the report of a load,
updating a stored record field by field, a stored local government as the access rules see it,
and an observed value as every capability shows it (``ObservationView``).

Imports only the domain, the shapes and the store, so every capability may use it (see docs/architecture.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from digiden.domain.access import OrgRef
from digiden.domain.calendar import AsOf, Precision
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import Qualifier, format_quantity
from digiden.domain.text import same_secret
from digiden.shapes.national import ObservationOut
from digiden.store.models import Kpi, Observation, OrgUnit

#: progress(stage, done, total), as the CLI's progress bar takes it.
Progress = Callable[[str, int, int], None]


def data_path(name: str) -> Path:
    """A file of the packaged reference data (src/digiden/data)."""
    return Path(str(resources.files("digiden.data").joinpath(name)))


@dataclass
class LoadReport:
    """What one `digiden db init` did, per kind of record."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        bucket = getattr(self, outcome)
        bucket[kind] = bucket.get(kind, 0) + n

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def set_fields(obj: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True if any did."""
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def org_ref(o: OrgUnit) -> OrgRef:
    """A stored local government as the access rules (domain.access) see it."""
    return OrgRef(o.id, o.code, o.prefecture_code, o.kind == "prefecture", o.code == NATION_CODE)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and the national
# dashboard builds a few thousand of these per request (measured: a third of its time).
@dataclass(slots=True)
class ObservationView:
    id: int
    kpi_code: str
    org_unit_code: str
    org_unit_name: str
    as_of: AsOf
    breakdown: str
    value: float
    unit: str
    qualifier: Qualifier
    source_title: str
    source_url: str | None
    status: str
    created_by: str
    created_at: object
    batch_id: int | None
    note: str

    @property
    def display(self) -> str:
        return format_quantity(self.value, self.unit, self.qualifier)

    def shape(self) -> ObservationOut:
        return ObservationOut(
            id=self.id, kpi=self.kpi_code, org_unit=self.org_unit_code, org_unit_name=self.org_unit_name,
            as_of=self.as_of.iso(), as_of_date=self.as_of.date.isoformat(), precision=self.as_of.precision.value,
            breakdown=self.breakdown or None, value=self.value, unit=self.unit, qualifier=self.qualifier.value,
            source_title=self.source_title, source_url=self.source_url, status=self.status,
            created_by=self.created_by,
            created_at=self.created_at.isoformat() if hasattr(self.created_at, "isoformat") else str(self.created_at),
            batch_id=self.batch_id, note=self.note)

    def json_data(self) -> dict[str, object]:
        """``shape().json_data()`` built directly, for listings of thousands of rows (the same
        keys, order and values; tests/web/test_observation_paging.py compares the two)."""
        a = self.as_of
        c = self.created_at
        return {"id": self.id, "kpi": self.kpi_code, "org_unit": self.org_unit_code,
                "org_unit_name": self.org_unit_name, "as_of": a.iso(), "as_of_date": a.date.isoformat(),
                "precision": a.precision.value, "breakdown": self.breakdown or None, "value": float(self.value),
                "unit": self.unit, "qualifier": self.qualifier.value, "source_title": self.source_title,
                "source_url": self.source_url, "status": self.status, "created_by": self.created_by,
                "created_at": c.isoformat() if hasattr(c, "isoformat") else str(c),
                "batch_id": self.batch_id, "note": self.note}


#: stored value → enum member, without Enum.__call__ per row of a listing
PRECISIONS: dict[str, Precision] = {p.value: p for p in Precision}
QUALIFIERS: dict[str, Qualifier] = {q.value: q for q in Qualifier}


def observation_view(o: Observation, kpi: Kpi, unit: OrgUnit) -> ObservationView:
    return ObservationView(o.id, kpi.code, unit.code, unit.full_name,
                           AsOf(o.as_of, Precision(o.as_of_precision)), o.breakdown, o.value,
                           kpi.unit, Qualifier(o.qualifier), o.source_title, o.source_url,
                           o.status, o.created_by, o.created_at, o.batch_id, o.note)


# ---------------------------------------------------------------- paging cursors
# A keyset cursor (the observation listing, the audit trail) is its JSON payload in base64url
# and check digits over it: ``<payload>.<digest>``. The digest catches a cursor that was cut or
# edited (refused with 422); it is not a secret — a cursor only says where a listing resumes,
# and whatever it names is bound as parameters of the same query, under the same access checks.


def _cursor_digest(purpose: str, body: bytes) -> str:
    return hashlib.sha256(f"digiden {purpose} cursor 1|".encode() + body).hexdigest()[:16]


def seal_cursor(purpose: str, payload: list[Any]) -> str:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _cursor_digest(purpose, body)


def open_cursor(token: str, purpose: str, *, max_length: int, bad: Callable[[str], InvalidInput]) -> Any:
    """The payload of a cursor made by ``seal_cursor`` for ``purpose``; ``bad(why)`` is raised
    for one that is too long, not base64url, edited or not JSON."""
    if len(token) > max_length:
        raise bad("too long")
    encoded, _, digest = token.partition(".")
    try:
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, TypeError):
        raise bad("not base64url") from None
    if not same_secret(digest, _cursor_digest(purpose, body)):
        raise bad("its check digits do not match")
    try:
        return json.loads(body)
    except ValueError:
        raise bad("malformed") from None
