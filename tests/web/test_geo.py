"""The prefecture map draws all 47 prefectures, Hokkaido to Okinawa."""

from digiden.web.geo import japan_map


def test_all_47_prefectures_are_drawn() -> None:
    m = japan_map()
    assert len(m.shapes) == 47
    assert all(s.path.startswith("M") for s in m.shapes)
    by_name = {s.name: s for s in m.shapes}
    # Hokkaido sits top right, Okinawa bottom left of the drawing.
    assert by_name["北海道"].cx > m.width * 0.6 and by_name["北海道"].cy < m.height * 0.3
    assert by_name["沖縄県"].cx < m.width * 0.4 and by_name["沖縄県"].cy > m.height * 0.7
    assert len(by_name["北海道"].path) > 1000
