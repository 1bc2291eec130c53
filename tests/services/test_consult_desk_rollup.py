"""The dashboard's roll-up (consult_stat) kept on write, on SQLite and PostgreSQL: after asking,
first replies, resolving, an asker's reply reopening, closing, reopening, re-assigning and merging,
the roll-up equals its recomputation from the consultations and the dashboard equals the pure rule;
concurrent writers of one key add up; a damaged roll-up is found and rebuilt (the national desk,
audited); migration 0011 backfills it from the consultations a database already holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, text, update

from digiden.domain.access import PUBLIC, Principal
from digiden.domain.consult import CaseTimes, State, desk_statistics
from digiden.domain.errors import PermissionDenied, SignInRequired
from digiden.services.consult import cases, desk
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultOffice, ConsultStat, stat_from_cases
from digiden.store.models import AuditEvent
from tests.services.test_consult_concurrency import _together

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)        # Monday 10:00 in Japan
MONTH_EDGE = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)   # 2026-11-01 00:30 in Japan


def _kept(uow: UnitOfWork) -> dict[tuple[object, ...], int]:
    with uow.for_reading() as u:
        return {tuple(r[:5]): int(r[5]) for r in u.session.execute(select(
            ConsultStat.office_id, ConsultStat.field_code, ConsultStat.month, ConsultStat.metric, ConsultStat.days,
            ConsultStat.n).where(ConsultStat.n != 0))}


def _recomputed(uow: UnitOfWork) -> dict[tuple[object, ...], int]:
    with uow.for_reading() as u:
        s = u.session
        return {tuple(r[:5]): int(r[5]) for r in s.execute(stat_from_cases(s.get_bind().dialect.name))}


def _pure(uow: UnitOfWork) -> dict[str, object]:
    with uow.for_reading() as u:
        names = dict(u.session.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        rows = [CaseTimes(names[c.office_id], c.field_code or "（分野なし）", c.received_at, c.first_response_days,
                          c.resolution_days, State(c.state))
                for c in u.session.scalars(select(ConsultCase).where(ConsultCase.state != State.MERGED.value))]
    return {by: desk_statistics(rows, by=by) for by in ("office", "field", "month")}


def test_every_step_keeps_the_roll_up_equal_to_the_consultations(
        uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    admin, aizu, ministry = accounts["admin"], accounts["aizu"], accounts["ministry"]

    def ask(**kw: object) -> int:
        args: dict[str, object] = {"subject": "合成データ: 光ファイバ整備の補助", "body": "補助の対象になりますか。",
                                   "kind": "programme", "measures": [soumu_measure], "now": NOW,
                                   "synthetic": True} | kw
        return cases.ask(uow, aizu, **args)  # type: ignore[arg-type]

    a = ask(field="P4.3", now=MONTH_EDGE)               # November in Japan, October in UTC
    b = ask(field="P4")
    c = ask()                                            # no field
    d = ask(field="P4.3", answered_by_suggestion=True)   # kept closed, counted as received
    assert _kept(uow) == _recomputed(uow)
    later = NOW + timedelta(days=3)
    cases.reply(uow, ministry, a, "回答です", now=later)                  # the first response
    cases.reply(uow, ministry, a, "内部メモ", note=True, now=later)
    cases.resolve(uow, aizu, a, now=later + timedelta(days=1))
    cases.reply(uow, aizu, a, "もう一点あります", now=later + timedelta(days=2))   # reopens: resolution cleared
    cases.resolve(uow, ministry, a, now=later + timedelta(days=5))
    cases.close(uow, aizu, a, now=later + timedelta(days=5))
    cases.reopen(uow, aizu, a, now=later + timedelta(days=6))                   # closed → open again
    cases.resolve(uow, ministry, a, now=later + timedelta(days=8))
    cases.reply(uow, ministry, b, "確認します", now=later)
    cases.reassign(uow, admin, b, "関東総合通信局", reason="所管", now=later)      # another office
    cases.resolve(uow, admin, b, now=later + timedelta(days=9))
    cases.escalate(uow, aizu, c, reason="急ぎです", now=later)
    cases.merge(uow, admin, c, a, now=later)                                  # the duplicate leaves the figures
    kept = _kept(uow)
    assert kept == _recomputed(uow)
    assert desk.stats_differences(uow, admin) == 0
    # the month of receipt is Japan's, and the times are the stored 開庁日
    assert any(k[2] == "2026-11" and k[3] == "resolved" for k in kept) and not any(k[2] == "2026-10" for k in kept)
    with uow.for_reading() as u:
        first_days = u.session.scalar(select(ConsultCase.first_response_days).where(ConsultCase.id == a))
    assert any(k[3] == "first" and k[4] == first_days for k in kept)
    board, expected = desk.dashboard(uow, admin, now=later), _pure(uow)
    assert (board.by_office, board.by_field, board.by_month) == (expected["office"], expected["field"],
                                                                  expected["month"])
    assert sum(s.received for s in board.by_office) == 3 and d


def test_a_damaged_roll_up_is_found_and_rebuilt_by_the_national_desk(
        uow: UnitOfWork, accounts: dict[str, Principal], soumu_measure: str) -> None:
    admin = accounts["admin"]
    for field in ("P4.3", "P4", None):
        cases.ask(uow, accounts["aizu"], subject="合成データ: 相談", body="本文", measures=[soumu_measure],
                  field=field, now=NOW, synthetic=True)
    before = desk.dashboard(uow, admin, now=NOW)
    with uow:
        uow.session.execute(update(ConsultStat).where(ConsultStat.metric == "received").values(n=ConsultStat.n + 5))
        uow.commit()
    assert desk.stats_differences(uow, admin) > 0
    assert desk.dashboard(uow, admin, now=NOW) != before
    for who, error in (("ministry", PermissionDenied), ("aizu", PermissionDenied)):
        with pytest.raises(error):
            desk.rebuild_stats(uow, accounts[who], now=NOW)
    with pytest.raises(SignInRequired):
        desk.rebuild_stats(uow, PUBLIC, now=NOW)
    assert desk.rebuild_stats(uow, admin, now=NOW) > 0
    assert desk.stats_differences(uow, admin) == 0 and desk.dashboard(uow, admin, now=NOW) == before
    with uow.for_reading() as u:
        ev = u.session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.summary)
                               .where(AuditEvent.entity == "consult_stat")).one()
    assert ev.action == "rebuild" and ev.actor == admin.name and "再計算" in ev.summary


def test_concurrent_writers_of_one_key_add_up(desk_db) -> None:  # type: ignore[no-untyped-def]
    db, measure, aizu, soumu = desk_db
    uow = UnitOfWork(db.session_factory)
    ids = [cases.ask(uow, aizu, subject="合成データ: 同時", body="本文", measures=[measure], field="P1", now=NOW,
                     synthetic=True) for _ in range(6)]
    errors = _together([lambda i=i: cases.ask(UnitOfWork(db.session_factory), aizu, subject="合成データ: 同時",
                                              body="本文", measures=[measure], field="P1", now=NOW, synthetic=True)
                        for i in range(4)]
                       + [lambda i=i: cases.reply(UnitOfWork(db.session_factory), soumu, i, "回答", now=NOW)
                          for i in ids])
    assert errors == []
    assert _kept(uow) == _recomputed(uow)
    key_n = [n for k, n in _kept(uow).items() if k[1] == "P1" and k[2] != "*" and k[3] == "received"]
    with uow.for_reading() as u:
        total = u.session.scalar(select(func.count()).select_from(ConsultCase).where(ConsultCase.field_code == "P1"))
    assert sum(key_n) == total and total >= 10


# ---------------------------------------------------------------- migration 0011's backfill


def _backfill(url: str) -> None:
    from digiden.store.db import make_engine, make_session_factory
    from digiden.store.migrate import upgrade
    engine: Engine = make_engine(url)
    upgrade(engine, "0010")
    with engine.begin() as conn:   # a desk already in use before the roll-up existed
        conn.execute(text("INSERT INTO org_unit (code, name, full_name, kana, search_text, kind, prefecture_code) "
                          "VALUES ('072028', '会津若松市', '福島県会津若松市', 'アイヅワカマツシ', 'あいづ', "
                          "'municipality', '07')"))
        org = conn.execute(text("SELECT id FROM org_unit WHERE code = '072028'")).scalar_one()
        conn.execute(insert(ConsultOffice.__table__), [
            {"code": code, "name": code, "ministry": "総務省", "kind": "regional", "family": "", "contact_email": "",
             "origin": "admin", "created_by": "t", "created_at": NOW} for code in ("A局", "B局")])
        office = dict(conn.execute(text("SELECT code, id FROM consult_office")).all())
        rows = []
        for i, (o, f, st, first, res, at) in enumerate([
                ("A局", "P1", "closed", 2, 7, MONTH_EDGE), ("A局", "P1", "resolved", 2, 9, NOW),
                ("A局", None, "assigned", None, None, NOW), ("B局", "P4.3", "answered", 1, None, NOW),
                ("B局", "P4.3", "merged", 1, 3, NOW), ("B局", "P1", "received", None, None, MONTH_EDGE)]):
            rows.append({"org_unit_id": org, "subject": f"合成データ {i}", "body": "合成データ", "kind": "general",
                         "field_code": f, "state": st, "office_id": office[o], "routing_reason": "",
                         "routing_unconfirmed": False, "received_at": at, "first_response_days": first,
                         "resolution_days": res, "last_activity_at": at, "overdue_noticed": "",
                         "answered_by_suggestion": False, "version": 1, "synthetic": True, "asker_name": "",
                         "asker_email": "", "asker_phone": "", "share_with_prefecture": True})
        conn.execute(insert(ConsultCase.__table__), rows)
    upgrade(engine)
    uow = UnitOfWork(make_session_factory(engine))
    kept = _kept(uow)
    assert kept == _recomputed(uow)
    a, b = office["A局"], office["B局"]
    assert kept[(a, "P1", "2026-11", "received", 0)] == 2 and kept[(a, "P1", "2026-11", "resolved", 9)] == 1
    assert kept[(a, "", "2026-11", "open", 0)] == 1 and (b, "P4.3", "2026-11", "resolved", 3) not in kept
    assert kept[(b, "P4.3", "2026-11", "received", 0)] == 1 and kept[(b, "P1", "2026-11", "open", 0)] == 1
    cells = {k: n for k, n in kept.items() if "*" not in (k[1], k[2])}
    assert sum(n for k, n in cells.items() if k[3] == "received") == 5
    # beside the cells, their sums over every field, every month and both
    assert kept[(a, "*", "2026-11", "received", 0)] == 3 and kept[(a, "P1", "*", "resolved", 9)] == 1
    assert kept[(b, "*", "*", "received", 0)] == 2 and kept[(b, "*", "*", "open", 0)] == 2
    assert len(kept) > len(cells)
    engine.dispose()


@pytest.mark.sqlite_only
def test_migration_0011_backfills_the_roll_up_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _backfill(f"sqlite:///{tmp_path / 'desk.sqlite3'}")


@pytest.mark.postgres
def test_migration_0011_backfills_the_roll_up_on_postgresql() -> None:
    from tests.conftest import PgSchema, require_pg
    require_pg()
    schema = PgSchema()
    try:
        _backfill(schema.url)
    finally:
        schema.drop()
