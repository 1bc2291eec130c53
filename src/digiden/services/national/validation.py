"""Running the KPIs' validation rules over everything stored (``digiden validate``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from digiden.domain.codes import NATION_CODE
from digiden.domain.rules import ORG_UNIT_COUNTS, Rule, parse_rules
from digiden.services.uow import UnitOfWork
from digiden.store import bulk
from digiden.store.models import Kpi, Observation, OrgUnit


@dataclass(frozen=True)
class Violation:
    kpi: str
    kpi_name: str
    org_unit: str
    org_unit_name: str
    as_of: str
    breakdown: str
    value: float
    rule: str
    severity: str
    message: str
    message_ja: str
    batch_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "org_unit": self.org_unit, "as_of": self.as_of,
                "breakdown": self.breakdown or None, "value": self.value, "rule": self.rule,
                "severity": self.severity, "message": self.message, "message_ja": self.message_ja,
                "batch_id": self.batch_id}


def run_rules(uow: UnitOfWork, *, kpi: str | None = None) -> list[Violation]:
    """Every violation of every rule (errors and warnings), KPI by KPI."""
    out: list[Violation] = []
    with uow:
        s = uow.session
        conn = s.connection()
        units = {uid: (code, name) for uid, code, name in s.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.full_name))}
        nation = next(uid for uid, (code, _) in units.items() if code == NATION_CODE)
        q = select(Kpi).order_by(Kpi.position)
        if kpi:
            q = q.where(Kpi.code == kpi)
        for k in s.scalars(q):
            for rule in parse_rules(k.rules, k.code):
                def add(org: int, as_of: str, bd: str, value: float, en: str, ja: str,
                        batch: int | None, rule: Rule = rule, k: Kpi = k) -> None:
                    code, name = units[org]
                    out.append(Violation(k.code, k.name, code, name, as_of, bd, value, rule.kind,
                                         rule.severity, en, ja, batch))
                if rule.kind == "range":
                    cond = []
                    if rule.min is not None:
                        cond.append(Observation.value < rule.min)
                    if rule.max is not None:
                        cond.append(Observation.value > rule.max)
                    from sqlalchemy import or_
                    for o in s.scalars(select(Observation).where(Observation.kpi_id == k.id, or_(*cond))):
                        add(o.org_unit_id, o.as_of.isoformat(), o.breakdown, o.value,
                            f"{o.value:g} outside {rule.describe_en()}",
                            f"{o.value:g} は範囲外です（{rule.describe_ja()}）", o.batch_id)
                elif rule.kind == "max_org_units":
                    limit = ORG_UNIT_COUNTS[rule.of or "all"]
                    for o in s.scalars(select(Observation).where(
                            Observation.kpi_id == k.id, Observation.org_unit_id == nation,
                            Observation.value > limit)):
                        add(o.org_unit_id, o.as_of.isoformat(), o.breakdown, o.value,
                            f"{o.value:g} is more than the {limit:,} that exist",
                            f"{o.value:g} は実在する団体数 {limit:,} を超えています", o.batch_id)
                elif rule.kind == "non_decreasing":
                    for v in bulk.check_non_decreasing(conn, k.id):
                        add(v.org_unit_id, v.as_of, v.breakdown, v.value,
                            f"{v.value:g} is lower than the previous {v.other:g}",
                            f"{v.value:g} が前の値 {v.other:g} より小さくなっています（{rule.describe_ja()}）",
                            v.batch_id)
                elif rule.kind == "parts_le_total":
                    for v in bulk.check_parts_le_total(conn, k.id, rule.parts, rule.total):
                        add(v.org_unit_id, v.as_of, "", v.value,
                            f"parts add up to {v.value:g}, more than the total {v.other:g}",
                            f"内訳の合計 {v.value:g} が{rule.total or '総数'} {v.other:g} を超えています",
                            v.batch_id)
    return out


def rules_by_kpi(uow: UnitOfWork) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(code, name, rules) for every KPI, for the rules page."""
    with uow:
        return [(k.code, k.name, [r.as_dict() | {"ja": r.describe_ja()} for r in parse_rules(k.rules, k.code)])
                for k in uow.session.scalars(select(Kpi).order_by(Kpi.position))]
