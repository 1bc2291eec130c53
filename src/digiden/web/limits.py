"""Refuse oversized uploads before they are read (a 2 GB file must not fill the disk)."""

from __future__ import annotations

import json
from typing import Any

UPLOAD_PATHS = ("/imports", "/api/v1/imports", "/api/v1/practices/import")


class UploadLimit:
    """ASGI middleware: 413 for bodies over ``max_bytes`` on upload paths, by Content-Length
    up front or by counting a streamed body."""

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or \
                not str(scope.get("path", "")).startswith(UPLOAD_PATHS):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send)
            return
        seen = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: dict[str, Any], send: Any) -> None:
        mb = self.max_bytes // (1024 * 1024)
        if str(scope.get("path", "")).startswith("/api/"):
            body = json.dumps({"error": "InvalidInput", "field": "file",
                               "message": f"the file is larger than {mb} MB",
                               "message_ja": f"ファイルが大きすぎます（上限 {mb} MB）"}).encode()
            ctype = b"application/json"
        else:
            body = ("<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>ファイルが大きすぎます</title>"
                    f"<p role=\"alert\">ファイルが大きすぎます（上限 {mb} MB）。分割して取り込んでください。</p>"
                    "<p><a href=\"/imports\">取込へ戻る</a></p></html>").encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
