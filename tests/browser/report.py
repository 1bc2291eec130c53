"""Summarise the findings the browser suite recorded ($DIGIDEN_BROWSER_FINDINGS, JSON lines) as Markdown.

    DIGIDEN_BROWSER_FINDINGS=/tmp/f.jsonl .venv/bin/pytest tests/browser
    .venv/bin/python -m tests.browser.report /tmp/f.jsonl > /tmp/browser_findings.md
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    visits: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        visits[(str(r["path"]), str(r["role"]))].append(r)
    by_role: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"pages": set(), "axe": set(), "overflow": set()})
    for (path, role), found in visits.items():
        by_role[role]["pages"].add(path)
        if any(str(f["rule"]).startswith("axe:") for f in found):
            by_role[role]["axe"].add(path)
        if any(f["rule"] == "overflow" and f["width"] == 375 for f in found):
            by_role[role]["overflow"].add(path)
    print("# Browser suite findings\n")
    print("| role | pages visited | with axe violations (WCAG 2.1 AA) | overflowing at 375 px |")
    print("|---|---|---|---|")
    for role, s in sorted(by_role.items()):
        print(f"| {role} | {len(s['pages'])} | {len(s['axe'])} | {len(s['overflow'])} |")
    all_pages = {p for p, _ in visits}
    axe_pages = {p for (p, _), f in visits.items() if any(str(x["rule"]).startswith("axe:") for x in f)}
    ov_pages = {p for (p, _), f in visits.items() if any(x["rule"] == "overflow" and x["width"] == 375 for x in f)}
    print(f"| **distinct pages** | {len(all_pages)} | {len(axe_pages)} | {len(ov_pages)} |\n")
    print("## Per page\n")
    print("| page | role | owner | axe rules | overflow 375 px | overflow 1280 px |")
    print("|---|---|---|---|---|---|")
    for (path, role), found in sorted(visits.items()):
        rules = sorted({str(f["rule"])[4:] for f in found if str(f["rule"]).startswith("axe:")})
        o375 = any(f["rule"] == "overflow" and f["width"] == 375 for f in found)
        o1280 = any(f["rule"] == "overflow" and f["width"] == 1280 for f in found)
        print(f"| {path} | {role} | {found[0]['owner']} | {', '.join(rules) or '—'} | {'yes' if o375 else '—'} | "
              f"{'yes' if o1280 else '—'} |")
    print("\n## Findings (page, role, rule or overflow, selector, owner file)\n")
    for (path, role), found in sorted(visits.items()):
        for f in found:
            if f["rule"] == "ok":
                continue
            print(f"- `{path}` as {role} — **{f['rule']}** at {f['width']}px — `{f['selector']}` — "
                  f"owner: {f['owner']} {('— ' + str(f['detail'])) if f['detail'] else ''}")


if __name__ == "__main__":
    main(sys.argv[1])
