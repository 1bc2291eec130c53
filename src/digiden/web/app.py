"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from digiden import __version__
from digiden.domain.errors import DigidenError
from digiden.web.api import router as api_router
from digiden.web.api.imports import router as imports_api_router
from digiden.web.deps import system_clock
from digiden.web.jobs import JobRunner
from digiden.web.limits import UploadLimit
from digiden.web.pages import router as pages_router
from digiden.web.pages.imports import router as imports_pages_router
from digiden.web.templating import templates

STATIC = Path(__file__).parent / "static"


def create_app(session_factory: sessionmaker[Session] | None = None, *,
               clock: Callable[[], datetime] = system_clock, inline_jobs: bool = False,
               max_upload_bytes: int | None = None) -> FastAPI:
    """Build the app. Without a session factory, use the configured database. ``inline_jobs``
    runs web imports in the request (tests); otherwise they run in a worker thread."""
    from digiden.config import get_settings
    limit = max_upload_bytes if max_upload_bytes is not None else get_settings().max_upload_mb * 1024 * 1024
    if session_factory is None:
        from digiden.config import get_settings
        from digiden.store.db import make_engine, make_session_factory
        session_factory = make_session_factory(make_engine(get_settings().url))
    app = FastAPI(
        title="digiden API",
        version=__version__,
        summary="デジタル田園都市国家構想: national strategy, KPIs, progress and local governments",
        description=("JSON API of digiden. Errors come as `{error, message, message_ja, field}` "
                     "with HTTP 404 (not found), 422 (invalid input) or 409 (conflict)."),
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.jobs = JobRunner(inline=inline_jobs)
    app.add_middleware(UploadLimit, max_bytes=limit)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api_router)
    app.include_router(imports_api_router)
    app.include_router(imports_pages_router)
    app.include_router(pages_router)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response:
        # Served from vendored files: FastAPI's default loads Swagger UI from a CDN, which a
        # closed government network cannot reach.
        return get_swagger_ui_html(openapi_url="/openapi.json", title="digiden API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg",
                                   # no validator badge: it would call validator.swagger.io
                                   swagger_ui_parameters={"validatorUrl": None})

    @app.exception_handler(DigidenError)
    async def _digiden_error(request: Request, exc: DigidenError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(exc.as_dict(), status_code=exc.status_code)
        return templates.TemplateResponse(
            request, "error.html", {"error": exc, "title": "エラー"},
            status_code=exc.status_code)

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "NotFound", "message": "no such endpoint",
                                 "message_ja": "そのURLはありません", "field": None}, 404)
        err = DigidenError("page not found", message_ja="お探しのページは見つかりません")
        return templates.TemplateResponse(request, "error.html",
                                          {"error": err, "title": "ページが見つかりません"},
                                          status_code=404)

    return app
