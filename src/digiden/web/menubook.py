"""The menu book PDF as an HTTP response; the rendering itself is `digiden.render.menubook`."""

from __future__ import annotations

from datetime import date

from fastapi.responses import Response

from digiden.render.menubook import render_pdf
from digiden.services.knowledge.menubook import build
from digiden.services.uow import UnitOfWork


def pdf_response(uow: UnitOfWork, today: date, pillar: str | None) -> Response:
    """The menu book PDF as the page and the API both serve it."""
    return Response(render_pdf(build(uow, today=today, pillar=pillar or None)), media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="menubook.pdf"'})
