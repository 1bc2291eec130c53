"""The 1,788 local governments: search, detail, and prefecture roll-ups."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from digiden.domain.calendar import AsOf
from digiden.domain.codes import normalize_code
from digiden.domain.errors import InvalidInput, NotFound
from digiden.domain.quantities import Qualifier, format_quantity
from digiden.domain.text import search_key
from digiden.services.common import PRECISIONS, QUALIFIERS, ObservationView
from digiden.services.uow import UnitOfWork
from digiden.shapes.registry import LatLngOut, LocalGovernmentDetailOut, LocalGovernmentOut, PracticeRefOut
from digiden.store.models import Kpi, Observation, OrgUnit, Practice, PracticeOrgUnit

KINDS = {"prefecture": "都道府県", "designated_city": "政令指定都市", "city": "市",
         "town": "町", "village": "村", "special_ward": "特別区"}
MAX_QUERY = 100


@dataclass(frozen=True)
class OrgUnitView:
    code: str
    name: str
    full_name: str
    kana: str
    kind: str
    prefecture_code: str
    prefecture: str
    parent: str | None

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def shape(self) -> LocalGovernmentOut:
        return LocalGovernmentOut.model_validate(self)


@dataclass(frozen=True)
class PracticeRef:
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest value of one KPI (and breakdown) for a local government, with the extent of
    the series it ends: what the local government's page shows instead of every value."""

    kpi_code: str
    kpi_name: str
    unit: str
    breakdown: str
    as_of: AsOf
    value: float
    qualifier: Qualifier
    source_title: str
    source_url: str | None
    first: AsOf          # the series' first as-of date
    count: int           # values in the series (this KPI, breakdown and local government)
    kpi_count: int       # values of this KPI and local government, every breakdown

    @property
    def display(self) -> str:
        return format_quantity(self.value, self.unit, self.qualifier)


@dataclass(frozen=True)
class OrgUnitDetail:
    unit: OrgUnitView
    population: int | None
    households: int | None
    population_65_plus: int | None
    aging_rate_pct: float | None
    population_as_of: date | None
    lat: float | None
    lng: float | None
    website: str | None
    catchphrase: str | None
    practices: tuple[PracticeRef, ...]
    latest: tuple[LatestValue, ...]           # per KPI and breakdown, in KPI order
    municipalities: tuple[OrgUnitView, ...]   # for a prefecture: its municipalities
    # every value, only when asked for (the JSON API's detail); None otherwise
    observations: tuple[ObservationView, ...] | None = None

    @property
    def observation_count(self) -> int:
        return sum(v.count for v in self.latest)

    @property
    def kpi_count(self) -> int:
        return len({v.kpi_code for v in self.latest})

    def shape(self) -> LocalGovernmentDetailOut:
        if self.observations is None:
            raise ValueError("the JSON shape lists every value: get(..., with_observations=True)")
        return LocalGovernmentDetailOut(
            **dict(self.unit.shape()), population=self.population, households=self.households,
            population_65_plus=self.population_65_plus, aging_rate_pct=self.aging_rate_pct,
            population_as_of=self.population_as_of.isoformat() if self.population_as_of else None,
            city_hall=LatLngOut(lat=self.lat, lng=self.lng) if self.lat is not None else None,
            website=self.website, catchphrase=self.catchphrase,
            case_studies=[PracticeRefOut.model_validate(p) for p in self.practices],
            observations=[o.shape() for o in self.observations],
            municipalities=[m.code for m in self.municipalities])


def _prefecture_names(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(session.execute(select(OrgUnit.prefecture_code, OrgUnit.name)
                                .where(OrgUnit.kind == "prefecture")).all())


def _view(o: OrgUnit, prefs: dict[str, str], codes: dict[int, str]) -> OrgUnitView:
    return OrgUnitView(o.code, o.name, o.full_name, o.kana, o.kind, o.prefecture_code,
                       prefs.get(o.prefecture_code, ""), codes.get(o.parent_id) if o.parent_id
                       else None)


def _parent_codes(session) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(session.execute(select(OrgUnit.id, OrgUnit.code)
                                .where(OrgUnit.kind == "prefecture")).all())


def search(uow: UnitOfWork, q: str = "", *, prefecture: str | None = None,
           kind: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[OrgUnitView], int]:
    """Search by name or kana (hiragana, katakana, half width alike) or by 5/6-digit code.

    Returns the page of results and the total count. A code with a bad check digit is an error.
    """
    text = unicodedata.normalize("NFKC", q or "").strip()
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"query is longer than {MAX_QUERY} characters",
                           message_ja=f"検索語は{MAX_QUERY}文字以内で入力してください", field="q")
    if kind and kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r} (one of {', '.join(KINDS)})",
                           message_ja=f"不明な団体区分です: {kind}", field="kind")
    with uow:
        s = uow.session
        stmt = select(OrgUnit).where(OrgUnit.kind != "nation")
        if re.fullmatch(r"\d{5,6}", text):
            stmt = stmt.where(OrgUnit.code == normalize_code(text))
        elif re.fullmatch(r"\d+", text):
            raise InvalidInput("a code has 5 or 6 digits", message_ja="団体コードは5桁または6桁です",
                               field="q")
        elif text:
            key = search_key(text)
            stmt = stmt.where(OrgUnit.search_text.contains(key, autoescape=True))
        if prefecture:
            stmt = stmt.where(OrgUnit.prefecture_code == _pref_code(s, prefecture))
        if kind:
            stmt = stmt.where(OrgUnit.kind == kind)
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(OrgUnit.code).limit(limit).offset(offset)).all()
        prefs, parents = _prefecture_names(s), _parent_codes(s)
        return [_view(o, prefs, parents) for o in rows], total


def _pref_code(session, prefecture: str) -> str:  # type: ignore[no-untyped-def]
    p = unicodedata.normalize("NFKC", prefecture).strip()
    if re.fullmatch(r"\d{1,2}", p) and 1 <= int(p) <= 47:
        return f"{int(p):02d}"
    if re.fullmatch(r"\d{5,6}", p):
        return normalize_code(p)[:2]
    for code, name in _prefecture_names(session).items():
        if p in (name, name.rstrip("都道府県")):
            return code
    raise InvalidInput(f"unknown prefecture {prefecture!r}",
                       message_ja=f"都道府県「{prefecture}」は見つかりません", field="prefecture")


def list_all(uow: UnitOfWork) -> list[OrgUnitView]:
    """All 1,788 local governments in code order."""
    with uow:
        s = uow.session
        prefs, parents = _prefecture_names(s), _parent_codes(s)
        return [_view(o, prefs, parents) for o in s.scalars(
            select(OrgUnit).where(OrgUnit.kind != "nation").order_by(OrgUnit.code))]


def resolve_org(session: Session, code: str) -> OrgUnit:
    """The local government with this code as typed (5 or 6 digits), or the nation for 'JP' or
    nothing."""
    text = (code or "").strip()
    key = "JP" if not text or text.upper() == "JP" else normalize_code(text)
    o = session.scalars(select(OrgUnit).where(OrgUnit.code == key)).one_or_none()
    if o is None:
        raise NotFound(f"unknown local government code {key}",
                       message_ja=f"団体コード {key} の地方公共団体は見つかりません", field="org_unit")
    return o


def get(uow: UnitOfWork, code: str, *, with_observations: bool = False) -> OrgUnitDetail:
    """One local government by its 5- or 6-digit code, with the newest value of each KPI it has
    values for (``latest``); every value as well only ``with_observations`` (a local government
    of the 5.4M-row bench database has 3,000, and its page shows the 50 newest)."""
    key = normalize_code(code)
    with uow:
        s = uow.session
        o = s.scalars(select(OrgUnit).where(OrgUnit.code == key)).one_or_none()
        if o is None:
            raise NotFound(f"no local government has code {key}",
                           message_ja=f"団体コード {key} の地方公共団体はありません", field="code")
        prefs, parents = _prefecture_names(s), _parent_codes(s)
        practices = tuple(PracticeRef(c, t) for c, t in s.execute(
            select(Practice.code, Practice.title).join(PracticeOrgUnit, PracticeOrgUnit.practice_id == Practice.id)
            .where(PracticeOrgUnit.org_unit_id == o.id).order_by(Practice.position)))
        latest = _latest_values(s, o.id)
        obs = _all_observations(s, o) if with_observations else None
        munis: tuple[OrgUnitView, ...] = ()
        if o.kind == "prefecture":
            # the prefecture's municipalities as tuples (up to 179 of them), not ORM entities
            munis = tuple(OrgUnitView(c, n, f, k, kind, pc, prefs.get(pc, ""), o.code)
                          for c, n, f, k, kind, pc in s.execute(
                              select(OrgUnit.code, OrgUnit.name, OrgUnit.full_name, OrgUnit.kana, OrgUnit.kind,
                                     OrgUnit.prefecture_code)
                              .where(OrgUnit.parent_id == o.id).order_by(OrgUnit.code)))
        return OrgUnitDetail(_view(o, prefs, parents), o.population, o.households,
                             o.population_65_plus, o.aging_rate_pct, o.population_as_of, o.lat,
                             o.lng, o.website, o.catchphrase, practices, latest, munis, obs)


@cache
def _latest_statement() -> Select[Any]:
    """Built once: composing the aliases and the subquery cost ~10 ms a call, more than the query."""
    org: Any = bindparam("org")
    o, f = aliased(Observation), aliased(Observation)
    ext = (select(Observation.kpi_id, Observation.breakdown, func.max(Observation.as_of).label("last"),
                  func.min(Observation.as_of).label("first"), func.count().label("n"))
           .where(Observation.kpi_id.in_(select(Kpi.id)), Observation.org_unit_id == org)
           .group_by(Observation.kpi_id, Observation.breakdown).subquery())

    def point(row: Any, as_of: Any) -> Any:
        return and_(row.kpi_id == ext.c.kpi_id, row.org_unit_id == org, row.as_of == as_of,
                    row.breakdown == ext.c.breakdown)

    return (select(Kpi.code, Kpi.name, Kpi.unit, ext.c.breakdown, o.as_of, o.as_of_precision, o.value,
                   o.qualifier, o.source_title, o.source_url, f.as_of, f.as_of_precision, ext.c.n)
            .select_from(ext).join(o, point(o, ext.c.last)).join(f, point(f, ext.c.first))
            .join(Kpi, Kpi.id == ext.c.kpi_id)
            .order_by(Kpi.position, Kpi.id, ext.c.breakdown))


def _latest_values(s: Session, org_unit_id: int) -> tuple[LatestValue, ...]:
    """The newest value per KPI and breakdown, with the first as-of date and the count of its
    series, in one query of tuples. The series' extents come from the unique (kpi, org_unit,
    as_of, breakdown) index alone (the KPI ids as an IN-list let it serve the lookup; no table
    row is read), then only the newest and the first row of each series are fetched by that
    key: a local government of the bench database has 3,000 values, and reading each row was
    ~100 ms where the index alone takes ~2 ms."""
    rows = s.connection().execute(_latest_statement(), {"org": org_unit_id}).all()
    per_kpi: dict[str, int] = {}
    for r in rows:
        per_kpi[r[0]] = per_kpi.get(r[0], 0) + r[12]
    return tuple(LatestValue(r[0], r[1], r[2], r[3], AsOf(r[4], PRECISIONS[r[5]]), r[6], QUALIFIERS[r[7]],
                             r[8], r[9], AsOf(r[10], PRECISIONS[r[11]]), r[12], per_kpi[r[0]])
                 for r in rows)


def _all_observations(s: Session, o: OrgUnit) -> tuple[ObservationView, ...]:
    """Every value of the local government, as tuples (no ORM entity per row)."""
    rows = s.connection().execute(
        select(Observation.id, Kpi.code, Observation.as_of, Observation.as_of_precision,
               Observation.breakdown, Observation.value, Kpi.unit, Observation.qualifier,
               Observation.source_title, Observation.source_url, Observation.status,
               Observation.created_by, Observation.created_at, Observation.batch_id, Observation.note)
        .join(Kpi, Kpi.id == Observation.kpi_id)
        .where(Observation.kpi_id.in_(select(Kpi.id)), Observation.org_unit_id == o.id)
        .order_by(Kpi.position, Observation.as_of, Observation.breakdown, Observation.id)).all()
    return tuple(ObservationView(r[0], r[1], o.code, o.full_name, AsOf(r[2], PRECISIONS[r[3]]), r[4], r[5],
                                 r[6], QUALIFIERS[r[7]], r[8], r[9], r[10], r[11], r[12], r[13], r[14])
                 for r in rows)


@dataclass(frozen=True)
class PrefectureCount:
    prefecture_code: str
    prefecture: str
    count: int
    items: tuple[str, ...]


def case_studies_by_prefecture(uow: UnitOfWork) -> list[PrefectureCount]:
    """How many of the strategy's case studies are in each prefecture (all 47, zeros included)."""
    with uow:
        s = uow.session
        prefs = _prefecture_names(s)
        rows = s.execute(select(OrgUnit.prefecture_code, Practice.title)
                         .join(PracticeOrgUnit, PracticeOrgUnit.org_unit_id == OrgUnit.id)
                         .join(Practice, Practice.id == PracticeOrgUnit.practice_id)).all()
        items: dict[str, list[str]] = {c: [] for c in prefs}
        for code, title in rows:
            items.setdefault(code, []).append(title)
        return [PrefectureCount(c, prefs[c], len(items[c]), tuple(items[c]))
                for c in sorted(prefs)]
