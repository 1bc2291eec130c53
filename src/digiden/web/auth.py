"""Who is asking: session cookies for browsers, bearer tokens for machine clients, CSRF checks.

Every router depends on :func:`resolve_principal`, which puts the principal on
``request.state.principal``. It does not decide access (the services do); it only
establishes identity and refuses forged cross-site writes:

- a browser session is a random secret in the ``digiden_session`` cookie (HttpOnly,
  SameSite=Lax, Secure over HTTPS); an unknown, tampered, expired or ended session is simply
  anonymous;
- an unsafe request (POST, PUT, PATCH, DELETE) that relies on the cookie must carry the
  session's CSRF token, as the ``X-CSRF-Token`` header (htmx sends it) or a ``csrf_token``
  form field; bearer-token requests carry no cookie and need none;
- a bearer token that is unknown, revoked or expired is refused with 401.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from digiden.domain.access import PUBLIC, Principal
from digiden.domain.errors import PermissionDenied, SignInRequired
from digiden.domain.text import same_secret
from digiden.services.local import accounts
from digiden.services.uow import UnitOfWork

SESSION_COOKIE = "digiden_session"
PRELOGIN_COOKIE = "digiden_prelogin"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class CsrfFailed(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token; reload the page and try again",
                         message_ja="フォームの有効期限が切れたか、不正な送信です。ページを読み込み直してから、もう一度送信してください",
                         field=CSRF_FIELD)


def _uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.session_factory)


async def resolve_principal(request: Request) -> Principal:
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    now = request.app.state.clock()
    principal: Principal = PUBLIC
    csrf: str | None = None
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SignInRequired("use 'Authorization: Bearer <token>'",
                                 message_ja="認証ヘッダーは Bearer トークンで指定してください")
        found = await run_in_threadpool(accounts.token_principal, _uow(request), token.strip(), now=now)
        if found is None:
            raise SignInRequired("invalid, revoked or expired API token",
                                 message_ja="APIトークンが無効です（失効または期限切れ）")
        principal = found
    else:
        secret = request.cookies.get(SESSION_COOKIE, "")
        if secret:
            live = await run_in_threadpool(accounts.session_principal, _uow(request), secret, now=now)
            if live is not None:
                principal, csrf = live
        if csrf is not None and request.method in UNSAFE:
            sent = request.headers.get(CSRF_HEADER)
            if sent is None:
                ctype = request.headers.get("content-type", "")
                if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                    form = await request.form()
                    value = form.get(CSRF_FIELD)
                    sent = value if isinstance(value, str) else None
            if not sent or not same_secret(sent, csrf):
                raise CsrfFailed()
    request.state.principal = principal
    request.state.csrf = csrf
    return principal


Actor = Annotated[Principal, Depends(resolve_principal)]


def signed_in_by_headers(app_state: Any, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether raw request headers carry a live session cookie or a valid API token. The web
    edge asks this before it reads an upload, so that nobody signed out can make the server
    receive and spool a 200 MB file only to be told 401 afterwards."""
    from http.cookies import SimpleCookie
    now = app_state.clock()
    uow = UnitOfWork(app_state.session_factory, read_only=True)
    values = {k.lower(): v.decode("latin-1") for k, v in headers}
    auth = values.get(b"authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and accounts.token_principal(uow, token.strip(), now=now) is not None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(values.get(b"cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header is simply "not signed in"
        return False
    morsel = jar.get(SESSION_COOKIE)
    return morsel is not None and accounts.session_principal(uow, morsel.value, now=now) is not None


def prelogin_token(request: Request) -> str:
    """The double-submit token of the sign-in form (no session exists yet)."""
    return request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(24)


def check_prelogin(request: Request, sent: str) -> None:
    cookie = request.cookies.get(PRELOGIN_COOKIE, "")
    if not cookie or not sent or not same_secret(sent, cookie):
        raise CsrfFailed()


def cookie_args(request: Request) -> dict[str, Any]:
    secure = request.app.state.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    return {"httponly": True, "samesite": "lax", "secure": bool(secure), "path": "/"}
