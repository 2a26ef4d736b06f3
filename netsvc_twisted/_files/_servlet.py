# -*- test-case-name: tests.files.test_files_servlet -*-
"""
L{FileServlet}: one file as a response, with validators, conditional GET,
byte ranges and HEAD (decisions.md "FileServlet").

The body is pumped one block per reactor turn and paused on
CONNECTION_BLOCKED, resumed on CONNECTION_CLEARED (OSE's reference
pattern, spec 5.4), so a large file never sits in memory and other
requests keep being served meanwhile.  On a plain TCP connection a block
is a slice of up to L{SENDFILE_SLICE} bytes handed to C{os.sendfile()}
(no copy through Python); over TLS, HTTP/2 or any other transport, and
whenever the response's bytes are still queued, it is read and written.
"""

from __future__ import annotations

import os
import secrets
import stat
from typing import IO, Any, Optional, Union

from twisted.logger import Logger

from netsvc_twisted._constants import CONNECTION_BLOCKED, CONNECTION_CLEARED
from netsvc_twisted._files._ranges import (
    ByteRange, MultipartByteranges, evaluateConditions, formatHttpDate,
    ifRangeMatches, makeETag, parseRange)
from netsvc_twisted._http._response import requestCallLater
from netsvc_twisted._http._servlet import HttpServlet

__all__ = ["FileServlet"]

_log = Logger(namespace="netsvc.http")

#: Bytes read and written per reactor turn.
BLOCK_SIZE = 65536
#: Bytes offered to one os.sendfile() per reactor turn; ranges smaller
#: than a block are read and written (head and body in one send).
SENDFILE_SLICE = 1 << 20

_Segment = Union[bytes, ByteRange]


def openRegular(path: str) -> tuple[Optional[IO[bytes]], int, Optional[os.stat_result]]:
    """Open `path` for serving: (file, 0, stat) or (None, status, None)
    with 404 for anything missing or not a readable regular file and 403
    for a directory.

    O_NONBLOCK keeps a FIFO swapped in under our feet from blocking the
    reactor in open(); fstat() then checks what was really opened.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None, 404, None
    if stat.S_ISDIR(st.st_mode):
        return None, 403, None
    if not stat.S_ISREG(st.st_mode):
        return None, 404, None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(
        os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None, 404, None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None, 404, None
        handle = os.fdopen(fd, "rb", buffering=0)
    except OSError:
        os.close(fd)
        return None, 404, None
    return handle, 0, st


class FileServlet(HttpServlet):
    """Send the file `fileName` with Content-Type `fileType` (none when
    empty or None).

    For C{session} (spec 4.9, with decisions.md's "FileServlet" additions).
    """

    def __init__(self, session: Any, fileName: str,
                 fileType: Optional[str] = "") -> None:
        super().__init__(session)
        self._fileName = fileName
        self._fileType = fileType or ""
        self._file: Optional[IO[bytes]] = None
        self._segments: list[_Segment] = []
        self._offset = 0  # within the current ByteRange segment
        self._pending: Any = None
        self._blocked = False
        self._sendfile = True  # until os.sendfile() fails for this file

    # -- request ----------------------------------------------------------

    def processRequest(self) -> None:
        """
        Answer GET or HEAD with the file (405 otherwise; 404 or 403 when it
        cannot be served), honouring conditional and range requests, and
        stream it block by block (spec 4.9).
        """
        method = self.requestMethod()
        if method not in ("GET", "HEAD"):
            self._response.sendError(
                405, "Only GET and HEAD methods are supported by this servlet.",
                [(b"allow", b"GET, HEAD")])
            return
        handle, status, st = openRegular(self._fileName)
        if handle is None or st is None:
            self.sendError(status)
            return
        self._file = handle
        size = st.st_size
        etag = makeETag(st)
        mtime = st.st_mtime
        lastModified = formatHttpDate(mtime)
        headers = self.headers()

        status = evaluateConditions(method, headers, etag, mtime)
        if status == 304:
            self.sendResponse(304)
            self.sendHeader("ETag", etag)
            self.sendHeader("Last-Modified", lastModified)
            self.endHeaders()
            self._finish()
            return
        if status != 200:
            self.sendError(status)
            return

        ranges: Optional[list[ByteRange]] = None
        if "range" in headers:
            ifRange = headers.get("if-range")
            if ifRange is None or ifRangeMatches(ifRange, etag, mtime):
                ranges = parseRange(headers["range"], size)
        if ranges == []:
            self._response.sendError(
                416, "The requested range is not satisfiable.",
                [(b"content-range", b"bytes */%d" % size)])
            return

        if ranges is None:
            self.sendResponse(200)
            contentType, length = self._fileType, size
            self._segments = [ByteRange(0, size - 1)] if size else []
        elif len(ranges) == 1:
            (rng,) = ranges
            self.sendResponse(206)
            self.sendHeader("Content-Range", "bytes %d-%d/%d"
                            % (rng.first, rng.last, size))
            contentType, length = self._fileType, rng.length
            self._segments = [rng]
        else:
            framing = MultipartByteranges(ranges, size, self._fileType,
                                          secrets.token_hex(16))
            self.sendResponse(206)
            contentType, length = framing.contentType, framing.contentLength()
            for head, rng in zip(framing.heads, ranges):
                self._segments += [head, rng]
            self._segments.append(framing.tail)
        if contentType:
            self.sendHeader("Content-Type", contentType)
        self.sendHeader("Content-Length", str(length))
        self.sendHeader("Last-Modified", lastModified)
        self.sendHeader("ETag", etag)
        self.sendHeader("Accept-Ranges", "bytes")
        self.endHeaders()
        if method == "HEAD" or not self._segments:
            self._finish()
            return
        self.monitorCongestion(self._congestion)
        self._pump()

    # -- streaming -----------------------------------------------------------

    def _congestion(self, status: int, pending: int) -> None:
        if status == CONNECTION_BLOCKED:
            self._blocked = True
            self._cancel()
        elif status == CONNECTION_CLEARED:
            self._blocked = False
            self._schedule()

    def _schedule(self) -> None:
        if self._pending is None and self._segments and not self._blocked:
            callLater = requestCallLater(self._response.request)
            self._pending = callLater(0, self._pump)

    def _cancel(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and pending.active():
            pending.cancel()

    def _pump(self) -> None:
        """Write one block; runs from the reactor, so it applies the
        exception policy itself: log and abort the truncated response."""
        self._pending = None
        try:
            self._writeBlock()
        except Exception:
            _log.failure("Error sending {file!r}", file=self._fileName)
            self._closeFile()
            self.shutdown(0)
            return
        if self._segments:
            self._schedule()
        else:
            self._finish()

    def _writeBlock(self) -> None:
        budget = BLOCK_SIZE
        while budget > 0 and self._segments:
            segment = self._segments[0]
            if isinstance(segment, bytes):
                self.sendContent(segment)
                budget -= len(segment)
                self._segments.pop(0)
                continue
            assert self._file is not None
            start = segment.first + self._offset
            left = segment.last + 1 - start
            # Small ranges are cheaper read and written; a range begun by
            # sendfile() ends by it, whatever a short send left over.
            if self._sendfile and (left > BLOCK_SIZE or self._offset):
                sent = self._sendSlice(start, min(left, SENDFILE_SLICE))
                if sent is not None:
                    self._advance(segment, sent)
                    return
            want = min(budget, left)
            self._file.seek(start)
            data = self._file.read(want)
            if not data:
                raise OSError("%s shrank while being sent" % self._fileName)
            self.sendContent(data)
            budget -= len(data)
            self._advance(segment, len(data))
        self.flushContent()

    def _sendSlice(self, start: int, count: int) -> Optional[int]:
        """Up to `count` bytes from `start` by os.sendfile(), or None when
        the connection does not allow it now (the block is written)."""
        assert self._file is not None
        self.flushContent()  # a multipart head goes first
        try:
            return self._response.sendFile(self._file.fileno(), start, count)
        except EOFError:
            raise OSError("%s shrank while being sent" % self._fileName) from None
        except OSError:
            # Not for this file (or the connection failed, which the
            # write path reports): read and write from now on.
            self._sendfile = False
            return None

    def _advance(self, segment: ByteRange, count: int) -> None:
        self._offset += count
        if segment.first + self._offset > segment.last:
            self._segments.pop(0)
            self._offset = 0

    def _finish(self) -> None:
        self._closeFile()
        self.endContent()

    def _closeFile(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()

    def destroyServlet(self) -> None:
        """
        Stop streaming and close the file (spec 1.4).
        """
        self._cancel()
        self._segments = []
        self._closeFile()
        super().destroyServlet()
