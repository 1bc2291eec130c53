"""Targets (目標) as the strategy words them, and a parser for that wording.

The strategy YAML states every target in structured form *and* keeps the seed's wording; the
test suite parses the wording with :func:`parse_target_wording` and holds the two together, so a
policy editor who changes one without the other is told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from digiden.domain.calendar import YearKind, fiscal_year_end, year_end
from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import Qualifier, normalize_text, parse_quantity


@dataclass(frozen=True)
class Count:
    """A count stated beside a target: a denominator (小学校18,805校) or an equivalent
    (約3万5千事業者 is what 70% amounts to)."""

    value: float
    unit: str
    label: str = ""            # 小学校 / 中学校 / ''
    qualifier: Qualifier = Qualifier.EXACT


@dataclass(frozen=True)
class Deadline:
    """When a target is due. ``year`` with ``kind`` (年度 or 年), or ``within_years`` of the
    strategy's start (５年程度), or nothing at all (全国展開を目指す has no date)."""

    year: int | None = None
    kind: YearKind | None = None
    within_years: int | None = None
    approximate: bool = False   # 目途 / 程度 on the date itself

    def resolve(self, strategy_start_fy: int) -> date | None:
        if self.year is not None and self.kind is not None:
            return year_end(self.year, self.kind)
        if self.within_years is not None:
            return fiscal_year_end(strategy_start_fy + self.within_years - 1)
        return None


@dataclass(frozen=True)
class TargetSpec:
    """One target as the wording states it."""

    value: float | None
    unit: str
    qualifier: Qualifier
    deadline: Deadline
    low: float | None = None
    high: float | None = None
    action: str | None = None            # 選定 / 実現 — the part of a two-part KPI
    counts: tuple[Count, ...] = ()
    cumulative_from_fy: int | None = None
    cumulative_to_fy: int | None = None
    baseline: tuple[float, str, Qualifier] | None = None   # 現在２万人強 → (20000, 人, 強)
    nationwide: bool = False             # 全国展開


_DEADLINE_BY = re.compile(r"^(\d{4})(年度|年)(まで|目途)?$")
_CUMULATIVE = re.compile(r"^(\d{4})[〜~\-–](\d{4})年度累計$")
_WITHIN = re.compile(r"^(\d+)年程度$")
_LEAD_DEADLINE = re.compile(r"^(\d{4})(年度|年)までに(.+)$")
_ACTIONS = ("選定し", "選定", "実現", "登録", "整備")


def _split_top(text: str, sep: str = "、") -> list[str]:
    """Split on ``sep`` outside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _parse_deadline(text: str) -> Deadline | tuple[int, int] | None:
    m = _DEADLINE_BY.match(text)
    if m:
        kind = YearKind.FISCAL if m[2] == "年度" else YearKind.CALENDAR
        return Deadline(int(m[1]), kind, approximate=m[3] == "目途")
    m = _CUMULATIVE.match(text)
    if m:
        return (int(m[1]), int(m[2]))
    m = _WITHIN.match(text)
    if m:
        return Deadline(within_years=int(m[1]), approximate=True)
    return None


def _parse_counts(text: str) -> tuple[Count, ...]:
    counts = []
    for part in _split_top(text):
        m = re.match(r"^([^\d約]*?)((?:約)?\d.*)$", part)
        if not m:
            raise InvalidInput(f"cannot read the count {part!r}",
                               message_ja=f"件数を読めません: {part}", field="wording")
        q = parse_quantity(m[2])
        if q.value is None:
            raise InvalidInput(f"cannot read the count {part!r}",
                               message_ja=f"件数を読めません: {part}", field="wording")
        counts.append(Count(q.value, q.unit, m[1], q.qualifier))
    return tuple(counts)


def _parse_one(segment: str) -> TargetSpec:
    baseline = None
    if "→" in segment:
        before, segment = segment.split("→", 1)
        b = parse_quantity(before)
        if b.value is None:
            raise InvalidInput(f"cannot read the baseline {before!r}",
                               message_ja=f"基準値を読めません: {before}", field="wording")
        baseline = (b.value, b.unit, b.qualifier)

    deadline = Deadline()
    action = None
    m = _LEAD_DEADLINE.match(segment)
    if m:  # 2025年度までに少なくとも100か所選定し
        deadline = Deadline(int(m[1]), YearKind.FISCAL if m[2] == "年度" else YearKind.CALENDAR)
        segment = m[3]
        for a in _ACTIONS:
            if segment.endswith(a):
                action = a.rstrip("し")
                segment = segment[: -len(a)]
                break
        if not segment:  # 2030年度までに実現
            return TargetSpec(None, "", Qualifier.COMPLETE, deadline, action=action,
                              baseline=baseline)

    # Peel trailing parenthesised groups: （2024年度まで）, （小学校18,805校、…）.
    groups: list[str] = []
    segment = re.sub(r"を目指す$", "", segment)
    while True:
        m = re.match(r"^(.*)\(([^()]*)\)$", segment)
        if not m:
            break
        segment, g = m[1].strip(), m[2].strip()
        groups.insert(0, g)

    counts: tuple[Count, ...] = ()
    cumulative: tuple[int, int] | None = None
    for g in groups:
        d = _parse_deadline(g)
        if isinstance(d, Deadline):
            deadline = d
        elif isinstance(d, tuple):
            cumulative = d
            deadline = Deadline(d[1], YearKind.FISCAL)
        else:
            counts = counts + _parse_counts(g)

    head = segment
    if head == "完成":
        return TargetSpec(None, "", Qualifier.COMPLETE, deadline, baseline=baseline)
    if head == "全国展開":
        if len(counts) != 1:
            raise InvalidInput("全国展開 needs the number of units in brackets",
                               message_ja="全国展開には対象数の記載が必要です", field="wording")
        c = counts[0]
        return TargetSpec(c.value, c.unit, Qualifier.EXACT, deadline, counts=counts,
                          nationwide=True, baseline=baseline)
    q = parse_quantity(head, field="wording")
    return TargetSpec(
        q.value, q.unit, q.qualifier, deadline, low=q.low, high=q.high, action=action,
        counts=counts, baseline=baseline,
        cumulative_from_fy=cumulative[0] if cumulative else None,
        cumulative_to_fy=cumulative[1] if cumulative else None,
    )


def parse_target_wording(wording: str) -> list[TargetSpec]:
    """Parse a KPI's target wording as the seed writes it into target specs.

    Handles「1,000団体（2024年度まで）、1,200団体（2027年度まで）」,「十数か所（５年程度）」,
    「完成（2025年度）」,「230万人（2022〜2026年度累計）」,「現在２万人強→５万人（2027年度まで)」,
    「2025年度までに少なくとも100か所選定し、2030年度までに実現」,「全国展開（1,741市区町村）を目指す」.
    """
    text = normalize_text(wording)
    # A KPI line is "name:targets"; accept the whole line or the part after the colon.
    if ":" in text:
        text = text.split(":", 1)[1]
    text = text.rstrip("。 等").strip()
    specs = []
    for seg in _split_top(text):
        # 2025年度までに…選定し、2030年度までに実現 shares the unit of the first part.
        specs.append(_parse_one(seg))
    if not specs:
        raise InvalidInput("no target in the wording", message_ja="目標の記載がありません",
                           field="wording")
    return specs
