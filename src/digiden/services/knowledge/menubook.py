"""The menu book (メニューブック): the measures and published good practices, chapter by pillar
and section by field, for printing (HTML) and for handing out (PDF). The seed asks for exactly
this: 「地域間連携の優良事例を収集し、メニューブック等を通じて広く周知・共有」."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from digiden.domain.access import PUBLIC
from digiden.services.knowledge import catalogue, practices
from digiden.services.knowledge.catalogue import MeasureView
from digiden.services.knowledge.practices import PracticeView
from digiden.services.uow import UnitOfWork
from digiden.store.models import Area, Practice


@dataclass(frozen=True)
class Section:
    code: str
    name: str
    measures: tuple[MeasureView, ...]
    practices: tuple[PracticeView, ...]

    @property
    def anchor(self) -> str:
        return "f-" + self.code.replace(".", "-")


@dataclass(frozen=True)
class Chapter:
    code: str
    name: str
    sections: tuple[Section, ...]

    @property
    def anchor(self) -> str:
        return "c-" + self.code


@dataclass(frozen=True)
class MenuBook:
    title: str
    edition: date
    chapters: tuple[Chapter, ...]
    measure_count: int
    practice_count: int
    synthetic_practices: int


def build(uow: UnitOfWork, *, today: date, pillar: str | None = None) -> MenuBook:
    """Each measure appears under its first field; each practice under its field (practices
    without a field under the pillar of their first measure). Only published practices."""
    measures = catalogue.list_measures(uow)
    with uow:
        s = uow.session
        areas = [(a.id, a.code, a.name, a.kind, a.parent_id)
                 for a in s.scalars(select(Area).order_by(Area.position, Area.id))]
        codes = list(s.scalars(select(Practice.code).where(Practice.status == "published")
                               .order_by(Practice.origin != "seed", Practice.position, Practice.id)))
    views = [practices.get(uow, PUBLIC, c) for c in codes]
    by_field: dict[str, tuple[list[MeasureView], list[PracticeView]]] = {}
    for m in measures:
        key = m.fields[0][0] if m.fields else "other"
        by_field.setdefault(key, ([], []))[0].append(m)
    for p in views:
        key = p.field[0] if p.field else (p.measures[0][0] if p.measures else "other")
        if key not in {a[1] for a in areas}:
            mv = next((m for m in measures if m.code == key), None)
            key = mv.fields[0][0] if mv and mv.fields else "other"
        by_field.setdefault(key, ([], []))[1].append(p)
    chapters = []
    for top_id, top_code, top_name, kind, _ in areas:
        if kind not in ("pillar", "foundation") or (pillar and top_code != pillar):
            continue
        sections = []
        for _, code, name, _, parent in areas:
            ms, ps = by_field.get(code, ([], [])) if parent == top_id else ([], [])
            if ms or ps:
                sections.append(Section(code, name, tuple(ms), tuple(ps)))
        if sections:
            chapters.append(Chapter(top_code, top_name, tuple(sections)))
    n_m = sum(len(s.measures) for c in chapters for s in c.sections)
    n_p = sum(len(s.practices) for c in chapters for s in c.sections)
    n_syn = sum(1 for c in chapters for s in c.sections for p in s.practices if p.synthetic)
    return MenuBook("デジタル田園都市国家構想 メニューブック（施策と優良事例）", today, tuple(chapters),
                    n_m, n_p, n_syn)
