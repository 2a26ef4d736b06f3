# -*- test-case-name: tests.test_accesslog -*-
"""
The request log: Apache combined format, one line per response, through
twisted.logger (namespace C{netsvc.http.access}) or to a file.

OSE's log had a zone name and counted header bytes; this one is plain
combined format with a numeric offset so standard tools read it.
"""

from __future__ import annotations

import os
import time
from typing import IO, TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.http_headers import Headers

from netsvc_twisted._constants import LOG_INFO
from netsvc_twisted._dispatcher import getReactor
from netsvc_twisted._logging import _deliverToMonitor

if TYPE_CHECKING:
    from twisted.web.server import Request

accessLogger = Logger(namespace="netsvc.http.access")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _quote(raw: bytes | None) -> str:
    if not raw:
        return "-"
    text = raw.decode("latin-1")
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text


def logTime(now: float | None = None) -> str:
    t = time.localtime(now)
    offset = t.tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{sign}{offset // 60:02d}{offset % 60:02d}")


class _SecondCache:
    """
    The log's time stamp changes once a second; format it once a second.
    """

    second = -1
    text = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self.second:
            self.second, self.text = now, logTime(now)
        return self.text


_now = _SecondCache()


def _canonical(name: bytes) -> bytes:
    # The key twisted.web's Headers stores a header under.
    probe = Headers()
    probe.addRawHeader(name, b"")
    return next(iter(probe._rawHeaders))


_REFERER = _canonical(b"referer")
_USER_AGENT = _canonical(b"user-agent")
#: Methods and versions as logged, without a _quote() each.
_TOKENS = {
    token.encode("ascii"): token
    for token in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
                  "HTTP/1.0", "HTTP/1.1", "HTTP/2")
}


def _clientHost(request: Request) -> str:
    # The peer of a connection does not change: asked once per channel
    # (twisted.web builds a new address object every time).
    channel = getattr(request, "channel", None)
    host = getattr(channel, "_netsvcLogHost", None)
    if host is None:
        host = getattr(request.getClientAddress(), "host", None) or "-"
        if channel is not None:
            try:
                channel._netsvcLogHost = host
            except AttributeError:
                pass
    return host


def combinedLine(request: Request) -> str:
    client = _clientHost(request)
    user = getattr(request, "_netsvcUser", "") or "-"
    headers = request.requestHeaders._rawHeaders
    referer = headers.get(_REFERER)
    agent = headers.get(_USER_AGENT)
    method, version = request.method, request.clientproto
    return (f'{client} - {user} [{_now()}] "{_TOKENS.get(method) or _quote(method)} '
            f'{_quote(request.uri)} {_TOKENS.get(version) or _quote(version)}" '
            f'{request.code} {request.sentLength or "-"} '
            f'"{_quote(referer[0]) if referer else "-"}" '
            f'"{_quote(agent[0]) if agent else "-"}"')


class AccessLog:
    """
    Where request lines go.  With a file, to the file only: written
    buffered and flushed within a second (a write per request would cost
    a system call per request); without one, through twisted.logger.  The
    OSE log channel named by C{OTCLIB_HTTPLOGCHANNEL}, if any, also gets
    every line through its monitor.
    """

    #: Seconds unflushed lines may wait in the file's buffer.
    flushDelay = 1.0

    def __init__(self, path: str | None = None, channel: str | None = None) -> None:
        self._file: IO[str] | None = open(path, "a", encoding="utf-8") if path else None
        self._channel = channel
        self._flushCall: Any = None

    @classmethod
    def fromEnvironment(cls, path: str | None = None) -> AccessLog | None:
        channel = os.environ.get("OTCLIB_HTTPLOGCHANNEL")
        if path is None and channel is None:
            return None
        return cls(path, channel)

    def __call__(self, request: Request) -> None:
        line = combinedLine(request)
        logFile = self._file
        if logFile is not None:
            logFile.write(line + "\n")
            if self._flushCall is None:
                self._flushCall = getReactor().callLater(self.flushDelay, self.flush)
        else:
            accessLogger.info("{log_line}", log_line=line)
        if self._channel is not None:
            _deliverToMonitor(self._channel, LOG_INFO, line)

    def flush(self) -> None:
        call, self._flushCall = self._flushCall, None
        if call is not None and call.active():
            call.cancel()
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
