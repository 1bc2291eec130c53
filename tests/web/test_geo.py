"""The prefecture map draws all 47 prefectures, Hokkaido to Okinawa, from outlines prepared once
at build time (the packaged file is exactly what the build step makes from the TopoJSON)."""

import subprocess
import sys

from digiden.render.geo import japan_map
from digiden.render.outlines import OUTPUT, build_map, main, map_to_json


def test_all_47_prefectures_are_drawn() -> None:
    m = japan_map()
    assert len(m.shapes) == 47
    assert all(s.path.startswith("M") for s in m.shapes)
    by_name = {s.name: s for s in m.shapes}
    # Hokkaido sits top right, Okinawa bottom left of the drawing.
    assert by_name["北海道"].cx > m.width * 0.6 and by_name["北海道"].cy < m.height * 0.3
    assert by_name["沖縄県"].cx < m.width * 0.4 and by_name["沖縄県"].cy > m.height * 0.7
    assert len(by_name["北海道"].path) > 1000


def test_the_packaged_outlines_are_what_the_build_step_makes_from_the_topojson() -> None:
    built = build_map()
    assert OUTPUT.read_text(encoding="utf-8") == map_to_json(built), \
        "the outlines are out of date: run python -m digiden.render.outlines"
    assert main(["--check"]) == 0
    assert japan_map() == built          # every path, label point and the projection, exactly
    lat, lng = 35.6895, 139.6917         # 東京都庁: the same point whichever way the map was made
    assert japan_map().point(lat, lng) == built.point(lat, lng)


def test_drawing_the_map_does_not_run_the_build_step() -> None:
    code = ("import sys; from digiden.render.geo import japan_map; japan_map(); "
            "assert 'digiden.render.outlines' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
