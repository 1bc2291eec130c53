"""Turning cell text into ids: KPIs (with what the importing principal may write and the
row-level limits of their rules), local governments by code or name, as-of dates."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from digiden.domain.access import Principal, can_write_observation
from digiden.domain.calendar import AsOf
from digiden.domain.codes import NATION_CODE, normalize_code
from digiden.domain.errors import DigidenError, InvalidInput, NotFound
from digiden.domain.periods import parse_period
from digiden.domain.quantities import COUNT_UNITS
from digiden.domain.rules import Rule, parse_rules, value_limits
from digiden.domain.text import match_key
from digiden.store.models import Kpi, OrgUnit


@dataclass
class KpiInfo:
    id: int
    code: str
    unit: str
    breakdowns: frozenset[str]
    rules: tuple[Rule, ...]
    upper_national: float | None
    upper_local: float | None
    lower: float | None
    is_count: bool = False
    is_pct: bool = False
    writable: bool = True     # the importing principal may write this KPI's values


class Resolver:
    """Caches for turning cell text into ids; every lookup is a dict hit after the first."""

    def __init__(self, session: Any, actor: Principal):
        self.kpis: dict[str, KpiInfo] = {}
        for k in session.scalars(select(Kpi)):
            rules = parse_rules(k.rules, f"kpi {k.code}")
            lower, up_local = value_limits(rules, national=False)
            up_nat = value_limits(rules, national=True)[1]
            info = KpiInfo(k.id, k.code, k.unit, frozenset(k.breakdowns or ()), rules, up_nat,
                            up_local, lower,
                            k.unit in COUNT_UNITS, k.unit == "%", can_write_observation(actor, k.ministry))
            self.kpis[k.code] = info
            self.kpis[match_key(k.name)] = info
        self.org_codes: dict[str, int] = {}
        self.by_full_name: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.code_of: dict[int, str] = {}
        self.nation_id = 0
        for uid, code, name, full in session.execute(
                select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.full_name)):
            self.org_codes[code] = uid
            self.code_of[uid] = code
            if code == NATION_CODE:
                self.nation_id = uid
                for alias in ("全国", "国", "jp"):
                    self.org_codes[alias] = uid
                continue
            self.by_full_name[match_key(full)] = uid
            self.by_name.setdefault(match_key(name), []).append(uid)
        self._code_cache: dict[str, int | DigidenError] = {}

    def kpi(self, text: str) -> KpiInfo | None:
        return self.kpis.get(text.strip()) or self.kpis.get(match_key(text))

    def org_by_code(self, text: str) -> int:
        hit: int | DigidenError | None = self._code_cache.get(text)
        if hit is None:
            try:
                s = unicodedata.normalize("NFKC", text).strip()
                if s.upper() == NATION_CODE or s in ("全国", "国"):
                    hit = self.nation_id
                else:
                    code = normalize_code(s.zfill(5) if s.isdigit() and len(s) == 4 else s)
                    uid = self.org_codes.get(code)
                    hit = uid if uid is not None else NotFound(
                        f"no local government has code {code}",
                        message_ja=f"団体コード {code} の地方公共団体はありません", field="org_unit")
            except InvalidInput as e:
                hit = e
            self._code_cache[text] = hit
        if isinstance(hit, DigidenError):
            raise hit
        return hit

    def org_by_name(self, name: str, prefecture: str) -> int:
        key = match_key(prefecture + name) if prefecture else match_key(name)
        uid = self.by_full_name.get(key)
        if uid is not None:
            return uid
        if prefecture and match_key(prefecture) == match_key(name):
            uid = self.by_full_name.get(match_key(name))
            if uid is not None:
                return uid
        uids = self.by_name.get(match_key(name), [])
        if len(uids) == 1 and not prefecture:
            return uids[0]
        if len(uids) > 1 and not prefecture:
            raise InvalidInput(f"{name} is ambiguous; add the prefecture",
                               message_ja=f"「{name}」は複数あります。都道府県名も指定してください",
                               field="org_unit")
        raise NotFound(f"unknown local government {prefecture}{name}",
                       message_ja=f"地方公共団体「{prefecture}{name}」が見つかりません", field="org_unit")

    def as_of(self, text: str) -> AsOf:
        """The as-of date of a cell (the row parser caches the result per distinct text)."""
        return parse_period(text)
