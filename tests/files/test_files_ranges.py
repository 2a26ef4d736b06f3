"""Pure tests of the HTTP validator, conditional and Range logic."""

import os

import pytest

from netsvc_twisted._files._ranges import (
    ByteRange, MultipartByteranges, evaluateConditions, formatHttpDate,
    ifRangeMatches, makeETag, parseHttpDate, parseRange)

MTIME = 1_700_000_000
ETAG = '"abc-10-ff"'


def test_dates_round_trip():
    text = formatHttpDate(MTIME + 0.9)
    assert text == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert parseHttpDate(text) == MTIME
    # RFC 850 and asctime forms are accepted too.
    assert parseHttpDate("Tuesday, 14-Nov-23 22:13:20 GMT") == MTIME
    assert parseHttpDate("Tue Nov 14 22:13:20 2023") == MTIME
    assert parseHttpDate("garbage") is None
    assert parseHttpDate("") is None


def test_etag_changes_with_size_and_mtime(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"one")
    os.utime(path, ns=(0, 10**18))
    first = makeETag(os.stat(path))
    os.utime(path, ns=(0, 10**18 + 1))
    assert makeETag(os.stat(path)) != first
    assert first.startswith('"') and first.endswith('"')


@pytest.mark.parametrize("headers,method,expected", [
    ({}, "GET", 200),
    ({"if-none-match": ETAG}, "GET", 304),
    ({"if-none-match": ETAG}, "HEAD", 304),
    ({"if-none-match": "W/" + ETAG}, "GET", 304),
    ({"if-none-match": '"x", ' + ETAG}, "GET", 304),
    ({"if-none-match": "*"}, "GET", 304),
    ({"if-none-match": '"other"'}, "GET", 200),
    ({"if-none-match": ETAG}, "POST", 412),
    ({"if-modified-since": formatHttpDate(MTIME)}, "GET", 304),
    ({"if-modified-since": formatHttpDate(MTIME + 5)}, "GET", 304),
    ({"if-modified-since": formatHttpDate(MTIME - 1)}, "GET", 200),
    ({"if-modified-since": "nonsense"}, "GET", 200),
    # If-None-Match takes precedence over If-Modified-Since.
    ({"if-none-match": '"other"',
      "if-modified-since": formatHttpDate(MTIME)}, "GET", 200),
    ({"if-match": ETAG}, "GET", 200),
    ({"if-match": '"other"'}, "GET", 412),
    ({"if-match": "W/" + ETAG}, "GET", 412),
    ({"if-unmodified-since": formatHttpDate(MTIME - 1)}, "GET", 412),
    ({"if-unmodified-since": formatHttpDate(MTIME)}, "GET", 200),
])
def test_conditions(headers, method, expected):
    assert evaluateConditions(method, headers, ETAG, MTIME + 0.5) == expected


def test_if_range():
    assert ifRangeMatches(ETAG, ETAG, MTIME)
    assert not ifRangeMatches("W/" + ETAG, ETAG, MTIME)
    assert not ifRangeMatches('"old"', ETAG, MTIME)
    assert ifRangeMatches(formatHttpDate(MTIME), ETAG, MTIME + 0.2)
    assert not ifRangeMatches(formatHttpDate(MTIME - 1), ETAG, MTIME)
    assert not ifRangeMatches("junk", ETAG, MTIME)


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-0", [(0, 0)]),
    ("bytes=0-99", [(0, 99)]),
    ("bytes=0-1000", [(0, 99)]),
    ("bytes=10-", [(10, 99)]),
    ("bytes=-10", [(90, 99)]),
    ("bytes=-1000", [(0, 99)]),
    ("bytes=0-9,20-29", [(0, 9), (20, 29)]),
    ("bytes=20-29, 0-9", [(0, 9), (20, 29)]),
    ("bytes=0-9,5-19", [(0, 19)]),
    ("bytes=0-9,10-19", [(0, 19)]),
    ("BYTES = 1-2", [(1, 2)]),
    ("bytes=100-", []),
    ("bytes=100-200,300-", []),
    ("bytes=-0", []),
    ("bytes=5-1", None),
    ("bytes=a-b", None),
    ("bytes=", None),
    ("bytes=-", None),
    ("items=0-1", None),
    ("0-1", None),
    ("bytes=" + ",".join(["0-0"] * 40), None),
])
def test_parse_range(header, expected):
    result = parseRange(header, 100)
    if expected is None:
        assert result is None
    else:
        assert [tuple(r) for r in result] == expected


def test_parse_range_empty_file():
    assert parseRange("bytes=0-", 0) == []
    assert parseRange("bytes=-5", 0) == []


def test_multipart_byteranges_length():
    data = bytes(range(100))
    ranges = [ByteRange(0, 9), ByteRange(50, 59)]
    framing = MultipartByteranges(ranges, 100, "text/plain", "BOUND")
    body = b""
    for head, rng in zip(framing.heads, ranges):
        body += head + data[rng.first:rng.last + 1]
    body += framing.tail
    assert len(body) == framing.contentLength()
    assert framing.contentType == "multipart/byteranges; boundary=BOUND"
    assert body.startswith(b"--BOUND\r\nContent-Type: text/plain\r\n"
                           b"Content-Range: bytes 0-9/100\r\n\r\n")
    assert body.endswith(b"\r\n--BOUND--\r\n")
