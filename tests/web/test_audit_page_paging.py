"""The 変更履歴 page (`/audit`) pages like the API (issue 12 goal 3): the newest 200 events, then
「さらに古い記録」 to the older ones by the same keyset cursor, each event once, and back to the
newest; an edited cursor gets the Japanese message. Both databases."""

from __future__ import annotations

import re
from typing import Any

from tests.web.test_audit_paging import Seed, seed  # noqa: F401  (the fixture)

PAGE = 200


def _rows(html: str) -> list[str]:
    return re.findall(r"<td><span class=\"cell-label\">内容</span>([^<]*)</td>", html)


def _older(html: str) -> str | None:
    m = re.search(r'<a href="([^"]+)" rel="next">さらに古い記録', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_the_page_reaches_every_event_by_older_links(seed: Seed, client_as: Any) -> None:  # noqa: F811
    for _ in range(PAGE + 30):
        seed.add("visible")
    admin = client_as("admin")                   # signing in adds an event of its own
    first = admin.get("/audit")
    assert first.status_code == 200
    rows = _rows(first.text)
    assert len(rows) == PAGE
    assert "最新の記録に戻る" not in first.text
    older = _older(first.text)
    assert older is not None and older.startswith("/audit?after=")
    second = admin.get(older)
    assert second.status_code == 200
    more = _rows(second.text)
    assert 0 < len(more) < PAGE
    assert _older(second.text) is None                 # nothing older the reader may see
    assert 'href="/audit">← 最新の記録に戻る' in second.text
    seen = [r for r in rows + more if r.startswith("visible ")]
    assert seen == [f"visible {n}" for n in range(PAGE + 30, 0, -1)]   # newest first, each once


def test_an_edited_cursor_is_refused_in_japanese(client_as: Any) -> None:
    r = client_as("admin").get("/audit?after=AAAA.0000")
    assert r.status_code == 422
    assert "after の値が正しくありません" in r.text
