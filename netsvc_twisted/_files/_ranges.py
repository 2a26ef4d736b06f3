# -*- test-case-name: tests.files.test_files_ranges -*-
"""
HTTP validators, conditional requests and byte ranges as pure functions.

Kept free of any servlet or Twisted state so that RFC 9110's rules
(sections 8.8, 13 and 14) can be unit-tested exhaustively; FileServlet
only feeds them header values and a stat result.
"""

from __future__ import annotations

import os
import re
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime, timezone
from typing import NamedTuple, Optional

__all__ = [
    "ByteRange", "formatHttpDate", "parseHttpDate", "makeETag",
    "evaluateConditions", "ifRangeMatches", "parseRange",
    "MultipartByteranges",
]

#: More ranges than this in one request is treated as abuse: the Range
#: header is ignored and the whole representation is sent (RFC 9110 14.2
#: lets a server ignore Range).
MAXIMUM_RANGES = 32


class ByteRange(NamedTuple):
    """An inclusive byte range, already clipped to the file size."""
    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def formatHttpDate(timestamp: float) -> str:
    """IMF-fixdate for a POSIX timestamp (whole seconds)."""
    return format_datetime(
        datetime.fromtimestamp(int(timestamp), timezone.utc), usegmt=True)


def parseHttpDate(value: str) -> Optional[int]:
    """POSIX seconds for any of the three HTTP date formats, else None."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return int(parsed.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def makeETag(st: os.stat_result) -> str:
    """A strong validator that changes whenever the file is replaced,
    resized or touched (inode, size and nanosecond mtime)."""
    return '"%x-%x-%x"' % (st.st_ino, st.st_size, st.st_mtime_ns)


_ETAG_RE = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


def _etags(value: str) -> Optional[list[tuple[bool, str]]]:
    """Parse an entity-tag list into (weak, opaque) pairs; None means "*"."""
    if value.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    for match in _ETAG_RE.finditer(value):
        tags.append((bool(match.group(1)), match.group(2)))
    return tags


def _weakMatch(etag: str, value: str) -> bool:
    tags = _etags(value)
    if tags is None:
        return True
    return any(opaque == etag for _weak, opaque in tags)


def _strongMatch(etag: str, value: str) -> bool:
    tags = _etags(value)
    if tags is None:
        return True
    return any(not weak and opaque == etag for weak, opaque in tags)


def evaluateConditions(method: str, headers: dict[str, str], etag: str,
                       mtime: float) -> int:
    """Return 200 (go on), 304 (Not Modified) or 412 (Precondition
    Failed) following the evaluation order of RFC 9110 13.2.2.

    `headers` maps lower-case names to values; `mtime` is the file's
    modification time in seconds.
    """
    seconds = int(mtime)
    ifMatch = headers.get("if-match")
    if ifMatch is not None:
        if not _strongMatch(etag, ifMatch):
            return 412
    else:
        ius = headers.get("if-unmodified-since")
        if ius is not None:
            when = parseHttpDate(ius)
            if when is not None and seconds > when:
                return 412
    ifNoneMatch = headers.get("if-none-match")
    if ifNoneMatch is not None:
        if _weakMatch(etag, ifNoneMatch):
            return 304 if method in ("GET", "HEAD") else 412
    elif method in ("GET", "HEAD"):
        ims = headers.get("if-modified-since")
        if ims is not None:
            when = parseHttpDate(ims)
            if when is not None and seconds <= when:
                return 304
    return 200


def ifRangeMatches(value: str, etag: str, mtime: float) -> bool:
    """True when an If-Range validator still describes the file, so the
    Range header may be honoured (strong comparison, exact date)."""
    value = value.strip()
    if value.startswith('"') or value.startswith("W/"):
        tags = _etags(value)
        return bool(tags) and not tags[0][0] and tags[0][1] == etag
    when = parseHttpDate(value)
    return when is not None and when == int(mtime)


_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parseRange(value: str, size: int) -> Optional[list[ByteRange]]:
    """Interpret a Range header for a representation of `size` bytes.

    Returns None when the header must be ignored (not a bytes range,
    syntactically invalid, or too many ranges): the full file is sent.
    Returns [] when every range is unsatisfiable (416). Otherwise the
    satisfiable ranges, sorted with overlapping or adjacent ones merged.
    """
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    pieces = specs.split(",")
    if len(pieces) > MAXIMUM_RANGES:
        return None
    ranges: list[ByteRange] = []
    seen = False
    for piece in pieces:
        if not piece.strip():
            continue
        match = _RANGE_SPEC.match(piece)
        if match is None:
            return None
        first, last = match.group(1), match.group(2)
        seen = True
        if first == "":
            if last == "":
                return None
            suffix = int(last)
            if suffix == 0 or size == 0:
                continue
            ranges.append(ByteRange(max(size - suffix, 0), size - 1))
            continue
        start = int(first)
        if last != "":
            end = int(last)
            if end < start:
                return None
        else:
            end = size - 1
        if start >= size:
            continue
        ranges.append(ByteRange(start, min(end, size - 1)))
    if not seen:
        return None
    ranges.sort()
    merged: list[ByteRange] = []
    for rng in ranges:
        if merged and rng.first <= merged[-1].last + 1:
            if rng.last > merged[-1].last:
                merged[-1] = ByteRange(merged[-1].first, rng.last)
        else:
            merged.append(rng)
    return merged


class MultipartByteranges:
    """The framing of a multipart/byteranges body, computed up front so
    that Content-Length is known before any file byte is read."""

    def __init__(self, ranges: list[ByteRange], size: int,
                 contentType: Optional[str], boundary: str) -> None:
        self.boundary = boundary
        self.ranges = ranges
        self.contentType = "multipart/byteranges; boundary=" + boundary
        self.heads: list[bytes] = []
        for index, rng in enumerate(ranges):
            lines = [("\r\n" if index else "") + "--" + boundary]
            if contentType:
                lines.append("Content-Type: " + contentType)
            lines.append("Content-Range: bytes %d-%d/%d"
                         % (rng.first, rng.last, size))
            self.heads.append(("\r\n".join(lines) + "\r\n\r\n")
                              .encode("latin-1"))
        self.tail = ("\r\n--" + boundary + "--\r\n").encode("latin-1")

    def contentLength(self) -> int:
        return (sum(len(head) for head in self.heads)
                + sum(rng.length for rng in self.ranges) + len(self.tail))
