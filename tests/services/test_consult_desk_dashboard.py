"""The desk dashboard, read from the roll-up kept on write (whole months) and from the rows of the
months a period only partly covers, gives exactly the numbers of the pure rule
(``domain.consult.desk_statistics``) on both databases: per office, per field and per month in
Japan time (a consultation received at 15:30 UTC on the last day of a month belongs to the next
month), merged ones left out, times not yet given left out of the percentiles, a responder's scope
limited to its offices; and so does any period, whole months or not."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from digiden.domain.access import Principal
from digiden.domain.consult import CaseTimes, State, desk_statistics
from digiden.services.common import LoadReport
from digiden.services.consult import desk, offices
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultOffice, stat_rebuild
from digiden.store.models import OrgUnit

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
EDGES = [datetime(2026, 1, 31, 15, 30, tzinfo=UTC),     # 2026-02-01 00:30 in Japan
         datetime(2026, 1, 31, 14, 59, tzinfo=UTC),     # 2026-01-31 23:59 in Japan
         datetime(2025, 12, 31, 15, 0, tzinfo=UTC)]     # 2026-01-01 00:00 in Japan


def _synthetic_cases(uow: UnitOfWork, n: int = 400, seed: int = 15) -> None:
    rng = random.Random(seed)
    with uow:
        s = uow.session
        offices.load_reference_offices(s, LoadReport(), actor="reference-data", now=NOW)
        s.flush()
        office_ids = [*list(s.scalars(select(ConsultOffice.id).order_by(ConsultOffice.id)).all())[:5],
                      offices.office_by_code(s, "東北総合通信局").id]
        orgs = list(s.scalars(select(OrgUnit.id).where(OrgUnit.code != "JP").limit(20)))
        states = [x.value for x in State]
        rows = []
        for i in range(n):
            received = EDGES[i] if i < len(EDGES) else NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            first = rng.choice([None, *range(0, 12)])
            res = None if first is None or rng.random() < 0.3 else first + rng.randrange(0, 40)
            rows.append({"org_unit_id": rng.choice(orgs), "subject": f"合成データ: 相談 {i}", "body": "合成データ",
                         "kind": "general", "field_code": rng.choice([None, "P1", "P2", "safety"]),
                         "state": rng.choice(states), "office_id": rng.choice(office_ids), "routing_reason": "",
                         "routing_unconfirmed": False, "received_at": received, "first_response_days": first,
                         "resolution_days": res, "last_activity_at": received, "overdue_noticed": "",
                         "answered_by_suggestion": False, "version": 1, "synthetic": True, "asker_name": "",
                         "asker_email": "", "asker_phone": "", "share_with_prefecture": True})
        s.execute(insert(ConsultCase), rows)
        # rows written around the services (as the bench does): the roll-up the services keep on
        # write is recomputed from them, as `desk.rebuild_stats` does
        stat_rebuild(s)
        uow.commit()


def _expected(uow: UnitOfWork, office_ids: set[int] | None = None) -> dict[str, object]:
    with uow.for_reading() as u:
        names = dict(u.session.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        cases = [CaseTimes(names[c.office_id], c.field_code or "（分野なし）", c.received_at, c.first_response_days,
                           c.resolution_days, State(c.state))
                 for c in u.session.scalars(select(ConsultCase).where(ConsultCase.state != State.MERGED.value))
                 if office_ids is None or c.office_id in office_ids]
    return {by: desk_statistics(cases, by=by) for by in ("office", "field", "month")}


def test_the_dashboard_equals_the_pure_rule_per_office_field_and_month(
        uow: UnitOfWork, accounts: dict[str, Principal]) -> None:
    _synthetic_cases(uow)
    board = desk.dashboard(uow, accounts["admin"], now=NOW)
    expected = _expected(uow)
    assert board.by_office == expected["office"] and board.by_field == expected["field"]
    assert board.by_month == expected["month"]
    months = {s.group: s.received for s in board.by_month}
    assert {"2026-01", "2026-02"} <= set(months)
    assert sum(s.received for s in board.by_office) == sum(months.values())


def test_a_responder_sees_its_offices_numbers_only(uow: UnitOfWork, accounts: dict[str, Principal]) -> None:
    _synthetic_cases(uow, n=200, seed=16)
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", now=NOW)
    with uow.for_reading() as u:
        mine = {offices.office_by_code(u.session, "東北総合通信局").id}
    board = desk.dashboard(uow, accounts["ministry"], now=NOW)
    expected = _expected(uow, mine)
    assert board.by_office == expected["office"] and board.by_month == expected["month"]
    assert [s.group for s in board.by_office] == ["東北総合通信局"]


def test_a_period_cutting_months_gives_the_figures_of_its_rows(uow: UnitOfWork,
                                                               accounts: dict[str, Principal]) -> None:
    """Whole months from the roll-up, the part-months at either end from the rows: any period is exact."""
    _synthetic_cases(uow, n=300, seed=17)
    jst_month = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)            # 2026-02-01 00:00 in Japan
    periods = [(datetime(2025, 6, 10, 3, tzinfo=UTC), datetime(2026, 3, 20, 7, tzinfo=UTC)),   # both cut
               (jst_month, datetime(2026, 9, 30, 15, 0, tzinfo=UTC)),                           # both whole
               (datetime(2026, 2, 3, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)),             # inside one month
               (datetime(2025, 12, 15, tzinfo=UTC), None), (None, datetime(2025, 12, 15, tzinfo=UTC)),
               (EDGES[0], EDGES[0] + timedelta(minutes=1))]
    with uow.for_reading() as u:
        names = dict(u.session.execute(select(ConsultOffice.id, ConsultOffice.name)).all())
        rows = [CaseTimes(names[c.office_id], c.field_code or "（分野なし）", _utc(c.received_at),
                          c.first_response_days, c.resolution_days, State(c.state))
                for c in u.session.scalars(select(ConsultCase).where(ConsultCase.state != State.MERGED.value))]
    for since, until in periods:
        board = desk.dashboard(uow, accounts["admin"], now=NOW, since=since, until=until)
        cases = [c for c in rows
                 if (since is None or c.received_at >= since) and (until is None or c.received_at < until)]
        assert board.by_office == desk_statistics(cases, by="office"), (since, until)
        assert board.by_field == desk_statistics(cases, by="field"), (since, until)
        assert board.by_month == desk_statistics(cases, by="month"), (since, until)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
