"""重点支援: support programmes, their calls for proposals, applications (one local government or
several jointly), review against a rubric, normalisation of reviewers' scores, the choice of the
applications to select, and the explanation of every outcome. Pure: no I/O.

The formulas are written out in docs/programmes.md. In short:

- a rubric's weights sum to 100; one review's score is ``Σ_c w_c · x_c / M_c`` (0–100);
- a joint proposal gets the call's 地域間連携 bonus (0–20 points) on top, and/or the rubric has a
  criterion marked 地域間連携 that reviewers score;
- each reviewer's scores are standardised (z-score) and put back on the call's scale:
  ``N = μ + σ · (S − μ_r) / σ_r``; a reviewer with one review or no spread is left as marked;
- the selection maximises the total normalised score under the budget and the constraints the
  administrator switches on, as a 0-1 integer programme. The solver itself is passed in
  (``Solver``): the domain states the model, the services run it (scipy's HiGHS).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from digiden.domain.access import OrgRef
from digiden.domain.calendar import JST
from digiden.domain.errors import Conflict, InvalidInput


def jst_text(t: datetime) -> str:
    """A moment as people in Japan read it: 2026年12月1日 17:00（日本時間）."""
    local = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}（日本時間）"


def yen_text(amount: float) -> str:
    return f"{int(round(amount)):,}円"


# ------------------------------------------------------------------ programmes


class ProgrammeKind(StrEnum):
    """What a programme does with a proposal."""

    SELECTION = "selection"          # 選定 (スマートシティ, 脱炭素先行地域)
    REGISTRATION = "registration"    # 登録 (「デジ活」中山間地域)
    ADOPTION = "adoption"            # 採択 (a project adopted for support)
    GRANT = "grant"                  # 交付金 (money for implementation)

    @property
    def label_ja(self) -> str:
        return PROGRAMME_KIND_LABELS_JA[self]

    @property
    def involves_money(self) -> bool:
        return self in (ProgrammeKind.ADOPTION, ProgrammeKind.GRANT)

    @classmethod
    def parse(cls, text: str) -> ProgrammeKind:
        t = (text or "").strip()
        for k in cls:
            if t in (k.value, k.label_ja):
                return k
        raise InvalidInput(f"unknown programme kind {t!r}",
                           message_ja=f"制度の種類が不明です: {t}（選定・登録・採択・交付金）",
                           field="kind")


PROGRAMME_KIND_LABELS_JA = {
    ProgrammeKind.SELECTION: "選定",
    ProgrammeKind.REGISTRATION: "登録",
    ProgrammeKind.ADOPTION: "採択",
    ProgrammeKind.GRANT: "交付金",
}

# The kinds of local government a call may admit (org_unit.kind).
ORG_KINDS_JA = {
    "prefecture": "都道府県",
    "designated_city": "政令指定都市",
    "city": "市",
    "special_ward": "特別区",
    "town": "町",
    "village": "村",
}


# ------------------------------------------------------------------ calls

MAX_JOINT_BONUS = 20.0
MAX_MEMBERS = 50


@dataclass(frozen=True)
class CallTerms:
    """A call for proposals (公募) as the rules need it."""

    round: int
    opens_at: datetime
    closes_at: datetime
    budget: int | None                 # yen; None where no money is involved
    per_application_cap: int | None    # yen
    eligible_kinds: frozenset[str]
    joint_allowed: bool
    joint_bonus: float = 0.0           # points added to a joint proposal's score (0–20)


def check_call(t: CallTerms, *, kind: ProgrammeKind) -> CallTerms:
    """The terms of a call, or InvalidInput saying which is wrong (in Japanese)."""
    if t.round < 1:
        raise InvalidInput("round must be 1 or more", message_ja="公募の回は1以上の整数で入力してください",
                                                      field="round")
    for name, v in (("opens_at", t.opens_at), ("closes_at", t.closes_at)):
        if v.tzinfo is None:
            raise InvalidInput(f"{name}: a time zone is required",
                               message_ja="日時はタイムゾーン付きで指定してください（日本時間）", field=name)
    if t.closes_at <= t.opens_at:
        raise InvalidInput("the call must close after it opens",
                           message_ja=f"締切（{jst_text(t.closes_at)}）は受付開始（{jst_text(t.opens_at)}）より後にしてください",
                           field="closes_at")
    if kind.involves_money and t.budget is None:
        raise InvalidInput("a call of this programme needs a budget",
                           message_ja=f"「{kind.label_ja}」の公募には予算額が必要です", field="budget")
    if t.budget is not None and t.budget <= 0:
        raise InvalidInput("the budget must be positive",
                           message_ja="予算額は1円以上で入力してください（0や負の額は指定できません）", field="budget")
    if t.per_application_cap is not None:
        if t.per_application_cap <= 0:
            raise InvalidInput("the per-application cap must be positive",
                               message_ja="1件あたりの上限額は1円以上で入力してください", field="per_application_cap")
        if t.budget is not None and t.per_application_cap > t.budget:
            raise InvalidInput("the per-application cap exceeds the budget",
                               message_ja=f"1件あたりの上限額（{yen_text(t.per_application_cap)}）が予算額"
                                          f"（{yen_text(t.budget)}）を超えています", field="per_application_cap")
    if not t.eligible_kinds:
        raise InvalidInput("name at least one kind of local government",
                           message_ja="応募できる団体区分を1つ以上選んでください", field="eligible_kinds")
    unknown = sorted(t.eligible_kinds - ORG_KINDS_JA.keys())
    if unknown:
        raise InvalidInput(f"unknown kinds of local government: {', '.join(unknown)}",
                           message_ja=f"不明な団体区分です: {'、'.join(unknown)}", field="eligible_kinds")
    if not (0.0 <= t.joint_bonus <= MAX_JOINT_BONUS) or not math.isfinite(t.joint_bonus):
        raise InvalidInput("joint bonus out of range",
                           message_ja=f"地域間連携の加点は0〜{MAX_JOINT_BONUS:g}点で入力してください",
                           field="joint_bonus")
    if t.joint_bonus and not t.joint_allowed:
        raise InvalidInput("a joint bonus needs joint applications allowed",
                           message_ja="共同提案を認めない公募には地域間連携の加点を設定できません", field="joint_bonus")
    return t


def call_phase(t: CallTerms, now: datetime) -> str:
    """before / open / closed."""
    if now < t.opens_at:
        return "before"
    return "open" if now <= t.closes_at else "closed"


# ------------------------------------------------------------------ rubric

WEIGHT_TOTAL = 100.0
_EPS = 1e-9


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    weight: float          # share of the 100 points
    max_points: float      # the scale a reviewer marks on (e.g. 5 or 10)
    regional_collaboration: bool = False   # 地域間連携 criterion
    description: str = ""


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    joint_bonus: float = 0.0

    def weighted(self, scores: Mapping[str, float]) -> float:
        """One review's score on 0–100: Σ w_c · x_c / M_c (scores already checked)."""
        return sum(c.weight * float(scores[c.code]) / c.max_points for c in self.criteria)


def check_rubric(criteria: Sequence[Criterion], *, joint_allowed: bool, joint_bonus: float) -> Rubric:
    """Criteria with positive weights summing to 100 and a positive scale; a call that admits
    joint proposals evaluates 地域間連携 (a criterion so marked, or a bonus)."""
    if not criteria:
        raise InvalidInput("a rubric needs at least one criterion",
                           message_ja="評価基準を1つ以上設定してください", field="criteria")
    seen: set[str] = set()
    for i, c in enumerate(criteria):
        w = f"criteria[{i}]"
        if not c.code.strip() or not c.name.strip():
            raise InvalidInput(f"{w}: code and name are required",
                               message_ja=f"評価基準{i + 1}のコードと名称を入力してください", field=w)
        if c.code in seen:
            raise InvalidInput(f"{w}: duplicate code {c.code!r}",
                               message_ja=f"評価基準のコード「{c.code}」が重複しています", field=f"{w}.code")
        seen.add(c.code)
        if not math.isfinite(c.weight) or c.weight <= 0:
            raise InvalidInput(f"{w}.weight must be positive",
                               message_ja=f"評価基準「{c.name}」の配点（重み）は0より大きくしてください",
                               field=f"{w}.weight")
        if not math.isfinite(c.max_points) or c.max_points <= 0 or c.max_points > 100:
            raise InvalidInput(f"{w}.max_points must be in (0, 100]",
                               message_ja=f"評価基準「{c.name}」の満点は0より大きく100以下にしてください",
                               field=f"{w}.max_points")
    total = sum(c.weight for c in criteria)
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        raise InvalidInput(f"weights sum to {total:g}, not {WEIGHT_TOTAL:g}",
                           message_ja=f"評価基準の重みの合計が{total:g}です。合計が{WEIGHT_TOTAL:g}になるようにしてください",
                           field="criteria", details={"weight_total": total})
    if sum(1 for c in criteria if c.regional_collaboration) > 1:
        raise InvalidInput("at most one 地域間連携 criterion",
                           message_ja="地域間連携の評価基準は1つまでです", field="criteria")
    if joint_allowed and joint_bonus <= 0 and not any(c.regional_collaboration for c in criteria):
        raise InvalidInput("a call admitting joint proposals evaluates collaboration",
                           message_ja="共同提案を認める公募では、地域間連携の評価基準か加点のどちらかを設定してください",
                           field="criteria")
    return Rubric(tuple(criteria), joint_bonus)


def check_scores(rubric: Rubric, scores: Mapping[str, object]) -> dict[str, float]:
    """Every criterion scored, each within 0…its maximum; unknown criteria refused."""
    out: dict[str, float] = {}
    known = {c.code for c in rubric.criteria}
    extra = sorted(set(scores) - known)
    if extra:
        raise InvalidInput(f"unknown criteria: {', '.join(extra)}",
                           message_ja=f"この公募にない評価基準です: {'、'.join(extra)}", field="scores")
    for c in rubric.criteria:
        v = scores.get(c.code)
        if v is None or (isinstance(v, str) and not v.strip()):
            raise InvalidInput(f"scores.{c.code} is required",
                               message_ja=f"「{c.name}」の点数を入力してください", field=f"scores.{c.code}")
        try:
            x = float(v) if isinstance(v, int | float | str) and not isinstance(v, bool) else math.nan
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x) or x < 0 or x > c.max_points:
            raise InvalidInput(f"scores.{c.code} must be within 0..{c.max_points:g}",
                               message_ja=f"「{c.name}」の点数は0〜{c.max_points:g}点の範囲で入力してください"
                                          f"（入力: {v}）",
                               field=f"scores.{c.code}")
        out[c.code] = x
    return out


# ------------------------------------------------------------------ applications


class AppStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"

    @property
    def label_ja(self) -> str:
        return APP_STATUS_LABELS_JA[self]


APP_STATUS_LABELS_JA = {
    AppStatus.DRAFT: "下書き",
    AppStatus.SUBMITTED: "提出済み",
    AppStatus.WITHDRAWN: "取り下げ",
    AppStatus.SELECTED: "選定",
    AppStatus.NOT_SELECTED: "不選定",
}


class AppAction(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    SELECT = "select"
    REJECT = "reject"


def app_transition(status: AppStatus, action: AppAction) -> AppStatus:
    table = {
        (AppStatus.DRAFT, AppAction.SUBMIT): AppStatus.SUBMITTED,
        (AppStatus.DRAFT, AppAction.WITHDRAW): AppStatus.WITHDRAWN,
        (AppStatus.SUBMITTED, AppAction.WITHDRAW): AppStatus.WITHDRAWN,
        (AppStatus.SUBMITTED, AppAction.SELECT): AppStatus.SELECTED,
        (AppStatus.SUBMITTED, AppAction.REJECT): AppStatus.NOT_SELECTED,
    }
    new = table.get((status, action))
    if new is None:
        verb = {AppAction.SUBMIT: "提出", AppAction.WITHDRAW: "取り下げ", AppAction.SELECT: "選定",
                AppAction.REJECT: "不選定"}[action]
        raise Conflict(f"cannot {action.value} an application that is {status.value}",
                       message_ja=f"「{status.label_ja}」の申請は{verb}できません", field="status")
    return new


@dataclass(frozen=True)
class Member:
    org: OrgRef
    kind: str                 # org_unit.kind
    name: str
    confirmed: bool


@dataclass(frozen=True)
class Submission:
    """What submitting checks about an application."""

    lead: OrgRef
    lead_kind: str
    lead_name: str
    members: tuple[Member, ...]
    requested_amount: int | None


def check_submission(t: CallTerms, s: Submission, now: datetime) -> None:
    """Refuse a submission outside the call's window, from an ineligible local government, with
    an unconfirmed member, a joint proposal where none are admitted, or an amount out of range."""
    if now < t.opens_at:
        raise Conflict("the call is not open yet",
                       message_ja=f"この公募の受付は{jst_text(t.opens_at)}からです。まだ提出できません",
                       field="submitted_at", details={"opens_at": t.opens_at.isoformat()})
    if now > t.closes_at:
        raise Conflict("the deadline has passed",
                       message_ja=f"締切（{jst_text(t.closes_at)}）を過ぎているため提出できません",
                       field="submitted_at", details={"closes_at": t.closes_at.isoformat()})
    check_parties(t, s)
    unconfirmed = [m.name for m in s.members if not m.confirmed]
    if unconfirmed:
        raise Conflict("members have not confirmed their participation",
                       message_ja=f"共同提案の構成団体が参加を確認していません: {'、'.join(unconfirmed)}",
                       field="members", details={"unconfirmed": unconfirmed})
    check_amount(t, s.requested_amount)


def check_parties(t: CallTerms, s: Submission) -> None:
    if s.members and not t.joint_allowed:
        raise InvalidInput("this call admits no joint proposals",
                           message_ja="この公募は共同提案を受け付けていません", field="members")
    if len(s.members) > MAX_MEMBERS:
        raise InvalidInput("too many members", message_ja=f"構成団体は{MAX_MEMBERS}団体までです", field="members")
    ids = [s.lead.id] + [m.org.id for m in s.members]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a local government appears twice",
                           message_ja="同じ団体が代表団体・構成団体に重複しています", field="members")
    for name, kind in [(s.lead_name, s.lead_kind)] + [(m.name, m.kind) for m in s.members]:
        if kind not in t.eligible_kinds:
            allowed = "・".join(ORG_KINDS_JA[k] for k in ORG_KINDS_JA if k in t.eligible_kinds)
            raise InvalidInput(f"{kind} is not eligible",
                               message_ja=f"{name}（{ORG_KINDS_JA.get(kind, kind)}）はこの公募の対象外です"
                                          f"（対象: {allowed}）",
                               field="members" if name != s.lead_name else "lead")


def check_amount(t: CallTerms, amount: int | None) -> None:
    if t.budget is None:
        if amount not in (None, 0):
            raise InvalidInput("this call involves no money",
                               message_ja="この公募では要望額を指定しません", field="requested_amount")
        return
    if amount is None or amount <= 0:
        raise InvalidInput("a requested amount is required",
                           message_ja="要望額を1円以上で入力してください", field="requested_amount")
    cap = t.per_application_cap if t.per_application_cap is not None else t.budget
    if amount > cap:
        raise InvalidInput("the amount exceeds the per-application cap",
                           message_ja=f"要望額（{yen_text(amount)}）が1件あたりの上限（{yen_text(cap)}）を超えています",
                           field="requested_amount")


# ------------------------------------------------------------------ conflicts of interest


def conflict_reason(reviewer_home: OrgRef | None, applicants: Iterable[OrgRef], declared: str | None) -> str | None:
    """Why a reviewer may not review an application, or None. Automatic: an applicant is the
    reviewer's own local government, or lies in the reviewer's prefecture (the prefecture's own
    government included); declared: the reviewer said so."""
    if declared is not None:
        return f"申告による利益相反: {declared}" if declared else "申告による利益相反"
    if reviewer_home is None or reviewer_home.is_nation:
        return None
    for o in applicants:
        if o.id == reviewer_home.id:
            return "審査員の所属団体が申請者です"
        if o.prefecture_code == reviewer_home.prefecture_code:
            return "審査員の所属する都道府県内の申請です"
    return None


# ------------------------------------------------------------------ normalisation


@dataclass(frozen=True)
class Review:
    application: int
    reviewer: str
    raw: float        # weighted score on 0–100


@dataclass(frozen=True)
class Normalised:
    application: int
    reviewer: str
    raw: float
    normalised: float
    adjusted: bool    # False: the reviewer's scores could not be standardised (kept as marked)


def normalise(reviews: Sequence[Review]) -> list[Normalised]:
    """Per-reviewer z-scores put back on the call's scale: N = μ + σ · (S − μ_r) / σ_r, with μ and σ
    the mean and (population) standard deviation of every review of the call, μ_r and σ_r those of
    the reviewer. A reviewer with a single review or no spread (σ_r = 0) cannot be standardised:
    those scores are kept as marked (N = S). So are all when the call's σ is 0."""
    if not reviews:
        return []
    mu, sigma = _mean_sd([r.raw for r in reviews])
    by: dict[str, list[float]] = {}
    for r in reviews:
        by.setdefault(r.reviewer, []).append(r.raw)
    stats = {k: _mean_sd(v) for k, v in by.items()}
    out = []
    for r in reviews:
        m, s = stats[r.reviewer]
        if len(by[r.reviewer]) < 2 or s <= _EPS or sigma <= _EPS:
            out.append(Normalised(r.application, r.reviewer, r.raw, r.raw, False))
        else:
            out.append(Normalised(r.application, r.reviewer, r.raw, mu + sigma * (r.raw - m) / s, True))
    return out


def _mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def application_scores(normalised: Sequence[Normalised], joint: Mapping[int, bool],
                       joint_bonus: float) -> dict[int, float]:
    """An application's score: the mean of its normalised reviews, plus the 地域間連携 bonus if it
    is a joint proposal. Applications without a review have none."""
    sums: dict[int, list[float]] = {}
    for n in normalised:
        sums.setdefault(n.application, []).append(n.normalised)
    return {a: sum(v) / len(v) + (joint_bonus if joint.get(a) else 0.0) for a, v in sums.items()}


# ------------------------------------------------------------------ selection


@dataclass(frozen=True)
class Candidate:
    id: int
    label: str
    score: float | None          # None: not reviewed
    amount: int                  # 0 where no money is involved
    prefectures: frozenset[str]  # every participant's prefecture (two-digit codes)
    joint: bool


@dataclass(frozen=True)
class Policy:
    """The selection's limits and the constraints the administrator switches on."""

    budget: int | None = None
    max_selections: int | None = None
    min_score: float | None = None
    every_prefecture: bool = False      # ≥ 1 per prefecture that has an eligible application
    per_prefecture_cap: int | None = None
    min_joint_share: float | None = None   # 0 < ρ ≤ 1

    def check(self) -> Policy:
        if self.budget is not None and self.budget <= 0:
            raise InvalidInput("the budget must be positive", message_ja="予算額は1円以上で入力してください",
                                                              field="budget")
        if self.max_selections is not None and self.max_selections < 1:
            raise InvalidInput("max_selections must be 1 or more",
                               message_ja="選定数の上限は1以上にしてください", field="max_selections")
        if self.min_score is not None and not math.isfinite(self.min_score):
            raise InvalidInput("min_score must be a number", message_ja="最低点は数値で入力してください",
                                                             field="min_score")
        if self.per_prefecture_cap is not None and self.per_prefecture_cap < 1:
            raise InvalidInput("per_prefecture_cap must be 1 or more",
                               message_ja="都道府県ごとの上限は1以上にしてください", field="per_prefecture_cap")
        if self.min_joint_share is not None and not (0 < self.min_joint_share <= 1):
            raise InvalidInput("min_joint_share must be in (0, 1]",
                               message_ja="共同提案の最低割合は0より大きく1以下（例: 0.2）にしてください",
                               field="min_joint_share")
        return self


# The constraints by key, as reports and the infeasibility diagnosis name them.
CONSTRAINT_LABELS_JA = {
    "budget": "予算額",
    "max_selections": "選定数の上限",
    "min_score": "最低点",
    "every_prefecture": "全都道府県で1件以上",
    "per_prefecture_cap": "都道府県ごとの上限",
    "min_joint_share": "共同提案の最低割合",
}


@dataclass(frozen=True)
class Row:
    """One linear constraint lb ≤ Σ coef_i · x_i ≤ ub of the integer programme."""

    constraint: str                 # a key of CONSTRAINT_LABELS_JA
    coefs: dict[int, float]         # variable index → coefficient
    lb: float
    ub: float
    label: str = ""


@dataclass(frozen=True)
class Milp:
    """maximise Σ objective_i · x_i, x_i ∈ {0, 1} (x_i = 0 where upper_i = 0), subject to rows."""

    objective: list[float]
    upper: list[int]
    rows: list[Row]


#: Solves a Milp to optimality: the chosen x (0/1 per variable), or None when infeasible.
Solver = Callable[[Milp], list[int] | None]


def _eligible(c: Candidate, p: Policy) -> bool:
    return c.score is not None and (p.min_score is None or c.score >= p.min_score - _EPS)


def build_model(cands: Sequence[Candidate], p: Policy, *, drop: frozenset[str] = frozenset()) -> Milp:
    """The selection as a 0-1 integer programme (see docs/programmes.md), without the constraints
    named in ``drop`` (used to find which constraint makes it infeasible)."""
    score_ok = [c.score is not None and ("min_score" in drop or _eligible(c, p)) for c in cands]
    obj = [float(c.score) if c.score is not None else 0.0 for c in cands]
    upper = [1 if ok else 0 for ok in score_ok]
    rows: list[Row] = []
    idx = [i for i, ok in enumerate(score_ok) if ok]
    if p.budget is not None and "budget" not in drop:
        rows.append(Row("budget", {i: float(cands[i].amount) for i in idx}, -math.inf, float(p.budget)))
    if p.max_selections is not None and "max_selections" not in drop:
        rows.append(Row("max_selections", dict.fromkeys(idx, 1.0), -math.inf, float(p.max_selections)))
    prefs: dict[str, list[int]] = {}
    for i in idx:
        for pref in cands[i].prefectures:
            prefs.setdefault(pref, []).append(i)
    if p.every_prefecture and "every_prefecture" not in drop:
        eligible_prefs: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            if _eligible(c, p):
                for pref in c.prefectures:
                    eligible_prefs.setdefault(pref, []).append(i)
        for pref in sorted(eligible_prefs):
            rows.append(Row("every_prefecture", dict.fromkeys(prefs.get(pref, eligible_prefs[pref]), 1.0),
                            1.0, math.inf, pref))
    if p.per_prefecture_cap is not None and "per_prefecture_cap" not in drop:
        for pref in sorted(prefs):
            if len(prefs[pref]) > p.per_prefecture_cap:
                rows.append(Row("per_prefecture_cap", dict.fromkeys(prefs[pref], 1.0), -math.inf,
                                float(p.per_prefecture_cap), pref))
    if p.min_joint_share is not None and "min_joint_share" not in drop:
        rho = p.min_joint_share
        rows.append(Row("min_joint_share", {i: (1.0 if cands[i].joint else 0.0) - rho for i in idx}, 0.0, math.inf))
    return Milp(obj, upper, rows)


def _violations(m: Milp, x: Sequence[int]) -> list[Row]:
    out = []
    for r in m.rows:
        v = sum(coef * x[i] for i, coef in r.coefs.items())
        if v < r.lb - 1e-6 or v > r.ub + 1e-6:
            out.append(r)
    return out


def greedy(cands: Sequence[Candidate], p: Policy) -> list[int]:
    """「点数の高い順」: take applications in order of score (ties: smaller amount, then id)
    while the budget, the number of selections and the per-prefecture cap allow. It does not
    look ahead, so it may miss a prefecture or the share of joint proposals."""
    order = sorted((i for i, c in enumerate(cands) if _eligible(c, p)),
                   key=lambda i: (-(cands[i].score or 0.0), cands[i].amount, cands[i].id))
    x = [0] * len(cands)
    used, n = 0, 0
    per: dict[str, int] = {}
    for i in order:
        c = cands[i]
        if p.budget is not None and used + c.amount > p.budget:
            continue
        if p.max_selections is not None and n + 1 > p.max_selections:
            break
        if p.per_prefecture_cap is not None and any(per.get(q, 0) + 1 > p.per_prefecture_cap for q in c.prefectures):
            continue
        x[i] = 1
        used += c.amount
        n += 1
        for q in c.prefectures:
            per[q] = per.get(q, 0) + 1
    return x


@dataclass(frozen=True)
class ConstraintReport:
    key: str
    label_ja: str
    met: bool
    detail: str


@dataclass(frozen=True)
class Outcome:
    application: int
    label: str
    selected: bool
    score: float | None
    amount: int
    reason: str            # selected / not_reviewed / below_min_score / budget / max_selections /
    #                        per_prefecture_cap / min_joint_share / not_worth / every_prefecture
    reason_ja: str
    shortfall: int | None = None      # budget: yen missing to fit it in


@dataclass(frozen=True)
class Plan:
    """A set of chosen applications with its totals and the constraints it meets."""

    chosen: tuple[int, ...]         # candidate ids
    total_score: float
    budget_used: int
    constraints: tuple[ConstraintReport, ...]

    @property
    def feasible(self) -> bool:
        return all(c.met for c in self.constraints)


@dataclass(frozen=True)
class Selection:
    optimal: Plan
    greedy: Plan
    outcomes: tuple[Outcome, ...]
    budget: int | None
    gain: float                     # optimal − greedy total score
    notes: tuple[str, ...] = field(default=())


def _names(codes: Iterable[str], names: Mapping[str, str]) -> str:
    return "、".join(names.get(q, q) for q in sorted(codes))


def _plan(cands: Sequence[Candidate], p: Policy, m: Milp, x: Sequence[int],
          names: Mapping[str, str] | None = None) -> Plan:
    names = names or {}
    bad = _violations(m, x)
    chosen = tuple(cands[i].id for i in range(len(cands)) if x[i])
    total = sum(float(cands[i].score or 0.0) for i in range(len(cands)) if x[i])
    used = sum(cands[i].amount for i in range(len(cands)) if x[i])
    reports = []
    keys = [k for k in CONSTRAINT_LABELS_JA if _switched_on(p, k)]
    for k in keys:
        broken = [r for r in bad if r.constraint == k]
        if k == "min_score":
            below = [i for i in range(len(cands)) if x[i] and not _eligible(cands[i], p)]
            reports.append(ConstraintReport(k, CONSTRAINT_LABELS_JA[k], not below,
                                            f"最低点 {p.min_score:.1f} 点以上" if not below
                                            else f"最低点未満の選定が{len(below)}件"))
            continue
        if k == "budget":
            detail = f"{yen_text(used)} / {yen_text(p.budget or 0)}"
        elif k == "max_selections":
            detail = f"{len(chosen)} / {p.max_selections}件"
        elif k == "every_prefecture":
            need = [r.label for r in m.rows if r.constraint == k]
            missing = [r.label for r in broken]
            detail = (f"対象{len(need)}都道府県すべてで1件以上" if not missing
                      else f"選定のない都道府県: {_names(missing, names)}")
        elif k == "per_prefecture_cap":
            detail = (f"各都道府県{p.per_prefecture_cap}件以下" if not broken
                      else f"上限超過: {_names((r.label for r in broken), names)}")
        else:
            joint = sum(1 for i in range(len(cands)) if x[i] and cands[i].joint)
            share = joint / len(chosen) if chosen else 0.0
            detail = f"共同提案 {joint}/{len(chosen)}件（{share:.0%}、下限 {p.min_joint_share:.0%}）"
        reports.append(ConstraintReport(k, CONSTRAINT_LABELS_JA[k], not broken, detail))
    return Plan(chosen, total, used, tuple(reports))


def _switched_on(p: Policy, key: str) -> bool:
    return {"budget": p.budget is not None, "max_selections": p.max_selections is not None,
            "min_score": p.min_score is not None, "every_prefecture": p.every_prefecture,
            "per_prefecture_cap": p.per_prefecture_cap is not None,
            "min_joint_share": p.min_joint_share is not None}[key]


RELAXABLE = ("every_prefecture", "min_joint_share", "per_prefecture_cap", "max_selections", "min_score", "budget")


def select(cands: Sequence[Candidate], p: Policy, solve: Solver,
           names: Mapping[str, str] | None = None) -> Selection:
    """The optimal selection, the greedy one beside it, and every application's outcome.
    Infeasible → InvalidInput naming the constraint(s) whose removal alone makes it solvable."""
    p.check()
    if len({c.id for c in cands}) != len(cands):
        raise InvalidInput("duplicate candidates", message_ja="同じ申請が重複しています")
    m = build_model(cands, p)
    x = solve(m)
    if x is None:
        raise infeasible(cands, p, solve, names)
    g = greedy(cands, p)
    opt, gre = _plan(cands, p, m, x, names), _plan(cands, p, m, g, names)
    notes = []
    if gre.feasible and gre.total_score > opt.total_score + 1e-9:
        # cannot happen with an exact solver; kept so that a solver tolerance never reports a
        # choice worse than the obvious one
        x, opt = g, gre
        notes.append("貪欲法の解が最適化の解を上回ったため、貪欲法の解を採用しました")
    outcomes = explain(cands, p, m, x, g, names)
    return Selection(opt, gre, tuple(outcomes), p.budget, opt.total_score - gre.total_score, tuple(notes))


def infeasible(cands: Sequence[Candidate], p: Policy, solve: Solver,
               names: Mapping[str, str] | None = None) -> InvalidInput:
    """Which switched-on constraint makes the selection impossible: each is dropped alone and
    the model solved again; those whose removal gives a solution are named."""
    culprits = []
    for k in RELAXABLE:
        if _switched_on(p, k) and solve(build_model(cands, p, drop=frozenset({k}))) is not None:
            culprits.append(k)
    hints = [_hint(cands, p, k, names or {}) for k in culprits]
    if culprits:
        which = "、".join(f"「{CONSTRAINT_LABELS_JA[k]}」" for k in culprits)
        msg = f"条件を満たす選定がありません。{which}を外すか緩めると選定できます"
        if any(hints):
            msg += "（" + "／".join(h for h in hints if h) + "）"
    else:
        msg = "条件を満たす選定がありません。複数の条件の組み合わせが原因です（1つずつ外しても解がありません）"
    return InvalidInput("no selection meets the constraints: " + (", ".join(culprits) or "a combination"),
                        message_ja=msg, field="constraints",
                        details={"constraints": culprits})


def _hint(cands: Sequence[Candidate], p: Policy, key: str, names: Mapping[str, str]) -> str:
    if key == "every_prefecture" and p.budget is not None:
        cheapest: dict[str, int] = {}
        for c in cands:
            if _eligible(c, p):
                for q in c.prefectures:
                    cheapest[q] = min(cheapest.get(q, c.amount), c.amount)
        too_dear = sorted(q for q, a in cheapest.items() if a > p.budget)
        if too_dear:
            return f"予算内に収まる申請がない都道府県: {_names(too_dear, names)}"
        need = len(cheapest)
        if p.max_selections is not None and need > p.max_selections:
            return f"対象の都道府県が{need}あり、選定数の上限{p.max_selections}件を超えます"
    if key == "min_joint_share" and not any(c.joint and _eligible(c, p) for c in cands):
        return "選定できる共同提案がありません"
    return ""


def explain(cands: Sequence[Candidate], p: Policy, m: Milp, x: Sequence[int], g: Sequence[int],
            names: Mapping[str, str] | None = None) -> list[Outcome]:
    """Why each application was or was not chosen."""
    names = names or {}
    used = sum(cands[i].amount for i in range(len(cands)) if x[i])
    n = sum(x)
    per: dict[str, int] = {}
    joint_n = 0
    for i in range(len(cands)):
        if x[i]:
            for q in cands[i].prefectures:
                per[q] = per.get(q, 0) + 1
            joint_n += cands[i].joint
    out = []
    for i, c in enumerate(cands):
        if x[i]:
            sole = sorted(q for q in c.prefectures if per.get(q) == 1)
            forced = p.every_prefecture and not g[i] and sole
            text = "選定" + (f"（{_names(sole, names)}で唯一の選定: 全都道府県で1件以上の条件）" if forced else "")
            out.append(Outcome(c.id, c.label, True, c.score, c.amount,
                               "every_prefecture" if forced else "selected", text))
            continue
        if c.score is None:
            out.append(Outcome(c.id, c.label, False, None, c.amount, "not_reviewed", "審査が完了していません"))
            continue
        if not _eligible(c, p):
            out.append(Outcome(c.id, c.label, False, c.score, c.amount, "below_min_score",
                               f"最低点（{p.min_score:.1f}点）に達していません（{c.score:.1f}点）"))
            continue
        if p.budget is not None and used + c.amount > p.budget:
            short = used + c.amount - p.budget
            out.append(Outcome(c.id, c.label, False, c.score, c.amount, "budget",
                               f"予算が不足: 要望額{yen_text(c.amount)}に対し残額{yen_text(p.budget - used)}"
                               f"（{yen_text(short)}不足）", shortfall=short))
            continue
        if p.max_selections is not None and n + 1 > p.max_selections:
            out.append(Outcome(c.id, c.label, False, c.score, c.amount, "max_selections",
                               f"選定数の上限（{p.max_selections}件）に達しています"))
            continue
        full = sorted(q for q in c.prefectures
                      if p.per_prefecture_cap is not None and per.get(q, 0) + 1 > p.per_prefecture_cap)
        if full:
            out.append(Outcome(c.id, c.label, False, c.score, c.amount, "per_prefecture_cap",
                               f"都道府県ごとの上限（{p.per_prefecture_cap}件）に達しています: {_names(full, names)}"))
            continue
        if p.min_joint_share is not None and not c.joint and (joint_n < p.min_joint_share * (n + 1) - 1e-9):
            out.append(Outcome(c.id, c.label, False, c.score, c.amount, "min_joint_share",
                               f"単独提案を加えると共同提案の割合が下限（{p.min_joint_share:.0%}）を下回ります"))
            continue
        out.append(Outcome(c.id, c.label, False, c.score, c.amount, "not_worth",
                           "予算の範囲で、より合計点の高い組み合わせが選ばれました"
                           if c.score > 0 else "点数が0以下のため、選定しても合計点が増えません"))
    return out


def check_override(p: Policy, cands: Sequence[Candidate], chosen: set[int], changed: set[int], reason: str,
                   names: Mapping[str, str] | None = None) -> list[str]:
    """An administrator's decision that differs from the proposal: a written reason is required
    and the budget is never exceeded; the policy constraints it breaks are returned as warnings."""
    if changed and not reason.strip():
        raise InvalidInput("an override needs a reason",
                           message_ja="提案と異なる選定をする場合は、その理由を記入してください",
                           field="override_reason")
    by_id = {c.id: c for c in cands}
    unknown = sorted(chosen - by_id.keys())
    if unknown:
        raise InvalidInput(f"not candidates of this call: {unknown}",
                           message_ja=f"この公募の提出済み申請ではありません: {unknown}", field="selected")
    used = sum(by_id[i].amount for i in chosen)
    if p.budget is not None and used > p.budget:
        raise InvalidInput("the decision exceeds the budget",
                           message_ja=f"選定の合計額（{yen_text(used)}）が予算額（{yen_text(p.budget)}）を超えています",
                           field="selected")
    unreviewed = [by_id[i].label for i in chosen if by_id[i].score is None]
    if unreviewed:
        raise InvalidInput("unreviewed applications cannot be selected",
                           message_ja=f"審査が完了していない申請は選定できません: {'、'.join(unreviewed)}",
                           field="selected")
    m = build_model(cands, p)
    x = [1 if c.id in chosen else 0 for c in cands]
    plan = _plan(cands, p, m, x, names)
    return [f"{c.label_ja}: {c.detail}" for c in plan.constraints if not c.met]


# ------------------------------------------------------------------ selected regions


class SelectionState(StrEnum):
    """Where a selected region stands: 選定 → 実現 (脱炭素先行地域: realised by FY2030), 登録, or
    取消 (a selection or registration withdrawn)."""

    SELECTED = "selected"
    REALISED = "realised"
    REGISTERED = "registered"
    CANCELLED = "cancelled"

    @property
    def label_ja(self) -> str:
        return {"selected": "選定", "realised": "実現", "registered": "登録", "cancelled": "取消"}[self.value]


def selection_transition(state: SelectionState, new: SelectionState) -> SelectionState:
    """選定 → 実現 or 取消; 登録 → 取消; 実現 → 取消 (a realisation found wrong). Nothing leaves 取消."""
    allowed = {
        SelectionState.SELECTED: {SelectionState.REALISED, SelectionState.CANCELLED},
        SelectionState.REGISTERED: {SelectionState.CANCELLED},
        SelectionState.REALISED: {SelectionState.CANCELLED},
        SelectionState.CANCELLED: set(),
    }
    if new not in allowed[state]:
        raise Conflict(f"cannot go from {state.value} to {new.value}",
                       message_ja=f"「{state.label_ja}」の地域を「{new.label_ja}」にはできません", field="state")
    return new
