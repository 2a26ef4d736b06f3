# -*- test-case-name: tests.http.test_paths -*-
"""
Request path decoding, normalisation and mount-point lookup (spec 1.3, 2.2).

Decoding happens before normalisation, as in OSE, so C{%2e%2e} acts as
C{..}; a path that would climb above the root is refused rather than
clamped, so nothing ever resolves outside a mount.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

T = TypeVar("T")

_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


class PathError(ValueError):
    """
    The request path cannot be served; carries the status and page text.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


BAD_SYNTAX = "Your request has bad syntax."


def decodeText(raw: bytes) -> str:
    """
    Decode URL or header bytes: UTF-8 where valid, else Latin-1, which
    never fails (RFC 9110 practice for legacy octets).
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def percentDecode(raw: bytes) -> bytes:
    if b"%" not in raw:
        return raw
    if raw.count(b"%") != len(_ESCAPE.findall(raw)):
        raise PathError(400, BAD_SYNTAX)
    return _ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def normalisePath(raw: bytes) -> str:
    """
    Turn the raw path of a request target into the decoded, normalised
    request path; a trailing slash is kept.
    """
    decoded = percentDecode(raw)
    if not decoded.startswith(b"/") or b"\x00" in decoded:
        raise PathError(400, BAD_SYNTAX)
    text = decodeText(decoded)
    if "/." not in text and "//" not in text:
        return text
    segments: list[str] = []
    for segment in text.split("/"):
        if segment == "..":
            if not segments:
                raise PathError(403, "Invalid request path location.")
            segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if text.endswith(("/", "/.", "/..")) and path != "/":
        path += "/"
    return path


class MountTable(Generic[T]):
    """
    Path to server registrations, looked up by whole segments: the most
    deeply nested mount wins and C{/testing} never matches C{/test}.
    """

    #: Bumped by every attach(), so callers can cache what resolve() said.
    generation = 0

    def __init__(self) -> None:
        self._mounts: dict[str, T] = {}

    def attach(self, path: str, server: T | None) -> None:
        self.generation += 1
        if server is None:
            self._mounts.pop(path, None)
        else:
            self._mounts[path] = server

    def __contains__(self, path: str) -> bool:
        return path in self._mounts

    def resolve(self, path: str) -> tuple[str, T, str] | None:
        """
        Return C{(serverPath, server, servletPath)} for a normalised
        request path, or L{None} when nothing is mounted above it.
        """
        mounts = self._mounts
        key = path.rstrip("/") or "/"
        while True:
            server = mounts.get(key)
            if server is not None:
                rest = path[len(key):] if key != "/" else path
                return key, server, rest.lstrip("/")
            if key == "/":
                return None
            key = key[: key.rindex("/")].rstrip("/") or "/"
