"""Build step: the prefecture outlines of `digiden.render.geo`, prepared from the packaged
TopoJSON once and written to `data/japan_map.json` (kept in the repository and the package).

    python -m digiden.render.outlines           # rewrite the file after the TopoJSON changes
    python -m digiden.render.outlines --check   # exit 1 if the file is out of date

The TopoJSON is decoded, the outer rings projected (equirectangular at 36°N, scaled to 640 px
wide, rounded to half-pixels) and simplified (Douglas–Peucker); tests/web/test_geo.py checks the
file is exactly what this produces.
"""

from __future__ import annotations

import json
import math
import sys
from importlib import resources
from pathlib import Path

from digiden.render.geo import LAT0, MAP_FILE, WIDTH, JapanMap, PrefShape

TOPOJSON = "ja_prefecture_area.topojson"
OUTPUT = Path(__file__).resolve().parent / "data" / MAP_FILE
SIMPLIFY_TOLERANCE = 1.2  # in half-pixels: invisible at the drawn size


def _remote_pacific(ring: list[tuple[float, float]]) -> bool:
    return max(p[1] for p in ring) < 31.0 and min(p[0] for p in ring) > 135.0


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


def build_map() -> JapanMap:
    """The map computed from the TopoJSON (slow: a quarter of a second; done at build time)."""
    topo = json.loads(resources.files("digiden.data").joinpath(TOPOJSON).read_text(encoding="utf-8"))
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


def map_to_json(m: JapanMap) -> str:
    """One prefecture a line, so a change to the outlines reads as a diff; floats are written
    as Python's shortest repr, which reads back to the identical value."""
    head = {"width": m.width, "height": m.height, "origin": list(m.origin), "scale": m.scale}
    shapes = ",\n".join(json.dumps({"code": s.code, "name": s.name, "cx": s.cx, "cy": s.cy, "path": s.path},
                                   ensure_ascii=False) for s in m.shapes)
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "shapes": [\n' + shapes + "\n]}\n"


def main(argv: list[str]) -> int:
    text = map_to_json(build_map())
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python -m digiden.render.outlines", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
