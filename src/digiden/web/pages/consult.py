"""Pages of the consultation desk (issue 15) for askers and responders: the consultations a viewer
may open, asking a new one (with the measures, practices and similar local governments that may
already answer it), one consultation's thread and its steps, and the published FAQ. Built from the
same service calls as the JSON API (web/api/consult.py), so what someone may not open is 404 here
exactly as it is there."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
