"""The desk's offices and what routes to them: the regional branch offices of the reference data
(``data/regional_bureaus.csv``), offices administrators add, who answers for each office, the
routing rules and the service levels.

The reference loader (``load_reference_offices``) is called by ``services/reference.py`` on
``digiden db init``; it never overwrites what an administrator confirmed or added.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal, require
from digiden.domain.consult import (
    DEFAULT_SERVICE_LEVELS,
    FAMILIES,
    Desk,
    Kind,
    OfficeKind,
    OfficeRef,
    Router,
    Rule,
    ServiceLevel,
    check_rule,
    family_of,
    is_national_desk,
    text_field,
    uncovered_pairs,
)
from digiden.domain.errors import Conflict, InvalidInput, NotFound
from digiden.services import audit
from digiden.services.common import LoadReport, data_path, set_fields
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import (
    ConsultOffice,
    ConsultOfficeArea,
    ConsultResponder,
    ConsultRule,
    ConsultServiceLevel,
)
from digiden.store.models import Measure, OrgUnit, UserAccount

REFERENCE_FILE = "regional_bureaus.csv"
INFERRED = "INFERRED(未検証)"
DESK_CODE = "national_desk"
DESK_NAME = "国の相談窓口（ワンストップ）"
DESK_MINISTRY = "内閣官房"
PREFECTURE_CODES = tuple(f"{i:02d}" for i in range(1, 48))
COLUMNS = ("ministry", "bureau", "bureau_kana_or_empty", "prefecture_code", "prefecture", "note", "source_url")


@dataclass(frozen=True)
class BureauRow:
    """One (office, prefecture) row of the reference data."""

    ministry: str
    bureau: str
    family: str
    prefecture_code: str
    prefecture: str
    note: str
    source_url: str

    @property
    def confirmed(self) -> bool:
        return INFERRED not in self.note


def parse_regional_bureaus(text: str) -> list[BureauRow]:
    """The rows of regional_bureaus.csv, validated: the columns, a source on every row, and every
    prefecture exactly once per family (the 8 families × 47 prefectures). Every problem is listed
    in one InvalidInput."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise InvalidInput(f"{REFERENCE_FILE}: columns must be {', '.join(COLUMNS)}", field="file",
                           message_ja=f"{REFERENCE_FILE} の列が想定と違います（{', '.join(COLUMNS)}）")
    rows: list[BureauRow] = []
    problems: list[str] = []
    names: dict[str, str] = {}
    for n, r in enumerate(reader, start=2):
        code = (r["prefecture_code"] or "").strip().zfill(2)
        if code not in PREFECTURE_CODES:
            problems.append(f"{n}行目: 都道府県コード「{r['prefecture_code']}」が正しくありません")
            continue
        if not (r["source_url"] or "").strip().startswith(("http://", "https://")):
            problems.append(f"{n}行目: 出典URLがありません")
        if names.setdefault(code, r["prefecture"].strip()) != r["prefecture"].strip():
            problems.append(f"{n}行目: 都道府県コード {code} の名前が行によって違います")
        try:
            fam = family_of(r["ministry"].strip(), r["bureau"].strip())
        except InvalidInput as e:
            problems.append(f"{n}行目: {e.message_ja}")
            continue
        rows.append(BureauRow(r["ministry"].strip(), r["bureau"].strip(), fam, code, r["prefecture"].strip(),
                              (r["note"] or "").strip(), r["source_url"].strip()))
    seen: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.family, row.prefecture_code)
        if key in seen:
            problems.append(f"{row.family}: {row.prefecture}が2度あります（{seen[key]}、{row.bureau}）")
        seen[key] = row.bureau
    for fam in FAMILIES:
        missing = [names.get(c, c) for c in PREFECTURE_CODES if (fam, c) not in seen]
        if missing:
            problems.append(f"{fam}: 管轄のない都道府県があります（{'、'.join(missing)}）")
    if problems:
        raise InvalidInput(f"{REFERENCE_FILE}: {len(problems)} problems", field="file",
                           message_ja=f"{REFERENCE_FILE} に問題が{len(problems)}件あります: "
                                      + " / ".join(problems[:10]),
                           details={"problems": problems})
    return rows


def read_reference() -> list[BureauRow]:
    return parse_regional_bureaus(data_path(REFERENCE_FILE).read_text(encoding="utf-8"))


def _office(s: Session, code: str) -> ConsultOffice | None:
    return s.scalars(select(ConsultOffice).where(ConsultOffice.code == code)).one_or_none()


def load_reference_offices(s: Session, report: LoadReport, *, actor: str, now: datetime,
                           rows: Iterable[BureauRow] | None = None) -> None:
    """Load (or refresh) the national desk, one office per ministry of the families, the regional
    offices and the prefectures each covers, and the default service levels and routing rules.

    A refresh keeps what administrators did: an assignment they confirmed stays confirmed while it
    names the same office; offices and rules they added are not touched; a default rule is only
    added once (a rule the desk deleted is not brought back while any rule exists)."""
    rows = list(rows) if rows is not None else read_reference()
    created = updated = 0
    desk = _office(s, DESK_CODE)
    if desk is None:
        s.add(ConsultOffice(code=DESK_CODE, name=DESK_NAME, ministry=DESK_MINISTRY, kind=OfficeKind.DESK.value,
                            family="", origin="reference", created_by=actor, created_at=now))
        created += 1
    for ministry in sorted(set(FAMILIES.values())):
        if _office(s, ministry) is None:
            s.add(ConsultOffice(code=ministry, name=ministry, ministry=ministry, kind=OfficeKind.MINISTRY.value,
                                family="", origin="reference", created_by=actor, created_at=now))
            created += 1
    s.flush()
    offices: dict[str, ConsultOffice] = {}
    for row in rows:
        o = offices.get(row.bureau) or _office(s, row.bureau)
        if o is None:
            o = ConsultOffice(code=row.bureau, name=row.bureau, ministry=row.ministry, kind=OfficeKind.REGIONAL.value,
                              family=row.family, origin="reference", created_by=actor, created_at=now)
            s.add(o)
            s.flush()
            created += 1
        elif set_fields(o, {"ministry": row.ministry, "family": row.family}):
            updated += 1
        offices[row.bureau] = o
    areas = {(a.family, a.prefecture_code): a for a in s.scalars(select(ConsultOfficeArea))}
    a_created = a_updated = a_same = 0
    for row in rows:
        o = offices[row.bureau]
        a = areas.get((row.family, row.prefecture_code))
        if a is None:
            s.add(ConsultOfficeArea(office_id=o.id, family=row.family, prefecture_code=row.prefecture_code,
                                    confirmed=row.confirmed, note=row.note, source_url=row.source_url))
            a_created += 1
            continue
        kept = a.confirmed_by is not None and a.office_id == o.id   # an administrator confirmed this very office
        values = {"office_id": o.id, "note": row.note, "source_url": row.source_url,
                  "confirmed": True if kept else row.confirmed}
        if not kept and a.confirmed_by is not None:
            values |= {"confirmed_by": None, "confirmed_at": None}
        if set_fields(a, values):
            a_updated += 1
        else:
            a_same += 1
    for kind, level in DEFAULT_SERVICE_LEVELS.items():
        if s.get(ConsultServiceLevel, kind.value) is None:
            s.add(ConsultServiceLevel(kind=kind.value, first_response_days=level.first_response_days,
                                      resolution_days=level.resolution_days, updated_by=actor, updated_at=now))
    s.flush()
    rules_added = _default_rules(s, actor=actor, now=now)
    # as the other reference loaders report: a kind appears under created/updated only when
    # something was, so a second load says "unchanged" and nothing else
    for entity, outcome, n in (("consult_office", "created", created), ("consult_office", "updated", updated),
                               ("consult_office_area", "created", a_created),
                               ("consult_office_area", "updated", a_updated),
                               ("consult_office_area", "unchanged", a_same), ("consult_rule", "created", rules_added)):
        if n:
            report.add(entity, outcome, n)
    if created or updated or a_created or a_updated or rules_added:
        unconfirmed = sum(1 for r in rows if not r.confirmed)
        audit.record(s, actor=actor, action="reference.load", entity="consult_office", entity_key=REFERENCE_FILE,
                     at=now, after={"offices_created": created, "offices_updated": updated,
                                    "areas_created": a_created, "areas_updated": a_updated,
                                    "rules_created": rules_added, "unconfirmed_in_file": unconfirmed},
                     summary=f"地方支分部局を読み込みました（部局 新規{created}・更新{updated}、管轄 新規{a_created}・"
                             f"更新{a_updated}、未確認{unconfirmed}行）")


def _default_rules(s: Session, *, actor: str, now: datetime) -> int:
    """One rule per catalogue measure whose ministry (a single one) has an office: to that
    ministry, and through its family when the ministry has exactly one (国土交通省 has two, so
    its measures go to the ministry until the desk says which family). Added only to an empty
    rule table."""
    if s.scalars(select(ConsultRule.id).limit(1)).first() is not None:
        return 0
    families_of: dict[str, list[str]] = {}
    for fam, ministry_of in FAMILIES.items():
        families_of.setdefault(ministry_of, []).append(fam)
    n = 0
    for measure in s.scalars(select(Measure).order_by(Measure.position, Measure.id)):
        ministry = measure.ministry.strip()
        if ministry not in families_of:
            continue
        fams = families_of[ministry]
        s.add(ConsultRule(measure_code=measure.code, field_code=None, ministry=ministry,
                          family=fams[0] if len(fams) == 1 else "", priority=100, created_by=actor, created_at=now))
        n += 1
    return n


# ---------------------------------------------------------------- reading


def office_refs(s: Session) -> list[OfficeRef]:
    """Every office as routing sees it (with the prefectures it covers, and which are unconfirmed)."""
    covered: dict[int, set[str]] = {}
    unconfirmed: dict[int, set[str]] = {}
    # plain columns, not entities: routing reads these on every new consultation
    for office_id, pref, confirmed in s.execute(select(ConsultOfficeArea.office_id, ConsultOfficeArea.prefecture_code,
                                                       ConsultOfficeArea.confirmed)):
        covered.setdefault(office_id, set()).add(pref)
        if not confirmed:
            unconfirmed.setdefault(office_id, set()).add(pref)
    kinds = {k.value: k for k in OfficeKind}
    return [OfficeRef(oid, name, ministry, kinds[kind], family, frozenset(covered.get(oid, ())),
                      frozenset(unconfirmed.get(oid, ())))
            for oid, name, ministry, kind, family in s.execute(
                select(ConsultOffice.id, ConsultOffice.name, ConsultOffice.ministry, ConsultOffice.kind,
                       ConsultOffice.family).order_by(ConsultOffice.id))]


def rules(s: Session) -> list[Rule]:
    return [Rule(*r) for r in s.execute(select(ConsultRule.id, ConsultRule.ministry, ConsultRule.field_code,
                                                ConsultRule.measure_code, ConsultRule.family, ConsultRule.priority)
                                         .order_by(ConsultRule.id))]


def router(s: Session) -> Router:
    return Router(rules(s), office_refs(s))


def desk_of(s: Session, p: Principal) -> Desk:
    """The offices the principal answers for, and whether it belongs to the national desk."""
    if p.user_id is None:
        return Desk(national=p.is_admin)
    ids = frozenset(s.scalars(select(ConsultResponder.office_id).where(ConsultResponder.user_id == p.user_id)))
    national = bool(ids) and s.scalars(select(ConsultOffice.id).where(
        ConsultOffice.id.in_(ids), ConsultOffice.kind == OfficeKind.DESK.value)).first() is not None
    return Desk(ids, national)


def desk_office(s: Session) -> ConsultOffice:
    o = _office(s, DESK_CODE)
    if o is None:
        raise NotFound("the national desk is not set up (run digiden db init)",
                       message_ja="国の相談窓口が登録されていません（digiden db init を実行してください）")
    return o


def service_levels(s: Session) -> dict[Kind, ServiceLevel]:
    out = dict(DEFAULT_SERVICE_LEVELS)
    for row in s.scalars(select(ConsultServiceLevel)):
        if row.kind in Kind._value2member_map_:
            out[Kind(row.kind)] = ServiceLevel(row.first_response_days, row.resolution_days)
    return out


def office_by_code(s: Session, code: str) -> ConsultOffice:
    o = _office(s, (code or "").strip())
    if o is None:
        raise NotFound(f"unknown office {code!r}", field="office", message_ja=f"部局「{code}」は登録されていません")
    return o


@dataclass(frozen=True)
class AreaView:
    family: str
    prefecture_code: str
    prefecture: str
    office: str
    confirmed: bool
    note: str
    source_url: str


def areas(uow: UnitOfWork, *, family: str | None = None, unconfirmed_only: bool = False) -> list[AreaView]:
    """Who covers which prefecture, per family; unconfirmed rows are shown as such (public data:
    the organisation of the state is not secret)."""
    with uow:
        s = uow.session
        prefs = {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
        q = select(ConsultOfficeArea, ConsultOffice).join(
            ConsultOffice, ConsultOffice.id == ConsultOfficeArea.office_id)
        if family:
            q = q.where(ConsultOfficeArea.family == family)
        if unconfirmed_only:
            q = q.where(ConsultOfficeArea.confirmed.is_(False))
        q = q.order_by(ConsultOfficeArea.family, ConsultOfficeArea.prefecture_code)
        return [AreaView(a.family, a.prefecture_code, prefs.get(a.prefecture_code, a.prefecture_code), o.name,
                         a.confirmed, a.note, a.source_url) for a, o in s.execute(q)]


# ---------------------------------------------------------------- administration


def _require_desk_admin(s: Session, p: Principal) -> None:
    require(p, p.can_write_at_all and is_national_desk(p, desk_of(s, p)),
            message="only the national desk administers offices, rules and service levels",
            message_ja="部局・振り分けルール・目標の管理は国の相談窓口が行います",
            sign_in_ja="管理にはサインインが必要です")


def list_rules(uow: UnitOfWork, p: Principal) -> list[Rule]:
    """The routing rules, for the national desk that administers them."""
    with uow.for_reading() as u:
        _require_desk_admin(u.session, p)
        return rules(u.session)


def confirm_area(uow: UnitOfWork, p: Principal, family: str, prefecture_code: str, *, now: datetime) -> None:
    """An administrator confirms an unconfirmed (INFERRED) assignment against the organisation orders."""
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        a = s.scalars(select(ConsultOfficeArea).where(ConsultOfficeArea.family == family,
                                                      ConsultOfficeArea.prefecture_code == prefecture_code.zfill(2))
                      ).one_or_none()
        if a is None:
            raise NotFound(f"no office of {family} covers {prefecture_code}", field="prefecture",
                           message_ja=f"{family}で都道府県コード{prefecture_code}を管轄する部局は登録されていません")
        if a.confirmed:
            raise Conflict("already confirmed", field="prefecture", message_ja="この管轄は既に確認済みです")
        a.confirmed, a.confirmed_by, a.confirmed_at = True, p.name, now
        audit.record(s, actor=p.name, action="consult.area_confirm", entity="consult_office",
                     entity_key=f"{family}/{a.prefecture_code}", at=now, before={"confirmed": False},
                     after={"confirmed": True, "office_id": a.office_id},
                     summary=f"{family}の都道府県コード{a.prefecture_code}の管轄を確認しました")
        uow.commit()


def add_office(uow: UnitOfWork, p: Principal, *, name: str, ministry: str, family: str = "",
               prefectures: Iterable[str] = (), contact_email: str = "", now: datetime) -> int:
    """An office the reference data does not have: a regional office of another ministry (with the
    prefectures it covers for its family; an administrator's entry counts as confirmed) or a
    ministry's section (no family)."""
    name = text_field(name, max_len=100, field="name", label_ja="部局名")
    ministry = text_field(ministry, max_len=64, field="ministry", label_ja="府省名")
    family = text_field(family, max_len=32, field="family", label_ja="系統", required=False)
    codes = sorted({c.strip().zfill(2) for c in prefectures if c.strip()})
    bad = [c for c in codes if c not in PREFECTURE_CODES]
    if bad:
        raise InvalidInput(f"unknown prefecture codes {bad}", field="prefectures",
                           message_ja=f"都道府県コードが正しくありません: {'、'.join(bad)}")
    if family and not codes:
        raise InvalidInput("a regional office needs the prefectures it covers", field="prefectures",
                           message_ja="地方支分部局には管轄する都道府県を指定してください")
    if codes and not family:
        raise InvalidInput("prefectures need a family", field="family",
                           message_ja="管轄する都道府県を指定するときは系統（例: 地方運輸局）も指定してください")
    if family in FAMILIES and FAMILIES[family] != ministry:
        raise InvalidInput(f"{family} belongs to {FAMILIES[family]}", field="family",
                           message_ja=f"「{family}」は{FAMILIES[family]}の系統です")
    email = _email(contact_email)
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        if _office(s, name) is not None:
            raise Conflict(f"office {name} exists", field="name", message_ja=f"部局「{name}」は既に登録されています")
        taken = s.scalars(select(ConsultOfficeArea.prefecture_code).where(
            ConsultOfficeArea.family == family, ConsultOfficeArea.prefecture_code.in_(codes))).all()
        if taken:
            raise Conflict(f"{family} already covers {sorted(taken)}", field="prefectures",
                           message_ja=f"{family}では次の都道府県を既に別の部局が管轄しています:"
                                      f" {'、'.join(sorted(taken))}")
        o = ConsultOffice(code=name, name=name, ministry=ministry,
                          kind=(OfficeKind.REGIONAL if family else OfficeKind.MINISTRY).value, family=family,
                          contact_email=email, origin="admin", created_by=p.name, created_at=now)
        s.add(o)
        s.flush()
        for c in codes:
            s.add(ConsultOfficeArea(office_id=o.id, family=family, prefecture_code=c, confirmed=True,
                                    note="管理者が追加", source_url="", confirmed_by=p.name, confirmed_at=now))
        audit.record(s, actor=p.name, action="consult.office_add", entity="consult_office", entity_key=name, at=now,
                     after={"ministry": ministry, "family": family, "prefectures": codes},
                     summary=f"部局「{name}」を追加しました")
        uow.commit()
        return o.id


def _email(text: str) -> str:
    t = (text or "").strip()
    if t and ("@" not in t or " " in t or len(t) > 254 or t.startswith("@") or t.endswith("@")):
        raise InvalidInput("not an e-mail address", field="contact_email",
                           message_ja=f"メールアドレスの形式が正しくありません: {t}")
    return t


def set_contact(uow: UnitOfWork, p: Principal, office: str, contact_email: str, *, now: datetime) -> None:
    """The address the office's notices go to by e-mail (its lead's, or a shared mailbox)."""
    email = _email(contact_email)
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        o = office_by_code(s, office)
        before = o.contact_email
        o.contact_email = email
        audit.record(s, actor=p.name, action="consult.office_contact", entity="consult_office", entity_key=o.code,
                     at=now, before={"contact_email": bool(before)}, after={"contact_email": bool(email)},
                     summary=f"部局「{o.name}」の通知先を変更しました")
        uow.commit()


def add_responder(uow: UnitOfWork, p: Principal, office: str, username: str, *, lead: bool = False,
                  now: datetime) -> None:
    """A user answers for an office from now on (the lead also receives overdue notices)."""
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        o = office_by_code(s, office)
        u = s.scalars(select(UserAccount).where(UserAccount.username == username)).one_or_none()
        if u is None:
            raise NotFound(f"no user {username}", field="username", message_ja=f"ユーザー「{username}」は存在しません")
        r = s.get(ConsultResponder, (o.id, u.id))
        if r is None:
            s.add(ConsultResponder(office_id=o.id, user_id=u.id, lead=lead))
        else:
            r.lead = lead
        audit.record(s, actor=p.name, action="consult.responder_set", entity="consult_office", entity_key=o.code,
                     at=now, after={"username": username, "lead": lead},
                     summary=f"{username} を部局「{o.name}」の担当者にしました" + ("（責任者）" if lead else ""))
        uow.commit()


def add_rule(uow: UnitOfWork, p: Principal, *, ministry: str, field_code: str | None = None,
             measure_code: str | None = None, family: str = "", priority: int = 100, now: datetime) -> int:
    """A routing rule, refused (nothing written) when it would leave a field × prefecture pair
    without an office; the message names the pairs."""
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 10_000:
        raise InvalidInput("priority must be 0..10000", field="priority",
                           message_ja="優先度は0〜10000で指定してください")
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        if measure_code and s.scalars(select(Measure.id).where(Measure.code == measure_code)).first() is None:
            raise InvalidInput(f"unknown measure {measure_code}", field="measure",
                               message_ja=f"施策「{measure_code}」は登録されていません")
        rule = Rule(0, (ministry or "").strip(), (field_code or "").strip() or None,
                    (measure_code or "").strip() or None, (family or "").strip(), priority)
        prefs: Mapping[str, str] = {o.prefecture_code: o.name for o in s.scalars(
            select(OrgUnit).where(OrgUnit.kind == "prefecture"))} or {c: c for c in PREFECTURE_CODES}
        check_rule(rule, office_refs(s), prefs)
        row = ConsultRule(field_code=rule.field_code, measure_code=rule.measure_code, ministry=rule.ministry,
                          family=rule.family, priority=priority, created_by=p.name, created_at=now)
        s.add(row)
        s.flush()
        audit.record(s, actor=p.name, action="consult.rule_add", entity="consult_rule", entity_key=str(row.id), at=now,
                     after={"ministry": rule.ministry, "field": rule.field_code, "measure": rule.measure_code,
                            "family": rule.family, "priority": priority},
                     summary=f"振り分けルールを追加しました（{rule.measure_code or rule.field_code} → {rule.ministry}"
                             f"{'・' + rule.family if rule.family else ''}）")
        uow.commit()
        return row.id


def delete_rule(uow: UnitOfWork, p: Principal, rule_id: int, *, now: datetime) -> None:
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        row = s.get(ConsultRule, rule_id)
        if row is None:
            raise NotFound(f"no rule {rule_id}", field="rule", message_ja=f"振り分けルール {rule_id} はありません")
        before = {"ministry": row.ministry, "field": row.field_code, "measure": row.measure_code, "family": row.family}
        s.execute(delete(ConsultRule).where(ConsultRule.id == rule_id))
        audit.record(s, actor=p.name, action="consult.rule_delete", entity="consult_rule", entity_key=str(rule_id),
                     at=now, before=before, summary=f"振り分けルール {rule_id} を削除しました")
        uow.commit()


def set_service_level(uow: UnitOfWork, p: Principal, kind: str, *, first_response_days: int,
                      resolution_days: int, now: datetime) -> None:
    k = Kind.parse(kind)
    level = ServiceLevel(first_response_days, resolution_days)
    with uow:
        s = uow.session
        _require_desk_admin(s, p)
        row = s.get(ConsultServiceLevel, k.value)
        before = None if row is None else {"first": row.first_response_days, "resolution": row.resolution_days}
        if row is None:
            row = ConsultServiceLevel(kind=k.value, first_response_days=0, resolution_days=0, updated_by=p.name,
                                      updated_at=now)
            s.add(row)
        row.first_response_days, row.resolution_days = level.first_response_days, level.resolution_days
        row.updated_by, row.updated_at = p.name, now
        audit.record(s, actor=p.name, action="consult.level_set", entity="consult_service_level", entity_key=k.value,
                     at=now, before=before, after={"first": level.first_response_days,
                                                   "resolution": level.resolution_days},
                     summary=f"「{k.label_ja}」の目標を初回回答{level.first_response_days}開庁日・"
                             f"解決{level.resolution_days}開庁日にしました")
        uow.commit()


# ---------------------------------------------------------------- the desk's pages


@dataclass(frozen=True)
class OfficeArea:
    prefecture_code: str
    prefecture: str
    confirmed: bool
    note: str
    source_url: str


@dataclass(frozen=True)
class OfficeView:
    """An office with the prefectures it covers (for its family), unconfirmed ones marked."""

    id: int
    code: str
    name: str
    ministry: str
    kind: str
    kind_ja: str
    family: str
    origin: str
    areas: tuple[OfficeArea, ...]
    contact_email: str | None       # only for the national desk (None: not shown)

    @property
    def unconfirmed(self) -> int:
        return sum(1 for a in self.areas if not a.confirmed)


def _prefecture_names(s: Session) -> dict[str, str]:
    return {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))} \
        or {c: c for c in PREFECTURE_CODES}


def is_desk_admin(uow: UnitOfWork, p: Principal) -> bool:
    """Whether the principal administers the desk (offices, rules, service levels) and may write."""
    if not p.signed_in:
        return False
    with uow.for_reading() as u:
        return p.can_write_at_all and is_national_desk(p, desk_of(u.session, p))


def list_offices(uow: UnitOfWork, p: Principal) -> list[OfficeView]:
    """Every office, the national desk first, then the ministries and the regional offices by family,
    each with the prefectures it covers. Public, as the organisation of the state is; the address
    an office's notices are mailed to only for the national desk."""
    with uow.for_reading() as u:
        s = u.session
        show_contact = p.signed_in and is_national_desk(p, desk_of(s, p))
        prefs = _prefecture_names(s)
        areas: dict[int, list[OfficeArea]] = {}
        for a in s.scalars(select(ConsultOfficeArea).order_by(ConsultOfficeArea.prefecture_code)):
            areas.setdefault(a.office_id, []).append(OfficeArea(
                a.prefecture_code, prefs.get(a.prefecture_code, a.prefecture_code), a.confirmed, a.note, a.source_url))
        order = {OfficeKind.DESK.value: 0, OfficeKind.MINISTRY.value: 1, OfficeKind.REGIONAL.value: 2}
        rows = sorted(s.scalars(select(ConsultOffice)),
                      key=lambda o: (order.get(o.kind, 3), o.family, min((a.prefecture_code for a in
                                                                          areas.get(o.id, ())), default=""), o.id))
        return [OfficeView(o.id, o.code, o.name, o.ministry, o.kind, OfficeKind(o.kind).label_ja, o.family, o.origin,
                           tuple(areas.get(o.id, ())), o.contact_email if show_contact else None) for o in rows]


@dataclass(frozen=True)
class Gap:
    """A field (or measure) × prefecture pair a rule leaves without an office."""

    key: str
    prefecture_code: str
    prefecture: str

    @property
    def label_ja(self) -> str:
        return f"{self.key}×{self.prefecture}"


@dataclass(frozen=True)
class RuleCoverage:
    rule: Rule
    gaps: tuple[Gap, ...]


def _gaps(s: Session, rule: Rule, refs: list[OfficeRef] | None = None) -> tuple[Gap, ...]:
    prefs = _prefecture_names(s)
    return tuple(Gap(k, c, prefs.get(c, c)) for k, c in uncovered_pairs(rule, refs or office_refs(s), prefs))


def coverage(uow: UnitOfWork, p: Principal) -> list[RuleCoverage]:
    """Every routing rule with the field × prefecture pairs it leaves without an office today (an
    office removed or a family changed since the rule was saved); for the national desk."""
    with uow.for_reading() as u:
        s = u.session
        _require_desk_admin(s, p)
        refs = office_refs(s)
        return [RuleCoverage(r, _gaps(s, r, refs)) for r in rules(s)]


def rule_gaps(uow: UnitOfWork, p: Principal, *, ministry: str, field_code: str | None = None,
              measure_code: str | None = None, family: str = "") -> tuple[Gap, ...]:
    """The pairs a rule being typed would leave without an office, before it is saved (nothing is
    written; ``add_rule`` refuses the same rule naming the same pairs)."""
    with uow.for_reading() as u:
        s = u.session
        _require_desk_admin(s, p)
        rule = Rule(0, (ministry or "").strip(), (field_code or "").strip() or None,
                    (measure_code or "").strip() or None, (family or "").strip())
        if not rule.ministry or not (rule.field_code or rule.measure_code):
            return ()
        return _gaps(s, rule)


@dataclass(frozen=True)
class LevelView:
    kind: str
    label_ja: str
    first_response_days: int
    resolution_days: int


def levels(uow: UnitOfWork) -> list[LevelView]:
    """The service level of each kind of consultation, in 開庁日 (public: what the desk promises)."""
    with uow.for_reading() as u:
        got = service_levels(u.session)
    return [LevelView(k.value, k.label_ja, got[k].first_response_days, got[k].resolution_days) for k in Kind]
