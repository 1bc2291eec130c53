"""Validation rules, DHIS2-style: defined per KPI in the strategy data, not in code.

A rule is a mapping in the strategy YAML under a KPI's ``rules:``:

- ``{kind: range, min: 0, max: 100}`` — every value lies in [min, max];
- ``{kind: max_org_units, of: municipalities}`` — a national count of local governments is at
  most the number that exist (``all`` 1,788, ``municipalities`` 1,741, ``prefectures`` 47);
- ``{kind: non_decreasing}`` — a cumulative series never goes down over time;
- ``{kind: parts_le_total, parts: [実現], total: 選定}`` — a breakdown's parts do not exceed its
  total at the same date (``total`` omitted: the value with no breakdown);
- ``severity: warning`` on any rule reports it without blocking an import (default ``error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from digiden.domain.errors import InvalidInput

ORG_UNIT_COUNTS = {"all": 1788, "municipalities": 1741, "prefectures": 47}
KINDS = ("range", "max_org_units", "non_decreasing", "parts_le_total")


@dataclass(frozen=True)
class Rule:
    kind: str
    severity: str = "error"
    min: float | None = None
    max: float | None = None
    parts: tuple[str, ...] = ()
    of: str | None = None
    total: str = ""          # the breakdown that is the total ('' = the value without breakdown)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @property
    def upper(self) -> float | None:
        """The upper bound a single value must respect, if the rule has one."""
        if self.kind == "range":
            return self.max
        if self.kind == "max_org_units" and self.of:
            return float(ORG_UNIT_COUNTS[self.of])
        return None

    def describe_ja(self) -> str:
        if self.kind == "range":
            if self.min is not None and self.max is not None:
                return f"値は {self.min:g}〜{self.max:g} の範囲"
            bound = self.min if self.min is not None else self.max
            return f"値は {bound:g} {'以上' if self.min is not None else '以下'}"
        if self.kind == "max_org_units":
            return f"団体数は {ORG_UNIT_COUNTS[self.of or 'all']:,} 以下"
        if self.kind == "non_decreasing":
            return "累計値は減少しない"
        return f"内訳（{'・'.join(self.parts)}）の合計は{self.total or '総数'}以下"

    def describe_en(self) -> str:
        if self.kind == "range":
            return f"value within [{self.min}, {self.max}]"
        if self.kind == "max_org_units":
            return f"at most {ORG_UNIT_COUNTS[self.of or 'all']} local governments"
        if self.kind == "non_decreasing":
            return "a cumulative series never decreases"
        return f"parts ({', '.join(self.parts)}) do not exceed the total"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "severity": self.severity}
        if self.min is not None:
            d["min"] = self.min
        if self.max is not None:
            d["max"] = self.max
        if self.parts:
            d["parts"] = list(self.parts)
        if self.of:
            d["of"] = self.of
        if self.total:
            d["total"] = self.total
        return d


def parse_rules(raw: Any, where: str) -> tuple[Rule, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}: rules must be a list", message_ja=f"{where}: rules はリストで書きます",
                           field=where)
    out = []
    for i, r in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(r, dict) or r.get("kind") not in KINDS:
            raise InvalidInput(f"{w}: unknown rule kind {r.get('kind') if isinstance(r, dict) else r!r}",
                               message_ja=f"{w}: 不明なルールです", field=w)
        severity = r.get("severity", "error")
        if severity not in ("error", "warning"):
            raise InvalidInput(f"{w}: severity must be error or warning",
                               message_ja=f"{w}: severity は error か warning です", field=w)
        of = r.get("of")
        if r["kind"] == "max_org_units" and of not in ORG_UNIT_COUNTS:
            raise InvalidInput(f"{w}: 'of' must be one of {', '.join(ORG_UNIT_COUNTS)}",
                               message_ja=f"{w}: of は all / municipalities / prefectures です", field=w)
        parts = tuple(str(p) for p in r.get("parts") or ())
        if r["kind"] == "parts_le_total" and not parts:
            raise InvalidInput(f"{w}: parts_le_total needs parts", message_ja=f"{w}: parts が必要です", field=w)
        mn, mx = r.get("min"), r.get("max")
        if r["kind"] == "range" and mn is None and mx is None:
            raise InvalidInput(f"{w}: range needs min or max", message_ja=f"{w}: min か max が必要です", field=w)
        out.append(Rule(r["kind"], severity, float(mn) if mn is not None else None,
                        float(mx) if mx is not None else None, parts, of, str(r.get("total") or "")))
    return tuple(out)


def value_limits(rules: tuple[Rule, ...], *, national: bool) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds the blocking rules put on one value. A national value of a
    count of local governments is also at most the number that exist; a local one is not."""
    rng = [r for r in rules if r.kind == "range" and r.blocking]
    upper_local = min((r.max for r in rng if r.max is not None), default=None)
    uppers = [upper_local] + ([r.upper for r in rules if r.kind == "max_org_units" and r.blocking]
                              if national else [])
    upper = min((u for u in uppers if u is not None), default=None)
    lower = max((r.min for r in rng if r.min is not None), default=None)
    return lower, upper


def limit_problem(value: float, lower: float | None, upper: float | None) -> tuple[str, str] | None:
    """(English, Japanese) when a value lies outside the bounds of ``value_limits``, else None."""
    if upper is not None and value > upper:
        return (f"value {value:g} is above the rule's maximum {upper:g}",
                f"値 {value:g} がルールの上限 {upper:g} を超えています")
    if lower is not None and value < lower:
        return (f"value {value:g} is below the rule's minimum {lower:g}",
                f"値 {value:g} がルールの下限 {lower:g} を下回っています")
    return None


def value_breaks(value: float, rules: tuple[Rule, ...], *, national: bool) -> tuple[str, str] | None:
    """(English, Japanese) when one value breaks a blocking rule, else None: the same check for
    a typed value, an API call and every imported row (which computes the limits once per KPI)."""
    return limit_problem(value, *value_limits(rules, national=national))


def decrease_problem(rule: Rule, where: str, value: float, previous: float) -> tuple[str, str]:
    """A cumulative series that went down (``where``: KPI, local government and date)."""
    return (f"{where} is {value:g}, lower than the previous {previous:g} ({rule.describe_en()})",
            f"{where} の値 {value:g} が前の値 {previous:g} より小さくなっています（{rule.describe_ja()}）")


def parts_problem(rule: Rule, where: str, parts: float, total: float) -> tuple[str, str]:
    """A breakdown whose parts add up to more than its total."""
    return (f"{where}: parts add up to {parts:g}, more than the total {total:g}",
            f"{where}: 内訳の合計 {parts:g} が{rule.total or '総数'} {total:g} を超えています（{rule.describe_ja()}）")
