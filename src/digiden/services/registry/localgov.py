"""The 1,788 local governments: search, detail, and prefecture roll-ups."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiden.domain.codes import normalize_code
from digiden.domain.errors import InvalidInput, NotFound
from digiden.domain.text import search_key
from digiden.services.common import ObservationView, observation_view
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
    observations: tuple[ObservationView, ...]
    municipalities: tuple[OrgUnitView, ...]   # for a prefecture: its municipalities

    def shape(self) -> LocalGovernmentDetailOut:
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


def get(uow: UnitOfWork, code: str) -> OrgUnitDetail:
    """One local government by its 5- or 6-digit code."""
    key = normalize_code(code)
    with uow:
        s = uow.session
        o = s.scalars(select(OrgUnit).where(OrgUnit.code == key)).one_or_none()
        if o is None:
            raise NotFound(f"no local government has code {key}",
                           message_ja=f"団体コード {key} の地方公共団体はありません", field="code")
        prefs, parents = _prefecture_names(s), _parent_codes(s)
        practices = tuple(PracticeRef(p.code, p.title) for p in s.scalars(
            select(Practice).join(PracticeOrgUnit, PracticeOrgUnit.practice_id == Practice.id)
            .where(PracticeOrgUnit.org_unit_id == o.id).order_by(Practice.position)))
        obs = tuple(observation_view(ob, k, o) for ob, k in s.execute(
            select(Observation, Kpi).join(Kpi, Kpi.id == Observation.kpi_id)
            .where(Observation.kpi_id.in_(select(Kpi.id)), Observation.org_unit_id == o.id)
            .order_by(Kpi.position, Observation.as_of)))
        munis: tuple[OrgUnitView, ...] = ()
        if o.kind == "prefecture":
            munis = tuple(_view(m, prefs, parents) for m in s.scalars(
                select(OrgUnit).where(OrgUnit.parent_id == o.id).order_by(OrgUnit.code)))
        return OrgUnitDetail(_view(o, prefs, parents), o.population, o.households,
                             o.population_65_plus, o.aging_rate_pct, o.population_as_of, o.lat,
                             o.lng, o.website, o.catchphrase, practices, obs, munis)


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
