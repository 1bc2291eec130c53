"""One page, one role: load it, then axe at WCAG 2.1 AA and horizontal overflow at 1280 and 375 px."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PHONE, WIDE, Pages, Site, axe_violations, overflow, record
from tests.browser.inventory import AXE_EXCLUDED, Row, concrete


def check_page(pages: Pages, site: Site, row: Row, role: str, status: int = 200) -> list[str]:
    """The problems found, each naming the rule or overflow, the selector, the page and the role."""
    page = pages.tab(role)
    path = concrete(row, site.ids)
    page.set_viewport_size({"width": WIDE, "height": 900})
    response = page.goto(path, wait_until="load")
    assert response is not None and response.status == status, \
        f"{path} as {role}: HTTP {response and response.status}, not {status}"
    return check_loaded(page, row, role, path)


def check_loaded(page: Any, row: Row, role: str, path: str) -> list[str]:
    """The checks of check_page on the page as it is now (after a form was sent, say)."""
    page.set_viewport_size({"width": WIDE, "height": 900})
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    excluded = AXE_EXCLUDED.get(row.route, set())
    for width in (WIDE, PHONE):
        if width == PHONE:
            page.set_viewport_size({"width": PHONE, "height": 800})
        for v in axe_violations(page):
            if v["id"] in excluded:
                continue
            for target in v["targets"]:
                if (v["id"], target) in seen:
                    continue
                seen.add((v["id"], target))
                problems.append(f"axe {v['id']} ({v['impact']}) at {width}px: {target} — {v['help']}; {v['summary']}")
                _record(row, role, path, f"axe:{v['id']}", target, width, v["summary"])
        ov: dict[str, Any] | None = overflow(page)
        if ov is not None:
            what = "; ".join(ov["elements"]) or "(no single element found)"
            problems.append(f"overflow at {width}px: scrollWidth {ov['scroll_width']} > {ov['client_width']}: {what}")
            _record(row, role, path, "overflow", what, width, f"scrollWidth {ov['scroll_width']}")
    if not problems:
        _record(row, role, path, "ok", "", 0, "")
    return [f"{path} as {role} ({row.owner}): {p}" for p in problems]


def _record(row: Row, role: str, path: str, rule: str, selector: str, width: int, detail: str) -> None:
    record({"route": row.route, "path": path, "role": role, "rule": rule, "selector": selector,
            "width": width, "detail": detail, "owner": row.owner})
