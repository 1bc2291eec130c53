"""The prefecture map: outlines projected into SVG paths, read from a packaged file.

Rendering happens on the server so the map works without JavaScript and without internet. The
outlines are prepared once, at build time, from the packaged TopoJSON by
`digiden.render.outlines` (`python -m digiden.render.outlines` rewrites `data/japan_map.json`;
tests/web/test_geo.py fails when the file and the TopoJSON disagree), so no process decodes or
simplifies them again. The remote Pacific islands of 東京都 (小笠原諸島, 南鳥島, 沖ノ鳥島: south
of 31°N and east of 135°E) are left out of the drawing to keep the main islands legible; 東京都
itself is still drawn and counted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

WIDTH = 640
LAT0 = 36.0
MAP_FILE = "japan_map.json"


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


def map_from_json(text: str) -> JapanMap:
    doc = json.loads(text)
    return JapanMap(doc["width"], doc["height"],
                    tuple(PrefShape(s["code"], s["name"], s["path"], s["cx"], s["cy"]) for s in doc["shapes"]),
                    (doc["origin"][0], doc["origin"][1]), doc["scale"])


@lru_cache(maxsize=1)
def japan_map() -> JapanMap:
    return map_from_json(resources.files("digiden.render").joinpath("data", MAP_FILE).read_text(encoding="utf-8"))


# A sequential palette from the Digital Agency's design tokens (blue 50 → 1000).
PALETTE = ("#e8f1fe", "#c5d7fb", "#9db7f9", "#7096f8", "#4979f5", "#264af4", "#0017c1")


def color_for(value: float, maximum: float) -> str:
    if value <= 0 or maximum <= 0:
        return "#f2f2f2"
    step = min(len(PALETTE) - 1, 1 + int((value / maximum) * (len(PALETTE) - 2)))
    return PALETTE[step]
