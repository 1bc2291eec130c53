"""Knowledge that returns: an answered consultation becomes an FAQ entry with the asker's identity
removed, is reviewed by someone other than its author at the national desk, and once published
is public and linked from the measures it concerns. The link to the consultation stays with the
desk; the public entry never names the asker, its local government or its contact details."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, require
from digiden.domain.consult import (
    BODY_MAX,
    FaqState,
    State,
    anonymize,
    faq_transition,
    identity_left,
    is_national_desk,
    may_respond,
    text_field,
)
from digiden.domain.errors import Conflict, DigidenError, InvalidInput, NotFound
from digiden.domain.events import FaqPublished, FaqWithdrawn
from digiden.services import audit
from digiden.services.consult import cases, offices
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultCaseMeasure, ConsultFaq, ConsultFaqMeasure, ConsultMessage
from digiden.store.models import Measure, OrgUnit, UserAccount


@dataclass(frozen=True)
class FaqView:
    id: int
    question: str
    answer: str
    field: str | None
    measures: tuple[str, ...]
    state: str
    state_ja: str
    published_at: datetime | None
    synthetic: bool
    version: int


def _identities(s: Session, c: ConsultCase) -> list[str]:
    """What identifies the asker: its name and contact details, its local government's names, the
    account it asked from."""
    org = s.get(OrgUnit, c.org_unit_id)
    out = [c.asker_name, c.asker_email, c.asker_phone]
    if org is not None:
        out += [org.full_name, org.name]
    if c.asker_user_id is not None:
        u = s.get(UserAccount, c.asker_user_id)
        if u is not None:
            out += [u.username, u.display_name]
    return [x for x in out if x and x.strip()]


def _view(s: Session, f: ConsultFaq) -> FaqView:
    measures = tuple(s.scalars(select(Measure.code).join(ConsultFaqMeasure, ConsultFaqMeasure.measure_id == Measure.id)
                               .where(ConsultFaqMeasure.faq_id == f.id).order_by(Measure.code)))
    st = FaqState(f.state)
    return FaqView(f.id, f.question, f.answer, f.field_code, measures, st.value, st.label_ja, f.published_at,
                   f.synthetic, f.version)


def _locked(s: Session, faq_id: int) -> ConsultFaq:
    f = s.get(ConsultFaq, faq_id, with_for_update=True)
    if f is None:
        raise _hidden(faq_id)
    return f


def _check_version(f: ConsultFaq, expected_version: int | None) -> None:
    """The entry is still as the editor last read it (``expected_version`` from its ``version``;
    None: no check). Called after the row is locked and access decided, so a stale change writes
    nothing, not even an audit event, and a stranger learns nothing from a 409."""
    faq_id = f.id
    if expected_version is not None and expected_version != f.version:
        raise Conflict(f"FAQ {faq_id} changed since you read it (version {expected_version}, now {f.version})",
                       message_ja=(f"FAQ {faq_id} は読み込んだ後に他の人が変更しました（版数 {expected_version} → "
                                   f"{f.version}）。読み込み直してから操作してください"), field="version")


def _hidden(faq_id: int) -> NotFound:
    return NotFound(f"no FAQ entry {faq_id}", field="faq", message_ja=f"FAQ {faq_id} は見つかりません")


def _editable(s: Session, p: Principal, f: ConsultFaq) -> None:
    """The desk, or the responders of the consultation it came from."""
    desk = offices.desk_of(s, p)
    if is_national_desk(p, desk) and p.can_write_at_all:
        return
    if f.case_id is not None:
        c = s.get(ConsultCase, f.case_id)
        if c is not None and may_respond(p, desk, cases.reach_of(s, c)):
            return
    require(p, False, message="you may not change this FAQ entry", message_ja="このFAQを変更する権限がありません",
            sign_in_ja="サインインしてください")


def draft_from_case(uow: UnitOfWork, p: Principal, case_id: int, *, now: datetime) -> int:
    """A draft entry from an answered consultation: its question and the responders' replies, with
    the asker's name, contact details and local government replaced (``domain.consult.anonymize``)."""
    with uow:
        s = uow.session
        c, reach, desk = cases.load_visible(s, p, case_id)
        require(p, may_respond(p, desk, reach), message="only responders draft FAQ entries",
                message_ja="FAQの下書きは担当部局と国の相談窓口が作ります", sign_in_ja="サインインしてください")
        replies = list(s.scalars(select(ConsultMessage.body).where(
            ConsultMessage.case_id == c.id, ConsultMessage.kind == "reply", ConsultMessage.side == "responder")
            .order_by(ConsultMessage.at, ConsultMessage.id)))
        if State(c.state) not in (State.ANSWERED, State.RESOLVED, State.CLOSED) or not replies:
            raise InvalidInput("only an answered consultation becomes an FAQ entry", field="case",
                               message_ja="FAQにできるのは回答済みの相談だけです")
        live = s.scalars(select(ConsultFaq.id).where(ConsultFaq.case_id == c.id,
                                                    ConsultFaq.state != FaqState.WITHDRAWN.value)
                         .order_by(ConsultFaq.id)).first()
        if live is not None:         # one entry per consultation: a second would publish the question twice
            raise Conflict(f"consultation {c.id} already has FAQ entry {live}", field="case",
                           message_ja=f"相談 #{c.id} からはFAQ {live} を作成済みです（取り下げた後なら作り直せます）",
                           details={"faq": live})
        who = _identities(s, c)
        f = ConsultFaq(case_id=c.id, question=anonymize(f"{c.subject}\n\n{c.body}", who),
                       answer=anonymize("\n\n".join(replies), who), field_code=c.field_code,
                       state=FaqState.DRAFT.value, created_by=p.name, created_at=now, updated_at=now,
                       synthetic=c.synthetic)
        s.add(f)
        s.flush()
        for mid in s.scalars(select(ConsultCaseMeasure.measure_id).where(
                ConsultCaseMeasure.case_id == c.id)):
            s.add(ConsultFaqMeasure(faq_id=f.id, measure_id=mid))
        audit.record(s, actor=p.name, action="consult.faq_draft", entity="consult_faq", entity_key=str(f.id), at=now,
                     after={"state": f.state, "case_id": c.id}, summary=f"相談 #{c.id} からFAQの下書きを作りました")
        uow.commit()
        return f.id


def edit(uow: UnitOfWork, p: Principal, faq_id: int, *, question: str, answer: str, now: datetime,
         expected_version: int | None = None) -> None:
    question = text_field(question, max_len=BODY_MAX, field="question", label_ja="質問")
    answer = text_field(answer, max_len=BODY_MAX, field="answer", label_ja="回答")
    with uow:
        s = uow.session
        f = _locked(s, faq_id)
        _editable(s, p, f)
        _check_version(f, expected_version)
        if FaqState(f.state) is not FaqState.DRAFT:
            raise InvalidInput("only a draft is edited", field="state",
                               message_ja=f"「{FaqState(f.state).label_ja}」のFAQは編集できません（下書きに戻してください）")
        f.question, f.answer, f.updated_at, f.version = question, answer, now, f.version + 1
        audit.record(s, actor=p.name, action="consult.faq_edit", entity="consult_faq", entity_key=str(f.id), at=now,
                     after={"state": f.state}, summary=f"FAQ {f.id} を編集しました")
        uow.commit()


def act(uow: UnitOfWork, p: Principal, faq_id: int, action: str, *, now: datetime,
        expected_version: int | None = None) -> str:
    """submit (下書き → 確認待ち), publish or return (the national desk, not the author), withdraw.
    Publishing refuses a text that still identifies the asker, naming what is left."""
    with uow:
        s = uow.session
        f = _locked(s, faq_id)
        if action in ("publish", "return", "withdraw"):
            require(p, p.can_write_at_all and is_national_desk(p, offices.desk_of(s, p)),
                    message="the national desk reviews FAQ entries",
                    message_ja="FAQの確認・公開は国の相談窓口が行います",
                    sign_in_ja="サインインしてください")
        else:
            _editable(s, p, f)
        _check_version(f, expected_version)
        before = FaqState(f.state)
        new = faq_transition(before, action, author=f.created_by, actor=p.name)
        if new is FaqState.PUBLISHED and f.case_id is not None:
            c = s.get(ConsultCase, f.case_id)
            left = identity_left(f"{f.question}\n{f.answer}", _identities(s, c) if c is not None else [])
            if left:
                raise InvalidInput("the text still identifies the asker", field="answer",
                                   message_ja=f"相談者を特定できる情報が残っています: {'、'.join(left)}",
                                   details={"left": left})
        f.state, f.updated_at, f.version = new.value, now, f.version + 1
        if new is FaqState.PUBLISHED:
            f.published_at, f.reviewed_by = now, p.name
            uow.emit(FaqPublished(f.id))            # searchable with everything else
        elif before is FaqState.PUBLISHED:
            uow.emit(FaqWithdrawn(f.id))
        audit.record(s, actor=p.name, action=f"consult.faq_{action}", entity="consult_faq", entity_key=str(f.id),
                     at=now, before={"state": before.value}, after={"state": new.value},
                     summary=f"FAQ {f.id}: {before.label_ja} → {new.label_ja}")
        uow.commit()
        return new.value


def get(uow: UnitOfWork, p: Principal, faq_id: int) -> FaqView:
    """A published entry for anyone; a draft or one in review for those who may change it."""
    with uow:
        s = uow.session
        f = s.get(ConsultFaq, faq_id)
        if f is None:
            raise _hidden(faq_id)
        if FaqState(f.state) is not FaqState.PUBLISHED:
            try:
                _editable(s, p, f)
            except DigidenError:
                raise _hidden(faq_id) from None
        return _view(s, f)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def published(uow: UnitOfWork, *, measure: str | None = None, q: str | None = None, field: str | None = None,
              limit: int = 100, offset: int = 0) -> list[FaqView]:
    """The public FAQ, newest first. ``measure`` keeps the entries linked to that measure; ``q``
    those whose question or answer holds every word of it (at most 8, split at spaces, full-width
    too); ``field`` those of that field or social issue, a field's sub-fields included (P4 → P4.3)."""
    with uow:
        s = uow.session
        query = select(ConsultFaq).where(ConsultFaq.state == FaqState.PUBLISHED.value)
        if measure:
            query = query.where(ConsultFaq.id.in_(select(ConsultFaqMeasure.faq_id).join(
                Measure, Measure.id == ConsultFaqMeasure.measure_id).where(Measure.code == measure)))
        for word in (q or "").replace("\u3000", " ").split()[:8]:
            pattern = _like(word)
            query = query.where(or_(ConsultFaq.question.ilike(pattern, escape="\\"),
                                    ConsultFaq.answer.ilike(pattern, escape="\\")))
        if field:
            query = query.where(or_(ConsultFaq.field_code == field,
                                    ConsultFaq.field_code.like(_like(field + ".")[1:], escape="\\")))
        query = query.order_by(ConsultFaq.published_at.desc(), ConsultFaq.id.desc()).limit(limit).offset(offset)
        return [_view(s, f) for f in s.scalars(query)]
