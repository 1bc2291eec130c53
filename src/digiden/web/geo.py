"""Prefecture boundaries from the packaged TopoJSON, projected once into SVG paths.

Rendering happens on the server so the map works without JavaScript and without internet.
The remote Pacific islands of 東京都 (小笠原諸島, 南鳥島, 沖ノ鳥島: south of 31°N and east of
135°E) are left out of the drawing to keep the main islands legible; 東京都 itself is still drawn
and counted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

from digiden.services.reference import data_path

WIDTH = 640
LAT0 = 36.0


def _remote_pacific(ring: list[tuple[float, float]]) -> bool:
    return max(p[1] for p in ring) < 31.0 and min(p[0] for p in ring) > 135.0


@dataclass(frozen=True)
class PrefShape:
    code: str        # 2-digit prefecture number
    name: str
    path: str        # SVG path data
    cx: float        # label point
    cy: float


@dataclass(frozen=True)
class JapanMap:
    width: int
    height: int
    shapes: tuple[PrefShape, ...]
    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def point(self, lat: float, lng: float) -> tuple[float, float]:
        """A city hall's position on this map (same projection as the outlines)."""
        kx = math.cos(math.radians(LAT0))
        return (round((lng * kx - self.origin[0]) * self.scale, 1),
                round((-lat - self.origin[1]) * self.scale, 1))


def _decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:  # type: ignore[type-arg]
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], idx: list[int]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i in idx:
        pts = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        out.extend(pts if not out else pts[1:])
    return out


@lru_cache(maxsize=1)
def japan_map() -> JapanMap:
    with open(data_path("ja_prefecture_area.topojson"), encoding="utf-8") as f:
        topo = json.load(f)
    arcs = _decode_arcs(topo)
    geoms = next(iter(topo["objects"].values()))["geometries"]
    kx = math.cos(math.radians(LAT0))
    rings_by_pref: dict[str, list[list[tuple[float, float]]]] = {}
    names: dict[str, str] = {}
    min_x = min_y = math.inf
    max_x = max_y = -math.inf
    for g in geoms:
        code = g["properties"]["prefecture_code"]
        names[code] = g["properties"]["prefecture_name"]
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        rings = []
        for poly in polys:
            for ring_idx in poly[:1]:  # outer ring only; lakes are not needed for a choropleth
                ring = _ring(arcs, ring_idx)
                if _remote_pacific(ring):
                    continue
                proj = [(lon * kx, -lat) for lon, lat in ring]
                rings.append(proj)
                for x, y in proj:
                    min_x, max_x = min(min_x, x), max(max_x, x)
                    min_y, max_y = min(min_y, y), max(max_y, y)
        rings_by_pref[code] = rings
    scale = WIDTH / (max_x - min_x)
    height = math.ceil((max_y - min_y) * scale)
    shapes = []
    for code in sorted(rings_by_pref):
        parts = []
        best: tuple[float, float, float] = (0.0, 0.0, -1.0)
        for ring in rings_by_pref[code]:
            pts: list[tuple[int, int]] = []
            for x, y in ring:
                p = (round((x - min_x) * scale * 2), round((y - min_y) * scale * 2))  # half-pixels
                if not pts or p != pts[-1]:
                    pts.append(p)
            pts = _simplify(pts, SIMPLIFY_TOLERANCE)
            if len(pts) < 4:
                continue
            parts.append("M" + "L".join(f"{x / 2:g},{y / 2:g}" for x, y in pts) + "Z")
            xs, ys = [p[0] / 2 for p in pts], [p[1] / 2 for p in pts]
            area = (max(xs) - min(xs)) * (max(ys) - min(ys))
            if area > best[2]:
                best = (sum(xs) / len(xs), sum(ys) / len(ys), area)
        shapes.append(PrefShape(code, names[code], "".join(parts), best[0], best[1]))
    return JapanMap(WIDTH, height, tuple(shapes), (min_x, min_y), scale)


SIMPLIFY_TOLERANCE = 1.2  # in half-pixels: invisible at the drawn size


def _simplify(pts: list[tuple[int, int]], tol: float) -> list[tuple[int, int]]:
    """Douglas–Peucker simplification of a closed ring (iterative, keeps first and last)."""
    if len(pts) < 5:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = pts[a], pts[b]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        best, idx = -1.0, -1
        for i in range(a + 1, b):
            px, py = pts[i]
            d = (abs(dy * (px - ax) - dx * (py - ay)) / norm if norm
                 else math.hypot(px - ax, py - ay))
            if d > best:
                best, idx = d, i
        if idx >= 0 and best > tol:
            keep[idx] = True
            stack.append((a, idx))
            stack.append((idx, b))
    return [p for p, k in zip(pts, keep, strict=True) if k]


# A sequential palette from the Digital Agency's design tokens (blue 50 → 1000).
PALETTE = ("#e8f1fe", "#c5d7fb", "#9db7f9", "#7096f8", "#4979f5", "#264af4", "#0017c1")


def color_for(value: float, maximum: float) -> str:
    if value <= 0 or maximum <= 0:
        return "#f2f2f2"
    step = min(len(PALETTE) - 1, 1 + int((value / maximum) * (len(PALETTE) - 2)))
    return PALETTE[step]
