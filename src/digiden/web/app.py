"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from digiden import __version__
from digiden.domain.errors import DigidenError, SignInRequired
from digiden.web.api import router as api_router
from digiden.web.api.imports import router as imports_api_router
from digiden.web.api.knowledge import router as knowledge_api_router
from digiden.web.api.local import router as local_api_router
from digiden.web.auth import resolve_principal
from digiden.web.deps import system_clock
from digiden.web.jobs import JobRunner
from digiden.web.limits import UploadLimit
from digiden.web.pages import router as pages_router
from digiden.web.pages.imports import router as imports_pages_router
from digiden.web.pages.knowledge import router as knowledge_pages_router
from digiden.web.pages.local import router as local_pages_router
from digiden.web.templating import templates

STATIC = Path(__file__).parent / "static"


def create_app(session_factory: sessionmaker[Session] | None = None, *,
               clock: Callable[[], datetime] = system_clock, inline_jobs: bool = False,
               max_upload_bytes: int | None = None, secure_cookies: bool | None = None) -> FastAPI:
    """Build the app. Without a session factory, use the configured database. ``inline_jobs``
    runs web imports in the request (tests); otherwise they run in a worker thread.
    ``secure_cookies`` None marks cookies Secure when the request came over HTTPS."""
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
                     "with HTTP 401 (sign in or send a token), 403 (not allowed), 404 (not found, "
                     "or not visible to you), 422 (invalid input) or 409 (conflict). Machine clients "
                     "send `Authorization: Bearer <token>` (`digiden token create`); anonymous "
                     "requests see published data only."),
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.jobs = JobRunner(inline=inline_jobs)
    app.state.secure_cookies = secure_cookies if secure_cookies is not None else get_settings().secure_cookies
    app.add_middleware(UploadLimit, max_bytes=limit)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    who = [Depends(resolve_principal)]
    app.include_router(api_router, dependencies=who)
    app.include_router(imports_api_router, dependencies=who)
    app.include_router(local_api_router, dependencies=who)
    app.include_router(knowledge_api_router, dependencies=who)
    app.include_router(imports_pages_router, dependencies=who)
    app.include_router(local_pages_router, dependencies=who)
    app.include_router(knowledge_pages_router, dependencies=who)
    app.include_router(pages_router, dependencies=who)

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
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, SignInRequired) else None
            return JSONResponse(exc.as_dict(), status_code=exc.status_code, headers=headers)
        if isinstance(exc, SignInRequired) and request.method == "GET":
            from urllib.parse import quote
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
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
