"""The 重点支援 shapes are built from the services' views and the selection's dict as they are."""

from __future__ import annotations

import pytest

from digiden.domain.support import Candidate, Policy, select
from digiden.services.support import programmes as pg
from digiden.services.support.selection import selection_dict
from digiden.services.support.solver import solve
from digiden.services.uow import UnitOfWork
from digiden.shapes.support import ProgrammeOut, PublishedSelectionOut, SelectionCountOut, SelectionOut

pytestmark = pytest.mark.sqlite_only


def test_programmes_and_published_selections_validate(uow: UnitOfWork) -> None:
    progs = [ProgrammeOut.model_validate(p) for p in pg.list_programmes(uow)]
    assert {p.kind_ja for p in progs} == {"選定", "登録", "採択", "交付金"}
    sel = PublishedSelectionOut.model_validate(pg.list_selections(uow, "decarbonization-leading")[0])
    assert sel.json_data()["selected_on"] == "2022-04-26"
    n = SelectionCountOut.model_validate(pg.count_selections(uow, "decarbonization-leading")).json_data()
    assert n["total"] == 77 and n["by_state"] == {"selected": 77}


def test_the_selection_json_has_the_issues_keys() -> None:
    cs = [Candidate(1, "a", 80, 10, frozenset({"01"}), False), Candidate(2, "b", 70, 10, frozenset({"02"}), True),
          Candidate(3, "c", 60, 10, frozenset({"01"}), False)]
    d = selection_dict(7, {"budget": 20}, select(cs, Policy(budget=20, every_prefecture=True), solve))
    out = SelectionOut.model_validate(d).json_data()
    assert {"selected", "not_selected", "total_score", "budget_used", "budget", "constraints", "greedy"} <= set(out)
    assert out["selected"] == [1, 2] and out["not_selected"][0]["application"] == 3
    assert out["not_selected"][0]["reason"] == "budget" and out["greedy"]["total_score"] == 150
