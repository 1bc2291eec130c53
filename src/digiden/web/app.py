"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from digiden import __version__
from digiden.domain.errors import DigidenError, InvalidInput, NotFound, SignInRequired
from digiden.web.auth import resolve_principal
from digiden.web.deps import system_clock
from digiden.web.edge import ERROR_RESPONSES, Edge, error_body
from digiden.web.jobs import JobRunner
from digiden.web.pages import router as pages_router
from digiden.web.templating import templates
from digiden.web.threads import limit_threads

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("digiden.web")

# Swagger UI from vendored files (FastAPI's default loads it from a CDN, which a closed government
# network cannot reach), started by a static script so that the CSP needs no inline script.
DOCS_HTML = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>digiden API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script>
</body>
</html>
"""


class MethodNotAllowed(DigidenError):
    status_code = 405


class ServiceBusy(DigidenError):
    status_code = 503


@dataclass(frozen=True)
class LazyRouter:
    """A router the app includes on the first request for one of its paths: ``module``'s
    ``router``, under ``prefix``, answering paths whose ``route_key`` is one of ``keys``
    (tests/web/test_lazy_routers.py checks the keys against the router's routes both ways)."""

    module: str
    keys: frozenset[str]
    prefix: str = ""
    api: bool = False


def _keys(*names: str, api: bool = False) -> frozenset[str]:
    return frozenset(("/api/v1/" if api else "/") + n for n in names)


# Cold start (issue 12 goal 6): importing a router module means importing its services and
# shapes, and FastAPI analyses every route as it is declared (~3 ms a route), ~0.6 s of a start
# for the ~180 routes. Only the dashboard's router (`/`, /kpis/…, /map, …) is imported with the
# app; each of these is imported and included when a request first asks for one of its paths —
# the consultation desk when someone first opens /consultations or /api/v1/faq, not when the
# server starts. In the order of the old eager inclusion, so that /openapi.json (which includes
# them all first) lists the paths as before.
LAZY_ROUTERS: tuple[LazyRouter, ...] = (
    LazyRouter("digiden.web.pages.imports", _keys("batches", "export", "imports", "validation")),
    LazyRouter("digiden.web.pages.local", _keys("admin", "coverage", "inbox", "kpis", "local-governments",
                                                "local-strategies", "login", "logout")),
    LazyRouter("digiden.web.pages.knowledge", _keys("collaboration", "local-governments", "measures", "menubook",
                                                    "menubook.pdf", "practices", "roadmap", "search")),
    LazyRouter("digiden.web.pages.support", _keys("applications", "calls", "programmes", "regions")),
    LazyRouter("digiden.web.pages.consult", _keys("consultations", "faq")),
    LazyRouter("digiden.web.pages.desk", _keys("desk", "plans")),
    LazyRouter("digiden.web.api", _keys("areas", "audit", "kpis", "local-governments", "observations",
                                        "strategies", api=True), api=True),
    LazyRouter("digiden.web.api.imports", _keys("batches", "export", "imports", "mappings", "validation",
                                                api=True), api=True),
    LazyRouter("digiden.web.api.local", _keys("coverage", "inbox", "kpis", "local-strategies", "me", "tokens",
                                              "users", api=True), api=True),
    LazyRouter("digiden.web.api.knowledge", _keys("collaboration-groups", "local-governments", "measures",
                                                  "menubook.pdf", "partners", "practices", "problems", "roadmap",
                                                  "search", api=True), api=True),
    LazyRouter("digiden.web.api.support", _keys("applications", "calls", "evaluations", "programmes", "regions",
                                                api=True), prefix="/api/v1", api=True),
    LazyRouter("digiden.web.api.consult", _keys("consultations", "desk", "faq", "plan-actions", "plan-goals",
                                                "plans", api=True), prefix="/api/v1", api=True),
)


def _without_body(send: Send) -> Send:
    """HEAD is answered as GET without the body (RFC 9110 9.3.2: the same headers, Content-Length
    included): FastAPI declares GET routes without HEAD, so uptime monitors and link checkers
    that ask HEAD got 405 for every page."""
    async def sending(message: Any) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)
    return sending


def route_key(path: str) -> str:
    """What decides which lazy routers a path needs: its first segment (``/consultations``), or
    its first two after /api/v1 (``/api/v1/consultations``)."""
    parts = path.split("/", 4)
    if len(parts) > 3 and parts[1] == "api" and parts[2] == "v1":
        return "/api/v1/" + parts[3]
    return "/" + parts[1] if len(parts) > 1 else "/"


class DigidenApp(FastAPI):
    """FastAPI with the edge (web/edge.py) outside every other middleware, Starlette's error
    middleware included, so that even a 500 carries the security headers and keeps the
    connection open; and with most routers included on first use (``LAZY_ROUTERS``)."""

    edge_upload_limit: int = 0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._router_dependencies: list[Any] = []
        self._pending: dict[str, list[LazyRouter]] = {}
        self._loaded: list[tuple[APIRouter, str]] = []
        self._included: set[str] = set()
        self._load_lock = threading.Lock()

    def setup_routers(self, dependencies: list[Any]) -> None:
        """Include the dashboard's router now and the others (LAZY_ROUTERS) on first use."""
        self._router_dependencies = dependencies
        for lazy in LAZY_ROUTERS:
            for key in lazy.keys:
                self._pending.setdefault(key, []).append(lazy)
        self.include_router(pages_router, dependencies=dependencies)
        self._loaded.append((pages_router, ""))

    def _include(self, lazies: list[LazyRouter]) -> None:
        with self._load_lock:
            for lazy in lazies:
                if lazy.module in self._included:
                    continue
                router: APIRouter = importlib.import_module(lazy.module).router
                extra = {"responses": ERROR_RESPONSES} if lazy.api else {}
                self.include_router(router, prefix=lazy.prefix, dependencies=self._router_dependencies, **extra)
                self._loaded.append((router, lazy.prefix))
                self._included.add(lazy.module)
            for key in [k for k, v in self._pending.items() if all(x.module in self._included for x in v)]:
                del self._pending[key]

    def load_all_routers(self) -> None:
        """Include every lazy router now (the OpenAPI document, tests that read the routes)."""
        if self._pending:
            self._include(list(LAZY_ROUTERS))

    def loaded_routes(self) -> Iterator[tuple[Any, str]]:
        """Every route included so far with its full path (the app's own ones too)."""
        for router, prefix in self._loaded:
            for route in router.routes:
                if hasattr(route, "path"):
                    yield route, prefix + route.path
        for route in self.router.routes:
            if hasattr(route, "path"):
                yield route, route.path

    def openapi(self) -> dict[str, Any]:
        self.load_all_routers()
        return super().openapi()

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()

        async def including_on_first_use(scope: Scope, receive: Receive, send: Send) -> None:
            # inside the edge, so that a router failing to load is logged and answered 500 with
            # the security headers like any other error (and tried again by the next request)
            if self._pending and scope["type"] == "http":
                # the path as the router will see it (without a --root-path prefix)
                lazies = self._pending.get(route_key(get_route_path(scope)))
                if lazies:
                    self._include(lazies)
            if scope["type"] == "http" and scope["method"] == "HEAD":
                await inner(dict(scope, method="GET"), receive, _without_body(send))
                return
            await inner(scope, receive, send)

        return Edge(including_on_first_use, upload_limit=self.edge_upload_limit, signed_in=self._signed_in)

    async def _signed_in(self, headers: list[tuple[bytes, bytes]]) -> bool:
        from fastapi.concurrency import run_in_threadpool

        from digiden.web.auth import signed_in_by_headers
        return await run_in_threadpool(signed_in_by_headers, self.state, headers)


_WHERE_JA = {"path": "URL", "query": "クエリ", "body": "送信内容", "header": "ヘッダー", "cookie": "Cookie"}


def validation_error(exc: RequestValidationError) -> InvalidInput:
    """The first problem FastAPI found, as an InvalidInput with a Japanese message."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(x) for x in first.get("loc", ())]
    where = loc[0] if loc else ""
    field = ".".join(loc[1:]) or None
    name = field or _WHERE_JA.get(where, "入力")
    kind = str(first.get("type", ""))
    ctx = first.get("ctx") or {}
    if kind == "less_than_equal":
        ja = f"{name}は{ctx.get('le')}以下で指定してください"
    elif kind == "less_than":
        ja = f"{name}は{ctx.get('lt')}未満で指定してください"
    elif kind == "greater_than_equal":
        ja = f"{name}は{ctx.get('ge')}以上で指定してください"
    elif kind == "greater_than":
        ja = f"{name}は{ctx.get('gt')}より大きく指定してください"
    elif kind in ("int_parsing", "int_from_float", "float_parsing", "int_type", "float_type"):
        ja = f"{name}は数値で指定してください"
    elif kind == "finite_number":
        ja = f"{name}は有限の数値で指定してください"
    elif kind == "missing":
        ja = f"{name}を指定してください"
    elif kind == "string_too_long":
        ja = f"{name}は{ctx.get('max_length')}文字以内にしてください"
    elif kind == "json_invalid":
        ja = "送信内容がJSONとして読めません"
    else:
        ja = f"{name}の値を確認してください"
    message = f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid input')}"
    # Every problem, not only the first (the input itself is not echoed back)
    problems = [{"where": str(e.get("loc", ("",))[0]) if e.get("loc") else "",
                 "field": ".".join(str(x) for x in e.get("loc", ())[1:]) or None,
                 "type": str(e.get("type", "")), "message": str(e.get("msg", ""))} for e in errors[:20]]
    return InvalidInput(message, message_ja=ja, field=field, details={"problems": problems})


def create_app(session_factory: sessionmaker[Session] | None = None, *,
               clock: Callable[[], datetime] = system_clock, inline_jobs: bool = False,
               max_upload_bytes: int | None = None, secure_cookies: bool | None = None) -> DigidenApp:
    """Build the app. Without a session factory, use the configured database. ``inline_jobs``
    runs web imports in the request (tests); otherwise they run in a worker thread.
    ``secure_cookies`` None marks cookies Secure when the request came over HTTPS."""
    from digiden.config import get_settings
    limit = max_upload_bytes if max_upload_bytes is not None else get_settings().max_upload_mb * 1024 * 1024
    if session_factory is None:
        from digiden.config import get_settings
        from digiden.store.db import make_engine, make_session_factory
        session_factory = make_session_factory(make_engine(get_settings().url))
    app = DigidenApp(
        title="digiden API",
        version=__version__,
        summary="デジタル田園都市国家構想: national strategy, KPIs, progress and local governments",
        description=("JSON API of digiden. Every error (4xx, 5xx) comes as "
                     "`{\"error\": {\"code\", \"message\", \"message_ja\", \"details\"}}` "
                     "with HTTP 401 (sign in or send a token), 403 (not allowed), 404 (not found, "
                     "or not visible to you), 422 (invalid input) or 409 (conflict). Machine clients "
                     "send `Authorization: Bearer <token>` (`digiden token create`); anonymous "
                     "requests see published data only."),
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.session_factory = session_factory
    # requests worked on at once (DIGIDEN_THREADS; default 4 per core, at least 8): more threads
    # than cores only take turns for the interpreter (web/threads.py has the figures)
    limit_threads(app)
    app.state.clock = clock
    app.state.jobs = JobRunner(inline=inline_jobs, session_factory=session_factory, clock=clock)
    app.state.secure_cookies = secure_cookies if secure_cookies is not None else get_settings().secure_cookies
    # the consultation desk mails its notices through this server (DIGIDEN_SMTP_*; None: no e-mail)
    from digiden.services.consult.notify import smtp_from_env
    app.state.smtp = smtp_from_env()
    app.edge_upload_limit = limit
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # the dashboard's router now, the others on first use (LAZY_ROUTERS); no route of one router
    # answers a path of another's (tests/web/test_route_order.py), so the order of inclusion —
    # which requests come first — changes no answer
    app.setup_routers([Depends(resolve_principal)])

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response:
        return HTMLResponse(DOCS_HTML)

    @app.exception_handler(DigidenError)
    async def _digiden_error(request: Request, exc: DigidenError) -> Response:
        if request.url.path.startswith("/api/"):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, SignInRequired) else None
            return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=headers)
        if isinstance(exc, SignInRequired) and request.method == "GET":
            from urllib.parse import quote
            # the whole return address, query string included (?, & and = encoded inside next)
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
        return templates.TemplateResponse(
            request, "error.html", {"error": exc, "title": "エラー"},
            status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # Parameters refused by their declared types and bounds, in the app's own error shape.
        return await _digiden_error(request, validation_error(exc))

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: Exception) -> Response:
        # Allow lists the methods of every route at this path (Starlette names only the first).
        # A route written out in full (/practices/import) is meant rather than a pattern that
        # happens to match it too (/practices/{code}).
        allowed: set[str] = set()
        exact: set[str] = set()
        wanted = get_route_path(request.scope)   # without the root path, as the router matched it
        for route, path in app.loaded_routes():
            if compile_path(path)[0].match(wanted):
                methods = set(getattr(route, "methods", None) or ())
                allowed |= methods
                if path == wanted:
                    exact |= methods
        allowed = exact or allowed
        allow = ", ".join(sorted(allowed))
        err = MethodNotAllowed(f"method {request.method} not allowed here (allowed: {allow})",
                           message_ja=f"このURLでは {request.method} は使えません（使えるもの: {allow}）")
        return await _http_error(request, err, 405, {"Allow": allow})

    @app.exception_handler(StarletteHTTPException)
    async def _other_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # e.g. a body that cannot be parsed: in the app's shape, not {"detail": ...}; it is
        # invalid input like any other, so 422 (as every route documents), not Starlette's 400
        err = InvalidInput(str(exc.detail),
                           message_ja="リクエストを読み取れませんでした。JSON やフォームの形式を確認してください")
        status = 422 if exc.status_code == 400 else exc.status_code
        return await _http_error(request, err, status, dict(exc.headers or {}))

    async def _http_error(request: Request, err: DigidenError, status: int, headers: dict[str, str]) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(err.envelope(), status_code=status, headers=headers)
        return templates.TemplateResponse(request, "error.html", {"error": err, "title": "エラー"},
                                          status_code=status, headers=headers)

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(NotFound("no such endpoint", message_ja="そのURLはありません").envelope(), 404)
        err = DigidenError("page not found", message_ja="お探しのページは見つかりません")
        return templates.TemplateResponse(request, "error.html",
                                          {"error": err, "title": "ページが見つかりません"},
                                          status_code=404)

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> Response:
        # SQLite's write lock held past the busy timeout (a very long import in another process):
        # not a fault of ours or the user's — 503 with Retry-After, and nothing was written.
        if "database is locked" not in str(exc.orig):
            return await _server_error(request, exc)
        err = ServiceBusy("the database is busy with another long write; nothing was saved, try again shortly",
                          message_ja="他の大きな処理（取込など）が実行中のため保存できませんでした。"
                                     "内容は保存されていません。少し待ってからもう一度お試しください")
        return await _http_error(request, err, 503, {"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # Starlette's error middleware answers with this, then re-raises; the edge logs the
        # traceback once and keeps the connection open.
        path = request.url.path
        message_ja = "サーバー内部でエラーが発生しました。記録しましたので、時間をおいてもう一度お試しください"
        if path.startswith("/api/"):
            body, ctype = error_body(path, 500, "InternalError", "internal server error; the error was logged",
                                     message_ja, None)
            return Response(body, status_code=500, media_type=ctype.decode())
        try:
            err = DigidenError("internal server error", message_ja=message_ja)
            return templates.TemplateResponse(request, "error.html", {"error": err, "title": "サーバーエラー"},
                                              status_code=500)
        except Exception:     # the page itself needs what failed (e.g. the database)
            log.exception("the error page could not be rendered")
            body, ctype = error_body(path, 500, "InternalError", "internal server error", message_ja, None)
            return Response(body, status_code=500, media_type=ctype.decode())

    return app
