"""Who sees and writes a selected region's evaluation reports (選定地域の評価, domain.access): the
region writes its self-assessment, the administrators and the programme's ministry the national
one; a submitted national assessment is public, a submitted self-assessment is the region's,
its prefecture's and national staff's, a draft only its writers' side's. Pure: no database."""

from __future__ import annotations

import pytest

from digiden.domain.access import (
    PUBLIC,
    READ,
    ModelRegion,
    OrgRef,
    Principal,
    Role,
    in_region,
    is_national_staff,
    may_see_evaluation,
    may_see_region_reports,
    may_write_evaluation,
    ministries_of,
)

AIZU = OrgRef(1, "072028", "07", is_prefecture=False)
KITAKATA = OrgRef(2, "072087", "07", is_prefecture=False)
REGION = ModelRegion((AIZU, KITAKATA), "内閣府")

WHO: dict[str, Principal] = {
    "admin": Principal(Role.NATIONAL_ADMIN, "admin"),
    "cabinet": Principal(Role.MINISTRY_EDITOR, "cabinet", ministry="内閣府"),   # the programme's ministry
    "soumu": Principal(Role.MINISTRY_EDITOR, "soumu", ministry="総務省"),
    "lead": Principal(Role.MUNICIPALITY, "lead", org_unit_id=1, org_code="072028", prefecture_code="07"),
    "member": Principal(Role.MUNICIPALITY, "member", org_unit_id=2, org_code="072087", prefecture_code="07"),
    "lead_read_only": Principal(Role.MUNICIPALITY, "ro", org_unit_id=1, org_code="072028", prefecture_code="07",
                                scopes=frozenset({READ})),
    "fukushima": Principal(Role.PREFECTURE, "fukushima", org_unit_id=7, org_code="070009", prefecture_code="07"),
    "yamagata": Principal(Role.PREFECTURE, "yamagata", org_unit_id=6, org_code="060003", prefecture_code="06"),
    "sapporo": Principal(Role.MUNICIPALITY, "sapporo", org_unit_id=9, org_code="011002", prefecture_code="01"),
    "public": PUBLIC,
}

# who: (writes self, writes national,
#       sees submitted self, sees submitted national, sees draft self, sees draft national)
TABLE = {
    "admin":          (False, True, True, True, True, True),
    "cabinet":        (False, True, True, True, False, True),
    "soumu":          (False, False, True, True, False, True),   # another ministry: reads, never writes
    "lead":           (True, False, True, True, True, False),
    "member":         (True, False, True, True, True, False),
    "lead_read_only": (False, False, True, True, True, False),    # a read-only token still reads its own
    "fukushima":      (False, False, True, True, False, False),   # its prefecture: submitted ones only
    "yamagata":       (False, False, False, True, False, False),
    "sapporo":        (False, False, False, True, False, False),
    "public":         (False, False, False, True, False, False),
}


@pytest.mark.parametrize("who", TABLE)
def test_who_writes_and_sees_each_kind_and_state(who: str) -> None:
    p = WHO[who]
    got = (may_write_evaluation(p, REGION, national=False), may_write_evaluation(p, REGION, national=True),
           may_see_evaluation(p, REGION, national=False, submitted=True),
           may_see_evaluation(p, REGION, national=True, submitted=True),
           may_see_evaluation(p, REGION, national=False, submitted=False),
           may_see_evaluation(p, REGION, national=True, submitted=False))
    assert got == TABLE[who]


@pytest.mark.parametrize(("who", "expected"), [
    ("admin", True), ("cabinet", True), ("soumu", True), ("lead", True), ("member", True),
    ("fukushima", True), ("yamagata", False), ("sapporo", False), ("public", False)])
def test_the_region_its_prefecture_and_national_staff_see_its_reports(who: str, expected: bool) -> None:
    assert may_see_region_reports(WHO[who], REGION) is expected


def test_a_member_is_in_the_region_and_its_prefecture_is_not() -> None:
    assert in_region(WHO["member"], REGION) and not in_region(WHO["fukushima"], REGION)
    assert is_national_staff(WHO["soumu"]) and not is_national_staff(WHO["fukushima"])


def test_a_prefecture_leading_a_region_writes_its_self_assessment() -> None:
    pref = OrgRef(7, "070009", "07", is_prefecture=True)
    assert may_write_evaluation(WHO["fukushima"], ModelRegion((pref,), "内閣府"), national=False)


@pytest.mark.parametrize(("text", "expected"), [
    ("内閣府", {"内閣府"}), ("内閣府・総務省など", {"内閣府", "総務省"}),
    ("環境省、国土交通省", {"環境省", "国土交通省"}), ("", set())])
def test_the_programmes_ministries_are_read_from_its_shokan(text: str, expected: set[str]) -> None:
    assert ministries_of(text) == expected


def test_every_ministry_named_in_the_shokan_writes_the_national_assessment() -> None:
    shared = ModelRegion((AIZU,), "内閣府・総務省")
    assert may_write_evaluation(WHO["soumu"], shared, national=True)
    assert not may_write_evaluation(WHO["soumu"], shared, national=False)
