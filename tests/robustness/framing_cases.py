"""
The framing corpus of the nginx differential test, and the client that
sends it: each case is a first message, sent alone and followed by a
pipelined C{GET /second}.  Both servers under test answer 200 with the
request target as the body, so an answer names the request it answers.

A case's C{expect} is our status: 200 for a valid message, the refusal
status of its rule otherwise, L{None} where the RFCs allow both.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from netsvc_twisted.testing import parseResponses

SECOND = b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
#: Seconds a connection may stay silent before the client gives up (a
#: server waiting for more of a message it accepted).
SILENCE = 1.5
#: Seconds the client keeps reading after a complete answer to see
#: whether more comes (a smuggled request's answer).
GRACE = 0.3


@dataclass
class Case:
    category: str
    name: str
    data: bytes
    expect: int | None
    #: False when a valid first message ends the connection (Connection:
    #: close, HTTP/1.0): its pipelined second is not answered.
    persistent: bool = True


@dataclass
class Outcome:
    """What one server did with one case."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    closed: bool = False
    raw: bytes = b""

    @property
    def first(self) -> int | None:
        """The first final status, L{None} for no answer."""
        return next((s for s in self.statuses if s >= 200), None)

    @property
    def accepted(self) -> bool:
        """The first message was taken: answered below 400, or waited on."""
        first = self.first
        return (first is not None and first < 400) or (first is None and not self.closed)

    @property
    def secondAnswered(self) -> bool:
        return b"/second" in self.bodies

    @property
    def smuggled(self) -> bool:
        return b"/smuggled" in self.bodies


def head(*lines: bytes, method: bytes = b"POST", target: bytes = b"/",
         version: bytes = b"HTTP/1.1", host: bytes | None = b"x") -> bytes:
    start = method + b" " + target + b" " + version + b"\r\n"
    hostLine = b"Host: " + host + b"\r\n" if host is not None else b""
    return start + hostLine + b"".join(line + b"\r\n" for line in lines) + b"\r\n"


CHUNKED = b"Transfer-Encoding: chunked"
BODY = b"5\r\nhello\r\n0\r\n\r\n"


def transferEncodings() -> Iterator[Case]:
    valid = [b"chunked", b"Chunked", b"CHUNKED", b" chunked", b"chunked ", b"\tchunked",
             b"chunked\t"]
    for i, te in enumerate(valid):
        yield Case("te", f"valid{i}", head(b"Transfer-Encoding:" + te) + BODY, 200)
    yield Case("te", "no-space", head(b"transfer-encoding:chunked") + BODY, 200)
    unknown = [b"identity", b"gzip", b"xchunked", b"chunk", b"identity, chunked",
               b"gzip, chunked", b"chunked, gzip", b"chunked, identity", b"deflate",
               b"chunked2", b"compress, chunked"]
    for i, te in enumerate(unknown):
        yield Case("te", f"unknown{i}", head(b"Transfer-Encoding: " + te) + BODY + SMUGGLED,
                   501)
    bad = [b"", b"chunked, chunked", b"chunked,", b",chunked", b'"chunked"', b"chunked;q=1",
           b"chunked\x00", b"ch\x00unked", b"\x0bchunked", b"chunked\x0b", b"chunked\x7f",
           b"chunked,,chunked", b"chunked chunked", b"\xffchunked", b"chunked\x01"]
    for i, te in enumerate(bad):
        yield Case("te", f"bad{i}", head(b"Transfer-Encoding: " + te) + BODY + SMUGGLED, 400)
    # Every TE line counts.
    lines = [(b"chunked", b"identity", 501), (b"identity", b"chunked", 501),
             (b"chunked", b"chunked", 400), (b"chunked", b"", 400), (b"gzip", b"chunked", 501)]
    for i, (a, b, status) in enumerate(lines):
        yield Case("te", f"two-lines{i}", head(b"Transfer-Encoding: " + a,
                                               b"Transfer-Encoding: " + b) + BODY + SMUGGLED,
                   status)
    for i, te in enumerate([b"chunked", b"identity", b"gzip, chunked"]):
        for place in ("before", "after"):
            lines2 = [b"Content-Length: 15", b"Transfer-Encoding: " + te]
            if place == "after":
                lines2.reverse()
            yield Case("te", f"with-cl{i}-{place}", head(*lines2) + BODY + SMUGGLED, 400)
    names = [b"Transfer-Encoding : chunked", b"Transfer-Encoding\t: chunked",
             b"Transfer Encoding: chunked", b"Transfer-Encoding\x00: chunked",
             b"\x00Transfer-Encoding: chunked", b"Transfer-Encoding\x0b: chunked"]
    for i, line in enumerate(names):
        yield Case("te", f"name{i}", head(b"Content-Length: 5", line) + b"0\r\n\r\n" + SMUGGLED,
                   400)
    # Not the framing header: Content-Length frames.
    yield Case("te", "underscore", head(b"Content-Length: 5", b"Transfer_Encoding: chunked")
               + b"0\r\n\r\n", 200)
    yield Case("te", "te-header", head(b"Content-Length: 5", b"TE: chunked") + b"hello", 200)
    # RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
    yield Case("te", "http10", head(CHUNKED, version=b"HTTP/1.0") + BODY + SMUGGLED, 400)
    yield Case("te", "get-chunked", head(CHUNKED, method=b"GET") + b"0\r\n\r\n", 200)


def contentLengths() -> Iterator[Case]:
    valid = [b"5", b" 5", b"5 ", b"\t5\t", b"05", b"0000000000000000000000005"]
    for i, value in enumerate(valid):
        yield Case("cl", f"valid{i}", head(b"Content-Length:" + value) + b"hello", 200)
    yield Case("cl", "zero", head(b"Content-Length: 0"), 200)
    yield Case("cl", "max-value", head(b"Content-Length: 9223372036854775807"), None)
    bad = [b"-1", b"+5", b"0x5", b"5 5", b"5,5", b"5, 5", b"5,6", b"", b"abc", b"1e3", b"5.0",
           b"18446744073709551616", b"9223372036854775808", b"99999999999999999999999",
           b"1" * 5000, b"5\x00", b"\x005", b"5\x0b", b"\xd9\xa3", b"-0", b"5;", b"0x"]
    for i, value in enumerate(bad):
        yield Case("cl", f"bad{i}", head(b"Content-Length: " + value) + b"hello" + SMUGGLED,
                   400)
    pairs = [(b"5", b"5"), (b"5", b"6"), (b"6", b"5"), (b"0", b"5"), (b"5", b"")]
    for i, (a, b) in enumerate(pairs):
        yield Case("cl", f"two{i}", head(b"Content-Length: " + a, b"Content-Length: " + b)
                   + b"hello!" + SMUGGLED, 400)
    yield Case("cl", "get-body", head(b"Content-Length: 5", method=b"GET") + b"hello", 200)


def folding() -> Iterator[Case]:
    # The shapes: the folded length would be unfolded into Host.
    smuggle = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    for i, ws in enumerate([b" ", b"\t", b"  ", b" \t"]):
        yield Case("fold", f"into-host{i}", b"POST /c HTTP/1.1\r\nHost: x\r\n" + ws
                   + b"Content-Length: %d\r\n\r\n" % len(smuggle) + smuggle, 400)
        yield Case("fold", f"te{i}", head(b"Transfer-Encoding:", ws + b"chunked") + BODY
                   + SMUGGLED, 400)
        yield Case("fold", f"cl{i}", head(b"Content-Length:", ws + b"5") + b"hello" + SMUGGLED,
                   400)
        yield Case("fold", f"value{i}", head(b"X-A: a", ws + b"b", b"Content-Length: 5")
                   + b"hello" + SMUGGLED, 400)
        yield Case("fold", f"first{i}", b"POST / HTTP/1.1\r\n" + ws + b"X: a\r\nHost: x\r\n"
                   b"Content-Length: 5\r\n\r\nhello" + SMUGGLED, 400)
    yield Case("fold", "host", b"GET / HTTP/1.1\r\nHost:\r\n x\r\n\r\n", 400)
    yield Case("fold", "many", head(b"X: a") [:-2] + b" b\r\n" * 50 + b"\r\n", 400)
    yield Case("fold", "trailer", head(CHUNKED) + b"0\r\nX: a\r\n b\r\n\r\n" + SMUGGLED, 400)


def lineEndings() -> Iterator[Case]:
    heads = [b"GET / HTTP/1.1\nHost: x\n\n", b"GET / HTTP/1.1\r\nHost: x\n\r\n",
             b"GET / HTTP/1.1\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n\n",
             b"GET / HTTP/1.1\rHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
             b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", b"GET / HTTP/1.1\r\r\nHost: x\r\n\r\n",
             b"GET / HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r",
             b"GET / HTTP/1.1\r\nHost: x\r\nX: a\nb\r\n\r\n",
             b"GET / HTTP/1.1\r\nHost: x\r\nX:\n\r\n\r\n",
             b"GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\n\rHost: x\r\n\r\n",
             b"GET / HTTP/1.1\r\n\nHost: x\r\n\r\n"]
    for i, data in enumerate(heads):
        yield Case("eol", f"head{i}", data + SMUGGLED, 400)
    bodies = [b"5\nhello\n0\n\n", b"5\r\nhello\n0\r\n\r\n", b"5\r\nhello\r\n0\n\n",
              b"5\r\nhello\r\n0\r\n\n", b"5\rhello\r\n0\r\n\r\n", b"5\r\nhello\r0\r\n\r\n",
              b"5\r\nhello\r\n0\r\r\n\r\n", b"5\r\nhello\r\n0\r\nX: y\n\r\n"]
    for i, body in enumerate(bodies):
        yield Case("eol", f"chunked{i}", head(CHUNKED) + body + SMUGGLED, 400)
    # One empty line before a request line may be ignored (RFC 9112 2.2).
    yield Case("eol", "leading-crlf", b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 200)
    yield Case("eol", "leading-lf", b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED, 400)


def chunkSizes() -> Iterator[Case]:
    valid = [b"5", b"05", b"0005", b"5;name=value", b"5;name", b'5;a="q;x"', b"5;a=1;b=2",
             b"5 ;a", b"5\t;a", b"5; a=1", b"5 ; a", b'5;a="\\"x"', b"5;a=" + b"v" * 100,
             b"000000000000000000000005"]
    for i, size in enumerate(valid):
        yield Case("chunk", f"valid{i}", head(CHUNKED) + size + b"\r\nhello\r\n0\r\n\r\n", 200)
    yield Case("chunk", "upper-hex", head(CHUNKED) + b"A\r\n0123456789\r\n0\r\n\r\n", 200)
    yield Case("chunk", "lower-hex", head(CHUNKED) + b"a\r\n0123456789\r\n0\r\n\r\n", 200)
    yield Case("chunk", "many", head(CHUNKED) + b"1\r\nx\r\n" * 100 + b"0\r\n\r\n", 200)
    yield Case("chunk", "last-ext", head(CHUNKED) + b"5\r\nhello\r\n0;x=y\r\n\r\n", 200)
    yield Case("chunk", "max-size", head(CHUNKED) + b"7fffffffffffffff\r\nhello", None)
    bad = [b"zz", b"-1", b"-5", b"0x5", b"+5", b" 5", b"5 ", b"5\t", b"5 x", b"5x",
           b"fffffffffffffffff", b"ffffffffffffffffffffff", b"8000000000000000",
           b"10000000000000000", b"5\x00", b"\x005", b"", b"5;" + b"e" * 20000, b"05z",
           b"1_0", b"\xff", b"5;a=", b"5;=x", b"5;a b", b"5;a=\x00", b"5;a=\x7f", b'5;a="x',
           b"5;a=\xff", b"5,", b"5;", b"5;a;", b"g", b"\x0b5", b"5;a=b ", b";a"]
    for i, size in enumerate(bad):
        yield Case("chunk", f"bad{i}", head(CHUNKED) + size + b"\r\nhello\r\n0\r\n\r\n"
                   + SMUGGLED, 400)
    data = [b"5\r\nhelloXX0\r\n\r\n", b"5\r\nhel\r\n0\r\n\r\n", b"3\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello0\r\n\r\n", b"5\r\nhello\r\n\r\n0\r\n\r\n", b"5\r\nhello \r\n0\r\n\r\n",
            b"5\r\nhello\r\n00\r\n\r\n"]
    for i, body in enumerate(data[:-1]):
        yield Case("chunk", f"data{i}", head(CHUNKED) + body + SMUGGLED, 400)
    yield Case("chunk", "double-zero", head(CHUNKED) + data[-1], 200)


def trailers() -> Iterator[Case]:
    valid = [b"X-T: v", b"X-T:v", b"X-T: v \t", b"X-T:", b"Content-Length: 5",
             b"X-T: \xc3\xa9"]
    for i, line in enumerate(valid):
        yield Case("trailer", f"valid{i}", head(CHUNKED) + b"5\r\nhello\r\n0\r\n" + line
                   + b"\r\n\r\n", 200)
    yield Case("trailer", "two", head(CHUNKED) + b"0\r\nA: 1\r\nB: 2\r\n\r\n", 200)
    # The shape: a request after "0\r\n" is not swallowed as trailers.
    yield Case("trailer", "request", head(CHUNKED) + b"5\r\nhello\r\n0\r\n" + SMUGGLED, 400)
    bad = [b"X-T", b"X-T : v", b": v", b"X T: v", b"X-T: a\x00b", b"X-T: a\x01", b"X\x00: v",
           b"GET /smuggled HTTP/1.1", b"X-T: a\rb", b"\xff: v", b"X-T: \x7f", b"[x]: v"]
    for i, line in enumerate(bad):
        yield Case("trailer", f"bad{i}", head(CHUNKED) + b"0\r\n" + line + b"\r\n\r\n"
                   + SMUGGLED, 400)
    yield Case("trailer", "huge", head(CHUNKED) + b"0\r\n" + b"X: " + b"t" * 70000
               + b"\r\n\r\n" + SMUGGLED, 400)


def hosts() -> Iterator[Case]:
    valid = [b"x", b"x:80", b"X.Example", b"127.0.0.1", b"127.0.0.1:8080", b"[::1]",
             b"[::1]:80", b"[v1.x]", b"xn--bcher-kva.example", b"a_b", b"a~b", b"%41",
             b"a!b", b"a-b.c", b"x:", b"[::1]:", b"x" * 255, b"[2001:db8::1]:443", b"1.2.3.4.5"]
    for i, host in enumerate(valid):
        yield Case("host", f"valid{i}", head(method=b"GET", host=host), 200)
    bad = [b"evil.example/pwn?", b"a b", b"a@b", b"x:y", b"x:-1", b"x:99999", b":80", b"[::1",
           b"[]", b"[x]", b"x:80:80", b"\xff", b"x\\y", b"x#y", b"%zz", b"x?y",
           b"x/", b"a\x00b", b"a\x01b", b"x\x7f", b"[::1]x", b"x:8 0", b"[::1]]", b"x,y",
           b"x:+80", b"x%", b'x"y', b"x<y", b"x:80x"]
    for i, host in enumerate(bad):
        yield Case("host", f"bad{i}", head(method=b"GET", host=host) + SMUGGLED, 400)
    yield Case("host", "missing", b"GET / HTTP/1.1\r\n\r\n" + SMUGGLED, 400)
    yield Case("host", "missing-post", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
               + SMUGGLED, 400)
    yield Case("host", "two", head(b"Host: y", method=b"GET") + SMUGGLED, 400)
    yield Case("host", "two-same", head(b"Host: x", method=b"GET") + SMUGGLED, 400)
    yield Case("host", "empty", head(method=b"GET", host=b"") + SMUGGLED, 400)
    yield Case("host", "http10-none", b"GET / HTTP/1.0\r\n\r\n", 200, persistent=False)
    yield Case("host", "http10-bad", b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n" + SMUGGLED, 400)
    # Absolute form: the authority is checked like Host, and wins over it
    # (RFC 9112 3.2.2), which must still be there and valid.
    absolute = [(b"http://x/", b"x", 200), (b"http://x:80/", b"x:80", 200),
                (b"http://X/", b"x", 200), (b"https://x/a?b", b"x", 200),
                (b"http://x", b"x", 200), (b"http://[::1]:80/", b"[::1]:80", 200),
                (b"HTTP://x/", b"x", 200),
                (b"http://y/", b"x", 200), (b"http://x:81/", b"x", 200),
                (b"http://user:pass@x/", b"x", 400), (b"http://x/pwn?/", b"evil/pwn", 400),
                (b"http://a b/", b"x", 400), (b"http://[::1/", b"x", 400),
                (b"http://x:99999/", b"x", 400), (b"http:///", b"x", 400),
                (b"http://%zz/", b"x", 400), (b"ftp://x/", b"x", 400),
                (b"http://x\\y/", b"x", 400), (b"http:x", b"x", 400), (b"//x/", b"x", 200),
                (b"file:///etc/passwd", b"x", 400), (b"http://x#y/", b"x", 400)]
    for i, (target, host, status) in enumerate(absolute):
        yield Case("host", f"absolute{i}", head(method=b"GET", target=target, host=host)
                   + (SMUGGLED if status >= 400 else b""), status)


def targets() -> Iterator[Case]:
    bad = [b"/\x7f", b"/a\x7fb", b"/\x00", b"/\x01", b"/\x1f", b"/a\x0bb", b"/\x1b[31m",
           b"/a\tb", b"/\x08"]
    for i, target in enumerate(bad):
        yield Case("target", f"ctl{i}", head(method=b"GET", target=target) + SMUGGLED, 400)
    forms = [b"*", b"x:80", b"x", b"?a", b"a/b"]
    for i, target in enumerate(forms):
        yield Case("target", f"form{i}", head(method=b"GET", target=target) + SMUGGLED, 400)
    valid = [b"/a?b=c", b"/%41", b"/a;b", b"/~x", b"/a+b", b"/?" + b"&" * 100, b"/a:b@c",
             b"/!$&'()*+,;=", b"/a?/b?c"]
    for i, target in enumerate(valid):
        yield Case("target", f"valid{i}", head(method=b"GET", target=target), 200)
    yield Case("target", "options-star", head(method=b"OPTIONS", target=b"*"), 200)
    yield Case("target", "options-path", head(method=b"OPTIONS", target=b"/"), 200)
    yield Case("target", "connect", head(method=b"CONNECT", target=b"x:80") + SMUGGLED, 405)
    yield Case("target", "connect-path", head(method=b"CONNECT", target=b"/") + SMUGGLED, 405)
    yield Case("target", "connect-body", head(b"Content-Length: 5", method=b"CONNECT",
                                              target=b"x:443") + b"hello" + SMUGGLED, 405)


def versions() -> Iterator[Case]:
    yield Case("version", "http10", head(method=b"GET", version=b"HTTP/1.0"), 200,
               persistent=False)
    yield Case("version", "http10-keep-alive", head(b"Connection: keep-alive", method=b"GET",
                                                    version=b"HTTP/1.0"), 200)
    yield Case("version", "http10-keep-alive-post", head(
        b"Connection: keep-alive", b"Content-Length: 5", version=b"HTTP/1.0") + b"hello", 200)
    yield Case("version", "http11-close", head(b"Connection: close", method=b"GET"), 200,
               persistent=False)
    bad = [b"HTTP/1", b"HTTP/1.1.1", b"http/1.1", b"HTTP/ 1.1", b"HTTP/1.1\x00",
           b"FOO/1.1", b"HTTP/11", b"HTTP/-1.1", b"HTTP/1.a", b"HTTP", b"HTTP/1.1 x",
           b"\xffHTTP/1.1", b"HTTP/01.1", b"HTTP/1.10", b"HTTP/1.", b"HTTP/.1", b"HTTP\\1.1",
           b"HTTP/1,1", b"hTTP/1.1", b"HTTP/1.1\x0b"]
    for i, version in enumerate(bad):
        yield Case("version", f"bad{i}", b"GET / " + version + b"\r\nHost: x\r\n\r\n"
                   + SMUGGLED, 400)
    for i, version in enumerate([b"HTTP/2.0", b"HTTP/3.0", b"HTTP/9.9", b"HTTP/0.9", b"HTTP/1.2"]):
        yield Case("version", f"major{i}", b"GET / " + version + b"\r\nHost: x\r\n\r\n"
                   + SMUGGLED, 505)
    yield Case("version", "http09", b"GET /\r\n\r\n" + SMUGGLED, 400)


def methods() -> Iterator[Case]:
    # No HEAD: its answer has a Content-Length and no body, which the
    # client's generic response parser cannot tell.
    valid = [b"GET", b"OPTIONS", b"PUT", b"DELETE", b"PATCH", b"FOO", b"M-SEARCH",
             b"VERSION-CONTROL", b"PROPFIND", b"X_Y"]
    for i, method in enumerate(valid):
        yield Case("method", f"valid{i}", head(b"Content-Length: 0", method=method), 200)
    bad = [b"G\x00T", b"GET\x7f", b"G(ET", b"G:T", b"GET/", b"{}", b"\xff\xfe", b"G\tET",
           b"G\rET", b"GE\x01T", b"get", b"Get", b"G,T", b"G@T", b"G\"T", b"G\\T", b"\x0bGET"]
    for i, method in enumerate(bad):
        yield Case("method", f"bad{i}", method + b" / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
                   400)
    lines = [b"GET  / HTTP/1.1", b" GET / HTTP/1.1", b"GET / HTTP/1.1 ", b"GET\t/ HTTP/1.1",
             b"GET /\tHTTP/1.1", b"GET", b"GET /", b"/ HTTP/1.1", b"GET / / HTTP/1.1",
             b"\x00", b"GET\x00/ HTTP/1.1", b"PRI * HTTP/2.0", b"GET / HTTP/1.1\x00x"]
    for i, line in enumerate(lines):
        yield Case("method", f"line{i}", line + b"\r\nHost: x\r\n\r\n" + SMUGGLED, None)


def headerSyntax() -> Iterator[Case]:
    bad = [b"Host x", b": x", b"X : y", b"X\t: y", b"X\x00: y", b"\xff: y", b"X(: y",
           b"X y: z", b"[X]: y", b"X\x7f: y", b"X: a\x00b", b"X: \x01", b"X: a\x7f",
           b"X: a\x1bb", b"X:\x0cy", b"X\"Y: z", b"X,Y: z", b"X/Y: z", b"X;: z", b"X@: z",
           b"X{: z", b"X=: z", b"X?: z"]
    for i, line in enumerate(bad):
        yield Case("header", f"bad{i}", head(line, method=b"GET") + SMUGGLED, 400)
    valid = [b"X:", b"X:   ", b"X: \xc3\xa9", b"X: a\tb", b"X: a  b", b"X!#$%&'*+-.^_`|~: y",
             b"X: \"quoted\"", b"Cookie: a=1; b=2", b"X: \xff\xfe"]
    for i, line in enumerate(valid):
        yield Case("header", f"valid{i}", head(line, method=b"GET"), 200)
    yield Case("header", "expect", head(b"Expect: 100-continue", b"Content-Length: 5")
               + b"hello", 200)
    yield Case("header", "upgrade", head(b"Upgrade: h2c", b"Connection: Upgrade, HTTP2-Settings",
                                         b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
                                         method=b"GET"), 200)
    yield Case("header", "upgrade-body", head(b"Upgrade: websocket", b"Connection: upgrade",
                                              b"Content-Length: 5") + b"hello", 200)
    yield Case("header", "two-authorization", head(b"Authorization: Basic Zm9vOmJhcg==",
                                                   b"Authorization: Basic Zm9vOmJhcg==",
                                                   method=b"GET") + SMUGGLED, 400)


def sizes() -> Iterator[Case]:
    for n in (17000, 65536):
        yield Case("size", f"target{n}", head(method=b"GET", target=b"/" + b"a" * n)
                   + SMUGGLED, 414)
        yield Case("size", f"header{n}", head(b"X: " + b"v" * n, method=b"GET") + SMUGGLED,
                   431)
        yield Case("size", f"name{n}", head(b"N" * n + b": v", method=b"GET") + SMUGGLED, 431)
    yield Case("size", "method", b"M" * 20000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
               414)
    yield Case("size", "count", head(*[b"H%d: v" % i for i in range(600)], method=b"GET")
               + SMUGGLED, 431)
    yield Case("size", "total", head(*[b"H%d: %s" % (i, b"v" * 1000) for i in range(20)],
                                     method=b"GET") + SMUGGLED, 431)
    yield Case("size", "near", head(b"X: " + b"v" * 8000, method=b"GET"), 200)
    yield Case("size", "target-near", head(method=b"GET", target=b"/" + b"a" * 8000), 200)
    yield Case("size", "many-small", head(*[b"X: "] * 100, method=b"GET"), 200)


CATEGORIES = [transferEncodings, contentLengths, folding, lineEndings, chunkSizes, trailers,
              hosts, targets, versions, methods, headerSyntax, sizes]


def corpus() -> list[Case]:
    cases = [case for category in CATEGORIES for case in category()]
    names = [(c.category, c.name) for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def exchange(port: int, data: bytes, pipelined: bool) -> Outcome:
    """
    Send one message (and the pipelined second) on a new connection and
    read until the server closes, the second is answered, or silence.
    """
    outcome = Outcome()
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=SILENCE) as s:
        try:
            s.sendall(data + (SECOND if pipelined else b""))
        except OSError:
            pass  # refused before all was sent
        graceUntil = None
        while True:
            if graceUntil is not None:
                left = graceUntil - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except (TimeoutError, socket.timeout):
                break
            except OSError:
                outcome.closed = True
                break
            if not chunk:
                outcome.closed = True
                break
            chunks.append(chunk)
            replies = _parse(b"".join(chunks), False)
            final = [r for r in replies if r.status >= 200]
            if pipelined and any(r.body == b"/second" for r in final):
                break
            if final and graceUntil is None:
                if final[0].status >= 400:
                    s.settimeout(SILENCE)  # wait for the close
                else:
                    graceUntil = time.monotonic() + GRACE
    outcome.raw = b"".join(chunks)
    replies = _parse(outcome.raw, outcome.closed)
    outcome.statuses = [r.status for r in replies]
    outcome.bodies = [r.body for r in replies]
    if not replies:
        outcome.statuses = [int(s) for s in STATUS.findall(outcome.raw)]
    return outcome


def _parse(raw: bytes, closed: bool) -> list:
    try:
        return parseResponses(raw, closed=closed)[0]
    except ValueError:  # not HTTP: judged by the status lines found
        return []


def runAll(port: int, cases: list[Case], workers: int = 48) -> dict[tuple[str, bool], Outcome]:
    """
    Every case alone and pipelined, in parallel: (name, pipelined) -> outcome.
    """
    jobs = [(case, pipelined) for case in cases for pipelined in (False, True)]
    with ThreadPoolExecutor(workers) as pool:
        outcomes = pool.map(lambda job: exchange(port, job[0].data, job[1]), jobs)
        return {(f"{case.category}/{case.name}", pipelined): outcome
                for (case, pipelined), outcome in zip(jobs, outcomes)}
