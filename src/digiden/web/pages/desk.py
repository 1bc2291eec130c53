"""Pages of the desk's own work (issue 15): the desk dashboard (open consultations by age,
first-response and resolution times in working days per office and field), the offices with their
areas (unconfirmed ones marked), the routing rules, and the support plans (伴走型支援). Built from
the same service calls as the JSON API (web/api/consult.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
