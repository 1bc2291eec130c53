"""The public 採択結果 CSV shows an applicant's title as text and never as a spreadsheet formula
(CSV injection, found by an audit): a title typed as =HYPERLINK(...) is accepted, published, and
written with a leading apostrophe; an ordinary title is written as typed. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from digiden.services.support import applications as apps
from digiden.services.support import programmes as pg
from digiden.services.support import review, selection
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW
from tests.web.helpers import Clients

FORMULA = '=HYPERLINK("http://evil.example/","詳細")'


def test_a_title_that_looks_like_a_formula_stays_text_in_the_results_csv(
        as_: Clients, accounts: dict[str, Any], session_factory: sessionmaker[Session]) -> None:
    uow, then = UnitOfWork(session_factory), NOW - timedelta(days=10)
    call = pg.create_call(uow, accounts["admin"], "digital-garden-city-grant", {
        "round": 1, "title": "合成データ: 採択結果CSVの確認", "opens_at": then.isoformat(), "synthetic": True,
        "closes_at": (NOW - timedelta(days=1)).isoformat(), "budget": 10_000_000,
        "criteria": [{"code": "v", "name": "整合", "weight": 100, "max_points": 5}]}, now=then).id
    review.assign_reviewer(uow, accounts["admin"], call, "ministry", now=then)
    for who, title in (("aizu", FORMULA), ("sapporo", "-1 のように見える名称"), ("kitakata", "蔵のまちDX")):
        a = apps.save_draft(uow, accounts[who], call, {"title": title, "requested_amount": 1_000_000}, now=then).id
        apps.submit(uow, accounts[who], a, now=then)
        review.score(uow, accounts["ministry"], a, {"v": 4}, now=then)
    selection.decide(uow, accounts["admin"], call, {}, now=NOW)
    selection.publish(uow, accounts["admin"], call, now=NOW)
    raw = as_("public").get(f"/api/v1/calls/{call}/results?format=csv")
    assert raw.status_code == 200
    titles = {r[1] for r in list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))[1:]}
    assert titles == {"'" + FORMULA, "'-1 のように見える名称", "蔵のまちDX"}
    assert as_("public").get(f"/api/v1/calls/{call}/results").json()["selected"][0]["title"] in (
        FORMULA, "-1 のように見える名称", "蔵のまちDX")        # the JSON keeps the title as typed
