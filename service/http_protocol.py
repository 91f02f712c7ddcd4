"""Limits on the request head, enforced while it is read: size, header count, request line.

uvicorn's httptools protocol keeps every byte of a request's head until the head is
complete, with no upper bound: one client sending a 64 MB header makes the server hold
64 MB (and more while it is concatenated). `LimitedHttpToolsProtocol` counts the bytes
of the head as they arrive and refuses as soon as a limit is passed, before the rest is
read into memory:

* request line and headers together over `max_header_bytes` → 431,
* more than `max_headers` header lines → 431,
* a request line (its URL) over `max_request_line_bytes` → 414.

The refusal is a JSON `{"detail": ...}` with `Connection: close`. The server then stops
reading the request: what the client still sends is dropped unread for at most
`LINGER_S` seconds (so a client that is still writing can read the answer instead of a
connection reset), and the connection is closed. Nothing of the refused head is kept.

`tagungsbot serve` passes `protocol_with_limits(...)` to uvicorn as its `http` protocol.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from vectorstore.settings import Settings

LINGER_S = 2.0
"""How long a refused connection is drained (input dropped) before it is closed."""


@dataclass(frozen=True)
class HeaderLimits:
    """The three limits on a request head, in bytes and lines (0 or less: no limit)."""

    max_header_bytes: int = Settings.max_header_bytes
    max_headers: int = Settings.max_headers
    max_request_line_bytes: int = Settings.max_request_line_bytes


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the protocol answers with the status."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with `HeaderLimits` checked on every received chunk."""

    def __init__(self, *args: Any, limits: HeaderLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._in_head = True
        self._head_bytes = 0
        self._header_lines = 0
        self._refusal: tuple[int, str] | None = None
        self._refused = False

    # --- reading -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the answer is sent; the rest of the request is dropped unread
        limit = self.limits.max_header_bytes
        if self._in_head and limit > 0:
            room = limit - self._head_bytes
            if len(data) > room:
                if room > 0:
                    self._head_bytes += room
                    super().data_received(data[:room])  # may finish the head inside the allowed bytes
                    if self._refused or self.transport.is_closing():
                        return
                if self._in_head:
                    self._refuse(431, header_size_message(limit))
                    return
                data = data[max(room, 0):]
            else:
                self._head_bytes += len(data)
        if data:
            super().data_received(data)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        limit = self.limits.max_request_line_bytes
        if limit > 0 and len(self.url) > limit:
            self._refusal = (414, request_line_message(limit))
            raise _Refused()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_lines += 1
        limit = self.limits.max_headers
        if limit > 0 and self._header_lines > limit:
            self._refusal = (431, header_count_message(limit))
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The next bytes on this connection start a new request head.
        self._in_head = True
        self._head_bytes = 0
        self._header_lines = 0
        super().on_message_complete()

    # --- answering ---------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers every parser error here; a limit raised from a callback answers with its own status."""
        if self._refusal is not None:
            status, detail = self._refusal
            self._refuse(status, detail)
            return
        super().send_400_response(msg)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer `status` with `detail`, stop parsing, drain briefly, then close."""
        if self._refused:
            return
        self._refused = True
        self.logger.warning("refused a request from %s: %s", self.client[0] if self.client else "?", detail)
        body = json.dumps({"detail": detail}).encode("utf-8")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.url = b""
        self.headers = []
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def header_size_message(limit: int) -> str:
    return (
        f"the request line and headers are larger than {limit:,} bytes; send fewer or shorter headers "
        f"(the server's limit is TAGUNGSBOT_MAX_HEADER_BYTES)"
    )


def header_count_message(limit: int) -> str:
    return f"the request has more than {limit} header lines; send fewer (the server's limit is TAGUNGSBOT_MAX_HEADERS)"


def request_line_message(limit: int) -> str:
    return (
        f"the request URL is longer than {limit:,} bytes; send long questions as a POST body "
        f"(the server's limit is TAGUNGSBOT_MAX_REQUEST_LINE_BYTES)"
    )


def protocol_with_limits(limits: HeaderLimits) -> Callable[..., LimitedHttpToolsProtocol]:
    """The `http=` argument for uvicorn: a protocol factory bound to `limits` (picklable for workers)."""
    return functools.partial(LimitedHttpToolsProtocol, limits=limits)
