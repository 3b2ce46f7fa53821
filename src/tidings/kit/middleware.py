"""Plain ASGI middleware for what every request shares: its Correlation-Id, the query-string
conventions of the contract (empty parameters are ignored), the body-size limit and the media
types a write may carry. Pure ASGI rather than BaseHTTPMiddleware, to stay off the hot path.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.kit.errors import STATUS_MESSAGES, VND_ERROR, FieldError, error_body, log

ACCEPTED_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def _strip_empty_params(query_string: bytes) -> bytes:
    """Drop empty parameters (`?&page=`): the contract treats them as absent."""
    if not query_string or all(b"=" in s and not s.endswith(b"=") for s in query_string.split(b"&")):
        return query_string
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k and v != ""]).encode("latin-1")


def _is_accepted_type(content_type: str) -> bool:
    main = content_type.split(";")[0].strip().lower()
    return main in ACCEPTED_BODY_TYPES or (main.startswith("application/") and main.endswith("+json"))


class RequestEnvelopeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        scope["query_string"] = _strip_empty_params(scope.get("query_string", b""))
        if b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            await self._reject_nul(send, correlation_id, scope["query_string"])
            return
        path = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):
            # Help Scout's own links end some collection paths with "/"; both spellings work here.
            scope["path"] = path.rstrip("/") or "/"
            scope["raw_path"] = scope["path"].encode()
        header_value = correlation_id.encode()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"correlation-id", header_value)]
            await send(message)

        headers = dict(scope.get("headers") or [])
        if scope["method"] in ("POST", "PUT", "PATCH"):
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await self._reject(send_with_id, 413, correlation_id)
                return
            if content_type and not _is_accepted_type(content_type) and length not in (None, b"0"):
                await self._reject(send_with_id, 415, correlation_id)
                return

        if scope["method"] in ("POST", "PUT", "PATCH"):
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    await self._reject(send_with_id, 413, correlation_id)
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            downstream: Receive = replay
        else:
            downstream = receive
        try:
            await self.app(scope, downstream, send_with_id)
        except Exception:
            # The last resort: log it, answer a vnd.error 500 without any internals.
            log.exception("unhandled error (logRef %s)", correlation_id)
            if not started:
                await self._reject(send_with_id, 500, correlation_id)

    @classmethod
    async def _reject_nul(cls, send: Send, correlation_id: str, query_string: bytes) -> None:
        """PostgreSQL cannot hold NUL characters: a parameter carrying one is bad input."""
        names = [
            k for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True) if "\x00" in k + v
        ]
        errors = [
            FieldError(name or "query", "may not contain NUL (%00) characters", "query") for name in names
        ]
        await cls._reject(send, 400, correlation_id, errors, correlation_id)

    @staticmethod
    async def _reject(
        send: Send, status: int, correlation_id: str, errors: list[FieldError] | None = None, header: str = ""
    ) -> None:
        body = error_body(correlation_id, STATUS_MESSAGES[status], errors)
        extra = [(b"correlation-id", header.encode())] if header else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", VND_ERROR.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
