"""Review of a call's applications: reviewers assigned by the nation, conflicts of interest
(declared, and automatic: the reviewer's own local government or prefecture), scores per
criterion with comments, the progress of the review, and the normalised scores the selection
uses (raw scores are stored; normalised ones are computed, see domain.support.normalise)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from digiden.domain.support import AppStatus, Normalised, Review, application_scores, check_scores, normalise
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.registry.localgov import resolve_org
from digiden.services.support.applications import conflict_of, home_org_of, load_visible
from digiden.services.support.programmes import call_view, load_call
from digiden.services.uow import UnitOfWork
from digiden.store.models import (
    SupportApplication,
    SupportCall,
    SupportConflict,
    SupportReview,
    SupportReviewer,
    UserAccount,
)

COMMENT_MAX = 4000
REVIEWABLE = (AppStatus.SUBMITTED.value,)


def assign_reviewer(uow: UnitOfWork, p: Principal, call_id: int, username: str, *, home: str | None = None,
                    now: datetime) -> dict[str, Any]:
    """Assign an account to review a call. ``home`` is the local government the reviewer works
    for (default: the account's own), which makes its applications and its prefecture's conflicts."""
    access.require(p, access.can_manage_programmes(p), message="only the nation assigns reviewers",
                   message_ja="審査員を指名できるのは国の管理者だけです",
                   sign_in_ja="審査員の指名にはログインが必要です")
    with uow:
        s = uow.session
        call = load_call(s, call_id)
        user = s.scalars(select(UserAccount).where(UserAccount.username == (username or "").strip())).one_or_none()
        if user is None or user.disabled_at is not None:
            raise InvalidInput(f"no active account {username!r}",
                               message_ja=f"有効なアカウント「{username}」はありません", field="reviewer")
        org = resolve_org(s, home) if home else home_org_of(s, user.username)
        if org is not None and org.kind == "nation":
            org = None
        if s.get(SupportReviewer, (call.id, user.username)) is not None:
            raise Conflict("already a reviewer", message_ja=f"{user.username} は既にこの公募の審査員です",
                           field="reviewer")
        s.add(SupportReviewer(call_id=call.id, reviewer=user.username, home_org_unit_id=org.id if org else None,
                              assigned_by=p.name, assigned_at=now))
        audit.record(s, actor=p.name, action="call.reviewer", entity="support_call", entity_key=str(call.id), at=now,
                     after={"reviewer": user.username, "home": org.code if org else None},
                     summary=f"公募「{call.title}」の審査員に{user.username}を指名しました")
        uow.commit()
        return {"call": call.id, "reviewer": user.username, "home": org.code if org else None}


def declare_conflict(uow: UnitOfWork, p: Principal, app_id: int, reason: str, *, now: datetime) -> None:
    """A reviewer declares a conflict of interest with one application (then cannot see it)."""
    access.require_signed_in(p, "利益相反の申告にはログインが必要です")
    text = bounded(reason, 2000, field="reason", label_ja="利益相反の内容")
    with uow:
        s = uow.session
        a = load_visible(s, p, app_id)
        if s.get(SupportReviewer, (a.call_id, p.name)) is None:
            raise PermissionDenied("not a reviewer of this call", message_ja="この公募の審査員ではありません")
        if s.get(SupportConflict, (a.id, p.name)) is None:
            s.add(SupportConflict(application_id=a.id, reviewer=p.name, reason=text, declared_at=now))
            audit.record(s, actor=p.name, action="review.conflict", entity="support_application",
                         entity_key=str(a.id), at=now, after={"reviewer": p.name, "reason": text},
                         summary="利益相反を申告しました")
        uow.commit()


@dataclass(frozen=True)
class ReviewView:
    application: int
    reviewer: str
    scores: dict[str, float]
    comments: dict[str, str]
    total: float
    updated_at: datetime


def score(uow: UnitOfWork, p: Principal, app_id: int, scores: Mapping[str, object],
          comments: Mapping[str, object] | None = None, *, now: datetime) -> ReviewView:
    """Save (or replace) this reviewer's scores of one application: every criterion within its
    range; a conflicted reviewer is refused with the reason; nothing is written on an error."""
    access.require_signed_in(p, "審査にはログインが必要です")
    with uow:
        s = uow.session
        a = s.get(SupportApplication, app_id)
        assigned = a is not None and s.get(SupportReviewer, (a.call_id, p.name)) is not None
        if a is None or not assigned:
            # not a reviewer of this call: as if it did not exist, unless it may see it anyway
            load_visible(s, p, app_id)
            raise PermissionDenied("not a reviewer of this call",
                                   message_ja="この公募の審査員ではないため採点できません")
        why = conflict_of(s, a, p.name)
        if why is not None or not access.can_score(p, reviewer=assigned, conflicted=why is not None):
            raise PermissionDenied("conflict of interest" if why else "read-only access",
                                   message_ja=f"利益相反のため、この申請は審査できません（{why}）" if why
                                   else "この操作には書き込み権限が必要です")
        if a.status not in REVIEWABLE:
            raise Conflict("only submitted applications are reviewed",
                           message_ja=f"「{AppStatus(a.status).label_ja}」の申請は審査できません", field="status")
        call = s.get(SupportCall, a.call_id)
        assert call is not None
        if call.decided_at is not None:
            raise Conflict("the call is decided", message_ja="選定が決定した公募の審査は変更できません", field="call")
        rubric = call_view(s, call).rubric
        checked = check_scores(rubric, scores)
        notes = {}
        for code, text in (comments or {}).items():
            if code not in checked:
                raise InvalidInput(f"comment for unknown criterion {code!r}",
                                   message_ja=f"この公募にない評価基準へのコメントです: {code}", field="comments")
            notes[code] = bounded(text, COMMENT_MAX, field=f"comments.{code}", label_ja="コメント")
        total = rubric.weighted(checked)
        r = s.scalars(select(SupportReview).where(SupportReview.application_id == a.id,
                                                  SupportReview.reviewer == p.name)).one_or_none()
        before = None
        if r is None:
            r = SupportReview(application_id=a.id, reviewer=p.name, scores=checked, comments=notes, total=total,
                              created_at=now, updated_at=now)
            s.add(r)
        else:
            before = {"scores": dict(r.scores), "total": r.total}
            r.scores, r.comments, r.total, r.updated_at = checked, notes, total, now
        s.flush()
        audit.record(s, actor=p.name, action="review.score", entity="support_application", entity_key=str(a.id),
                     at=now, before=before, after={"scores": checked, "total": total},
                     summary=f"申請「{a.title}」を採点しました（{total:.1f}点）")
        uow.commit()
        return ReviewView(a.id, p.name, checked, notes, total, now)


def my_review(uow: UnitOfWork, p: Principal, app_id: int) -> ReviewView | None:
    with uow.for_reading() as u:
        s = u.session
        load_visible(s, p, app_id)
        r = s.scalars(select(SupportReview).where(SupportReview.application_id == app_id,
                                                  SupportReview.reviewer == p.name)).one_or_none()
        if r is None:
            return None
        return ReviewView(app_id, p.name, dict(r.scores), dict(r.comments), r.total, r.updated_at)


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer: str
    assigned: int       # applications it may review (submitted, no conflict)
    done: int
    conflicts: int


@dataclass(frozen=True)
class ApplicationProgress:
    application: int
    title: str
    reviews: int
    eligible_reviewers: int


@dataclass(frozen=True)
class Progress:
    call_id: int
    submitted: int
    reviewed: int                 # submitted applications with at least one review
    reviewers: tuple[ReviewerProgress, ...]
    applications: tuple[ApplicationProgress, ...]


def progress(uow: UnitOfWork, p: Principal, call_id: int) -> Progress:
    """How far the review of a call has come: the call's administrator (the nation)."""
    access.require(p, p.is_admin, message="only the nation follows the review",
                   message_ja="審査の進み具合を見られるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    with uow.for_reading() as u:
        s = u.session
        call = load_call(s, call_id)
        apps = list(s.scalars(select(SupportApplication).where(SupportApplication.call_id == call.id,
                                                               SupportApplication.status.in_(REVIEWABLE))
                              .order_by(SupportApplication.id)))
        reviewers = [r.reviewer for r in s.scalars(select(SupportReviewer).where(SupportReviewer.call_id == call.id)
                                                   .order_by(SupportReviewer.reviewer))]
        done: dict[tuple[int, str], bool] = {(r.application_id, r.reviewer): True for r in s.scalars(
            select(SupportReview).join(SupportApplication, SupportApplication.id == SupportReview.application_id)
            .where(SupportApplication.call_id == call.id))}
        per_r = {r: [0, 0, 0] for r in reviewers}
        per_a = []
        for a in apps:
            eligible = 0
            for r in reviewers:
                if conflict_of(s, a, r) is not None:
                    per_r[r][2] += 1
                    continue
                eligible += 1
                per_r[r][0] += 1
                per_r[r][1] += (a.id, r) in done
            per_a.append(ApplicationProgress(a.id, a.title, sum(1 for r in reviewers if (a.id, r) in done), eligible))
        return Progress(call.id, len(apps), sum(1 for x in per_a if x.reviews),
                        tuple(ReviewerProgress(r, *per_r[r]) for r in reviewers), tuple(per_a))


def normalised_reviews(s: Session, call: SupportCall) -> list[Normalised]:
    """The call's reviews of submitted applications, normalised per reviewer."""
    rows = s.execute(select(SupportReview.application_id, SupportReview.reviewer, SupportReview.total)
                     .join(SupportApplication, SupportApplication.id == SupportReview.application_id)
                     .where(SupportApplication.call_id == call.id,
                            SupportApplication.status.in_((AppStatus.SUBMITTED.value, AppStatus.SELECTED.value,
                                                           AppStatus.NOT_SELECTED.value)))
                     .order_by(SupportReview.id)).all()
    return normalise([Review(a, r, t) for a, r, t in rows])


def call_scores(s: Session, call: SupportCall, joint: Mapping[int, bool]) -> dict[int, float]:
    """Each reviewed application's score: mean normalised review + the 地域間連携 bonus if joint."""
    return application_scores(normalised_reviews(s, call), joint, call.joint_bonus)


def visible_reviews(uow: UnitOfWork, p: Principal, app_id: int) -> list[ReviewView]:
    """The reviews of an application this principal may read: every one for the nation, its own
    for a reviewer, none for anyone else."""
    if p.is_admin:
        return reviews_of(uow, p, app_id)
    mine = my_review(uow, p, app_id)
    return [mine] if mine is not None else []


def reviews_of(uow: UnitOfWork, p: Principal, app_id: int) -> list[ReviewView]:
    """Every review of one application (the nation)."""
    access.require(p, p.is_admin, message="only the nation reads every review",
                   message_ja="すべての審査結果を見られるのは国の管理者だけです", sign_in_ja="ログインが必要です")
    with uow.for_reading() as u:
        s = u.session
        if s.get(SupportApplication, app_id) is None:
            raise NotFound(f"no application {app_id}", message_ja=f"申請 {app_id} は見つかりません")
        return [ReviewView(app_id, r.reviewer, dict(r.scores), dict(r.comments), r.total, r.updated_at)
                for r in s.scalars(select(SupportReview).where(SupportReview.application_id == app_id)
                                   .order_by(SupportReview.reviewer))]
