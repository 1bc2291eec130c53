"""The screenshots in docs/images, taken from the same pages and data the suite checks.

`make screenshots` runs this module with DIGIDEN_SCREENSHOTS=docs/images and writes the PNGs
there; inside `make test` they go to a temporary folder and the test only checks that each page
rendered. The data are the synthetic demo data of `digiden demo` (shown as 合成データ on the
pages where they appear); the national figures are the reference data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, WIDE, Pages, Site
from tests.browser.inventory import Row, concrete

pytestmark = pytest.mark.sqlite_only

# file name → (address, role, width, height of the shot)
SHOTS = {
    "dashboard.png": ("/", "anonymous", WIDE, 1200),
    "dashboard-375.png": ("/", "anonymous", PHONE, 1400),
    "kpi.png": ("/kpis/5g-population-coverage", "anonymous", WIDE, 1200),
    "kpi-375.png": ("/kpis/5g-population-coverage", "anonymous", PHONE, 1400),
    "strategy-edit.png": ("/local-governments/072028/strategy/edit", "aizu", WIDE, 1400),
    "strategy-edit-375.png": ("/local-governments/072028/strategy/edit", "aizu", PHONE, 1400),
    "local-strategy.png": ("/local-governments/072028/strategy?revision=1", "anonymous", WIDE, 1600),
    "practice-spread.png": ("/practices/iide-gps-snow-removal", "anonymous", WIDE, 950),
    "search.png": ("/search?q=子育て 相談", "anonymous", WIDE, 1000),
    "similar.png": ("/local-governments/064033/similar", "anonymous", WIDE, 900),
}


def test_screenshots(browser: object, pages: Pages, site: Site, tmp_path: Path) -> None:
    out = Path(os.environ.get("DIGIDEN_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    for name, (path, role, width, height) in SHOTS.items():
        page = pages.tab(role)
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(concrete(Row(path, path, (role,), ""), site.ids), wait_until="load")
        assert response is not None and response.status == 200, (name, path)
        page.screenshot(path=str(out / name), animations="disabled", caret="hide")
        assert (out / name).stat().st_size > 10_000, name
