"""
A corpus of malformed and hostile requests sent over real sockets to a
daemon on 127.0.0.1: request smuggling shapes, bad methods and versions,
oversized heads, bad paths, NUL bytes, odd absolute-form hosts...

Each case is refused (a 4xx, or the connection closed without an
answer) or, where the input is odd but legal, answered without a 5xx.
A request smuggled behind a refused one is never answered, no answer
carries a traceback, nothing is logged above warning, and a normal
request succeeds after every batch.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import pytest_twisted
from twisted.internet import defer, threads

from netsvc_twisted.testing import parseResponses
from hostile_apps import FILES, LogWatch, mounts
from support import TIMEOUT, startDaemon

#: Seconds an idle connection is kept: answered cases that keep the
#: connection alive end after this.
IDLE = 0.5
#: A request whose answer would prove that bytes after a refused request
#: were parsed as a request of their own.
SMUGGLED = b"GET /SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")

REFUSED = "refused"  # a 4xx or a close without an answer
LEGAL = "legal"  # odd but valid: any answer below 500
REFUSED_OR_LEGAL = "either"  # RFCs allow both a refusal and an answer


@dataclass
class Case:
    family: str
    name: str
    data: bytes
    kind: str
    #: For legal bodies: the body size the servlet must have seen.
    size: int | None = None
    #: Final statuses allowed instead of the kind's rule.
    expected: set[int] | None = None
    statuses: list[int] = field(default_factory=list)
    output: bytes = b""


def request(head: bytes, body: bytes = b"", target: bytes = b"/",
            method: bytes = b"POST", version: bytes = b"HTTP/1.1") -> bytes:
    return method + b" " + target + b" " + version + b"\r\nHost: x\r\n" + head + b"\r\n" + body


def framing():
    """
    Content-Length with Transfer-Encoding, conflicting lengths, bad and
    extended chunk sizes, obs-fold: a request smuggled behind each.
    """
    chunkedBody = b"5\r\nhello\r\n0\r\n\r\n"
    encodings = [b"chunked", b"Chunked", b" chunked", b"chunked ", b"\tchunked",
                 b"chunked, chunked", b"identity, chunked", b"gzip, chunked",
                 b"chunked, gzip", b"xchunked", b"chunk", b'"chunked"', b"chunked;q=1",
                 b"chunked\x00", b"ch\x00unked", b"\x0bchunked"]
    for i, te in enumerate(encodings):
        for place in ("before", "after", "alone"):
            te_line = b"Transfer-Encoding: " + te + b"\r\n"
            cl_line = b"Content-Length: %d\r\n" % len(chunkedBody)
            head = {"before": cl_line + te_line, "after": te_line + cl_line,
                    "alone": te_line}[place]
            kind = REFUSED
            if place == "alone" and te in (b"chunked", b"Chunked", b" chunked",
                                           b"chunked ", b"\tchunked"):
                kind = LEGAL
            yield Case("framing", f"te{i}-{place}", request(head, chunkedBody)
                       + (b"" if kind == LEGAL else SMUGGLED), kind,
                       5 if kind == LEGAL else None)
    # Whitespace before the colon is refused (RFC 9112 5.1); a leading
    # space folds the line into Content-Length, which then is invalid.
    names = [b"transfer-encoding", b"TRANSFER-ENCODING", b"Transfer-Encoding ",
             b" Transfer-Encoding", b"Transfer-Encoding\t"]
    for i, name in enumerate(names):
        head = b"Content-Length: 5\r\n" + name + b": chunked\r\n"
        yield Case("framing", f"te-name{i}", request(head, b"0\r\n\r\n") + SMUGGLED, REFUSED)
    # Not Transfer-Encoding at all: Content-Length frames it.
    yield Case("framing", "te-underscore", request(
        b"Content-Length: 5\r\nTransfer_Encoding: chunked\r\n", b"0\r\n\r\n"), LEGAL, 5)
    lengths = [(b"5", b"6"), (b"5", b"5"), (b"5, 6",), (b"5, 5",), (b"5,5",), (b"6", b"5"),
               (b"0", b"5"), (b"5", b"")]
    for i, values in enumerate(lengths):
        head = b"".join(b"Content-Length: " + v + b"\r\n" for v in values)
        yield Case("framing", f"lengths{i}", request(head, b"hello!") + SMUGGLED,
                   REFUSED)
    sizes = [b"zz", b"-1", b"0x5", b"+5", b" 5", b"5 x", b"ffffffffffffffffffffff",
             b"5\x00", b"\x005", b"", b"5;" + b"e" * 20000, b"5\r", b"05z",
             b"1_0", b"\xff"]
    for i, size in enumerate(sizes):
        yield Case("framing", f"chunk-size{i}", request(
            b"Transfer-Encoding: chunked\r\n", size + b"\r\nhello\r\n0\r\n\r\n") + SMUGGLED,
            REFUSED)
    broken = [b"5\r\nhelloXX0\r\n\r\n", b"5\r\nhel\r\n0\r\n\r\n", b"3\r\nhello\r\n0\r\n\r\n",
              b"5\nhello\n0\n\n", b"5\r\nhello0\r\n\r\n"]
    for i, body in enumerate(broken):
        yield Case("framing", f"chunk-data{i}", request(
            b"Transfer-Encoding: chunked\r\n", body) + SMUGGLED, REFUSED)
    extensions = [b"5;name=value", b"5;name", b'5;a="q;x"', b"5;a=1;b=2", b"5 ;a",
                  b"5\t;a", b"5;a=" + b"v" * 100, b"00005"]
    for i, size in enumerate(extensions):
        yield Case("framing", f"chunk-ext{i}", request(
            b"Transfer-Encoding: chunked\r\n", size + b"\r\nhello\r\n0\r\n\r\n"),
            REFUSED_OR_LEGAL, 5)
    # The trailer section after the last chunk is read up to its blank line
    # and dropped: a request hidden there is never parsed as one.
    yield Case("framing", "request-in-trailers", request(
        b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n" + SMUGGLED),
        REFUSED_OR_LEGAL, 5)
    # obs-fold is either refused or unfolded to a space (RFC 9112 5.2):
    # a folded length is then "5 0", invalid; an unfolded one frames.
    for i, head in enumerate([b"Content-Length: 5\r\n 0\r\n",
                              b"Transfer-Encoding:\r\n chunked\r\n"]):
        yield Case("framing", f"obs-fold{i}", request(head, b"hello") + SMUGGLED, REFUSED)
    for i, head in enumerate([b"Content-Length:\r\n\t5\r\n",
                              b"X-A: a\r\n b\r\n\tc\r\nContent-Length: 5\r\n"]):
        yield Case("framing", f"obs-fold-legal{i}", request(head, b"hello"),
                   REFUSED_OR_LEGAL, 5)
    # Whitespace before the first header line: refused or ignored (RFC 9112 2.2).
    yield Case("framing", "fold-first", b"POST / HTTP/1.1\r\n X: a\r\nHost: x\r\n"
               b"Content-Length: 5\r\n\r\nhello", REFUSED_OR_LEGAL, 5)


def requestLines():
    """
    Invalid methods and versions, and the request line's own syntax.
    """
    # Methods are upper-case letters, "-" and "_", as nginx takes them.
    methods = [b"G\x00T", b"GET\x7f", b"G(ET", b"G:T", b"GET/", b"{}", b"\xff\xfe",
               b"G\tET", b"G\rET", b"GE\x01T", b"get"]
    for i, method in enumerate(methods):
        yield Case("request-line", f"method{i}",
                   method + b" / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED, REFUSED)
    for i, method in enumerate([b"FOO", b"PATCH", b"M-SEARCH", b"M" * 10000]):
        yield Case("request-line", f"odd-method{i}",
                   method + b" / HTTP/1.1\r\nHost: x\r\n\r\n", LEGAL, 0)
    versions = [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1", b"HTTP/1.1.1", b"http/1.1",
                b"HTTP/ 1.1", b"HTTP/1.1\x00", b"FOO/1.1", b"HTTP/11", b"HTTP/-1.1",
                b"HTTP/1.a", b"HTTP/9.9", b"HTTP", b"HTTP/1.1 x", b"\xffHTTP/1.1",
                b"HTTP/3"]
    for i, version in enumerate(versions):
        yield Case("request-line", f"version{i}",
                   b"GET / " + version + b"\r\nHost: x\r\n\r\n" + SMUGGLED, REFUSED)
    for i, version in enumerate([b"HTTP/1.01", b"HTTP/1.2", b""]):
        yield Case("request-line", f"odd-version{i}",
                   b"GET / " + version + b"\r\nHost: x\r\n\r\n", REFUSED_OR_LEGAL)
    lines = [b"GET  / HTTP/1.1", b"GET /\tx HTTP/1.1", b" GET / HTTP/1.1",
             b"GET / HTTP/1.1 ", b"GET", b"GET /", b"/ HTTP/1.1", b"GET / / HTTP/1.1",
             b"\x00", b"\r", b"GET\x00/ HTTP/1.1", b"PRI * HTTP/2.0"]
    for i, line in enumerate(lines):
        yield Case("request-line", f"syntax{i}",
                   line + b"\r\nHost: x\r\n\r\n" + SMUGGLED, REFUSED)
    yield Case("request-line", "blank-lines", b"\r\n" * 5 + SMUGGLED, REFUSED_OR_LEGAL)


def sizes():
    """
    Oversized request lines and headers, too many headers.
    """
    for n in (17000, 65536, 1 << 20):
        yield Case("sizes", f"target{n}", b"GET /" + b"a" * n + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                   + SMUGGLED, REFUSED)
        yield Case("sizes", f"header{n}", b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * n
                   + b"\r\n\r\n" + SMUGGLED, REFUSED)
        yield Case("sizes", f"name{n}", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"N" * n
                   + b": v\r\n\r\n" + SMUGGLED, REFUSED)
        yield Case("sizes", f"query{n}", b"GET /form?a=" + b"q" * n
                   + b" HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED, REFUSED)
    for count in (501, 1000, 10000):
        yield Case("sizes", f"headers{count}", b"GET / HTTP/1.1\r\nHost: x\r\n"
                   + b"".join(b"H%d: v\r\n" % i for i in range(count)) + b"\r\n" + SMUGGLED,
                   REFUSED)
    yield Case("sizes", "headers-total", b"GET / HTTP/1.1\r\nHost: x\r\n"
               + b"".join(b"H%d: %s\r\n" % (i, b"v" * 1000) for i in range(20)) + b"\r\n"
               + SMUGGLED, REFUSED)
    yield Case("sizes", "many-small", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: \r\n" * 490
               + b"\r\n", LEGAL, 0)
    yield Case("sizes", "continuations", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n"
               + b" b\r\n" * 20000 + b"\r\n" + SMUGGLED, REFUSED)
    for target, body in ((b"/form", b"a=" + b"x" * 300000), (b"/form", b"a=1&" * 100)):
        yield Case("sizes", f"form{len(body)}", request(
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
            % len(body), body, target), REFUSED)
    yield Case("sizes", "form-declared-huge", request(
        b"Content-Length: 99999999999999\r\n", b"", b"/form"), REFUSED)
    yield Case("sizes", "form-expect-huge", request(
        b"Content-Length: 99999999999999\r\nExpect: 100-continue\r\n", b"", b"/form"),
        REFUSED)


def paths():
    """
    Bad percent-encoding, invalid UTF-8, traversal and NUL in targets.
    """
    bad = [b"/%", b"/%z", b"/%zz", b"/%1", b"/%%", b"/%G0", b"/a%", b"/%u0041",
           b"/files/%", b"/form/%zz", b"/a%00b", b"/files/small.txt%00.html",
           b"/%00", b"/files/%2e%2e/%2e%2e/etc/passwd", b"/%2e%2e/", b"/files/../../x",
           b"/..", b"/../files/small.txt", b"/files/%2e%2e%2f%2e%2e%2fx"]
    for i, target in enumerate(bad):
        yield Case("paths", f"bad{i}", b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                   REFUSED)
    odd = [b"/%ff", b"/%c0%af", b"/%e0%80%af", b"/%ed%a0%80", b"/%f8%88%80%80%80",
           b"/%fe%ff", b"/files/%c0%ae%c0%ae/x", b"/%252e%252e/", b"/files/....//x",
           b"/files/..\\..\\x", b"/files/%5c..%5cx", b"/files/./small.txt",
           b"/files//small.txt", b"/files/small.txt/", b"/files/small.txt;x",
           b"/files/.hidden", b"/files/%2ehidden", b"/files/small.txt?%ff=%zz",
           b"/form?%zz=%ff&&=&a", b"/?" + b"&" * 1000, b"/#frag", b"/files/%7e",
           b"/%20/", b"/a+b", b"/\x80\x81", b"/\xc3\xa9", b"/a\x7fb", b"/files/data.bin"]
    for i, target in enumerate(odd):
        yield Case("paths", f"odd{i}", b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                   REFUSED_OR_LEGAL)


def headers():
    """
    Header syntax, NUL bytes, Host and absolute-form oddities,
    Content-Length values, malformed credentials.
    """
    syntax = [b"Host x", b": x", b"X : y", b"X\t: y", b"X\x00: y", b"\xff: y",
              b"X(: y", b"X y: z", b"X:\ry", b"X: y\rZ: w", b"[X]: y", b"X\x7f: y"]
    for i, line in enumerate(syntax):
        yield Case("headers", f"syntax{i}", b"GET / HTTP/1.1\r\nHost: x\r\n" + line
                   + b"\r\n\r\n" + SMUGGLED, REFUSED)
    values = [b"X: a\x00b", b"X: \xff\xfe", b"X: \x01\x02", b"X: " + b"\t" * 100,
              b"Cookie: a=\x00; b", b"Accept-Language: \xc3", b"Range: bytes=5-1,x",
              b"Range: bytes=" + b"0-1," * 1000, b"If-Modified-Since: \xff",
              b"If-None-Match: \x00", b"Content-Type: \x00", b"X:", b"X:   ",
              b"Expect: bogus", b"Connection: \xff, close", b"Upgrade: h2c\r\nConnection: upgrade",
              b"Authorization: Basic \xff\xff", b"Authorization: Basic Zm9vOmJhcg==\xff",
              b"Authorization: Basic " + b"A" * 10000, b"Authorization: Basic " + b"Og=="]
    for i, line in enumerate(values):
        for target in (b"/", b"/files/small.txt"):
            yield Case("headers", f"value{i}{target[1:2].decode() or 'r'}",
                       b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n\r\n",
                       REFUSED_OR_LEGAL)
    # Spec 2.4 answers 501 to an Authorization scheme other than Basic: the
    # one 5xx that input alone causes, by design. The scheme is matched
    # case-insensitively (RFC 7617), and Basic without credentials is a 401.
    for i, value in enumerate([b"Bearer x", b"\xff", b"Digest a=b"]):
        yield Case("headers", f"auth-scheme{i}", b"GET / HTTP/1.1\r\nHost: x\r\n"
                   b"Authorization: " + value + b"\r\n\r\n", REFUSED_OR_LEGAL, expected={501})
    # Malformed credentials to a server that asks for no login (it does
    # not override authorise()) are ignored, not a 401.
    yield Case("headers", "auth-empty-basic", b"GET / HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Basic\r\n\r\n", REFUSED_OR_LEGAL, expected={200})
    yield Case("headers", "auth-lower-basic", b"GET / HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: basic Zm9vOmJhcg==\r\n\r\n", REFUSED_OR_LEGAL, expected={200})
    hosts = [b"", b"[::1", b"x:y:z", b"\xff", b"a b", b"x:99999999999", b"x:-1",
             b"\x00", b"[::1]:", b"[]", b"x:", b":80", b"a@b", b"x" * 5000]
    for i, host in enumerate(hosts):
        yield Case("headers", f"host{i}", b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
                   REFUSED_OR_LEGAL)
    yield Case("headers", "no-host", b"GET / HTTP/1.1\r\n\r\n", REFUSED_OR_LEGAL)
    yield Case("headers", "two-hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
               REFUSED_OR_LEGAL)
    absolute = [b"http://[::1/", b"http://]/", b"http://a[b/", b"http://[x]/",
                b"http://a@b@c/", b"http://x:99999/", b"http://x:-1/", b"http:///",
                b"http://", b"http:x", b"ftp://x/", b"HTTP://X/", b"http://x/../../",
                b"http://x?y", b"http://%zz/", b"http://x:80:80/", b"http://[::1]:80/",
                b"http://user:pass@x/", b"//x/y", b"*", b"x:80", b"http://x/files/small.txt",
                b"https://x/form?a=1", b"http://x\\y/", b"file:///etc/passwd",
                b"javascript:alert(1)", b"http://x/%zz", b"http://x/%00"]
    for i, target in enumerate(absolute):
        yield Case("headers", f"absolute{i}", b"GET " + target
                   + b" HTTP/1.1\r\nHost: x\r\n\r\n", REFUSED_OR_LEGAL)
    lengths = [b"-1", b"+1", b"0x10", b"1e3", b"", b"abc", b"99999999999999999999999",
               b"5\x00", b"\xd9\xa3", b"5 5", b"1.0", b"-0"]
    for i, value in enumerate(lengths):
        yield Case("headers", f"length{i}", request(b"Content-Length: " + value + b"\r\n",
                                                   b"hello") + SMUGGLED, REFUSED)


FAMILIES = {"framing": framing, "request-line": requestLines, "sizes": sizes,
            "paths": paths, "headers": headers}


def exchange(case: Case, port: int) -> Case:
    """
    Send a case and read until the server closes the connection.
    """
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        try:
            s.sendall(case.data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the client finished sending
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    case.output = b"".join(chunks)
    case.statuses = [int(s) for s in STATUS.findall(case.output)]
    return case


def healthy(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.startswith(b"HTTP/1.1 200 ") and data.endswith(FILES["small.txt"])


def runCorpus(port: int) -> tuple[dict[str, list[Case]], dict[str, bool]]:
    results, after = {}, {}
    with ThreadPoolExecutor(64) as pool:
        for family, make in FAMILIES.items():
            cases = list(make())
            results[family] = list(pool.map(lambda c: exchange(c, port), cases))
            after[family] = healthy(port)
    return results, after


@pytest.fixture(scope="module")
def corpus():
    with tempfile.TemporaryDirectory() as directory, LogWatch() as log:
        daemon = pytest_twisted.blockon(defer.ensureDeferred(
            startDaemon(mounts(directory), idleTimeout=IDLE)))
        try:
            results, after = pytest_twisted.blockon(
                threads.deferToThread(runCorpus, daemon.port()))
        finally:
            pytest_twisted.blockon(daemon.stop())
        yield results, after, log


def problems(case: Case) -> list[str]:
    found = []
    if b"SMUGGLED" in case.output:
        found.append("answered a smuggled request")
    if b"Traceback" in case.output or b'File "' in case.output:
        found.append("traceback in the answer")
    if case.output and not case.statuses:
        found.append("output that is not an HTTP answer")
    # 100 Continue may precede the real answer.
    final = [s for s in case.statuses if s >= 200]
    if case.expected is not None:
        if final[:1] and final[0] not in case.expected:
            found.append(f"expected {case.expected}: {case.statuses}")
        return found
    # 501 (an unknown transfer coding) and 505 (HTTP version) refuse too.
    if any(s >= 500 and s not in (501, 505) for s in final):
        found.append(f"5xx: {case.statuses}")
    if case.kind == REFUSED and final and not (400 <= final[0] < 500 or final[0] in (501, 505)):
        found.append(f"not refused: {case.statuses}")
    if case.kind == LEGAL and final[:1] != [200]:
        found.append(f"legal request not answered 200: {case.statuses}")
    if case.size is not None and final[:1] == [200]:
        answers = [r for r in parseResponses(case.output, closed=True)[0] if r.status >= 200]
        size = json.loads(answers[0].body)["size"]
        if size != case.size:
            found.append(f"the servlet saw {size} body bytes, not {case.size}")
    return found


def test_corpus_is_large(corpus):
    results, _, _ = corpus
    assert sum(len(cases) for cases in results.values()) >= 200


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family(corpus, family):
    results, after, _ = corpus
    failures = {f"{c.name} {c.data[:60]!r} -> {c.output[:80]!r}": problems(c)
                for c in results[family] if problems(c)}
    assert not failures
    assert after[family], "a normal request failed after the batch"


def test_nothing_logged_above_warning(corpus):
    _, _, log = corpus
    assert not log.events, log.describe()
