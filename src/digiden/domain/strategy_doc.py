"""The national strategy file, validated. Pure: takes the parsed YAML mapping, returns frozen
dataclasses or raises InvalidInput naming the place in the file that is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from digiden.domain.calendar import (
    YearKind,
    fiscal_year_end,
    parse_as_of,
    parse_year,
    year_end,
)
from digiden.domain.codes import normalize_code
from digiden.domain.errors import InvalidInput
from digiden.domain.local import Fact
from digiden.domain.progress import Direction
from digiden.domain.quantities import Qualifier
from digiden.domain.rules import Rule, parse_rules
from digiden.domain.text import clean_text

UNITS = frozenset({"団体", "市区町村", "%", "都市", "地域", "か所", "人", "校", "事業者", "件"})
AGGREGATIONS = frozenset({"count_org_units", "sum", "ratio", "latest"})
AREA_KINDS = frozenset({"half", "pillar", "foundation", "field", "cross_cutting"})
MODEL_CATEGORIES = frozenset({"model_vision", "policy_field"})
TARGET_QUALIFIERS = frozenset({Qualifier.EXACT, Qualifier.AT_LEAST, Qualifier.ABOUT,
                               Qualifier.RANGE, Qualifier.COMPLETE})
MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass(frozen=True)
class AreaDoc:
    code: str
    kind: str
    name: str
    description: str
    number: int | None
    and_more: bool
    parent: str | None
    position: int


@dataclass(frozen=True)
class TargetDoc:
    breakdown: str
    deadline: date | None
    deadline_kind: str       # fiscal | calendar | within | none
    deadline_label: str      # 2024年度 / 2025年 / ５年程度 / ''
    approximate: bool
    value: float | None
    low: float | None
    high: float | None
    qualifier: Qualifier
    nationwide: bool
    denominator: tuple[float, str] | None
    equivalent: tuple[float, str, Qualifier] | None


@dataclass(frozen=True)
class KpiDoc:
    code: str
    block: str
    name: str
    wording: str
    lead: str
    unit: str
    unit_note: str
    direction: Direction
    aggregation: str
    area: str | None
    area_basis: str
    model_type: str | None
    breakdowns: tuple[str, ...]
    cumulative: tuple[int, int] | None
    baseline: tuple[float, Qualifier, date, str, str] | None   # value, qualifier, as_of, precision, text
    outlook: tuple[date, str] | None
    headline: bool
    targets: tuple[TargetDoc, ...]
    position: int
    rules: tuple[Rule, ...] = ()
    local_fact: str | None = None   # counted live from local strategies (domain.local.Fact)


@dataclass(frozen=True)
class BlockDoc:
    code: str
    name: str
    intro: str
    and_more: bool
    position: int


@dataclass(frozen=True)
class ModelTypeDoc:
    code: str
    category: str
    name: str
    position: int


@dataclass(frozen=True)
class CaseStudyDoc:
    code: str
    title: str
    types: tuple[str, ...]
    place: str | None
    org_units: tuple[str, ...]
    partners: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class StrategyDoc:
    code: str
    title: str
    short_title: str
    fy_from: int
    fy_to: int
    version: int
    status: str
    aim: str
    details: dict[str, Any]
    areas: tuple[AreaDoc, ...]
    blocks: tuple[BlockDoc, ...]
    kpis: tuple[KpiDoc, ...]
    model_types: tuple[ModelTypeDoc, ...]
    case_studies: tuple[CaseStudyDoc, ...]
    synthetic: bool = False


def _nfkc(s: str) -> str:
    """Clean text as a reader expects it (see digiden.domain.text.clean_text)."""
    return clean_text(s)


def _err(where: str, message: str, message_ja: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", message_ja=f"{where}: {message_ja}", field=where)


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, dict) or key not in d or d[key] in (None, ""):
        raise _err(f"{where}.{key}", "is required", "必須項目がありません")
    return d[key]


def _year(text: Any, where: str) -> tuple[int, YearKind]:
    label = parse_year(str(text))
    if not MIN_YEAR <= label.year <= MAX_YEAR:
        raise _err(where, f"impossible year {text!r}", f"ありえない年です: {text}")
    return label.year, label.kind


def _unique(codes: list[str], what: str) -> None:
    seen: set[str] = set()
    for c in codes:
        if c in seen:
            raise _err(what, f"duplicate code {c!r}", f"コードが重複しています: {c}")
        seen.add(c)


def parse_strategy(doc: Any) -> StrategyDoc:
    """Validate the strategy mapping. Unknown units, impossible dates, unknown references and
    duplicate codes are errors."""
    if not isinstance(doc, dict):
        raise _err("strategy file", "must be a mapping", "YAMLの形式が正しくありません")
    s = _req(doc, "strategy", "")
    period = _req(s, "period", "strategy")
    fy_from, _ = _year(_req(period, "from", "strategy.period"), "strategy.period.from")
    fy_to, _ = _year(_req(period, "to", "strategy.period.to"), "strategy.period.to")
    if fy_to < fy_from:
        raise _err("strategy.period", "ends before it starts", "期間の終わりが始まりより前です")

    areas: list[AreaDoc] = []

    def walk(nodes: Any, parent: str | None, where: str) -> None:
        for i, n in enumerate(nodes or []):
            w = f"{where}[{i}]"
            kind = _req(n, "kind", w) if "kind" in n else "field"
            if kind not in AREA_KINDS:
                raise _err(f"{w}.kind", f"unknown area kind {kind!r}", f"不明な区分です: {kind}")
            areas.append(AreaDoc(str(_req(n, "code", w)), kind, _nfkc(str(_req(n, "name", w))),
                                 _nfkc(str(n.get("description", ""))), n.get("number"),
                                 bool(n.get("and_more", False)), parent, len(areas)))
            walk(n.get("children"), str(n["code"]), f"{w}.children")
            walk(n.get("fields"), str(n["code"]), f"{w}.fields")

    walk(_req(doc, "areas", ""), None, "areas")
    _unique([a.code for a in areas], "areas")
    area_codes = {a.code for a in areas}

    model_types = []
    for i, m in enumerate(doc.get("model_types") or []):
        w = f"model_types[{i}]"
        cat = _req(m, "category", w)
        if cat not in MODEL_CATEGORIES:
            raise _err(f"{w}.category", f"unknown category {cat!r}", f"不明な分類です: {cat}")
        model_types.append(ModelTypeDoc(str(_req(m, "code", w)), cat,
                                        _nfkc(str(_req(m, "name", w))), i))
    _unique([m.code for m in model_types], "model_types")
    type_codes = {m.code for m in model_types}

    cases = []
    for i, c in enumerate(doc.get("case_studies") or []):
        w = f"case_studies[{i}]"
        types = tuple(c.get("types") or [])
        for t in types:
            if t not in type_codes:
                raise _err(f"{w}.types", f"unknown model type {t!r}", f"不明な類型です: {t}")
        codes = []
        for code in c.get("org_units") or []:
            try:
                codes.append(normalize_code(str(code)))
            except InvalidInput as e:
                raise _err(f"{w}.org_units", e.message, e.message_ja) from None
        cases.append(CaseStudyDoc(str(_req(c, "code", w)), _nfkc(str(_req(c, "title", w))), types,
                                  _nfkc(c["place"]) if c.get("place") else None, tuple(codes),
                                  tuple(_nfkc(p) for p in c.get("partners") or []), i))
    _unique([c.code for c in cases], "case_studies")

    blocks: list[BlockDoc] = []
    kpis: list[KpiDoc] = []
    for bi, b in enumerate(_req(doc, "kpi_blocks", "")):
        bw = f"kpi_blocks[{bi}]"
        blocks.append(BlockDoc(str(_req(b, "code", bw)), _nfkc(str(_req(b, "name", bw))),
                               _nfkc(str(b.get("intro", ""))), bool(b.get("and_more")), bi))
        for ki, k in enumerate(_req(b, "kpis", bw)):
            kpis.append(_parse_kpi(k, f"{bw}.kpis[{ki}]", blocks[-1].code, fy_from, area_codes,
                                   type_codes, len(kpis)))
    _unique([b.code for b in blocks], "kpi_blocks")
    _unique([k.code for k in kpis], "kpis")
    _unique([k.name for k in kpis], "kpi names")

    details = {
        "overview": [_nfkc(x) for x in s.get("overview") or []],
        "basic_approach": [_nfkc(x) for x in s.get("basic_approach") or []],
        "cooperation": [
            {"kind": c.get("kind"), "name": _nfkc(c.get("name", "")),
             "items": [{"heading": _nfkc(it["heading"]), "text": _nfkc(it["text"])}
                       for it in c.get("items") or []]}
            for c in doc.get("cooperation") or []
        ],
    }
    return StrategyDoc(str(_req(s, "code", "strategy")), _nfkc(str(_req(s, "title", "strategy"))),
                       _nfkc(str(s.get("short_title", ""))), fy_from, fy_to,
                       int(s.get("version", 1)), str(s.get("status", "adopted")),
                       _nfkc(str(s.get("aim", ""))), details, tuple(areas), tuple(blocks),
                       tuple(kpis), tuple(model_types), tuple(cases), bool(s.get("synthetic", False)))


def _parse_kpi(k: Any, w: str, block: str, fy_from: int, area_codes: set[str],
               type_codes: set[str], position: int) -> KpiDoc:
    code = str(_req(k, "code", w))
    unit = str(_req(k, "unit", w))
    if unit not in UNITS:
        raise _err(f"{w}.unit", f"unknown unit {unit!r} (known: {', '.join(sorted(UNITS))})",
                   f"不明な単位です: {unit}")
    try:
        direction = Direction(_req(k, "direction", w))
    except ValueError:
        raise _err(f"{w}.direction", f"unknown direction {k['direction']!r}",
                   f"不明な方向です: {k['direction']}") from None
    aggregation = str(_req(k, "aggregation", w))
    if aggregation not in AGGREGATIONS:
        raise _err(f"{w}.aggregation", f"unknown aggregation {aggregation!r}",
                   f"不明な集計方法です: {aggregation}")
    area = k.get("area")
    if area is not None and str(area) not in area_codes:
        raise _err(f"{w}.area", f"unknown area {area!r}", f"不明な分野です: {area}")
    mt = k.get("model_type")
    if mt is not None and mt not in type_codes:
        raise _err(f"{w}.model_type", f"unknown model type {mt!r}", f"不明な類型です: {mt}")
    breakdowns = tuple(_nfkc(str(b)) for b in k.get("breakdowns") or [])
    local_fact = k.get("local_fact")
    if local_fact is not None:
        if local_fact not in {f.value for f in Fact}:
            raise _err(f"{w}.local_fact", f"unknown local fact {local_fact!r}",
                       f"不明な集計対象です: {local_fact}")
    cumulative = None
    if k.get("cumulative"):
        c = k["cumulative"]
        a, _ = _year(_req(c, "from", f"{w}.cumulative"), f"{w}.cumulative.from")
        b, _ = _year(_req(c, "to", f"{w}.cumulative"), f"{w}.cumulative.to")
        if b < a:
            raise _err(f"{w}.cumulative", "window ends before it starts",
                       "累計期間の終わりが始まりより前です")
        cumulative = (a, b)
    baseline = None
    if k.get("baseline"):
        bl = k["baseline"]
        as_of = parse_as_of(str(_req(bl, "as_of", f"{w}.baseline")))
        baseline = (float(_req(bl, "value", f"{w}.baseline")),
                    Qualifier.parse(bl.get("qualifier")), as_of.date, as_of.precision.value,
                    _nfkc(str(bl.get("text", ""))))
    outlook = None
    if k.get("outlook"):
        y, kind = _year(_req(k["outlook"], "by", f"{w}.outlook"), f"{w}.outlook.by")
        outlook = (year_end(y, kind), _nfkc(str(k["outlook"].get("text", ""))))
    targets = tuple(_parse_target(t, f"{w}.targets[{i}]", fy_from, breakdowns, unit)
                    for i, t in enumerate(k.get("targets") or []))
    return KpiDoc(code, block, _nfkc(str(_req(k, "name", w))),
                  _nfkc(str(k.get("wording", ""))), _nfkc(str(k.get("lead", ""))), unit,
                  str(k.get("unit_note", "")), direction, aggregation,
                  str(area) if area is not None else None, str(k.get("area_basis", "seed")),
                  mt, breakdowns, cumulative, baseline, outlook, bool(k.get("headline")),
                  targets, position, parse_rules(k.get("rules"), f"{w}.rules"),
                  str(local_fact) if local_fact is not None else None)


def _parse_target(t: Any, w: str, fy_from: int, breakdowns: tuple[str, ...],
                  unit: str) -> TargetDoc:
    if not isinstance(t, dict):
        raise _err(w, "must be a mapping", "目標の形式が正しくありません")
    try:
        qualifier = Qualifier.parse(t.get("qualifier"))
    except InvalidInput:
        raise _err(f"{w}.qualifier", f"unknown qualifier {t.get('qualifier')!r}",
                   f"不明な限定語です: {t.get('qualifier')}") from None
    if qualifier not in TARGET_QUALIFIERS:
        raise _err(f"{w}.qualifier", f"{qualifier.value} is not a target qualifier",
                   f"目標に使えない限定語です: {qualifier.label}")
    value = t.get("value")
    low, high = t.get("low"), t.get("high")
    if qualifier is Qualifier.RANGE:
        if low is None or high is None or float(low) > float(high):
            raise _err(w, "a range target needs low ≤ high", "範囲の目標には下限≦上限が必要です")
    elif qualifier is not Qualifier.COMPLETE and value is None:
        raise _err(f"{w}.value", "is required", "目標値がありません")
    if value is not None:
        value = float(value)
        if value < 0:
            raise _err(f"{w}.value", "must not be negative", "目標値が負です")
        if unit == "%" and value > 100:
            raise _err(f"{w}.value", "a percentage cannot exceed 100", "割合が100を超えています")
    breakdown = _nfkc(str(t.get("breakdown", "")))
    if breakdown and breakdown not in breakdowns:
        raise _err(f"{w}.breakdown", f"unknown breakdown {breakdown!r}", f"不明な内訳です: {breakdown}")
    deadline, kind, label = None, "none", ""
    if t.get("by") is not None:
        y, yk = _year(t["by"], f"{w}.by")
        deadline, kind = year_end(y, yk), yk.value
        label = f"{y}年度" if yk is YearKind.FISCAL else f"{y}年"
    elif t.get("within_years") is not None:
        n = int(t["within_years"])
        if not 1 <= n <= 50:
            raise _err(f"{w}.within_years", "must be between 1 and 50", "年数は1〜50です")
        deadline, kind, label = fiscal_year_end(fy_from + n - 1), "within", f"{n}年程度"
    denominator = None
    if t.get("denominator"):
        d = t["denominator"]
        denominator = (float(_req(d, "value", f"{w}.denominator")), str(d.get("unit", "")))
    equivalent = None
    if t.get("equivalent"):
        e = t["equivalent"]
        equivalent = (float(_req(e, "value", f"{w}.equivalent")), str(e.get("unit", "")),
                      Qualifier.parse(e.get("qualifier")))
    return TargetDoc(breakdown, deadline, kind, label, bool(t.get("approximate", False)),
                     value, float(low) if low is not None else None,
                     float(high) if high is not None else None, qualifier,
                     bool(t.get("nationwide", False)), denominator, equivalent)
