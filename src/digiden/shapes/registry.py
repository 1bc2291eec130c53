"""The local governments (都道府県・市区町村) as the API and the CLI show them."""

from __future__ import annotations

from pydantic import Field

from digiden.shapes.base import Shape
from digiden.shapes.national import ObservationOut


class LocalGovernmentOut(Shape):
    code: str = Field(description="6-digit local government code")
    name: str
    full_name: str
    kana: str
    prefecture: str
    kind: str
    kind_label: str
    parent: str | None = Field(description="the prefecture's code, for a municipality")


class LocalGovernmentPage(Shape):
    total: int = Field(description="how many match, over all pages")
    items: list[LocalGovernmentOut]


class LatLngOut(Shape):
    lat: float | None
    lng: float | None


class PracticeRefOut(Shape):
    code: str
    title: str


class LocalGovernmentDetailOut(LocalGovernmentOut):
    population: int | None
    households: int | None
    population_65_plus: int | None
    aging_rate_pct: float | None
    population_as_of: str | None
    city_hall: LatLngOut | None
    website: str | None
    catchphrase: str | None
    case_studies: list[PracticeRefOut]
    observations: list[ObservationOut]
    municipalities: list[str] = Field(description="for a prefecture: its municipalities' codes")
