"""Audit trail: every mutation writes one event with who, when, what, before and after."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from digiden.domain import access
from digiden.domain.access import Principal, Role
from digiden.domain.errors import InvalidInput, SignInRequired
from digiden.domain.local import Status, may_see
from digiden.domain.practice import Status as PracticeStatus
from digiden.services.common import open_cursor, org_ref, seal_cursor
from digiden.services.uow import UnitOfWork
from digiden.shapes.audit import AuditEntryOut
from digiden.store.models import AuditEvent, BatchKpi, Kpi, Observation, OrgUnit, Practice, PracticeOrgUnit


def record(session: Session, *, actor: str, action: str, entity: str, entity_key: str,
           at: datetime, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, kpi_id: int | None = None,
           org_unit_id: int | None = None, batch_id: int | None = None,
           summary: str = "") -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change itself)."""
    ev = AuditEvent(at=at, actor=actor, action=action, entity=entity, entity_key=entity_key,
                    before=before, after=after, kpi_id=kpi_id, org_unit_id=org_unit_id,
                    batch_id=batch_id, summary=summary)
    session.add(ev)
    return ev


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_key: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def shape(self) -> AuditEntryOut:
        return AuditEntryOut(id=self.id, at=self.at.isoformat(), actor=self.actor, action=self.action,
                             entity=self.entity, entity_key=self.entity_key, summary=self.summary,
                             before=self.before, after=self.after)


# Changes to the national, published data: every signed-in user may read their history.
SHARED_ENTITIES = ("observation", "import_batch", "import_mapping", "kpi")
# Events whose entity has rules of its own (the services' visibility rules, applied per event).
RULED_ENTITIES = ("local_strategy", "practice")


def _statuses(e: Any) -> list[str]:
    """The states of the entity an event records: those named in its before/after."""
    return [str(d["status"]) for d in (e.before, e.after) if isinstance(d, dict) and d.get("status")]


class _Visibility:
    """Whether a reader may see an audit event: what the reader may see of the entity it records,
    by the same rules as the services that own the entity.

    - national data (observations, imports, mappings, KPI assignments): every signed-in user;
    - a local strategy revision: within the reader's reach (owner, its prefecture), and only if
      the reader may see the revision in a state the event records. A save records the content
      of an open revision (下書き or 差し戻し: the owner's and the nation's only); a step of the
      cycle records the states before and after, so a prefecture sees a submission, its own
      approval or return, and the nation's decision, but never a municipality's draft;
    - a good practice: while an event records unpublished content, the people who may see an
      unpublished practice (its authors, its local governments, their prefecture); content that
      was published, every signed-in user; an import of many practices, the administrator;
    - accounts, tokens, notifications and everything else: the national administrator."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session, self.p = session, principal
        self._orgs: dict[int, Any] = {}
        self._practices: dict[str, Any] = {}

    def org(self, org_unit_id: int) -> Any:
        if org_unit_id not in self._orgs:
            o = self.session.get(OrgUnit, org_unit_id)
            self._orgs[org_unit_id] = org_ref(o) if o is not None else None
        return self._orgs[org_unit_id]

    def practice(self, code: str) -> Any:
        """(status, its local governments, created_by), or None for a key that is no practice."""
        if code not in self._practices:
            pr = self.session.scalars(select(Practice).where(Practice.code == code)).one_or_none()
            if pr is None:
                self._practices[code] = None
            else:
                units = self.session.scalars(select(OrgUnit).join(
                    PracticeOrgUnit, PracticeOrgUnit.org_unit_id == OrgUnit.id).where(
                    PracticeOrgUnit.practice_id == pr.id)).all()
                self._practices[code] = (pr.status, [org_ref(u) for u in units], pr.created_by)
        return self._practices[code]

    def __call__(self, e: Any) -> bool:
        """``e``: an AuditEvent, or a row with its entity, entity_key, org_unit_id, before, after."""
        p = self.p
        if p.is_admin:
            return True
        if e.entity in SHARED_ENTITIES:
            return True
        if e.entity == "local_strategy":
            org = self.org(e.org_unit_id) if e.org_unit_id is not None else None
            if org is None or not access.can_see_submitted(p, org):
                return False
            states = [Status(x) for x in _statuses(e) if x in Status._value2member_map_] or [Status.DRAFT]
            return any(may_see(p, org, st) for st in states)
        if e.entity == "practice":
            found = self.practice(e.entity_key)
            if found is None:
                return False
            status, orgs, created_by = found
            # every state the event records must be visible (a state of no practice counts as unpublished)
            shown = [PracticeStatus(x) if x in PracticeStatus._value2member_map_ else PracticeStatus.DRAFT
                     for x in (_statuses(e) or [status])]
            return all(access.can_see_practice(p, st, orgs, created_by) for st in shown)
        return False


def history(uow: UnitOfWork, principal: Principal, *, kpi_code: str | None = None,
            org_unit_code: str | None = None, batch_id: int | None = None, limit: int = 200) -> list[AuditView]:
    """Newest first; optionally only the events touching one KPI, one local government or one
    import batch. A batch's events count for every KPI and local government it touched.

    Each reader sees only the events of what it may see (see ``_Visibility``); the public reads
    none (sign in)."""
    return _read(uow, principal, kpi_code=kpi_code, org_unit_code=org_unit_code, batch_id=batch_id,
                 limit=limit, below=None, look_ahead=False).items


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit trail, and the cursor of the page after it (None when no further
    event the reader may see follows)."""

    items: list[AuditView]
    next_after: str | None


def history_page(uow: UnitOfWork, principal: Principal, *, kpi_code: str | None = None,
                 org_unit_code: str | None = None, batch_id: int | None = None, limit: int = 200,
                 after: str | None = None) -> AuditPage:
    """A page of ``history``: ``after`` is the cursor of the previous page (keyset paging by
    event id, newest first: the page starts right after the event it names, however deep, without
    counting the events before it). A cursor belongs to the filters it was made under.

    The cursor only says where to resume; every event of the page passes the same visibility
    rules as ``history``, and the next cursor is given only when one more event the reader may
    see exists."""
    if not principal.signed_in:   # before the cursor: the public learns nothing from a 422
        raise SignInRequired("sign in to read the audit trail", message_ja="監査ログの閲覧にはサインインが必要です")
    filters = _fingerprint(kpi_code, org_unit_code, batch_id)
    below = _decode_cursor(after, filters) if after else None
    return _read(uow, principal, kpi_code=kpi_code, org_unit_code=org_unit_code, batch_id=batch_id,
                 limit=limit, below=below, look_ahead=True, filters=filters)


# What _Visibility and AuditView read of an event: no more (the JSON before/after is needed by both).
_COLUMNS = (AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity,
            AuditEvent.entity_key, AuditEvent.summary, AuditEvent.before, AuditEvent.after,
            AuditEvent.org_unit_id)


def _read(uow: UnitOfWork, principal: Principal, *, kpi_code: str | None, org_unit_code: str | None,
          batch_id: int | None, limit: int, below: int | None, look_ahead: bool,
          filters: str = "") -> AuditPage:
    """The newest ``limit`` visible events with an id below ``below``; with ``look_ahead``, the
    scan goes on to one more visible event, whose existence makes the next cursor."""
    if not principal.signed_in:
        raise SignInRequired("sign in to read the audit trail", message_ja="監査ログの閲覧にはサインインが必要です")
    with uow:
        q = select(*_COLUMNS).order_by(AuditEvent.id.desc())
        if not principal.is_admin:
            # a coarse filter in SQL; _Visibility decides each event
            scope = select(OrgUnit.id).where(OrgUnit.id == (principal.org_unit_id or -1))
            if principal.role is Role.PREFECTURE and principal.prefecture_code:
                scope = select(OrgUnit.id).where(OrgUnit.prefecture_code == principal.prefecture_code,
                                                 OrgUnit.code != "JP")
            q = q.where(or_(AuditEvent.entity.in_(SHARED_ENTITIES), AuditEvent.entity == "practice",
                            and_(AuditEvent.entity == "local_strategy", AuditEvent.org_unit_id.in_(scope))))
        if kpi_code:
            kpi_id = select(Kpi.id).where(Kpi.code == kpi_code).scalar_subquery()
            q = q.where(or_(AuditEvent.kpi_id == kpi_id,
                            AuditEvent.batch_id.in_(select(BatchKpi.batch_id).where(BatchKpi.kpi_id == kpi_id))
                            & (AuditEvent.kpi_id.is_(None))))
        if org_unit_code:
            org_id = select(OrgUnit.id).where(OrgUnit.code == org_unit_code).scalar_subquery()
            q = q.where(or_(AuditEvent.org_unit_id == org_id,
                            AuditEvent.batch_id.in_(select(Observation.batch_id).where(
                                Observation.kpi_id.in_(select(Kpi.id)), Observation.org_unit_id == org_id,
                                Observation.batch_id.is_not(None)))
                            & (AuditEvent.org_unit_id.is_(None))))
        if batch_id is not None:
            q = q.where(AuditEvent.batch_id == batch_id)
        visible = _Visibility(uow.session, principal)
        found: list[AuditView] = []
        limit = max(limit, 1)
        want = limit + 1 if look_ahead else limit
        page = limit * 2
        last_id = below
        while len(found) < want:
            chunk = q.where(AuditEvent.id < last_id) if last_id is not None else q
            # Core rows of the columns above: no ORM entity, no identity map
            rows = uow.session.execute(chunk.limit(page)).all()
            for e in rows:
                if visible(e):
                    found.append(AuditView(e.id, e.at, e.actor, e.action, e.entity, e.entity_key, e.summary,
                                           e.before, e.after))
                    if len(found) == want:
                        break
            if len(rows) < page:
                break
            last_id = rows[-1].id
        more = len(found) > limit
        found = found[:limit]
        return AuditPage(found, _encode_cursor(filters, found[-1].id) if more else None)


# ------------------------------------------------------------------------- the paging cursor
# An opaque token like the observation listing's: base64url of the filters a page was made
# under and the id of its last event, and a digest over both. The digest catches a cursor that
# was cut, edited or taken to other filters (422); it is not a secret: the cursor only says
# where the listing resumes (events with a smaller id), and each event of the page is still
# shown only to a reader who may see it.

def _fingerprint(kpi_code: str | None, org_unit_code: str | None, batch_id: int | None) -> str:
    raw = json.dumps([kpi_code or None, org_unit_code or None, batch_id], ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def _encode_cursor(filters: str, event_id: int) -> str:
    return seal_cursor("audit", [filters, event_id])


def _bad_cursor(why: str, message_ja: str = "after の値が正しくありません"
                "（前のページの Link ヘッダーの next をそのまま使ってください）") -> InvalidInput:
    return InvalidInput(f"after is not a cursor of the audit trail ({why}); "
                        "follow the Link rel=\"next\" of the previous page", message_ja=message_ja, field="after")


def _decode_cursor(token: str, filters: str) -> int:
    """The id of the last event of the previous page."""
    try:
        made_under, event_id = open_cursor(token, "audit", max_length=200, bad=_bad_cursor)
    except (ValueError, TypeError):
        raise _bad_cursor("malformed") from None
    if type(event_id) is not int or not 0 < event_id <= 2**63 - 1:
        raise _bad_cursor("malformed")
    if made_under != filters:
        raise _bad_cursor("it was made under other filters",
                          "after の値は別の絞り込み条件（KPI・自治体・取込）で作られたものです。"
                          "絞り込みを変えたら最初のページから読み直してください")
    return event_id
