"""The packaged strategy file: exactly the seed, and validated."""

from __future__ import annotations

import copy
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import Qualifier
from digiden.domain.strategy_doc import parse_strategy
from digiden.domain.targets import parse_target_wording
from digiden.services.common import data_path

RAW = yaml.safe_load(data_path("strategy_fy2023.yaml").read_text(encoding="utf-8"))
DOC = parse_strategy(RAW)
KPIS = {k.code: k for k in DOC.kpis}
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_f12cb41b4a4f6fbb.txt"


def nfkc(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


# (code, [(breakdown, deadline, value, qualifier, low, high)]) — what the seed says, by hand.
EXPECTED = [
    ("satellite-offices", [("", date(2025, 3, 31), 1000, "exact", None, None),
                           ("", date(2028, 3, 31), 1200, "exact", None, None)]),
    ("corporate-furusato-nozei", [("", date(2028, 3, 31), 1500, "exact", None, None)]),
    ("kodomo-katei-center", [("", None, 1741, "exact", None, None)]),
    ("gigaschool-daily-use", [("小学校", date(2026, 3, 31), 100, "exact", None, None),
                              ("中学校", date(2026, 3, 31), 100, "exact", None, None)]),
    ("new-mobility-services", [("", date(2025, 12, 31), 700, "exact", None, None)]),
    ("logistics-dx", [("", date(2026, 3, 31), 70, "exact", None, None)]),
    ("plateau-3d-city-models", [("", date(2028, 3, 31), 500, "exact", None, None)]),
    ("digital-implementation", [("", date(2025, 3, 31), 1000, "exact", None, None),
                                ("", date(2028, 3, 31), 1500, "exact", None, None)]),
    ("fiber-household-coverage", [("", date(2028, 3, 31), 99.9, "exact", None, None)]),
    ("5g-population-coverage", [("", date(2024, 3, 31), 95, "exact", None, None),
                                ("", date(2026, 3, 31), 97, "exact", None, None),
                                ("", date(2031, 3, 31), 99, "exact", None, None)]),
    ("regional-data-centers", [("", date(2028, 3, 31), None, "range", 11, 19)]),
    ("submarine-cable-digital-superhighway", [("", date(2026, 3, 31), None, "complete", None,
                                               None)]),
    ("digital-promotion-talent", [("", date(2027, 3, 31), 2_300_000, "exact", None, None)]),
    ("digital-promotion-commissioners", [("", date(2028, 3, 31), 50000, "exact", None, None)]),
    ("smart-city-selections", [("", date(2025, 12, 31), 100, "exact", None, None)]),
    ("dejikatsu-chusankan-registrations", [("", date(2028, 3, 31), 150, "exact", None, None)]),
    ("decarbonization-leading-areas", [("選定", date(2026, 3, 31), 100, "at_least", None, None),
                                       ("実現", date(2031, 3, 31), None, "complete", None, None)]),
    ("level4-autonomous-mobility", [("", date(2026, 3, 31), 50, "about", None, None),
                                    ("", date(2028, 3, 31), 100, "at_least", None, None)]),
]


def test_every_kpi_of_the_seed_is_there_in_its_block() -> None:
    assert [c for c, _ in EXPECTED] == [k.code for k in DOC.kpis]
    assert [b.name for b in DOC.blocks] == ["地方のデジタル実装に向けたKPI",
                                            "デジタル実装の基礎条件整備に関するKPI",
                                            "地域ビジョンの実現に向けたKPI"]
    assert [len([k for k in DOC.kpis if k.block == b.code]) for b in DOC.blocks] == [8, 6, 4]


@pytest.mark.parametrize(("code", "targets"), EXPECTED, ids=[c for c, _ in EXPECTED])
def test_targets_are_exactly_the_seed(code: str, targets: list[tuple[Any, ...]]) -> None:
    got = [(t.breakdown, t.deadline, t.value, t.qualifier.value, t.low, t.high)
           for t in KPIS[code].targets]
    assert got == targets


@pytest.mark.parametrize("kpi", DOC.kpis, ids=[k.code for k in DOC.kpis])
def test_wording_parses_to_the_structured_targets(kpi: Any) -> None:
    """The seed's wording and the structured targets must agree (value, qualifier, date)."""
    specs = parse_target_wording(kpi.wording)
    # One spec may stand for several breakdowns (100％ for 小学校 and 中学校).
    expanded = []
    for s in specs:
        per = [c.label for c in s.counts if c.label] or [s.action or ""]
        for label in per:
            expanded.append((label if kpi.breakdowns else "", s.deadline.resolve(DOC.fy_from),
                             s.value, s.qualifier, s.low, s.high))
    got = [(t.breakdown, t.deadline, t.value, t.qualifier, t.low, t.high) for t in kpi.targets]
    assert got == expanded


def test_special_forms_are_kept() -> None:
    assert KPIS["digital-promotion-talent"].cumulative == (2022, 2026)
    assert KPIS["digital-promotion-commissioners"].baseline[:2] == (20000, Qualifier.SLIGHTLY_OVER)
    school = {t.breakdown: t.denominator for t in KPIS["gigaschool-daily-use"].targets}
    assert school == {"小学校": (18805, "校"), "中学校": (9437, "校")}
    assert KPIS["kodomo-katei-center"].targets[0].denominator == (1741, "市区町村")
    assert KPIS["logistics-dx"].targets[0].equivalent == (35000, "事業者", Qualifier.ABOUT)
    assert KPIS["regional-data-centers"].targets[0].deadline_kind == "within"
    assert KPIS["level4-autonomous-mobility"].targets[0].approximate is True
    assert KPIS["digital-implementation"].outlook[0] == date(2031, 3, 31)
    assert KPIS["5g-population-coverage"].name == "５Gの人口カバー率"


def test_pillars_foundations_and_fields() -> None:
    names = {a.code: a.name for a in DOC.areas}
    assert [names[c] for c in ("P1", "P2", "P3", "P4")] == [
        "地方に仕事をつくる", "人の流れをつくる", "結婚・出産・子育ての希望をかなえる", "魅力的な地域をつくる"]
    assert [names[c] for c in ("F1", "F2", "F3")] == [
        "デジタル基盤の整備", "デジタル人材の育成・確保", "誰一人取り残されないための取組"]
    fields = {p: [a.name for a in DOC.areas if a.parent == p] for p in ("P4", "F3")}
    assert "教育DX" in fields["P4"] and "デジタル推進委員の展開" in fields["F3"]
    assert sum(1 for a in DOC.areas if a.kind == "field") == 34


def test_model_types_and_case_studies() -> None:
    visions = [m.name for m in DOC.model_types if m.category == "model_vision"]
    assert visions == ["スマートシティ", "スーパーシティ", "「デジ活」中山間地域", "脱炭素先行地域",
                       "産学官協創都市", "SDGs未来都市"]
    cases = {c.code: c for c in DOC.case_studies}
    assert len(cases) == 12
    assert cases["aict-aizuwakamatsu"].org_units == ("072028",)
    assert cases["iide-gps-snow-removal"].org_units == ("064033",)
    assert cases["kochi-smart-agriculture"].partners == ("高知大学",)


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed is not beside this checkout")
def test_every_name_and_wording_stands_in_the_seed() -> None:
    seed = nfkc(SEED.read_text(encoding="utf-8"))
    for k in DOC.kpis:
        assert nfkc(k.name) in seed, k.name
        assert nfkc(k.wording) in seed, k.wording
    for c in DOC.case_studies:
        assert nfkc(c.title) in seed, c.title
    for a in DOC.areas:
        assert nfkc(a.name.rstrip("等")) in seed, a.name


def broken(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(RAW)
    node: Any = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(("path", "value", "says"), [
    ("kpi_blocks.0.kpis.0.unit", "個", "unknown unit"),
    ("kpi_blocks.0.kpis.0.targets.0.by", "20245年度", "not a year"),
    ("kpi_blocks.0.kpis.0.targets.0.by", "1800年度", "impossible year"),
    ("kpi_blocks.0.kpis.1.code", "satellite-offices", "duplicate code"),
    ("kpi_blocks.0.kpis.0.direction", "up", "unknown direction"),
    ("kpi_blocks.0.kpis.0.area", "P9", "unknown area"),
    ("kpi_blocks.0.kpis.3.targets.0.value", 120, "cannot exceed 100"),
    ("kpi_blocks.0.kpis.0.targets.0.value", -1, "negative"),
    ("kpi_blocks.0.kpis.0.targets.0.qualifier", "maybe", "unknown qualifier"),
    ("case_studies.0.org_units", ["072027"], "check digit"),
    ("model_types.1.code", "smart-city", "duplicate code"),
])
def test_malformed_strategy_files_are_refused_naming_the_place(path: str, value: Any,
                                                               says: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_strategy(broken(path, value))
    assert says in e.value.message
