"""One visibility rule for practices, read twice: "may this principal see practice X" (the
Python predicate, ``access.can_see_practice``, behind a practice's page) and "which practices may
it list" (the SQL filter ``practices.visible_to``, behind the lists) must agree for every role,
every state and every relation (its own local government, its prefecture's, another's, its own
writing), and both must say what the rule says."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from digiden.domain import access
from digiden.domain.access import PUBLIC, READ, Principal, Role
from digiden.domain.errors import NotFound
from digiden.domain.practice import Status
from digiden.services.common import org_ref
from digiden.services.knowledge import practices
from digiden.services.uow import UnitOfWork
from digiden.store.models import OrgUnit, Practice, PracticeOrgUnit
from tests.conftest import FIXED_NOW as NOW

DOC = {"title": "AIオンデマンド交通", "problem": "路線バスの廃止で通院や買い物の足がない",
       "solution": "AIで配車する乗合タクシー"}

# name → (the account that writes it, the local governments it names, and those the nation
# leaves it naming after an edit, if it changes them)
PLACES: dict[str, tuple[str, list[str], list[str] | None]] = {
    "kitakata": ("kitakata", ["072087"], None),                    # a municipality's own
    "sapporo-by-hokkaido": ("hokkaido", ["011002"], None),         # a prefecture writes for a municipality
    "fukushima": ("fukushima", ["070009"], None),                  # a prefecture's own
    "aizu-by-nation": ("admin", ["072028"], None),                 # the nation writes for a municipality
    "kitakata-moved": ("kitakata", ["072087", "011002"], ["011002"]),   # its author no longer named
}

# Who sees which unpublished practice, and why (published ones: everybody).
UNPUBLISHED_SEEN = {
    "admin": set(PLACES),                                          # the nation: everything
    "ministry": set(),
    "fukushima": {"kitakata", "fukushima", "aizu-by-nation"},      # its own and its municipalities'
    "fukushima-read-only": {"kitakata", "fukushima", "aizu-by-nation"},   # a read-only token reads alike
    "aizu": {"aizu-by-nation"},                                    # its own only, not its neighbour's
    "kitakata": {"kitakata", "kitakata-moved"},                    # its own, and what it wrote
    "sapporo": {"sapporo-by-hokkaido", "kitakata-moved"},          # its own, whoever wrote it
    "hokkaido": {"sapporo-by-hokkaido", "kitakata-moved"},         # its municipality's
    "public": set(),
    "prefecture-without-code": set(),                              # no prefecture, no reach
}


def _make(uow: UnitOfWork, accounts: dict[str, Principal], name: str, status: Status) -> str:
    """A practice in this state, made through the services as people make it."""
    author, orgs, moved = PLACES[name]
    admin = accounts["admin"]
    doc = DOC | {"title": f"{name} {status.value}", "org_units": orgs}
    p = practices.add(uow, accounts[author], doc, submit=status is not Status.DRAFT, now=NOW)
    if moved is not None:
        p = practices.update(uow, admin, p.code, doc | {"org_units": moved}, expected_version=p.version,
                             submit=status is not Status.DRAFT, now=NOW)
    if status is Status.RETURNED:
        p = practices.review(uow, admin, p.code, "return", "出典を追記してください", now=NOW)
    elif status is Status.PUBLISHED:
        p = practices.review(uow, admin, p.code, "publish", now=NOW)
    assert p.status is status and p.created_by == accounts[author].name
    return p.code


@pytest.fixture
def made(uow: UnitOfWork, accounts: dict[str, Principal]) -> dict[str, tuple[str, Status]]:
    """code → (place name, state): every place in every state."""
    return {_make(uow, accounts, name, status): (name, status) for name in PLACES for status in Status}


@pytest.fixture
def principals(accounts: dict[str, Principal]) -> dict[str, Principal]:
    return accounts | {
        "fukushima-read-only": dataclasses.replace(accounts["fukushima"], scopes=frozenset({READ})),
        "public": PUBLIC,
        "prefecture-without-code": Principal(Role.PREFECTURE, "stray", prefecture_code=None),
    }


def test_one_practice_and_the_lists_follow_one_rule(uow: UnitOfWork, made: dict[str, tuple[str, Status]],
                                                    principals: dict[str, Principal]) -> None:
    with uow:
        s = uow.session
        facts = {}
        for pr in s.scalars(select(Practice).where(Practice.code.in_(made))):
            units = s.scalars(select(OrgUnit).join(PracticeOrgUnit, PracticeOrgUnit.org_unit_id == OrgUnit.id)
                              .where(PracticeOrgUnit.practice_id == pr.id)).all()
            facts[pr.code] = (Status(pr.status), [org_ref(u) for u in units], pr.created_by)
    assert len(facts) == len(PLACES) * len(Status) == 20
    for who, principal in principals.items():
        expected = {code for code, (name, status) in made.items()
                    if status is Status.PUBLISHED or name in UNPUBLISHED_SEEN[who]}
        # the rule itself, for one practice
        by_rule = {code for code, (st, orgs, by) in facts.items() if access.can_see_practice(principal, st, orgs, by)}
        # the same rule as SQL
        with uow:
            by_sql = set(uow.session.scalars(select(Practice.code).where(
                Practice.code.in_(made), practices.visible_to(access.practice_reach(principal)))))
        # and as the services use them: a practice's page, the list
        by_page = set()
        for code in made:
            try:
                practices.get(uow, principal, code)
                by_page.add(code)
            except NotFound:
                pass
        by_list = {r.code for r in practices.list_practices(uow, principal)} & set(made)
        assert by_rule == by_sql == by_page == by_list == expected, who


def test_the_rule_as_data() -> None:
    """What each kind of principal reaches, as the SQL filter reads it."""
    assert access.practice_reach(access.system("cli")).everything
    assert access.practice_reach(PUBLIC) == access.PracticeReach()
    pref = Principal(Role.PREFECTURE, "f", org_unit_id=7, prefecture_code="07")
    assert access.practice_reach(pref) == access.PracticeReach(author="f", org_unit_id=7, prefecture_code="07")
    town = Principal(Role.MUNICIPALITY, "k", org_unit_id=9, prefecture_code="07")
    assert access.practice_reach(town) == access.PracticeReach(author="k", org_unit_id=9)
