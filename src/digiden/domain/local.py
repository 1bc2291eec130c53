"""A local government's own strategy (地方版総合戦略): its vocabulary, the approval cycle, the
facts national KPIs count, and the difference between two revisions. Pure: no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from digiden.domain import access
from digiden.domain.access import OrgRef, Principal
from digiden.domain.errors import Conflict, InvalidInput


def finite_number(value: float, *, field: str, label_ja: str) -> float:
    """A number of a local KPI (baseline, target, actual): finite. JSON's NaN or Infinity would
    be stored as NULL by SQLite and refused by PostgreSQL."""
    if not math.isfinite(value):
        raise InvalidInput(f"{field}: not a finite number", message_ja=f"{label_ja}は有限の数値で入力してください",
                           field=field)
    return value


class Status(StrEnum):
    """Where a revision stands in 提出 → 都道府県の確認 → 国の受理."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PREFECTURE_APPROVED = "prefecture_approved"
    ACCEPTED = "accepted"
    RETURNED = "returned"

    @property
    def label_ja(self) -> str:
        return STATUS_LABELS_JA[self]

    @property
    def editable(self) -> bool:
        return self in (Status.DRAFT, Status.RETURNED)


STATUS_LABELS_JA = {
    Status.DRAFT: "下書き",
    Status.SUBMITTED: "提出済み（都道府県の確認待ち）",
    Status.PREFECTURE_APPROVED: "都道府県確認済み（国の受理待ち）",
    Status.ACCEPTED: "受理・公開",
    Status.RETURNED: "差し戻し",
}


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"      # the prefecture's review
    ACCEPT = "accept"        # the nation's acceptance: published and locked
    RETURN = "return"        # back to the owner, with a comment
    REOPEN = "reopen"        # the approver unlocks approved data, with a comment

    @property
    def label_ja(self) -> str:
        return ACTION_LABELS_JA[self]

    @property
    def done_ja(self) -> str:
        """As the review record says it happened."""
        return ACTION_DONE_JA[self]


ACTION_LABELS_JA = {
    Action.SUBMIT: "提出する",
    Action.APPROVE: "承認する（国へ進める）",
    Action.ACCEPT: "受理する（公開）",
    Action.RETURN: "差し戻す",
    Action.REOPEN: "再開する（ロック解除）",
}

ACTION_DONE_JA = {
    Action.SUBMIT: "提出",
    Action.APPROVE: "都道府県が承認",
    Action.ACCEPT: "国が受理",
    Action.RETURN: "差し戻し",
    Action.REOPEN: "再開（ロック解除）",
}

# Who acts at each step: "owner", "prefecture" (the reviewing prefecture) or "nation".
Stage = str


def transition(status: Status, action: Action, *, owner_is_prefecture: bool) -> tuple[Status, Stage]:
    """The next status and who must act, or InvalidInput/Conflict if the step is not possible.

    A prefecture's own strategy skips the prefecture review and goes straight to the nation."""
    table: dict[tuple[Status, Action], tuple[Status, Stage]] = {
        (Status.DRAFT, Action.SUBMIT): (Status.SUBMITTED, "owner"),
        (Status.RETURNED, Action.SUBMIT): (Status.SUBMITTED, "owner"),
        (Status.SUBMITTED, Action.APPROVE): (Status.PREFECTURE_APPROVED, "prefecture"),
        (Status.SUBMITTED, Action.RETURN): (Status.RETURNED, "prefecture"),
        (Status.PREFECTURE_APPROVED, Action.ACCEPT): (Status.ACCEPTED, "nation"),
        (Status.PREFECTURE_APPROVED, Action.RETURN): (Status.RETURNED, "nation"),
        (Status.PREFECTURE_APPROVED, Action.REOPEN): (Status.RETURNED, "prefecture"),
        (Status.ACCEPTED, Action.REOPEN): (Status.RETURNED, "nation"),
    }
    step = table.get((status, action))
    if step is None:
        raise Conflict(f"cannot {action.value} a revision that is {status.value}",
                       message_ja=f"「{status.label_ja}」の版には「{action.label_ja}」を行えません",
                       field="action")
    new, stage = step
    if owner_is_prefecture and new is Status.SUBMITTED:
        return Status.PREFECTURE_APPROVED, stage
    return new, stage


def needs_comment(action: Action) -> bool:
    return action in (Action.RETURN, Action.REOPEN)


class MeasureKind(StrEnum):
    """What a measure is, where national KPIs count it. Anything else is OTHER."""

    SATELLITE_OFFICE = "satellite_office"
    KODOMO_CENTER = "kodomo_katei_center"
    CORPORATE_FURUSATO = "corporate_furusato_nozei"
    NEW_MOBILITY = "new_mobility"
    OTHER = "other"

    @property
    def label_ja(self) -> str:
        return MEASURE_KIND_LABELS_JA[self]


MEASURE_KIND_LABELS_JA = {
    MeasureKind.SATELLITE_OFFICE: "サテライトオフィス等の設置",
    MeasureKind.KODOMO_CENTER: "こども家庭センターの設置（デジタル技術も活用した相談援助等）",
    MeasureKind.CORPORATE_FURUSATO: "企業版ふるさと納税の活用",
    MeasureKind.NEW_MOBILITY: "新たなモビリティサービスに係る取組（自動運転・AIオンデマンド交通・MaaS等）",
    MeasureKind.OTHER: "その他の施策",
}


class MeasureState(StrEnum):
    PLANNED = "planned"
    IN_PLACE = "in_place"
    ENDED = "ended"

    @property
    def label_ja(self) -> str:
        return {"planned": "計画中", "in_place": "実施中（実装済み）", "ended": "終了"}[self.value]


SUPPORT_LABELS_JA = {
    "": "なし",
    "digiden_grant": "デジタル田園都市国家構想交付金",
    "other_grant": "その他の国の補助金・交付金",
    "people": "人的支援（地域活性化起業人・デジタル専門人材派遣等）",
    "advice": "助言・伴走支援",
    "data_system": "データ・システムの提供",
}


class Fact(StrEnum):
    """A yes/no fact about a local government that national KPIs count."""

    DIGITAL_IMPLEMENTATION = "digital_implementation"
    SATELLITE_OFFICE = "satellite_office"
    KODOMO_CENTER = "kodomo_center"
    CORPORATE_FURUSATO = "corporate_furusato"
    NEW_MOBILITY = "new_mobility"

    @property
    def label_ja(self) -> str:
        return FACT_LABELS_JA[self]


FACT_LABELS_JA = {
    Fact.DIGITAL_IMPLEMENTATION: "デジタル実装が1件以上「実施中」",
    Fact.SATELLITE_OFFICE: "サテライトオフィス等の設置が「実施中」",
    Fact.KODOMO_CENTER: "こども家庭センターの設置が「実施中」",
    Fact.CORPORATE_FURUSATO: "企業版ふるさと納税の活用が「実施中」または「終了」（活用したことがある）",
    Fact.NEW_MOBILITY: "新たなモビリティサービスの取組が「実施中」",
}

_KIND_FACT = {
    MeasureKind.SATELLITE_OFFICE: Fact.SATELLITE_OFFICE,
    MeasureKind.KODOMO_CENTER: Fact.KODOMO_CENTER,
    MeasureKind.CORPORATE_FURUSATO: Fact.CORPORATE_FURUSATO,
    MeasureKind.NEW_MOBILITY: Fact.NEW_MOBILITY,
}


@dataclass(frozen=True)
class MeasureFacts:
    kind: MeasureKind
    digital: bool
    state: MeasureState
    start_fy: int | None


def facts_of(measures: Iterable[MeasureFacts], *, as_of_fy: int | None = None) -> frozenset[Fact]:
    """The facts a local government's measures establish (optionally only those started by
    a fiscal year). "Ever used" (企業版ふるさと納税) counts ended measures too."""
    out: set[Fact] = set()
    for m in measures:
        if as_of_fy is not None and m.start_fy is not None and m.start_fy > as_of_fy:
            continue
        ever = m.state in (MeasureState.IN_PLACE, MeasureState.ENDED)
        now = m.state is MeasureState.IN_PLACE
        if m.digital and now:
            out.add(Fact.DIGITAL_IMPLEMENTATION)
        f = _KIND_FACT.get(m.kind)
        if f is Fact.CORPORATE_FURUSATO and ever:
            out.add(f)
        elif f is not None and now:
            out.add(f)
    return frozenset(out)


@dataclass(frozen=True)
class Change:
    section: str      # vision / model_types / issues / measures / kpis
    key: str          # the item's name
    kind: str         # added / removed / changed
    before: Any
    after: Any

    @property
    def kind_ja(self) -> str:
        return {"added": "追加", "removed": "削除", "changed": "変更"}[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "key": self.key, "kind": self.kind, "before": self.before,
                "after": self.after}


SECTION_LABELS_JA = {"header": "基本情報", "model_types": "地域ビジョン（類型）", "issues": "社会課題",
                     "measures": "施策", "kpis": "KPI"}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed from one revision's snapshot to another's. Snapshots are dicts with
    ``header`` (a dict of fields) and lists ``model_types``, ``issues``, ``measures``, ``kpis``
    whose items carry a ``key``."""
    out: list[Change] = []
    oh, nh = old.get("header", {}), new.get("header", {})
    for f in sorted(set(oh) | set(nh)):
        if oh.get(f) != nh.get(f):
            out.append(Change("header", f, "changed", oh.get(f), nh.get(f)))
    for section in ("model_types", "issues", "measures", "kpis"):
        before = _keyed(old.get(section, []))
        after = _keyed(new.get(section, []))
        for k in before.keys() - after.keys():
            out.append(Change(section, k, "removed", before[k], None))
        for k in sorted(after.keys() - before.keys()):
            out.append(Change(section, k, "added", None, after[k]))
        for k in sorted(before.keys() & after.keys()):
            if before[k] != after[k]:
                out.append(Change(section, k, "changed", before[k], after[k]))
    order = {s: i for i, s in enumerate(SECTION_LABELS_JA)}
    return sorted(out, key=lambda c: (order[c.section], c.kind != "removed", c.key))


def _keyed(items: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(i["key"]): i for i in items}


def may_see(p: Principal, org: OrgRef, status: Status) -> bool:
    """May this principal see a revision of this local government's strategy in this state?"""
    if status is Status.ACCEPTED:
        return True
    if status in (Status.SUBMITTED, Status.PREFECTURE_APPROVED):
        return access.can_see_submitted(p, org)
    return access.can_see_drafts(p, org)
