"""The desk's reference data (regional_bureaus.csv), its loader, and the administration of offices,
routing rules and service levels, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from digiden.domain.access import Principal, system
from digiden.domain.consult import FAMILIES, RouteRequest
from digiden.domain.errors import Conflict, InvalidInput, PermissionDenied
from digiden.services.common import LoadReport, data_path
from digiden.services.consult import offices
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultOffice, ConsultOfficeArea, ConsultRule
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW

ADMIN = system("admin")


def load(uow: UnitOfWork) -> LoadReport:
    report = LoadReport()
    with uow:
        offices.load_reference_offices(uow.session, report, actor="reference-data", now=FIXED_NOW)
        uow.commit()
    return report


def test_the_packaged_file_is_the_shared_one_and_valid() -> None:
    rows = offices.read_reference()
    assert len(rows) == 376
    per_family = Counter(r.family for r in rows)
    assert set(per_family) == set(FAMILIES) and all(n == 47 for n in per_family.values())
    assert sum(1 for r in rows if not r.confirmed) == 45
    assert all(r.source_url.startswith("http") for r in rows)


def test_a_file_with_a_prefecture_twice_or_missing_is_refused_with_both_named() -> None:
    text = data_path(offices.REFERENCE_FILE).read_text(encoding="utf-8")
    lines = text.splitlines()
    # 東北総合通信局's 青森県 row also claims 岩手県 (so 青森県 is missing and 岩手県 is twice)
    bad = [lines[0]] + [ln.replace(",02,青森県,", ",03,岩手県,") if ln.startswith("総務省,東北総合通信局,,02") else ln
                        for ln in lines[1:]]
    with pytest.raises(InvalidInput) as e:
        offices.parse_regional_bureaus("\n".join(bad))
    assert "岩手県が2度あります" in e.value.message_ja
    assert "管轄のない都道府県があります（青森県）" in e.value.message_ja


def test_loading_makes_offices_areas_unconfirmed_rows_and_default_rules(uow: UnitOfWork) -> None:
    # (db init may already have loaded them into the session database: the counts hold either way)
    load(uow)
    with uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(ConsultOfficeArea)) == 376
        assert s.scalar(select(func.count()).select_from(ConsultOfficeArea)
                        .where(ConsultOfficeArea.confirmed.is_(False))) == 45
        kinds = Counter(s.scalars(select(ConsultOffice.kind)))
        assert kinds["desk"] == 1 and kinds["ministry"] == 7
        assert s.scalar(select(func.count()).select_from(ConsultRule)) > 0
        r = offices.router(s)
        # 会津若松市 (福島県) asking about a 総務省 measure goes to 東北総合通信局
        rule = s.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省")).first()
        assert rule is not None
        got = r.route(RouteRequest("07", None, (rule.measure_code or "",)))
        assert got.office_name == "東北総合通信局"
        loads = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "consult_office", AuditEvent.action == "reference.load"))
        assert loads == 1
    again = load(uow)   # a refresh changes nothing and writes no audit event
    assert again.created.get("consult_office_area", 0) == 0 and again.unchanged["consult_office_area"] == 376
    assert again.created.get("consult_rule", 0) == 0
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "consult_office", AuditEvent.action == "reference.load")) == loads


def test_an_administrator_confirms_an_unconfirmed_row_and_a_refresh_keeps_it(uow: UnitOfWork,
                                                                              accounts: dict[str, Principal]) -> None:
    load(uow)
    shown = offices.areas(uow, unconfirmed_only=True)
    assert len(shown) == 45 and not any(a.confirmed for a in shown)
    first = shown[0]
    with pytest.raises(PermissionDenied):
        offices.confirm_area(uow, accounts["fukushima"], first.family, first.prefecture_code, now=FIXED_NOW)
    offices.confirm_area(uow, accounts["admin"], first.family, first.prefecture_code, now=FIXED_NOW)
    with pytest.raises(Conflict):
        offices.confirm_area(uow, accounts["admin"], first.family, first.prefecture_code, now=FIXED_NOW)
    load(uow)
    assert len(offices.areas(uow, unconfirmed_only=True)) == 44


def test_offices_of_other_ministries_and_rules_that_leave_pairs_uncovered(uow: UnitOfWork,
                                                                          accounts: dict[str, Principal]) -> None:
    load(uow)
    admin = accounts["admin"]
    # a family of a ministry the reference data lacks, covering two prefectures only
    offices.add_office(uow, admin, name="東北管区警察局", ministry="警察庁", family="管区警察局",
                       prefectures=["02", "07"], now=FIXED_NOW)
    with pytest.raises(InvalidInput) as e:
        offices.add_rule(uow, admin, ministry="警察庁", field_code="safety", family="管区警察局", now=FIXED_NOW)
    assert "担当部局のない組み合わせが45組" in e.value.message_ja and "safety×北海道" in e.value.message_ja
    assert ["safety", "13"] in e.value.details["pairs"] and ["safety", "07"] not in e.value.details["pairs"]
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(ConsultRule).where(
            ConsultRule.ministry == "警察庁")) == 0
    # with the ministry's own section to fall back on, the rule is accepted
    offices.add_office(uow, admin, name="警察庁", ministry="警察庁", now=FIXED_NOW)
    rid = offices.add_rule(uow, admin, ministry="警察庁", field_code="safety", family="管区警察局", now=FIXED_NOW)
    with uow:
        r = offices.router(uow.session)
        assert r.route(RouteRequest("07", "safety")).office_name == "東北管区警察局"
        assert r.route(RouteRequest("13", "safety")).office_name == "警察庁"
    with pytest.raises(Conflict):
        offices.add_office(uow, admin, name="別の管区警察局", ministry="警察庁", family="管区警察局",
                           prefectures=["07"], now=FIXED_NOW)
    offices.delete_rule(uow, admin, rid, now=FIXED_NOW)
    with pytest.raises(InvalidInput):
        offices.set_service_level(uow, admin, "general", first_response_days=10, resolution_days=5, now=FIXED_NOW)
    offices.set_service_level(uow, admin, "general", first_response_days=1, resolution_days=5, now=FIXED_NOW)
    with uow:
        assert offices.service_levels(uow.session)[offices.Kind.GENERAL].first_response_days == 1
        actions = set(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("consult.%"))))
    assert {"consult.office_add", "consult.rule_add", "consult.rule_delete", "consult.level_set"} <= actions
