# -*- test-case-name: tests.http.test_accesslog -*-
"""
The request log: one line per response, in Apache combined format or as
a JSON object with the same fields, through twisted.logger (namespace
C{netsvc.http.access}) or to a file.

OSE's log had a zone name and counted header bytes; this one is plain
combined format with a numeric offset so standard tools read it.  Lines
are written whole (several at a time), so worker processes may append to
one file.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from twisted.logger import Logger

from netsvc_twisted._constants import LOG_INFO
from netsvc_twisted._events._loop import getReactor
from netsvc_twisted._events._logging import _deliverToMonitor
from netsvc_twisted._http._response import headerName

if TYPE_CHECKING:
    from twisted.web.server import Request

accessLogger = Logger(namespace="netsvc.http.access")
_time = time.time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


#: Bytes logged as they are: printable ASCII but the quote and backslash.
_UNSAFE = bytes(b for b in range(256) if not 0x20 <= b < 0x7F or b in b'"\\')


def _field(raw: bytes | None) -> bytes:
    """
    A request value as logged: as it is when printable, else escaped as
    Apache does (C{\\"}, C{\\\\}, C{\\xhh}), so no client can forge
    log lines or send terminal escapes to whoever reads them.
    """
    if not raw:
        return b"-"
    if len(raw.translate(None, _UNSAFE)) == len(raw):  # one pass in C
        return raw
    return b"".join(
        b"\\" + bytes((byte,)) if byte in (34, 92)
        else bytes((byte,)) if 0x20 <= byte < 0x7F
        else b"\\x%02x" % byte
        for byte in raw
    )


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
    text = b""

    def __call__(self, now: float) -> bytes:
        second = int(now)
        if second != self.second:
            self.second, self.text = second, logTime(second).encode("ascii")
        return self.text


_stamp = _SecondCache()


_REFERER = headerName(b"referer")
_USER_AGENT = headerName(b"user-agent")
#: Methods and versions logged without a look at their bytes.
_TOKENS = frozenset(
    (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH",
     b"HTTP/1.0", b"HTTP/1.1", b"HTTP/2")
)


def _clientHost(request: Request) -> bytes:
    # The peer of a connection does not change: asked once per channel
    # (twisted.web builds a new address object every time).
    channel = getattr(request, "channel", None)
    host = getattr(channel, "_netsvcLogHost", None)
    if host is None:
        host = _field(
            (getattr(request.getClientAddress(), "host", None) or "-").encode("utf-8")
        )
        if channel is not None:
            try:
                channel._netsvcLogHost = host
            except AttributeError:
                pass
    return host


def combinedLine(request: Request) -> bytes:
    """The request's line in Apache combined format, with its newline."""
    return _format(_entry(request))


def _entry(request: Request) -> tuple[Any, ...]:
    # What the line needs, taken as it is; formatting can wait.
    headers = request.requestHeaders._rawHeaders
    return (
        getattr(request.channel, "_netsvcLogHost", None) or _clientHost(request),
        getattr(request, "_netsvcUser", ""), _time(),
        request.method, request.uri, request.clientproto, request.code,
        request.sentLength, headers.get(_REFERER), headers.get(_USER_AGENT),
    )


def _format(entry: tuple[Any, ...]) -> bytes:
    host, user, now, method, uri, version, code, length, referer, agent = entry
    return b'%s - %s [%s] "%s %s %s" %d %s "%s" "%s"\n' % (
        host,
        _field(user.encode("utf-8")) if user else b"-",
        _stamp(now),
        method if method in _TOKENS else _field(method),
        _field(uri),
        version if version in _TOKENS else _field(version),
        code,
        b"%d" % length if length else b"-",
        _field(referer[0]) if referer else b"-",
        _field(agent[0]) if agent else b"-",
    )


def _text(raw: bytes | None) -> str | None:
    # JSON escapes what could forge a line or reach a terminal.
    return raw.decode("utf-8", "backslashreplace") if raw else None


def _jsonFormat(entry: tuple[Any, ...]) -> bytes:
    host, user, now, method, uri, version, code, length, referer, agent = entry
    stamp = datetime.fromtimestamp(now, timezone.utc).astimezone()
    return json.dumps({
        "host": host.decode("ascii"),
        "user": user or None,
        "time": stamp.isoformat(timespec="milliseconds"),
        "method": _text(method),
        "uri": _text(uri),
        "protocol": _text(version),
        "status": code,
        "bytes": length or 0,
        "referer": _text(referer[0]) if referer else None,
        "user_agent": _text(agent[0]) if agent else None,
    }).encode("ascii") + b"\n"


#: Line formats by name (C{twistd netsvc --access-log-format}).
LOG_FORMATS = {"combined": _format, "json": _jsonFormat}


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
    #: Requests whose lines are formatted and written together.
    batch = 256

    def __init__(
        self, path: str | None = None, channel: str | None = None, format: str = "combined"
    ) -> None:
        self.format = format
        self._file: IO[bytes] | None = open(path, "ab") if path else None
        self._channel = channel
        self._flushCall: Any = None
        self._pending: list[tuple[Any, ...]] = []
        self._batching = self._file is not None and channel is None

    @property
    def format(self) -> str:
        """C{"combined"} or C{"json"}: what a line looks like."""
        return self._formatName

    @format.setter
    def format(self, name: str) -> None:
        if getattr(self, "_pending", None):
            self._writePending()  # in the format they were noted for
        self._line = LOG_FORMATS[name]
        self._formatName = name

    @classmethod
    def fromEnvironment(cls, path: str | None = None) -> AccessLog | None:
        channel = os.environ.get("OTCLIB_HTTPLOGCHANNEL")
        if path is None and channel is None:
            return None
        return cls(path, channel)

    def __call__(self, request: Request) -> None:
        if self._batching:
            # Formatted in batches, off the request path: a request only
            # notes what its line needs.
            pending = self._pending
            pending.append(_entry(request))
            if len(pending) >= self.batch:
                self._writePending()
            if self._flushCall is None:
                self._flushCall = getReactor().callLater(self.flushDelay, self.flush)
            return
        line = self._line(_entry(request))
        text = line[:-1].decode("ascii")  # _field() and JSON left nothing else
        if self._file is not None:
            self._writePending()
            self._file.write(line)
        else:
            accessLogger.info("{log_line}", log_line=text)
        if self._channel is not None:
            _deliverToMonitor(self._channel, LOG_INFO, text)

    def _writePending(self) -> None:
        pending, self._pending = self._pending, []
        if pending and self._file is not None:
            line = self._line
            self._file.write(b"".join([line(entry) for entry in pending]))

    def flush(self) -> None:
        call, self._flushCall = self._flushCall, None
        if call is not None and call.active():
            call.cancel()
        self._writePending()
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
            self._batching = False
