"""Every audit action the consultation desk records has a Japanese label, so the audit page never
shows a bare key such as consult.plan_goal_set to the person reading it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digiden.domain.labels import AUDIT_ACTIONS_JA, audit_action_ja

pytestmark = pytest.mark.sqlite_only   # reads the source; no database

ROOT = Path(__file__).parents[2] / "src/digiden/services/consult"


def recorded_actions() -> set[str]:
    """The literal actions, and those built by each module's _audit helper from its calls."""
    actions: set[str] = set()
    for path in ROOT.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        actions |= set(re.findall(r'action="(consult\.[a-z_]+)"', text))
        prefix = {"cases.py": "consult.", "plans.py": "consult.plan_"}.get(path.name)
        if prefix:
            actions |= {prefix + a for a in re.findall(r'_audit\(s, p, \w+, "([a-z_]+)"', text)}
            actions |= {prefix + a for a in re.findall(r'_audit\(s, p, \w+, "[a-z_]+" if \w+ else "([a-z_]+)"', text)}
        if path.name == "faq.py":
            actions |= {f"consult.faq_{a}" for a in ("submit", "publish", "return", "withdraw")}
    from digiden.domain.consult import Step
    actions |= {f"consult.{s.value}" for s in (Step.RESOLVE, Step.CLOSE, Step.REOPEN)}
    return actions


def test_every_consultation_action_has_a_japanese_label() -> None:
    actions = recorded_actions()
    assert len(actions) >= 25, sorted(actions)
    missing = sorted(a for a in actions if a not in AUDIT_ACTIONS_JA)
    assert missing == []


def test_the_reference_load_and_a_read_notice_are_named_for_their_entity() -> None:
    assert audit_action_ja("reference.load", "consult_office") != audit_action_ja("reference.load")
    assert audit_action_ja("read", "consult_notice") != "read"
