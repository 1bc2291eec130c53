"""Rendering without the web framework: SVG charts, the prefecture map and the menu book (HTML
and PDF). The web app and the CLI both draw with these; nothing here imports FastAPI, Starlette
or `digiden.web` (tests/test_render_imports.py checks it).

- `charts`    line charts of KPI observations, milestones and forecasts (SVG markup)
- `geo`       the prefecture map: outlines read from a packaged file prepared at build time
- `outlines`  the build step that prepares those outlines from the TopoJSON
              (`python -m digiden.render.outlines` rewrites `data/japan_map.json`)
- `menubook`  the menu book as a standalone HTML page and as a PDF with IPAexGothic embedded
"""
