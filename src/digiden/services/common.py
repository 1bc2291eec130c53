"""Small helpers several capabilities share: the packaged data files, the report of a load,
updating a stored record field by field, and a stored local government as the access rules see it.

Imports only the domain and the store, so every capability may use it (see docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from digiden.domain.access import OrgRef
from digiden.domain.codes import NATION_CODE
from digiden.store.models import OrgUnit

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
