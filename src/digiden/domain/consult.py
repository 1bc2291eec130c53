"""The consultation desk (ワンストップ相談) and hands-on support (伴走型支援): working days
(開庁日), the states of a consultation, routing rules, service levels, the desk's statistics,
FAQ entries without the asker's identity, and support plans. Pure: no I/O.

Working days. A day is a 開庁日 unless it is a Saturday or Sunday, a national holiday (国民の
祝日に関する法律; the holiday predicate is passed in — services/consult/calendar.py uses the
maintained ``holidays`` library, so 振替休日 and 国民の休日 are included), or one of the days
of 行政機関の休日に関する法律 (昭和63年法律第91号) 第1条第1項第3号: 12月29日から翌年1月3日まで.
All days are counted in Japan time (UTC+9, no daylight saving).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from digiden.domain import access
from digiden.domain.access import OrgRef, Principal
from digiden.domain.calendar import japan_date
from digiden.domain.errors import Conflict, InvalidInput
from digiden.domain.files import MEDIA_TYPES, check_file

#: A predicate that says whether a date is a national holiday.
HolidayPredicate = Callable[[date], bool]

FIRST_YEAR, LAST_YEAR = 2000, 2100   # the years the calendar counts (consultations start in 2020s)


def is_year_end_closure(d: date) -> bool:
    """12/29–1/3: 行政機関の休日に関する法律 第1条第1項第3号 (年末年始の休日)."""
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


class WorkingCalendar:
    """開庁日 arithmetic for one holiday predicate. Counting is by a cumulative index of open days
    per year (computed once per year), so counting between two dates costs a few lookups."""

    def __init__(self, is_holiday: HolidayPredicate) -> None:
        self._is_holiday = is_holiday
        self._years: dict[int, tuple[list[int], list[int]]] = {}   # year → (cumulative per day, open ordinals)
        self._before: dict[int, int] = {}                         # year → open days in earlier years

    def is_open(self, d: date) -> bool:
        """A 開庁日: not a weekend, a national holiday or 12/29–1/3."""
        return d.weekday() < 5 and not is_year_end_closure(d) and not self._is_holiday(d)

    def _check(self, d: date) -> None:
        if not FIRST_YEAR <= d.year <= LAST_YEAR:
            raise InvalidInput(f"date {d.isoformat()} outside {FIRST_YEAR}–{LAST_YEAR}",
                               message_ja=f"{FIRST_YEAR}年から{LAST_YEAR}年までの日付を指定してください"
                                          f"（{d.isoformat()}）", field="date")

    def _year(self, y: int) -> tuple[list[int], list[int]]:
        got = self._years.get(y)
        if got is None:
            cum: list[int] = []
            opens: list[int] = []
            n = 0
            d = date(y, 1, 1)
            while d.year == y:
                if self.is_open(d):
                    n += 1
                    opens.append(d.toordinal())
                cum.append(n)
                d += timedelta(days=1)
            got = (cum, opens)
            self._years[y] = got
        return got

    def _open_before_year(self, y: int) -> int:
        got = self._before.get(y)
        if got is None:
            got = 0 if y <= FIRST_YEAR else self._open_before_year(y - 1) + self._year(y - 1)[0][-1]
            self._before[y] = got
        return got

    def index(self, d: date) -> int:
        """How many 開庁日 there are from FIRST_YEAR-01-01 through ``d`` (inclusive)."""
        self._check(d)
        cum, _ = self._year(d.year)
        return self._open_before_year(d.year) + cum[d.timetuple().tm_yday - 1]

    def count(self, start: date, end: date) -> int:
        """開庁日 in (start, end]: received Monday, answered Tuesday = 1; the same day = 0;
        received Saturday, answered Monday = 1. Negative when ``end`` is before ``start``."""
        return self.index(end) - self.index(start)

    def count_between(self, start: datetime, end: datetime) -> int:
        """``count`` of the two instants' dates in Japan time."""
        return self.count(japan_date(start), japan_date(end))

    def add(self, start: date, n: int) -> date:
        """The n-th 開庁日 after ``start`` (``start`` itself for n = 0). For n ≥ 1 the result is
        always an open day, and ``count(start, add(start, n)) == n``."""
        if n < 0:
            raise InvalidInput("working days must be zero or more", message_ja="開庁日数は0以上で指定してください",
                               field="days")
        if n == 0:
            self._check(start)
            return start
        return self._nth_open(self.index(start) + n, start.year)

    def _nth_open(self, k: int, from_year: int) -> date:
        """The open day whose ``index`` is k (k ≥ 1), searching from ``from_year`` on."""
        y = from_year
        while y > FIRST_YEAR and self._open_before_year(y) >= k:
            y -= 1
        while True:
            self._check(date(y, 1, 1))
            base = self._open_before_year(y)
            cum, opens = self._year(y)
            if base + cum[-1] >= k:
                return date.fromordinal(opens[k - base - 1])
            y += 1

    def latest_start(self, end: date, n: int) -> date:
        """The latest day r with ``count(r, end) >= n`` (n ≥ 1): every day up to it has at least n
        開庁日 after it up to ``end``, every later day fewer. It turns "at least n working days old"
        into one comparison with a receipt date, so a database can count such rows."""
        if n < 1:
            raise InvalidInput("n must be at least 1", message_ja="開庁日数は1以上で指定してください", field="days")
        m = self.index(end) - n          # count(r, end) >= n  ⟺  index(r) <= m
        if m < 0:
            return date(FIRST_YEAR, 1, 1) - timedelta(days=1)
        return self._nth_open(m + 1, end.year) - timedelta(days=1)

    def overdue_if_received_by(self, today: date, n: int) -> date:
        """A consultation with a target of n 開庁日 is past its due day on ``today`` exactly when
        it was received (Japan date) on or before the returned day."""
        return self.latest_start(today - timedelta(days=1), n)

    def due(self, received: datetime, n: int) -> date:
        """The last day (Japan time) to act for a target of n 開庁日 from an instant."""
        return self.add(japan_date(received), n)


# ---------------------------------------------------------------- states


class State(StrEnum):
    """受付 → 担当決定 → 回答済 → 解決 / 終了; 統合済 for a duplicate merged into another."""

    RECEIVED = "received"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"

    @property
    def label_ja(self) -> str:
        return STATE_LABELS_JA[self]

    @property
    def open(self) -> bool:
        """Still waiting for someone (counts against the service levels)."""
        return self in (State.RECEIVED, State.ASSIGNED, State.ANSWERED)


STATE_LABELS_JA = {State.RECEIVED: "受付", State.ASSIGNED: "担当決定", State.ANSWERED: "回答済",
                   State.RESOLVED: "解決", State.CLOSED: "終了", State.MERGED: "統合済"}


class Step(StrEnum):
    ASSIGN = "assign"              # routed (automatically or by hand) to an office
    RESPONDER_REPLY = "responder_reply"
    ASKER_REPLY = "asker_reply"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"

    @property
    def label_ja(self) -> str:
        return STEP_LABELS_JA[self]


STEP_LABELS_JA = {Step.ASSIGN: "担当の決定", Step.RESPONDER_REPLY: "回答", Step.ASKER_REPLY: "返信",
                  Step.RESOLVE: "解決", Step.CLOSE: "終了", Step.REOPEN: "再開", Step.MERGE: "統合"}


def transition(state: State, step: Step) -> State:
    """The state after a step, or Conflict (in Japanese) if the step is not possible.

    An asker's reply to an answered or resolved consultation reopens it (担当決定: the office
    has to act again); a closed (終了) one takes no replies until reopened; a merged one takes
    nothing: the thread continues in the consultation it was merged into."""
    if state is State.MERGED:
        raise Conflict("the consultation was merged into another", field="state",
                       message_ja="この相談は別の相談に統合されました。統合先の相談で続けてください")
    table: dict[tuple[State, Step], State] = {
        (State.RECEIVED, Step.ASSIGN): State.ASSIGNED,
        (State.ASSIGNED, Step.ASSIGN): State.ASSIGNED,
        (State.ANSWERED, Step.ASSIGN): State.ANSWERED,
        (State.RECEIVED, Step.RESPONDER_REPLY): State.ANSWERED,
        (State.ASSIGNED, Step.RESPONDER_REPLY): State.ANSWERED,
        (State.ANSWERED, Step.RESPONDER_REPLY): State.ANSWERED,
        (State.RECEIVED, Step.ASKER_REPLY): State.RECEIVED,
        (State.ASSIGNED, Step.ASKER_REPLY): State.ASSIGNED,
        (State.ANSWERED, Step.ASKER_REPLY): State.ASSIGNED,
        (State.RESOLVED, Step.ASKER_REPLY): State.ASSIGNED,
        (State.RECEIVED, Step.RESOLVE): State.RESOLVED,
        (State.ASSIGNED, Step.RESOLVE): State.RESOLVED,
        (State.ANSWERED, Step.RESOLVE): State.RESOLVED,
        (State.RECEIVED, Step.CLOSE): State.CLOSED,
        (State.ASSIGNED, Step.CLOSE): State.CLOSED,
        (State.ANSWERED, Step.CLOSE): State.CLOSED,
        (State.RESOLVED, Step.CLOSE): State.CLOSED,
        (State.RESOLVED, Step.REOPEN): State.ASSIGNED,
        (State.CLOSED, Step.REOPEN): State.ASSIGNED,
        (State.RECEIVED, Step.MERGE): State.MERGED,
        (State.ASSIGNED, Step.MERGE): State.MERGED,
        (State.ANSWERED, Step.MERGE): State.MERGED,
        (State.RESOLVED, Step.MERGE): State.MERGED,
        (State.CLOSED, Step.MERGE): State.MERGED,
    }
    new = table.get((state, step))
    if new is None:
        if state is State.CLOSED and step in (Step.ASKER_REPLY, Step.RESPONDER_REPLY):
            raise Conflict("the consultation is closed; reopen it to reply", field="state",
                           message_ja="終了した相談には返信できません。再開してから返信してください")
        raise Conflict(f"cannot {step.value} a consultation that is {state.value}", field="state",
                       message_ja=f"「{state.label_ja}」の相談には「{step.label_ja}」を行えません")
    return new


def merge_check(duplicate_org_id: int, target_org_id: int, duplicate_id: int, target_id: int,
                target_state: State) -> None:
    """A duplicate merges into another consultation of the same local government that is not
    itself merged (merging across local governments would show one's question to another)."""
    if duplicate_id == target_id:
        raise InvalidInput("a consultation cannot be merged into itself", field="target",
                           message_ja="同じ相談には統合できません")
    if duplicate_org_id != target_org_id:
        raise InvalidInput("only consultations of the same local government can be merged", field="target",
                           message_ja="別の地方公共団体の相談とは統合できません")
    if target_state is State.MERGED:
        raise InvalidInput("the target was itself merged", field="target",
                           message_ja="統合先の相談は既に別の相談に統合されています。その統合先を指定してください")


# ---------------------------------------------------------------- input checks

SUBJECT_MAX = 200
BODY_MAX = 20_000
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENTS_MAX = 5
#: what may be attached: extension → media type (documents and images; no executables or archives)
ATTACHMENT_TYPES: dict[str, str] = {e: MEDIA_TYPES[e] for e in (
    ".pdf", ".png", ".jpg", ".jpeg", ".txt", ".csv", ".xlsx", ".docx", ".pptx")}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_field(value: object, *, max_len: int, field: str, label_ja: str, required: bool = True,
               one_line: bool = False) -> str:
    """A text a person typed: stripped, no control characters, within its length; required ones
    refuse an empty or blank value (zero-width characters alone are blank). ``one_line``: a
    subject, a name or a title, which also refuses a line break (it would end up in an e-mail
    header)."""
    s = "" if value is None else str(value)
    s = unicodedata.normalize("NFC", s).strip()
    if required and not "".join(c for c in s if unicodedata.category(c) != "Cf").strip():
        raise InvalidInput(f"{field} is empty", message_ja=f"{label_ja}を入力してください", field=field)
    if one_line and ("\n" in s or "\r" in s):
        raise InvalidInput(f"{field} is one line", field=field,
                           message_ja=f"{label_ja}は改行を含めず1行で入力してください")
    if _CONTROL.search(s):
        raise InvalidInput(f"{field} contains control characters", field=field,
                           message_ja=f"{label_ja}に制御文字が含まれています")
    if len(s) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters", field=field,
                           message_ja=f"{label_ja}は{max_len:,}文字以内で入力してください（{len(s):,}文字）")
    return s


def check_attachment(name: str, data: bytes) -> str:
    """The media type of an accepted attachment, or InvalidInput naming the file: over the size
    limit, a type that is refused, or content that is not what its name says (domain.files)."""
    return check_file(name, data, accept=ATTACHMENT_TYPES, max_bytes=ATTACHMENT_MAX_BYTES,
                      field="attachment").media_type


# ---------------------------------------------------------------- kinds and service levels


class Kind(StrEnum):
    """What is asked: each kind has its own service levels."""

    GENERAL = "general"
    PROGRAMME = "programme"      # 交付金・補助金・制度の使い方
    DATA = "data"                # データ・システム・技術
    LEGAL = "legal"              # 法令・規制の解釈
    SUPPORT = "support"          # 伴走型支援の申し出

    @property
    def label_ja(self) -> str:
        return KIND_LABELS_JA[self]

    @classmethod
    def parse(cls, text: object) -> Kind:
        t = str(text or "").strip()
        for k in cls:
            if t in (k.value, k.label_ja):
                return k
        raise InvalidInput(f"unknown kind {t!r}", field="kind",
                           message_ja=f"相談の種類が正しくありません: {t}（{'、'.join(k.label_ja for k in cls)}）")


KIND_LABELS_JA = {Kind.GENERAL: "一般的な相談", Kind.PROGRAMME: "交付金・補助金・制度",
                  Kind.DATA: "データ・システム・技術", Kind.LEGAL: "法令・規制", Kind.SUPPORT: "伴走型支援の申し出"}


@dataclass(frozen=True)
class ServiceLevel:
    """Targets in 開庁日 from receipt: a first response, and a resolution."""

    first_response_days: int
    resolution_days: int

    def __post_init__(self) -> None:
        for name, v, label in (("first_response_days", self.first_response_days, "初回回答の目標"),
                               ("resolution_days", self.resolution_days, "解決の目標")):
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 250:
                raise InvalidInput(f"{name} must be 1..250 working days", field=name,
                                   message_ja=f"{label}は1〜250開庁日で指定してください")
        if self.resolution_days < self.first_response_days:
            raise InvalidInput("resolution target before first-response target", field="resolution_days",
                               message_ja="解決の目標は初回回答の目標以上の開庁日数にしてください")


#: The desk's defaults (administrators may change them per kind).
DEFAULT_SERVICE_LEVELS: dict[Kind, ServiceLevel] = {
    Kind.GENERAL: ServiceLevel(3, 15),
    Kind.PROGRAMME: ServiceLevel(2, 10),
    Kind.DATA: ServiceLevel(3, 20),
    Kind.LEGAL: ServiceLevel(5, 30),
    Kind.SUPPORT: ServiceLevel(5, 20),
}


class Overdue(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"

    @property
    def label_ja(self) -> str:
        return {"first_response": "初回回答の期限超過", "resolution": "解決の期限超過"}[self.value]


@dataclass(frozen=True)
class Timing:
    """A consultation's clock: when it came in, when it was first answered and resolved."""

    received_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    state: State


def due_dates(cal: WorkingCalendar, t: Timing, level: ServiceLevel) -> tuple[date, date]:
    """(first response due, resolution due): the last 開庁日 on which each is on time."""
    return cal.due(t.received_at, level.first_response_days), cal.due(t.received_at, level.resolution_days)


def overdue(cal: WorkingCalendar, t: Timing, level: ServiceLevel, now: datetime) -> list[Overdue]:
    """What is late at ``now``: a first response not given by the end of its due day (Japan
    time), or an open consultation not resolved by the end of its due day. A consultation answered
    late but now answered is no longer overdue for its first response (the statistics keep it)."""
    today = japan_date(now)
    first_due, resolve_due = due_dates(cal, t, level)
    out: list[Overdue] = []
    if t.state.open and t.first_response_at is None and today > first_due:
        out.append(Overdue.FIRST_RESPONSE)
    if t.state.open and today > resolve_due:
        out.append(Overdue.RESOLUTION)
    return out


# ---------------------------------------------------------------- routing

#: The regional office families of the reference data: family → the ministry it serves.
FAMILIES: dict[str, str] = {
    "総合通信局": "総務省", "経済産業局": "経済産業省", "地方整備局": "国土交通省", "地方運輸局": "国土交通省",
    "地方農政局": "農林水産省", "地方環境事務所": "環境省", "財務局": "財務省", "地方厚生局": "厚生労働省",
}
#: 沖縄総合事務局's departments (内閣府) and their family
_OKINAWA = {"経済産業部": "経済産業局", "財務部": "財務局", "農林水産部": "地方農政局", "運輸部": "地方運輸局",
            "開発建設部": "地方整備局"}


def family_of(ministry: str, bureau: str) -> str:
    """The family of one office of the reference data (e.g. 神戸運輸監理部 → 地方運輸局)."""
    if bureau.startswith("沖縄総合事務局"):
        dept = bureau.split()[-1]
        if dept in _OKINAWA:
            return _OKINAWA[dept]
    if ministry == "国土交通省":
        return "地方運輸局" if "運輸" in bureau else "地方整備局"
    for fam, m in FAMILIES.items():
        if m == ministry:
            return fam
    raise InvalidInput(f"no family for {ministry} {bureau}", field="bureau",
                       message_ja=f"地方支分部局の系統が分かりません: {ministry} {bureau}")


class OfficeKind(StrEnum):
    DESK = "desk"            # the national one-stop desk
    MINISTRY = "ministry"    # a ministry's own section
    REGIONAL = "regional"    # a regional branch office (地方支分部局)

    @property
    def label_ja(self) -> str:
        return {"desk": "国の相談窓口", "ministry": "府省", "regional": "地方支分部局"}[self.value]


@dataclass(frozen=True)
class OfficeRef:
    """An office as routing sees it: which prefectures it covers for its family, and which of
    those assignments are still unconfirmed (INFERRED in the reference data)."""

    id: int
    name: str
    ministry: str
    kind: OfficeKind
    family: str = ""
    prefectures: frozenset[str] = frozenset()
    unconfirmed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    """A routing rule of the desk: consultations about this measure (or, else, this field) go to
    this ministry, and through ``family`` to the regional office covering the asker's prefecture."""

    id: int
    ministry: str
    field_code: str | None = None
    measure_code: str | None = None
    family: str = ""
    priority: int = 100


@dataclass(frozen=True)
class Routing:
    office_id: int
    office_name: str
    rule_id: int | None
    reason_ja: str
    unconfirmed: bool = False   # the office covers the prefecture by an assignment not yet confirmed


@dataclass(frozen=True)
class RouteRequest:
    prefecture_code: str
    field_code: str | None
    measure_codes: tuple[str, ...] = ()


class Router:
    """The rules and offices, indexed once; ``route`` costs a few dictionary lookups."""

    def __init__(self, rules: Iterable[Rule], offices: Iterable[OfficeRef]) -> None:
        self.offices = {o.id: o for o in offices}
        desks = [o for o in self.offices.values() if o.kind is OfficeKind.DESK]
        if not desks:
            raise InvalidInput("no national desk office", field="office",
                               message_ja="国の相談窓口が登録されていません")
        self.desk = min(desks, key=lambda o: o.id)
        self.by_measure: dict[str, list[Rule]] = {}
        self.by_field: dict[str, list[Rule]] = {}
        for r in sorted(rules, key=lambda r: (r.priority, r.id)):
            if r.measure_code:
                self.by_measure.setdefault(r.measure_code, []).append(r)
            elif r.field_code:
                self.by_field.setdefault(r.field_code, []).append(r)
        self.regional: dict[tuple[str, str], OfficeRef] = {}
        self.ministry: dict[str, OfficeRef] = {}
        for o in sorted(self.offices.values(), key=lambda o: o.id):
            if o.kind is OfficeKind.REGIONAL:
                for pref in o.prefectures:
                    self.regional.setdefault((o.family, pref), o)
            elif o.kind is OfficeKind.MINISTRY:
                self.ministry.setdefault(o.ministry, o)

    def rule_for(self, req: RouteRequest) -> Rule | None:
        """Measure rules first (the most specific), then field rules; each by priority, then id."""
        found = [r for m in req.measure_codes for r in self.by_measure.get(m, ())]
        if found:
            return min(found, key=lambda r: (r.priority, r.id))
        if req.field_code and req.field_code in self.by_field:
            return self.by_field[req.field_code][0]
        return None

    def target(self, rule: Rule, prefecture_code: str) -> OfficeRef | None:
        if rule.family:
            o = self.regional.get((rule.family, prefecture_code))
            if o is not None:
                return o
        return self.ministry.get(rule.ministry)

    def route(self, req: RouteRequest) -> Routing:
        rule = self.rule_for(req)
        if rule is None:
            return Routing(self.desk.id, self.desk.name, None,
                           "分野・施策に合う振り分けルールがないため、国の相談窓口が受け付けます")
        what = f"施策「{rule.measure_code}」" if rule.measure_code else f"分野「{rule.field_code}」"
        o = self.target(rule, req.prefecture_code)
        if o is None:
            return Routing(self.desk.id, self.desk.name, rule.id,
                           f"{what}は{rule.ministry}の担当ですが、担当の部局が登録されていないため国の相談窓口が受け付けます")
        if o.kind is OfficeKind.REGIONAL:
            unconfirmed = req.prefecture_code in o.unconfirmed
            note = "（管轄は未確認）" if unconfirmed else ""
            return Routing(o.id, o.name, rule.id,
                           f"{what}は{rule.ministry}の担当で、相談者の都道府県を管轄する{o.name}が担当します{note}",
                           unconfirmed)
        return Routing(o.id, o.name, rule.id, f"{what}は{rule.ministry}（{o.name}）が担当します")


def uncovered_pairs(rule: Rule, offices: Iterable[OfficeRef], prefecture_codes: Iterable[str],
                    fields: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(field or measure, prefecture) pairs the rule would leave without an office: a family that
    covers not every prefecture and no office of the ministry to fall back on, or a ministry with
    no office at all."""
    router_offices = list(offices)
    regional = {(o.family, p) for o in router_offices if o.kind is OfficeKind.REGIONAL for p in o.prefectures}
    has_ministry = any(o.kind is OfficeKind.MINISTRY and o.ministry == rule.ministry for o in router_offices)
    keys = [rule.measure_code] if rule.measure_code else ([rule.field_code] if rule.field_code else list(fields))
    out: list[tuple[str, str]] = []
    for pref in sorted(prefecture_codes):
        covered = (bool(rule.family) and (rule.family, pref) in regional) or has_ministry
        if not covered:
            out.extend((str(k), pref) for k in keys)
    return out


def check_rule(rule: Rule, offices: Sequence[OfficeRef], prefecture_codes: Mapping[str, str]) -> None:
    """Refuse a rule that names nothing, a family of another ministry, or leaves pairs without an
    office; the message lists the pairs (``prefecture_codes``: code → name)."""
    if not rule.field_code and not rule.measure_code:
        raise InvalidInput("a rule needs a field or a measure", field="field",
                           message_ja="振り分けルールには分野か施策を指定してください")
    if not rule.ministry.strip():
        raise InvalidInput("a rule needs a ministry", field="ministry", message_ja="担当府省を指定してください")
    families = {o.family: o.ministry for o in offices if o.kind is OfficeKind.REGIONAL}
    if rule.family and rule.family not in families:
        raise InvalidInput(f"unknown family {rule.family}", field="family",
                           message_ja=f"地方支分部局の系統「{rule.family}」は登録されていません")
    if rule.family and FAMILIES.get(rule.family, rule.ministry) != rule.ministry:
        raise InvalidInput(f"{rule.family} is not of {rule.ministry}", field="family",
                           message_ja=f"「{rule.family}」は{FAMILIES[rule.family]}の部局です（指定: {rule.ministry}）")
    missing = uncovered_pairs(rule, offices, prefecture_codes)
    if missing:
        shown = "、".join(f"{k}×{prefecture_codes.get(p, p)}" for k, p in missing[:10])
        more = f" ほか{len(missing) - 10}組" if len(missing) > 10 else ""
        raise InvalidInput(f"{len(missing)} field × prefecture pairs have no office", field="family",
                           message_ja=f"このルールでは担当部局のない組み合わせが{len(missing)}組あります:"
                                      f" {shown}{more}",
                           details={"pairs": [list(x) for x in missing]})


# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) by linear interpolation between closest ranks (as numpy's
    default and PostgreSQL's percentile_cont); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


@dataclass(frozen=True)
class CaseTimes:
    """What the statistics need of one consultation: its times in 開庁日 from receipt (None: not
    yet), counted when they happened (``WorkingCalendar.count_between``)."""

    office: str
    field: str
    received_at: datetime
    first_response_days: int | None
    resolution_days: int | None
    state: State


@dataclass(frozen=True)
class Summary:
    group: str
    received: int
    open: int
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None


def _summary(group: str, cases: Sequence[CaseTimes]) -> Summary:
    first = [c.first_response_days for c in cases if c.first_response_days is not None]
    res = [c.resolution_days for c in cases if c.resolution_days is not None]
    return Summary(group, len(cases), sum(1 for c in cases if c.state.open),
                   percentile(first, 50), percentile(first, 90), percentile(res, 50), percentile(res, 90))


def desk_statistics(cases: Iterable[CaseTimes], *, by: str) -> list[Summary]:
    """Per office (``by="office"``), per field (``by="field"``) or per month of receipt in Japan
    time (``by="month"``, YYYY-MM: the desk over time): how many came in, how many are open, and
    the median and 90th percentile of first-response and resolution times in 開庁日."""
    if by not in ("office", "field", "month"):
        raise InvalidInput(f"unknown grouping {by}", field="by",
                           message_ja="集計の単位は office（部局）、field（分野）、month（月）のいずれかです")
    groups: dict[str, list[CaseTimes]] = {}
    for c in cases:
        key = japan_date(c.received_at).strftime("%Y-%m") if by == "month" else getattr(c, by)
        groups.setdefault(key, []).append(c)
    return [_summary(g, groups[g]) for g in sorted(groups)]


def percentile_counts(counts: Mapping[int, int], q: float) -> float | None:
    """``percentile`` of the values a histogram (value → how many) stands for, without expanding
    it: the desk's times are a few dozen distinct working-day counts over many consultations."""
    total = sum(counts.values())
    if total == 0:
        return None
    pos = (total - 1) * q / 100
    lo_rank = math.floor(pos)
    hi_rank = min(lo_rank + 1, total - 1)
    lo_val = hi_val = None
    seen = 0
    for v in sorted(counts):
        seen += counts[v]
        if lo_val is None and seen > lo_rank:
            lo_val = v
        if seen > hi_rank:
            hi_val = v
            break
    assert lo_val is not None and hi_val is not None
    return float(lo_val + (hi_val - lo_val) * (pos - lo_rank))


#: one consultation as the dashboard reads it: office, field, month of receipt (YYYY-MM, Japan
#: time), first-response and resolution times in 開庁日 (None: not yet), still open
StatRow = tuple[str, str, str, int | None, int | None, bool]


def statistics_of_rows(rows: Iterable[StatRow]) -> dict[str, list[Summary]]:
    """``desk_statistics`` by office, field and month in one pass over plain rows, with histograms
    instead of lists (the same numbers: tests/domain/test_consult.py compares the two)."""
    acc: dict[str, dict[str, list[Any]]] = {"office": {}, "field": {}, "month": {}}
    for office, field_, month, first, res, is_open in rows:
        for by, key in (("office", office), ("field", field_), ("month", month)):
            a = acc[by].get(key)
            if a is None:
                a = acc[by][key] = [0, 0, {}, {}]
            a[0] += 1
            if is_open:
                a[1] += 1
            if first is not None:
                a[2][first] = a[2].get(first, 0) + 1
            if res is not None:
                a[3][res] = a[3].get(res, 0) + 1
    return {by: [Summary(g, a[0], a[1], percentile_counts(a[2], 50), percentile_counts(a[2], 90),
                         percentile_counts(a[3], 50), percentile_counts(a[3], 90))
                 for g, a in sorted(groups.items())]
            for by, groups in acc.items()}


AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 2, "0〜2開庁日"), (3, 5, "3〜5開庁日"), (6, 10, "6〜10開庁日"), (11, 20, "11〜20開庁日"),
    (21, None, "21開庁日以上"))


def age_band(days: int) -> str:
    """The dashboard's band for an open consultation's age in 開庁日."""
    for lo, hi, label in AGE_BANDS:
        if days >= lo and (hi is None or days <= hi):
            return label
    return AGE_BANDS[0][2]


# ---------------------------------------------------------------- access


@dataclass(frozen=True)
class CaseReach:
    """What access needs of one consultation: the asking local government, the offices it is
    assigned (``offices``: the primary and those it is shared with) and the prefecture's view."""

    org: OrgRef
    offices: frozenset[int]
    share_with_prefecture: bool = True


@dataclass(frozen=True)
class Desk:
    """What the principal is at the desk: the offices it answers for, and whether it is a member
    of the national desk."""

    office_ids: frozenset[int] = frozenset()
    national: bool = False


def is_national_desk(p: Principal, desk: Desk) -> bool:
    return p.is_admin or desk.national


def is_responder(p: Principal, desk: Desk, case: CaseReach) -> bool:
    """Answers this consultation and reads its internal notes: its offices' responders and the
    national desk."""
    return p.signed_in and (is_national_desk(p, desk) or bool(desk.office_ids & case.offices))


def may_see_case(p: Principal, desk: Desk, case: CaseReach) -> bool:
    """The asking local government, its prefecture (when the asker shares it, the default:
    prefectures give municipalities their first-line support), the offices it is assigned or
    shared to and the national desk. Not other local governments, not the public."""
    if not p.signed_in:
        return False
    if is_responder(p, desk, case) or access.owns(p, case.org):
        return True
    return case.share_with_prefecture and access.in_jurisdiction(p, case.org)


def may_ask_at_all(p: Principal) -> bool:
    """Whether ``p`` asks for some local government: its own staff, or the national administrator
    filing for one (``may_ask`` decides for a given local government)."""
    return p.can_write_at_all and (p.is_admin or (p.role in (access.Role.MUNICIPALITY, access.Role.PREFECTURE)
                                                  and p.org_unit_id is not None))


def may_ask(p: Principal, org: OrgRef) -> bool:
    """A consultation is asked by a local government's own staff (or by the desk on its behalf)."""
    if not p.can_write_at_all:
        return False
    return p.is_admin or (p.role in (access.Role.MUNICIPALITY, access.Role.PREFECTURE) and access.owns(p, org))


def may_reply_as_asker(p: Principal, case: CaseReach) -> bool:
    return p.can_write_at_all and access.owns(p, case.org)


def may_respond(p: Principal, desk: Desk, case: CaseReach) -> bool:
    return p.can_write_at_all and is_responder(p, desk, case)


def may_see_personal(p: Principal, desk: Desk, case: CaseReach) -> bool:
    """The asker's name, e-mail and phone: its own local government, the responders."""
    return p.signed_in and (access.owns(p, case.org) or is_responder(p, desk, case))


# ---------------------------------------------------------------- FAQ

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-＠]+[@＠][A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# digits as typed, half- or full-width; the separators people put in a phone number
_D = "[0-9０-９]"
_SEP = "[-‐－ー―(（)）\\s]"
_PHONE = re.compile(rf"(?<![0-9０-９])(?:[0０]{_D}{{1,4}}{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}}"
                    rf"|[+＋][8８][1１]{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}})(?![0-9０-９])")
# how people address someone by the family name alone: 山田様, 山田さん, 山田氏
_HONORIFIC = "(?:様|さま|さん|氏|殿)"
_ORG_SUFFIX = re.compile(r"(市|町|村|区)$")


def _spaced(word: str) -> str:
    """A pattern for ``word`` however it is spaced or which width its letters have: 山田太郎 also
    finds 山田 太郎 and 山田　太郎, ＡＢＣ finds ABC."""
    chars = [c for c in unicodedata.normalize("NFKC", word) if not c.isspace()]
    alts = []
    for c in chars:
        wide = chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c
        alts.append(re.escape(c) if wide == c else f"[{re.escape(c)}{re.escape(wide)}]")
    return r"\s*".join(alts)


def _person_like(parts: list[str]) -> bool:
    """Whether a name looks like a person's written in Japanese (山田太郎, 山田 太郎), not an
    address, a number, an account or an organisation: its parts are matched alone."""
    return (1 <= len(parts) <= 2 and all(len(p) <= 6 for p in parts)
            and not any(ch.isascii() or ch.isdigit() for p in parts for ch in p)
            and not any(p.endswith(("市", "町", "村", "区", "県", "都", "府", "道", "庁", "局", "省")) for p in parts))


def _identity_patterns(identities: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    """(what to name, a pattern) for each way the asker may still be named: each identity however
    spaced; a name's parts when it was given with a space (山田 太郎: 山田, 太郎), or its first two
    or three letters before an honorific when it was not (山田太郎: 山田様); a local government's
    name without 市・町・村・区 (会津若松市: 会津若松). Longest first, so the full name goes before
    its parts."""
    out: dict[str, str] = {}
    for raw in identities:
        name = unicodedata.normalize("NFKC", raw or "").strip()
        if not name:
            continue
        out.setdefault(name, _spaced(name))
        parts = name.split()
        if _person_like(parts):
            if len(parts) == 2:
                for part in parts:
                    if len(part) >= 2:
                        out.setdefault(part, _spaced(part))
            elif len(name) >= 3:
                for n in (2, 3):
                    if n < len(name):
                        out.setdefault(name[:n] + "（敬称付き）", _spaced(name[:n]) + _HONORIFIC)
        short = _ORG_SUFFIX.sub("", name)
        if short != name and len(short) >= 2:
            out.setdefault(short, _spaced(short))
    return [(label, re.compile(pattern)) for label, pattern in sorted(out.items(), key=lambda kv: -len(kv[0]))]


def anonymize(text: str, identities: Iterable[str]) -> str:
    """The text with the asker's identity removed: e-mail addresses, phone numbers (half- or
    full-width, +81 too), and each of ``identities`` (the asker's name, its local government's
    names, the account) in every form ``_identity_patterns`` knows, longest first."""
    out = unicodedata.normalize("NFC", text)
    out = _EMAIL.sub("［メールアドレス］", out)
    out = _PHONE.sub("［電話番号］", out)
    for _, pattern in _identity_patterns(identities):
        out = pattern.sub("［相談者］", out)
    return out


def identity_left(text: str, identities: Iterable[str]) -> list[str]:
    """What still identifies the asker in a FAQ text (refused at publication), found the same
    ways ``anonymize`` removes it."""
    found: list[str] = []
    if _EMAIL.search(text):
        found.append("メールアドレス")
    if _PHONE.search(text):
        found.append("電話番号")
    found.extend(f"「{label}」" for label, pattern in _identity_patterns(identities) if pattern.search(text))
    return found


class FaqState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label_ja(self) -> str:
        return {"draft": "下書き", "in_review": "確認待ち", "published": "公開",
                "withdrawn": "公開取り下げ"}[self.value]


def faq_transition(state: FaqState, action: str, *, author: str, actor: str) -> FaqState:
    """下書き → 確認待ち → 公開 (by someone other than its author) → 取り下げ; a review may send it back."""
    table = {(FaqState.DRAFT, "submit"): FaqState.IN_REVIEW,
             (FaqState.IN_REVIEW, "publish"): FaqState.PUBLISHED,
             (FaqState.IN_REVIEW, "return"): FaqState.DRAFT,
             (FaqState.PUBLISHED, "withdraw"): FaqState.WITHDRAWN,
             (FaqState.WITHDRAWN, "submit"): FaqState.IN_REVIEW}
    new = table.get((state, action))
    if new is None:
        raise Conflict(f"cannot {action} an FAQ entry that is {state.value}", field="action",
                       message_ja=f"「{state.label_ja}」のFAQには「{action}」を行えません")
    if action == "publish" and author == actor:
        raise Conflict("the author cannot publish their own FAQ entry", field="action",
                       message_ja="FAQは作成者以外の人が確認してから公開してください")
    return new


# ---------------------------------------------------------------- support plans (伴走型支援)


class PlanState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    SUSPENDED = "suspended"

    @property
    def label_ja(self) -> str:
        return {"active": "支援中", "completed": "完了", "suspended": "中断"}[self.value]


class ActionState(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label_ja(self) -> str:
        return {"open": "未完了", "done": "完了", "dropped": "取りやめ"}[self.value]


class StaffSide(StrEnum):
    NATIONAL = "national"
    REGIONAL = "regional"

    @property
    def label_ja(self) -> str:
        return {"national": "国（地方創生コンシェルジュ等）", "regional": "地方支分部局"}[self.value]


def check_dates(start: date, due: date | None, *, field: str = "due", label_ja: str = "期限") -> None:
    """A due date (or an end) on or after the start."""
    if due is not None and due < start:
        raise InvalidInput(f"{field} {due.isoformat()} is before the start {start.isoformat()}", field=field,
                           message_ja=f"{label_ja}（{due.isoformat()}）が開始日（{start.isoformat()}）より前です")


@dataclass(frozen=True)
class ActionItem:
    due: date
    state: ActionState


@dataclass(frozen=True)
class Progress:
    goals: int
    goals_achieved: int
    actions: int
    actions_done: int
    actions_overdue: int

    @property
    def percent(self) -> float | None:
        """Done action items over those not dropped (dropped ones do not count either way)."""
        return None if self.actions == 0 else round(100 * self.actions_done / self.actions, 1)


def plan_progress(goals_achieved: Sequence[bool], actions: Sequence[ActionItem], today: date) -> Progress:
    live = [a for a in actions if a.state is not ActionState.DROPPED]
    return Progress(len(goals_achieved), sum(1 for g in goals_achieved if g), len(live),
                    sum(1 for a in live if a.state is ActionState.DONE),
                    sum(1 for a in live if a.state is ActionState.OPEN and a.due < today))


@dataclass(frozen=True)
class PlanReach:
    org: OrgRef
    staff_user_ids: frozenset[int] = field(default_factory=frozenset)


def may_see_plan(p: Principal, desk: Desk, plan: PlanReach) -> bool:
    """The local government, its prefecture, the assigned staff and the national desk."""
    if not p.signed_in:
        return False
    return (is_national_desk(p, desk) or access.owns(p, plan.org) or access.in_jurisdiction(p, plan.org)
            or (p.user_id is not None and p.user_id in plan.staff_user_ids))


def may_edit_plan(p: Principal, desk: Desk, plan: PlanReach) -> bool:
    """Minutes, action items and goals: the assigned staff, the local government, the national desk
    (the prefecture follows the plan; it does not write it)."""
    return p.can_write_at_all and (is_national_desk(p, desk) or access.owns(p, plan.org)
                                   or (p.user_id is not None and p.user_id in plan.staff_user_ids))


def may_start_plan(p: Principal, desk: Desk) -> bool:
    """A plan is opened by the national desk (on a local government's request or its own choice)."""
    return p.can_write_at_all and is_national_desk(p, desk)


def timeline(entries: Iterable[tuple[datetime, str, str]]) -> list[tuple[datetime, str, str]]:
    """A plan's timeline: (when, kind, text) oldest first, stable for equal times."""
    return sorted(entries, key=lambda e: e[0])
