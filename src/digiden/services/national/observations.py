"""Recording observed values of KPIs (web form, API and CLI all come through here)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, tuple_

from digiden.domain.access import Principal, can_import, can_write_observation, require, require_signed_in
from digiden.domain.calendar import AsOf, Precision, parse_as_of
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import InvalidInput, PermissionDenied
from digiden.domain.quantities import Qualifier, parse_value, value_problem
from digiden.domain.rules import Rule, decrease_problem, parse_rules, parts_problem, value_breaks
from digiden.domain.text import bounded, url_problem
from digiden.services import audit
from digiden.services.common import (
    PRECISIONS,
    QUALIFIERS,
    ObservationView,
    observation_view,
    open_cursor,
    seal_cursor,
)
from digiden.services.national.kpis import find_kpi
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.store import bulk
from digiden.store.models import Kpi, Observation, OrgUnit

MAX_TEXT = 500


def observation_snapshot(o: Observation) -> dict[str, Any]:
    """The fields of an observation an auditor compares before and after."""
    return {"as_of": o.as_of.isoformat(), "precision": o.as_of_precision,
            "breakdown": o.breakdown, "value": o.value, "qualifier": o.qualifier,
            "source_title": o.source_title, "source_url": o.source_url, "status": o.status}


@dataclass(frozen=True)
class ObservationInput:
    """What a person types: every field is text, parsed and checked by the service."""

    kpi: str
    as_of: str
    value: str
    org_unit: str = NATION_CODE
    breakdown: str = ""
    qualifier: str = ""
    source_title: str = ""
    source_url: str = ""
    note: str = ""


def validate_value(kpi: Kpi, text: str) -> tuple[float, Qualifier]:
    """Parse a value as typed (１，０００ / 2万人強 / 12.5%) and check it fits the KPI's unit."""
    if not str(text or "").strip():
        raise InvalidInput("value is required", message_ja="値を入力してください", field="value")
    value, qualifier = parse_value(text, kpi.unit)
    problem = value_problem(value, kpi.unit)
    if problem:
        raise InvalidInput(problem[0], message_ja=problem[1], field="value")
    return value, qualifier


def require_may_record(actor: Principal) -> None:
    """Who may open the values form at all (the right to each KPI is checked on saving)."""
    require(actor, can_import(actor),
            message="national KPI values are kept by national administrators and ministry editors",
            message_ja="国のKPIの実績値は国の管理者・担当府省の担当者が登録します。"
                       "自団体の取組は「地方版総合戦略」に登録してください",
            sign_in_ja="実績値の登録にはサインインが必要です")


def add_observation(uow: UnitOfWork, data: ObservationInput, *, actor: Principal,
                    now: datetime, today: date) -> tuple[ObservationView, bool]:
    """Record a value; returns the observation and whether it was new (else it was updated).

    Every field is checked before anything is written; the change and its audit event commit
    together.
    """
    require_signed_in(actor, "値の登録にはサインインが必要です")
    with uow:
        s = uow.session
        kpi = find_kpi(s, data.kpi)
        if not can_write_observation(actor, kpi.ministry):
            raise PermissionDenied(f"{actor.name} may not write values of KPI {kpi.code}",
                                   message_ja=("このKPIの値を登録する権限がありません"
                                               "（国の管理者、またはこのKPIを担当する府省の担当者のみ）"),
                                   field="kpi")
        unit = resolve_org(s, data.org_unit)
        as_of = parse_as_of(data.as_of) if str(data.as_of or "").strip() else None
        if as_of is None:
            raise InvalidInput("as-of date is required", message_ja="時点（日付）を入力してください",
                               field="as_of")
        if as_of.date > today:
            raise InvalidInput(f"as-of date {as_of.iso()} is in the future",
                               message_ja=f"時点 {as_of.label()} は未来の日付です", field="as_of")
        value, parsed_q = validate_value(kpi, data.value)
        qualifier = Qualifier.parse(data.qualifier) if data.qualifier else parsed_q
        breakdown = bounded(data.breakdown, MAX_TEXT, field="breakdown", label_ja="内訳")
        if kpi.breakdowns and breakdown not in kpi.breakdowns:
            raise InvalidInput(
                f"breakdown must be one of {', '.join(kpi.breakdowns)}",
                message_ja=f"内訳は {'・'.join(kpi.breakdowns)} のいずれかを選んでください",
                field="breakdown")
        if not kpi.breakdowns and breakdown:
            raise InvalidInput("this KPI has no breakdowns", message_ja="このKPIには内訳がありません",
                               field="breakdown")
        # the same text rules as the importer (no control characters), so that whatever is
        # stored here exports and imports back
        source_title = bounded(data.source_title, MAX_TEXT, field="source_title", label_ja="出典")
        if not source_title:
            raise InvalidInput("source is required: say where the number comes from",
                               message_ja="出典を入力してください（数値の根拠）", field="source_title")
        note = bounded(data.note, MAX_TEXT, field="note", label_ja="備考")
        url = bounded(data.source_url, MAX_TEXT, field="source_url", label_ja="出典URL") or None
        problem = url_problem(url) if url else None
        if problem:
            raise InvalidInput(problem[0], message_ja=problem[1], field="source_url")
        national = unit.code == NATION_CODE
        rules = parse_rules(kpi.rules, f"kpi {kpi.code}")
        broken = value_breaks(value, rules, national=national)
        if broken:
            raise InvalidInput(broken[0], message_ja=broken[1], field="value")
        conn = s.connection()
        iso = as_of.date.isoformat()
        bulk.lock_series(conn, kpi.id, unit.id, iso, breakdown)
        existing = s.scalars(select(Observation).where(
            Observation.kpi_id == kpi.id, Observation.org_unit_id == unit.id,
            Observation.as_of == as_of.date, Observation.breakdown == breakdown)).one_or_none()
        vals = {"value": value, "qualifier": qualifier.value,
                "as_of_precision": as_of.precision.value, "source_title": source_title,
                "source_url": url, "note": note}
        if existing is None:
            obs = Observation(kpi_id=kpi.id, org_unit_id=unit.id, as_of=as_of.date,
                              breakdown=breakdown, status="approved", created_by=actor.name,
                              created_at=now, **vals)
            s.add(obs)
            s.flush()
            before = None
            old_value = None
            created = True
        else:
            obs = existing
            old_value = obs.value if obs.status == "approved" else None
            before = observation_snapshot(obs)
            for k, v in vals.items():
                setattr(obs, k, v)
            obs.updated_at = now
            obs.created_by = actor.name
            s.flush()
            created = False
        audit.record(s, actor=actor.name, action="observation.create" if created else
                     "observation.update", entity="observation", entity_key=str(obs.id), at=now,
                     before=before, after=observation_snapshot(obs), kpi_id=kpi.id,
                     org_unit_id=unit.id,
                     summary=f"{kpi.name}: {unit.full_name} {as_of.label()} = {value:g}{kpi.unit}")
        _series_rules(conn, kpi, rules, unit, iso, breakdown)
        if not national:
            # the national rollup changes by this value's difference, as one atomic upsert
            # (`n = n + …`), so parallel writers to the same date never collide or lose a count
            was = [1, old_value, 1 if old_value > 0 else 0] if old_value is not None else [0, 0.0, 0]
            bulk.rollup_add(conn, {(kpi.id, iso, breakdown): [1 - was[0], value - float(was[1]),
                                                              (1 if value > 0 else 0) - was[2]]})
        view = observation_view(obs, kpi, unit)
        uow.commit()
        return view, created


def _series_rules(conn: Connection, kpi: Kpi, rules: tuple[Rule, ...], unit: OrgUnit, iso: str,
                  breakdown: str) -> None:
    """The KPI's blocking series rules over the series this value joined, as an import checks
    them (same rules, same messages): a value the importer would refuse is refused here too."""
    for rule in rules:
        if not rule.blocking:
            continue
        if rule.kind == "non_decreasing":
            for v in bulk.check_non_decreasing(conn, kpi.id, org_unit_id=unit.id, breakdown=breakdown):
                en, ja = decrease_problem(rule, f"{kpi.code}: {unit.code} {v.as_of}", v.value, v.other)
                raise InvalidInput(en, message_ja=ja, field="value")
        elif rule.kind == "parts_le_total" and (breakdown in rule.parts or breakdown == rule.total):
            for v in bulk.check_parts_le_total(conn, kpi.id, rule.parts, rule.total, org_unit_id=unit.id,
                                               as_of=iso):
                en, ja = parts_problem(rule, f"{kpi.code}: {unit.code} {v.as_of}", v.value, v.other)
                raise InvalidInput(en, message_ja=ja, field="value")


@dataclass(frozen=True)
class ObservationPage:
    """One page of the observation listing, and the cursor of the page after it (None on the
    last page)."""

    items: list[ObservationView]
    next_after: str | None


# The listing's columns: only what an ObservationView carries (never the KPI's JSON columns).
_COLUMNS = (Observation.id, Observation.as_of, Observation.as_of_precision, Observation.breakdown,
            Observation.value, Observation.qualifier, Observation.source_title, Observation.source_url,
            Observation.status, Observation.created_by, Observation.created_at, Observation.batch_id,
            Observation.note, OrgUnit.code, OrgUnit.full_name)


def list_observations(uow: UnitOfWork, *, kpi: str | None = None, org_unit: str | None = None,
                      date_from: str | None = None, date_to: str | None = None,
                      limit: int = 500, offset: int = 0) -> list[ObservationView]:
    """Observations filtered by KPI, local government and period (as-of dates inclusive)."""
    return observation_page(uow, kpi=kpi, org_unit=org_unit, date_from=date_from, date_to=date_to,
                            limit=limit, offset=offset).items


def observation_page(uow: UnitOfWork, *, kpi: str | None = None, org_unit: str | None = None,
                     date_from: str | None = None, date_to: str | None = None,
                     limit: int = 500, offset: int = 0, after: str | None = None) -> ObservationPage:
    """A page of observations filtered by KPI, local government and period (as-of dates
    inclusive), in the order (KPI position, as_of, breakdown, id) — with a KPI given, (as_of,
    breakdown, id).

    ``after`` is the cursor of the previous page (keyset paging: the page starts right after
    the row it names, however deep, without counting the rows before it); ``offset`` still
    works for clients that count. A cursor belongs to the filters it was made under.
    """
    if not 1 <= limit <= 5000:
        raise InvalidInput("limit must be between 1 and 5000",
                           message_ja="件数は1〜5000で指定してください", field="limit")
    if after and offset:
        raise InvalidInput("give either after (a cursor) or offset, not both",
                           message_ja="after（続きの位置）と offset は同時に指定できません", field="offset")
    with uow:
        s = uow.session
        k = find_kpi(s, kpi) if kpi else None
        unit = resolve_org(s, org_unit) if org_unit else None
        start = _period_start(date_from, "date_from") if date_from else None
        end = _period_end(date_to, "date_to") if date_to else None
        filters = _fingerprint(k.id if k else None, unit.id if unit else None, start, end)
        if k is not None:
            # one KPI: its code and unit are read once; the index on (kpi_id, as_of, breakdown, id)
            # serves the filter, the order and the cursor (no sort of the KPI's rows)
            q = select(*_COLUMNS).join(OrgUnit, OrgUnit.id == Observation.org_unit_id).where(
                Observation.kpi_id == k.id)
            key: tuple[Any, ...] = (Observation.as_of, Observation.breakdown, Observation.id)
        else:
            q = (select(*_COLUMNS, Kpi.code, Kpi.unit, Kpi.position)
                 .join(Kpi, Kpi.id == Observation.kpi_id)
                 .join(OrgUnit, OrgUnit.id == Observation.org_unit_id))
            key = (Kpi.position, Observation.as_of, Observation.breakdown, Observation.id)
        if unit is not None:
            if k is None:
                # KPI ids as an IN-list let the (kpi, org_unit, …) index serve this lookup.
                q = q.where(Observation.kpi_id.in_(select(Kpi.id)))
            q = q.where(Observation.org_unit_id == unit.id)
        if start is not None:
            q = q.where(Observation.as_of >= start)
        if end is not None:
            q = q.where(Observation.as_of <= end)
        if after:
            q = q.where(tuple_(*key) > tuple_(*_decode_cursor(after, filters, with_position=k is None)))
        # Core rows (tuples) on the session's connection: no ORM entity, no identity map
        rows = s.connection().execute(q.order_by(*key).limit(limit + 1).offset(offset)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        if k is not None:
            items = [_view(r, k.code, k.unit) for r in rows]
        else:
            items = [_view(r, r[15], r[16]) for r in rows]
        next_after = None
        if more and rows:
            last = rows[-1]
            next_after = _encode_cursor(filters, (last[17] if k is None else None, last[1], last[3], last[0]))
        return ObservationPage(items, next_after)


def _view(r: Any, kpi_code: str, unit: str) -> ObservationView:
    return ObservationView(r[0], kpi_code, r[13], r[14], AsOf(r[1], PRECISIONS[r[2]]), r[3], r[4], unit,
                           QUALIFIERS[r[5]], r[6], r[7], r[8], r[9], r[10], r[11], r[12])


# ------------------------------------------------------------------------- the paging cursor
# An opaque token: base64url of the key of the last row of a page, the filters it was made
# under and a digest over both. The digest catches a cursor that was cut, edited or taken to
# other filters (422); it is not a secret — the cursor only says where a public listing resumes,
# and whatever it names is bound as parameters of the same query.

def _fingerprint(kpi_id: int | None, unit_id: int | None, start: date | None, end: date | None) -> str:
    raw = f"{kpi_id}|{unit_id}|{start}|{end}".encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def _encode_cursor(filters: str, key: tuple[int | None, date, str, int]) -> str:
    position, as_of, breakdown, oid = key
    return seal_cursor("observation", [filters, position, as_of.isoformat(), breakdown, oid])


def _bad_cursor(why: str) -> InvalidInput:
    return InvalidInput(f"after is not a cursor of this listing ({why}); "
                        "follow the Link rel=\"next\" of the previous page",
                        message_ja="after の値が正しくありません"
                                   "（前のページの Link ヘッダーの next をそのまま使ってください）",
                        field="after")


def _decode_cursor(token: str, filters: str, *, with_position: bool) -> tuple[Any, ...]:
    try:
        made_under, position, iso, breakdown, oid = open_cursor(token, "observation", max_length=400,
                                                                bad=_bad_cursor)
        as_of = date.fromisoformat(iso)
    except (ValueError, TypeError):
        raise _bad_cursor("malformed") from None
    if made_under != filters:
        raise _bad_cursor("it was made under other filters")
    if (not isinstance(breakdown, str) or type(oid) is not int or not 0 < oid <= 2**63 - 1
            or (with_position and (type(position) is not int or abs(position) > 2**31))
            or (not with_position and position is not None)):
        raise _bad_cursor("malformed")
    return (position, as_of, breakdown, oid) if with_position else (as_of, breakdown, oid)


def _period_start(text: str, field: str) -> date:
    try:
        a = parse_as_of(text)
    except InvalidInput as e:
        raise InvalidInput(e.message, message_ja=e.message_ja, field=field) from None
    return a.date.replace(day=1) if a.precision is Precision.MONTH else a.date


def _period_end(text: str, field: str) -> date:
    try:
        return parse_as_of(text).date
    except InvalidInput as e:
        raise InvalidInput(e.message, message_ja=e.message_ja, field=field) from None
