"""HTTP/1.x requests: the Host header, on any port, recognised by the request line."""

from __future__ import annotations

import re

from scanner.names import host_from_header, is_address_literal

MAX_HEADER = 64 * 1024
# A request line: an upper-case method token, a target, and the HTTP version.
_REQUEST_START = re.compile(rb"[A-Z][A-Z_-]{2,19} \S")
_REQUEST_LINE = re.compile(rb"[A-Z][A-Z_-]{2,19} [^\r\n ]+ HTTP/[0-9]\.[0-9]\r?\n")
_HOST = re.compile(rb"\r?\nhost[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


def starts_request(payload: bytes) -> bool:
    return _REQUEST_START.match(payload) is not None


def request_host(stream: bytes) -> tuple[bytes | None, bool]:
    """(Host value or None, complete?) for a request at the start of `stream`."""
    line = _REQUEST_LINE.match(stream)
    if line is None:
        # not (yet) a whole request line: wait for more unless it cannot become one
        complete = b"\n" in stream or len(stream) > 8192
        return None, complete
    end = stream.find(b"\r\n\r\n")
    if end < 0:
        end = stream.find(b"\n\n")
    if end < 0:
        return None, len(stream) > MAX_HEADER
    host = _HOST.search(stream, line.end() - 2, end + 2)
    return (host.group(1).strip() if host else None), True


_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length[ \t]*:[ \t]*([0-9]{1,12})", re.IGNORECASE)


def content_length(header: bytes) -> int:
    found = _CONTENT_LENGTH.search(header)
    return int(found.group(1)) if found else 0


def host_name(value: bytes) -> bytes | None:
    """The name in a Host value: port and brackets removed; None for an address literal."""
    text = value.decode("latin-1")
    host = host_from_header(text)
    if not host or is_address_literal(host):
        return None
    return host.encode("latin-1")
