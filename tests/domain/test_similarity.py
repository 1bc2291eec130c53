"""類似団体 scoring: components, reasons, weights, groups."""

from __future__ import annotations

import pytest

from digiden.domain.errors import InvalidInput
from digiden.domain.similarity import (
    DEFAULT_WEIGHTS,
    Profile,
    compare,
    distance_km,
    groups,
    parse_weights,
    rank,
    size_class,
)


def prof(i: int, kind: str = "town", pop: int | None = 8000, aging: float | None = 38.0, fs: float | None = 0.3,
         lat: float = 38.0, lng: float = 140.0, neighbours: tuple[int, ...] = (), topics: tuple[str, ...] = ()
         ) -> Profile:
    return Profile(i, f"{i:06d}", f"団体{i}", kind, "06", pop, aging, fs, 90.0, lat, lng, frozenset(neighbours),
                   frozenset(topics))


def test_a_twin_scores_one_and_says_why() -> None:
    m = compare(prof(1, neighbours=(2,), topics=("P4.3",)), prof(2, neighbours=(1,), topics=("P4.3",)),
                DEFAULT_WEIGHTS, {"P4.3": "地域交通・インフラ・物流DX"})
    assert m.score == pytest.approx(1.0)
    assert "隣接している（境界を共有）" in m.reasons
    assert any("ともに1万人未満" in r for r in m.reasons)
    assert "戦略の共通テーマ：地域交通・インフラ・物流DX" in m.reasons


def test_missing_values_drop_out_instead_of_counting_as_different() -> None:
    a, b = prof(1, fs=None, aging=None), prof(2, fs=None, aging=None)
    assert compare(a, b, DEFAULT_WEIGHTS).score == pytest.approx(compare(a, b, {**DEFAULT_WEIGHTS}).score)
    assert compare(a, b, DEFAULT_WEIGHTS).score > 0.9


def test_tenfold_population_scores_zero_on_size() -> None:
    m = compare(prof(1, pop=10_000), prof(2, pop=100_000), DEFAULT_WEIGHTS)
    size = next(c for c in m.components if c.key == "population")
    assert size.similarity == pytest.approx(0.0)


def test_weights_change_the_order() -> None:
    me = prof(1, neighbours=(3,))
    near_but_big = prof(3, kind="city", pop=200_000, aging=25.0, fs=0.9, neighbours=(1,))
    far_twin = prof(2, lat=43.0, lng=144.0)
    assert [m.profile.id for m in rank(me, [near_but_big, far_twin], DEFAULT_WEIGHTS)] == [2, 3]
    geo_only = {k: 0.0 for k in DEFAULT_WEIGHTS} | {"geography": 1.0}
    assert [m.profile.id for m in rank(me, [near_but_big, far_twin], geo_only)] == [3, 2]


def test_weights_are_checked() -> None:
    assert parse_weights({"geography": "3"})["geography"] == 3.0
    assert parse_weights({"geography": ""}) == DEFAULT_WEIGHTS
    for bad in ({"colour": 1}, {"fiscal": "heavy"}, {"fiscal": "-1"}, {"fiscal": "11"}, {"fiscal": "nan"},
                {k: 0 for k in DEFAULT_WEIGHTS}):
        with pytest.raises(InvalidInput) as e:
            parse_weights(bad)
        assert e.value.message_ja


def test_distance_and_size_class() -> None:
    assert distance_km(35.6812, 139.7671, 34.7025, 135.4959) == pytest.approx(403, abs=5)  # 東京駅–大阪駅
    assert size_class(9_999) == "1万人未満" and size_class(10_000) == "1万〜5万人"
    assert size_class(None) == "不明"


def test_groups_join_neighbours_and_nearby_city_halls_only() -> None:
    a, b = prof(1, neighbours=(2,)), prof(2, lat=38.5, neighbours=(1,))
    c = prof(3, lat=38.05)          # ~5.6 km from a
    far = prof(4, lat=41.0)
    assert [[p.id for p in g] for g in groups([a, b, c, far], within_km=10)] == [[1, 2, 3]]
    assert [[p.id for p in g] for g in groups([a, c, far], within_km=1)] == []


def test_the_fast_score_is_the_explained_score() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from digiden.domain.similarity import score

    @given(st.integers(1, 10**7), st.integers(1, 10**7), st.floats(10, 60), st.floats(10, 60),
           st.sampled_from(["city", "town", "village", "designated_city"]), st.booleans(),
           st.floats(0, 1), st.sampled_from([(), ("P4.3",), ("P4.3", "P4.6")]))
    def check(pa: int, pb: int, ga: float, gb: float, kind: str, neighbour: bool, w: float,
              topics: tuple[str, ...]) -> None:
        a = prof(1, pop=pa, aging=ga, neighbours=(2,) if neighbour else (), topics=("P4.3",))
        b = prof(2, kind=kind, pop=pb, aging=gb, lat=39.0, topics=topics)
        weights = DEFAULT_WEIGHTS | {"geography": w}
        assert score(a, b, weights) == pytest.approx(compare(a, b, weights).score)
    check()
