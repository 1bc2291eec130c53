"""類似団体: how alike two municipalities are, and why, from visible, adjustable weights.

Each component gives a similarity between 0 and 1 (or None when a value is missing, in which
case the component drops out and the remaining weights are renormalised):

- kind: same kind 1; 町 and 村 0.7; 市 and 政令市/特別区 0.5; 市 and 町 0.3; otherwise 0.
- population: 1 − |log10(a / b)|, so a tenfold difference scores 0.
- aging: 1 − |Δ aging rate| / 15 points.
- fiscal: mean of 1 − |Δ 財政力指数| / 0.5 and 1 − |Δ 経常収支比率| / 15 points.
- geography: sharing a border 1; otherwise 1 − distance between city halls / 150 km.
- strategy: Jaccard overlap of the social-issue fields and model types in their strategies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from digiden.domain.errors import InvalidInput

COMPONENTS = ("kind", "population", "aging", "fiscal", "geography", "strategy")
DEFAULT_WEIGHTS: dict[str, float] = {"kind": 1.0, "population": 2.0, "aging": 1.5, "fiscal": 1.5,
                                     "geography": 1.0, "strategy": 1.0}
LABELS_JA = {"kind": "団体区分", "population": "人口規模", "aging": "高齢化率", "fiscal": "財政指標",
             "geography": "地理（隣接・距離）", "strategy": "戦略の社会課題・モデル"}
KIND_JA = {"designated_city": "政令指定都市", "city": "市", "town": "町", "village": "村", "special_ward": "特別区"}
MAX_WEIGHT = 10.0
GEO_RANGE_KM = 150.0


@dataclass(frozen=True)
class Profile:
    id: int
    code: str
    name: str
    kind: str
    prefecture_code: str
    population: int | None
    aging: float | None
    fiscal_strength: float | None
    balance_ratio: float | None
    lat: float | None
    lng: float | None
    neighbours: frozenset[int]
    topics: frozenset[str]


@dataclass(frozen=True)
class Component:
    key: str
    similarity: float | None
    weight: float
    reason: str


@dataclass(frozen=True)
class Match:
    profile: Profile
    score: float
    components: tuple[Component, ...]

    @property
    def reasons(self) -> list[str]:
        """The strongest reasons first: components contributing at least 0.6 similarity."""
        good = [c for c in self.components if c.similarity is not None and c.similarity >= 0.6 and c.weight > 0]
        good.sort(key=lambda c: -(c.similarity or 0) * c.weight)
        return [c.reason for c in good]


def parse_weights(raw: Mapping[str, object] | None) -> dict[str, float]:
    """Weights as a user sets them (0–10 each); missing ones keep their default."""
    w = dict(DEFAULT_WEIGHTS)
    for k, v in (raw or {}).items():
        if v is None or v == "":
            continue
        if k not in w:
            raise InvalidInput(f"unknown weight {k!r} (one of {', '.join(COMPONENTS)})",
                               message_ja=f"不明な重みです: {k}", field=f"w_{k}")
        try:
            x = float(str(v))
        except ValueError:
            raise InvalidInput(f"weight {k}: not a number", message_ja=f"{LABELS_JA[k]}の重みは数値で入力してください",
                               field=f"w_{k}") from None
        if not 0 <= x <= MAX_WEIGHT or math.isnan(x):
            raise InvalidInput(f"weight {k}: between 0 and {MAX_WEIGHT:g}",
                               message_ja=f"{LABELS_JA[k]}の重みは0〜{MAX_WEIGHT:g}にしてください", field=f"w_{k}")
        w[k] = x
    if sum(w.values()) == 0:
        raise InvalidInput("at least one weight must be above 0", message_ja="重みのどれか1つは0より大きくしてください")
    return w


def distance_km(a_lat: float, a_lng: float, b_lat: float, b_lng: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6,371 km)."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lng - a_lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


SIZE_CLASSES = ((10_000, "1万人未満"), (50_000, "1万〜5万人"), (100_000, "5万〜10万人"),
                (200_000, "10万〜20万人"), (500_000, "20万〜50万人"), (math.inf, "50万人以上"))


def size_class(population: int | None) -> str:
    if population is None:
        return "不明"
    return next(label for limit, label in SIZE_CLASSES if population < limit)


def _man(n: int) -> str:
    return f"{n / 10_000:.1f}万人" if n >= 10_000 else f"{n:,}人"


_KIND_PAIRS = {frozenset({"town", "village"}): 0.7, frozenset({"city", "designated_city"}): 0.5,
               frozenset({"city", "special_ward"}): 0.5, frozenset({"designated_city", "special_ward"}): 0.3,
               frozenset({"city", "town"}): 0.3}


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def compare(a: Profile, b: Profile, weights: Mapping[str, float],
            topic_names: Mapping[str, str] | None = None) -> Match:
    comps: list[Component] = []
    w = weights
    k = 1.0 if a.kind == b.kind else _KIND_PAIRS.get(frozenset({a.kind, b.kind}), 0.0)
    comps.append(Component("kind", k, w["kind"], f"同じ団体区分（{KIND_JA.get(b.kind, b.kind)}）" if k == 1.0
                           else f"団体区分が近い（{KIND_JA.get(a.kind, a.kind)}／{KIND_JA.get(b.kind, b.kind)}）"))
    if a.population and b.population:
        s = _clip(1 - abs(math.log10(a.population / b.population)))
        same = size_class(a.population) == size_class(b.population)
        comps.append(Component("population", s, w["population"],
                               f"人口規模が近い（{_man(b.population)}／{_man(a.population)}"
                               + (f"、ともに{size_class(a.population)}）" if same else "）")))
    else:
        comps.append(Component("population", None, w["population"], ""))
    if a.aging is not None and b.aging is not None:
        comps.append(Component("aging", _clip(1 - abs(a.aging - b.aging) / 15), w["aging"],
                               f"高齢化率が近い（{b.aging:.1f}%／{a.aging:.1f}%）"))
    else:
        comps.append(Component("aging", None, w["aging"], ""))
    parts = []
    if a.fiscal_strength is not None and b.fiscal_strength is not None:
        parts.append(_clip(1 - abs(a.fiscal_strength - b.fiscal_strength) / 0.5))
    if a.balance_ratio is not None and b.balance_ratio is not None:
        parts.append(_clip(1 - abs(a.balance_ratio - b.balance_ratio) / 15))
    comps.append(Component("fiscal", sum(parts) / len(parts) if parts else None, w["fiscal"],
                           f"財政力指数が近い（{b.fiscal_strength:.2f}／{a.fiscal_strength:.2f}）"
                           if a.fiscal_strength is not None and b.fiscal_strength is not None else "財政指標が近い"))
    if b.id in a.neighbours:
        comps.append(Component("geography", 1.0, w["geography"], "隣接している（境界を共有）"))
    elif None not in (a.lat, a.lng, b.lat, b.lng):
        d = distance_km(a.lat, a.lng, b.lat, b.lng)  # type: ignore[arg-type]
        comps.append(Component("geography", _clip(1 - d / GEO_RANGE_KM), w["geography"],
                               f"庁舎間の距離 {d:.0f} km"))
    else:
        comps.append(Component("geography", None, w["geography"], ""))
    if a.topics and b.topics:
        shared = a.topics & b.topics
        names = topic_names or {}
        comps.append(Component("strategy", len(shared) / len(a.topics | b.topics), w["strategy"],
                               "戦略の共通テーマ：" + "、".join(sorted(names.get(t, t) for t in shared))))
    else:
        comps.append(Component("strategy", None, w["strategy"], ""))
    known = [c for c in comps if c.similarity is not None]
    total_w = sum(c.weight for c in known)
    score = sum((c.similarity or 0) * c.weight for c in known) / total_w if total_w else 0.0
    return Match(b, score, tuple(comps))


def score(a: Profile, b: Profile, weights: Mapping[str, float]) -> float:
    """The same number as ``compare(a, b, weights).score``, without building the explanation:
    ranking 1,740 municipalities only needs the numbers; reasons are written for the top ones."""
    num = den = 0.0
    w = weights["kind"]
    if w:
        num += w * (1.0 if a.kind == b.kind else _KIND_PAIRS.get(frozenset({a.kind, b.kind}), 0.0))
        den += w
    w = weights["population"]
    if w and a.population and b.population:
        num += w * _clip(1 - abs(math.log10(a.population / b.population)))
        den += w
    w = weights["aging"]
    if w and a.aging is not None and b.aging is not None:
        num += w * _clip(1 - abs(a.aging - b.aging) / 15)
        den += w
    w = weights["fiscal"]
    if w:
        parts = []
        if a.fiscal_strength is not None and b.fiscal_strength is not None:
            parts.append(_clip(1 - abs(a.fiscal_strength - b.fiscal_strength) / 0.5))
        if a.balance_ratio is not None and b.balance_ratio is not None:
            parts.append(_clip(1 - abs(a.balance_ratio - b.balance_ratio) / 15))
        if parts:
            num += w * sum(parts) / len(parts)
            den += w
    w = weights["geography"]
    if w:
        if b.id in a.neighbours:
            num += w
            den += w
        elif a.lat is not None and a.lng is not None and b.lat is not None and b.lng is not None:
            num += w * _clip(1 - distance_km(a.lat, a.lng, b.lat, b.lng) / GEO_RANGE_KM)
            den += w
    w = weights["strategy"]
    if w and a.topics and b.topics:
        num += w * len(a.topics & b.topics) / len(a.topics | b.topics)
        den += w
    return num / den if den else 0.0


def rank(target: Profile, others: Iterable[Profile], weights: Mapping[str, float], *, limit: int = 20,
         topic_names: Mapping[str, str] | None = None) -> list[Match]:
    scored = sorted(((score(target, o, weights), o.code, o) for o in others if o.id != target.id),
                    key=lambda x: (-x[0], x[1]))
    return [compare(target, o, weights, topic_names) for _, _, o in scored[:limit]]


def groups(members: list[Profile], *, within_km: float) -> list[list[Profile]]:
    """Geographically sensible candidate groups: connected components of the graph in which two
    local governments are joined when they share a border or their city halls are within
    ``within_km``. Groups of one are left out."""
    seen: set[int] = set()
    out: list[list[Profile]] = []
    for p in members:
        if p.id in seen:
            continue
        comp, stack = [], [p]
        seen.add(p.id)
        while stack:
            cur = stack.pop()
            comp.append(cur)
            for q in members:
                if q.id in seen:
                    continue
                near = q.id in cur.neighbours or (
                    None not in (cur.lat, cur.lng, q.lat, q.lng)
                    and distance_km(cur.lat, cur.lng, q.lat, q.lng) <= within_km)  # type: ignore[arg-type]
                if near:
                    seen.add(q.id)
                    stack.append(q)
        if len(comp) > 1:
            out.append(sorted(comp, key=lambda x: x.code))
    return out
