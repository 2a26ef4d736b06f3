# -*- test-case-name: tests.test_accesslog -*-
"""
The request log: Apache combined format, one line per response, through
twisted.logger (namespace C{netsvc.http.access}) and optionally a file.

OSE's log had a zone name and counted header bytes; this one is plain
combined format with a numeric offset so standard tools read it.
"""

from __future__ import annotations

import os
import time
from typing import IO, TYPE_CHECKING

from twisted.logger import Logger

from netsvc_twisted._constants import LOG_INFO
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
    return text.replace("\\", "\\\\").replace('"', '\\"')


def logTime(now: float | None = None) -> str:
    t = time.localtime(now)
    offset = t.tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{sign}{offset // 60:02d}{offset % 60:02d}")


def combinedLine(request: Request, now: float | None = None) -> str:
    address = request.getClientAddress()
    client = getattr(address, "host", None) or "-"
    user = getattr(request, "_netsvcUser", "") or "-"
    line = " ".join((
        _quote(request.method), _quote(request.uri), _quote(request.clientproto)
    ))
    headers = request.requestHeaders
    referer = headers.getRawHeaders(b"referer", [None])[0]
    agent = headers.getRawHeaders(b"user-agent", [None])[0]
    size = request.sentLength or "-"
    return (f'{client} - {user} [{logTime(now)}] "{line}" {request.code} {size} '
            f'"{_quote(referer)}" "{_quote(agent)}"')


class AccessLog:
    """
    Where request lines go: twisted.logger always, plus an optional file
    and the OSE log channel named by C{OTCLIB_HTTPLOGCHANNEL}.
    """

    def __init__(self, path: str | None = None, channel: str | None = None) -> None:
        self._file: IO[str] | None = (
            open(path, "a", buffering=1, encoding="utf-8") if path else None
        )
        self._channel = channel

    @classmethod
    def fromEnvironment(cls, path: str | None = None) -> AccessLog | None:
        channel = os.environ.get("OTCLIB_HTTPLOGCHANNEL")
        if path is None and channel is None:
            return None
        return cls(path, channel)

    def __call__(self, request: Request) -> None:
        line = combinedLine(request)
        accessLogger.info("{log_line}", log_line=line)
        if self._file is not None:
            self._file.write(line + "\n")
        if self._channel is not None:
            # twisted.logger already has the line: only the channel's
            # monitor (OSE's way of routing request logs) still needs it.
            _deliverToMonitor(self._channel, LOG_INFO, line)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
