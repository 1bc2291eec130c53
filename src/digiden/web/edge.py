"""The edge of the web app: what every request passes before any route sees it, and what every
response carries on its way out. One ASGI middleware, outside everything else (also outside
Starlette's error middleware), so that it holds for pages, the API, static files, 404s, 413s and
500s alike:

- **body size**: at most :data:`BODY_LIMIT` bytes on every route, the configured upload limit on
  the upload routes (:data:`digiden.web.limits.UPLOAD_PATHS` and ``ATTACHMENT_PATHS``); refused with 413 by
  ``Content-Length`` before anything is read, or by counting a chunked body as it arrives;
- **uploads only from someone signed in**: an upload without a live session or a valid API
  token is answered 401 before its body is read;
- **NUL characters** in the path, the query string, form fields or JSON bodies: 422;
- **numbers in JSON bodies** must be finite (no ``NaN``/``Infinity``, no ``1e999``) and integers
  must fit in 64 bits: 422;
- **security headers** on every response (:data:`SECURITY_HEADERS`);
- **an unexpected exception** is logged with its traceback and answered with a proper 500 (the
  app's handler renders it); the keep-alive connection stays usable.

Errors come in the app's shapes: ``{error, message, message_ja, field}`` under ``/api/``, a short
Japanese page elsewhere.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import Path, Query

from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import INT64_MAX  # integers in requests fit a signed 64-bit column
from digiden.shapes.errors import ErrorOut
from digiden.web.limits import ATTACHMENT_BODY_LIMIT, ATTACHMENT_PATHS, UPLOAD_PATHS

log = logging.getLogger("digiden.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Largest request body on routes that take no file (JSON, forms): 1 MiB.
BODY_LIMIT = 1024 * 1024

# ---------------------------------------------------------------- bounded parameters, declared once

#: A database id in a path (batch, token, job, group).
IdPath = Annotated[int, Path(ge=1, le=INT64_MAX)]
#: A revision number in a path.
RevisionPath = Annotated[int, Path(ge=1, le=1_000_000)]
#: A revision number in a query string.
RevisionQuery = Annotated[int, Query(ge=1, le=1_000_000)]
#: A 1-based page number of a listing.
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]
#: An offset into a listing.
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000_000)]
#: A database id in a query string.
IdQuery = Annotated[int, Query(ge=1, le=INT64_MAX)]

def form_version(value: object) -> int | None:
    """The ``version`` a form was rendered with (hidden field): absent means "no check"; anything
    but a 64-bit whole number was not sent by our page."""
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and int(text) <= INT64_MAX):
        raise InvalidInput(f"version: not a version number: {text[:40]!r}",
                           message_ja="版番号が正しくありません。ページを読み込み直してください", field="version")
    return int(text)


#: The errors every API route may answer with, documented once (web/app.py adds them to each
#: API router): 401 no or bad token, 403 not allowed, 404 not found or not visible, 409 edited
#: in between, 413 body too large, 422 invalid input.
def conflict(description: str) -> dict[int | str, dict[str, Any]]:
    """The 409 a route declares in OpenAPI (its ``responses``), saying what state refuses it."""
    return {409: {"model": ErrorOut, "description": description}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in (
        (401, "sign in or send a valid token (`Authorization: Bearer …`)"),
        (403, "not allowed for this account"),
        (404, "not found, or not visible to you"),
        (409, "conflict: someone changed it in between, or the state does not allow it"),
        (413, "the request body is larger than the limit"),
        (422, "invalid input; nothing was written"),
        (503, "the database stayed busy with another long write (SQLite); nothing was written, retry"),
    )}


CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # style="" attributes only (chart swatches, bar widths), never <style> elements
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class Refused(Exception):
    """A request the edge answers itself (422 or 413)."""

    def __init__(self, status: int, message: str, message_ja: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.message_ja = message_ja
        self.field = field


_WHERE_JA = {"URL": "URL", "query string": "クエリ文字列", "form": "フォームの入力", "JSON": "JSONの値"}


def _nul(where: str, field: str | None = None) -> Refused:
    return Refused(422, f"NUL characters are not allowed ({where})",
                   f"NUL文字（\\0）は使えません（{_WHERE_JA[where]}）", field)


def _too_large(limit: int, upload: bool, attachment: bool = False) -> Refused:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    if attachment:
        return Refused(413, f"the attached files are larger than {size} together",
                       f"添付ファイルが大きすぎます（1回に送れるのは合計 {size} まで）。分けて送ってください",
                       "attachments")
    if upload:
        return Refused(413, f"the file is larger than {size}",
                       f"ファイルが大きすぎます（上限 {size}）。分割して取り込んでください", "file")
    return Refused(413, f"the request body is larger than {size}",
                   f"送信内容が大きすぎます（上限 {size}）", None)


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and str(scope.get("path", "")).startswith(UPLOAD_PATHS)


def is_attachment(scope: Scope) -> bool:
    return scope.get("method") == "POST" and ATTACHMENT_PATHS.fullmatch(str(scope.get("path", ""))) is not None


# ---------------------------------------------------------------- checks


def check_target(scope: Scope) -> None:
    """NUL in the path or the query string."""
    if "\x00" in str(scope.get("path", "")) or b"\x00" in unquote_to_bytes(scope.get("raw_path") or b""):
        raise _nul("URL")
    query = scope.get("query_string") or b""
    if b"\x00" in unquote_to_bytes(query):
        raise _nul("query string")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return bytes(v)
    return None


def check_json(body: bytes) -> None:
    """NUL in any string or key, non-finite numbers, integers beyond 64 bits. A body that is not
    JSON at all is left to the route (which answers 422 in its own words)."""

    def bad_constant(name: str) -> Any:
        raise Refused(422, f"{name} is not a number this service accepts (finite numbers only)",
                      f"{name} は使えません（有限の数値で指定してください）")

    def finite_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise Refused(422, f"number out of range: {text[:40]}",
                          f"数値が大きすぎます: {text[:40]}")
        return value

    def int64(text: str) -> int:
        try:
            value = int(text)
        except ValueError:       # more digits than Python converts
            value = INT64_MAX + 1
        if not -INT64_MAX <= value <= INT64_MAX:
            raise Refused(422, f"integer out of range (64 bits): {text[:40]}",
                          f"整数が大きすぎます（64ビットの範囲を超えています）: {text[:40]}")
        return value

    try:
        doc = json.loads(body, parse_constant=bad_constant, parse_float=finite_float, parse_int=int64)
    except (ValueError, RecursionError):
        return
    _walk(doc, "")


def _check_text(text: str, where: str | None) -> None:
    """NUL, and lone surrogates (JSON's "\\ud800"), which are not text in any encoding: storing
    one fails deep in the database driver."""
    if "\x00" in text:
        raise _nul("JSON", where)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Refused(422, "a lone surrogate (\\ud800–\\udfff) is not a character",
                          "文字として扱えない値（対になっていないサロゲート \\ud800〜\\udfff）が含まれています",
                          where) from None


def _walk(node: Any, path: str) -> None:
    stack = [(node, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            _check_text(item, where or None)
        elif isinstance(item, dict):
            for k, v in item.items():
                key = f"{where}.{k}" if where else str(k)
                _check_text(k, key)
                stack.append((v, key))
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))


def check_urlencoded(body: bytes) -> None:
    if b"\x00" in unquote_to_bytes(body.replace(b"+", b" ")):
        fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        name = next((k for k, v in fields if "\x00" in k + v), None)
        raise _nul("form", name)


async def check_multipart(scope: Scope, body: bytes) -> None:
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> Any:
        yield body

    try:
        form = await MultiPartParser(Headers(scope=scope), stream()).parse()
    except (MultiPartException, ValueError):
        return
    try:
        for k, v in form.multi_items():
            text = (v.filename or "") if isinstance(v, UploadFile) else v
            if "\x00" in k or "\x00" in str(text):
                raise _nul("form", k)
    finally:
        await form.close()


async def check_body(scope: Scope, body: bytes) -> None:
    ctype = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
    if ctype == b"application/json" or ctype.endswith(b"+json"):
        check_json(body)
    elif ctype == b"application/x-www-form-urlencoded":
        check_urlencoded(body)
    elif ctype == b"multipart/form-data":
        await check_multipart(scope, body)


# ---------------------------------------------------------------- answers


def error_body(path: str, status: int, error: str, message: str, message_ja: str,
               field: str | None) -> tuple[bytes, bytes]:
    """(body, content type) in the app's error shape for ``path``."""
    if path.startswith("/api/"):
        details = {"field": field} if field is not None else {}
        return (json.dumps({"error": {"code": error, "message": message, "message_ja": message_ja,
                                      "details": details}}, ensure_ascii=False).encode(), b"application/json")
    title = {413: "送信内容が大きすぎます", 422: "入力を確認してください"}.get(status, "エラー")
    back = ""
    if status == 413 and "ファイル" in message_ja:
        page_of = re.fullmatch(r"/(consultations|applications)/(\d+)/\w+", path)
        href, text = (("/consultations/new", "相談の入力へ戻る") if path == "/consultations" else
                      (f"/{page_of[1]}/{page_of[2]}", "元のページへ戻る") if page_of else ("/imports", "取込へ戻る"))
        back = f'<p><a href="{href}">{text}</a></p>'
    page = ('<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            f'<title>{title} | digiden</title><link rel="stylesheet" href="/static/css/app.css"></head>'
            f'<body><main id="main"><h1>{title}</h1><p role="alert">{html.escape(message_ja)}</p>'
            f'{back}<p><a href="/">ダッシュボードへ</a></p></main></body></html>')
    return page.encode(), b"text/html; charset=utf-8"


async def _answer(scope: Scope, send: Send, status: int, body: bytes, ctype: bytes, *, close: bool) -> None:
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Edge:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *, upload_limit: int,
                 body_limit: int = BODY_LIMIT, attachment_limit: int = ATTACHMENT_BODY_LIMIT,
                 signed_in: Callable[[list[tuple[bytes, bytes]]], Awaitable[bool]] | None = None) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.body_limit = body_limit
        self.attachment_limit = attachment_limit
        self.signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "done": False, "ours": False}

        async def guarded_send(message: Message) -> None:
            if state["ours"]:
                return           # the edge already answered (413 while the app was reading)
            if message["type"] == "http.response.start":
                state["started"] = True
                present = {k.lower() for k, _ in message.get("headers") or []}
                message["headers"] = list(message.get("headers") or []) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["done"] = True
            await send(message)

        async def refuse(r: Refused, *, close: bool) -> None:
            body, ctype = error_body(str(scope.get("path", "")), r.status,
                                     {401: "SignInRequired", 413: "TooLarge"}.get(r.status, "InvalidInput"), r.message,
                                     r.message_ja, r.field)
            await _answer(scope, guarded_send, r.status, body, ctype, close=close)
            state["ours"] = True

        attachment = is_attachment(scope)
        upload = attachment or is_upload(scope)
        limit = self.attachment_limit if attachment else self.upload_limit if upload else self.body_limit
        try:
            check_target(scope)
            length = _header(scope, b"content-length")
            if length is not None and length.strip().isdigit() and int(length) > limit:
                raise _too_large(limit, upload, attachment)
            if upload and self.signed_in is not None and not await self.signed_in(list(scope.get("headers") or [])):
                raise Refused(401, "sign in or send a valid API token before uploading a file",
                              "ファイルを送るにはサインイン（またはAPIトークン）が必要です")
        except Refused as r:
            await refuse(r, close=r.status == 413)
            return

        app_receive = receive
        if upload:
            app_receive = self._counting(scope, receive, limit, refuse, attachment)
        elif scope.get("method") not in ("GET", "HEAD", "OPTIONS") or length is not None:
            try:
                body = await self._read(receive, limit)
                if body is None:
                    return       # the client went away
                await check_body(scope, body)
            except Refused as r:
                await refuse(r, close=r.status == 413)
                return
            app_receive = _replay(body, receive)

        try:
            await self.app(scope, app_receive, guarded_send)
        except Exception:
            if state["ours"]:
                return
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not state["started"]:
                body, ctype = error_body(str(scope.get("path", "")), 500, "InternalError",
                                         "internal server error; the error was logged",
                                         "サーバー内部でエラーが発生しました。記録しましたので、時間をおいてもう一度お試しください",
                                         None)
                await _answer(scope, guarded_send, 500, body, ctype, close=False)
            elif not state["done"]:
                raise            # half a response is out: the connection cannot be reused
            # a complete 500 went out (Starlette's error middleware re-raises after answering):
            # logged once, and the connection stays open for the client's next request

    @staticmethod
    async def _read(receive: Receive, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise _too_large(limit, False)
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    def _counting(scope: Scope, receive: Receive, limit: int,
                  refuse: Callable[..., Awaitable[None]], attachment: bool = False) -> Receive:
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    await refuse(_too_large(limit, True, attachment), close=True)
                    # the app stops reading as if the client had gone; what it answers is dropped
                    return {"type": "http.disconnect"}
            return message
        return counting_receive


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay
