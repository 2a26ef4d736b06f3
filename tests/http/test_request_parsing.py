"""
Issue 11: the strict HTTP/1.1 front door (in memory, one rule per test),
HTTP/1.0 keep-alive, the listen backlog, the Authorization rules, and the
Host rules over HTTP/2.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import pytest_twisted
from twisted.logger import LogLevel

import netsvc_twisted as netsvc
from netsvc_twisted._http._daemon import DEFAULT_BACKLOG
from netsvc_twisted._http._parser import BadRequest, checkHost, parseHead
from netsvc_twisted.testing import MemoryDaemon, servletServer
from test_http2 import H2Client, Stream, certificate, inThread, startTLS  # noqa: F401

NEXT = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


class Report(netsvc.HttpServlet):
    """Reads the body, answers 200 with its size, the path and the user."""

    def processRequest(self) -> None:
        self.size = 0

    def processContent(self, content: bytes) -> None:
        self.size += len(content)

    def processContentEnd(self) -> None:
        body = f"{self.requestPath()} {self.size} {self.remoteUser()!r}".encode()
        self.sendResponse(200)
        self.sendHeader("Content-Length", str(len(body)))
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


class Unframed(netsvc.HttpServlet):
    """An answer without a Content-Length."""

    def processRequest(self) -> None:
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent("no length")
        self.endContent()


class Login(netsvc.HttpServer):
    def authorise(self, login: str, password: str) -> bool:
        return (login, password) == ("user", "pass")

    def servlet(self, session):
        return Report(session)


def send(data: bytes, servers=None):
    daemon = MemoryDaemon(servers or {"/": servletServer(Report)})
    connection = daemon.connect()
    connection.send(data)
    daemon.settle()
    return connection.replies(), connection


def refused(data: bytes, status: int, logEvents=None):
    """Sent with a request pipelined behind: one answer, then the close."""
    replies, connection = send(data + NEXT)
    assert [r.status for r in replies] == [status], replies
    assert replies[0].header("connection") == "close"
    assert connection.closed
    assert b"Traceback" not in replies[0].body
    if logEvents is not None:
        assert not [e for e in logEvents if e.get("log_level", LogLevel.info) > LogLevel.warn]
    return replies[0]


def post(*lines: bytes, body: bytes = b"") -> bytes:
    return b"POST / HTTP/1.1\r\nHost: x\r\n" + b"".join(l + b"\r\n" for l in lines) + b"\r\n" + body


def test_a_refused_connection_keeps_nothing_of_what_follows():
    """
    After a refusal the channel ignores its input; a closing connection
    that goes on reading (TLS waits for its shutdown) must not buffer
    what a client keeps sending.
    """
    replies, connection = send(b"GET / HTTP/1.1\r\nHost: x\r\n Folded: x\r\n\r\n")
    assert [r.status for r in replies] == [400]
    channel = connection.channel
    for _ in range(64):
        channel.dataReceived(b"x" * 65536)
    assert channel._buffer == b""
    assert channel._headDeadline is None


# Framing.

@pytest.mark.parametrize("head", [
    b"POST /c HTTP/1.1\r\nHost: x\r\n Content-Length: 35\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: x\r\n\tContent-Length: 35\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
])
def test_obs_fold_is_400(head, logEvents):
    page = refused(head + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400, logEvents)
    assert b"obs-fold" in page.body


@pytest.mark.parametrize("lines, status", [
    ([b"Transfer-Encoding: identity"], 501),
    ([b"Transfer-Encoding: gzip, chunked"], 501),
    ([b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"], 501),
    ([b"Transfer-Encoding: chunked, chunked"], 400),
    ([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], 400),
    ([b'Transfer-Encoding: "chunked"'], 400),
    ([b"Transfer-Encoding: chunked", b"Content-Length: 15"], 400),
    ([b"Content-Length: 5", b"Content-Length: 5"], 400),
    ([b"Content-Length: 18446744073709551616"], 400),
    ([b"Content-Length: 9223372036854775808"], 400),
    ([b"Content-Length: " + b"1" * 5000], 400),
    ([b"Content-Length: +5"], 400),
])
def test_framing_headers(lines, status, logEvents):
    refused(post(*lines, body=b"5\r\nhello\r\n0\r\n\r\n"), status, logEvents)


def test_transfer_encoding_in_http10_is_400():
    refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)


@pytest.mark.parametrize("size", [b"fffffffffffffffff", b"8000000000000000", b"5 x", b"+5",
                                  b"5;a=", b"5;" + b"e" * 2000])
def test_bad_chunk_size_is_400(size, logEvents):
    refused(post(b"Transfer-Encoding: chunked", body=size + b"\r\nhello\r\n0\r\n\r\n"), 400,
            logEvents)


def test_chunk_size_up_to_2_63_and_extensions_are_taken():
    replies, _ = send(post(b"Transfer-Encoding: chunked",
                           body=b"00005 ; a=1;b=\"q;x\"\r\nhello\r\n0\r\n\r\n") + NEXT)
    assert [(r.status, r.body) for r in replies] == [(200, b"/ 5 ''"), (200, b"/next 0 ''")]
    replies, connection = send(post(b"Transfer-Encoding: chunked",
                                    body=b"7fffffffffffffff\r\nhello"))
    assert replies == [] and not connection.closed  # still reading that chunk


def test_a_request_after_the_last_chunk_is_not_swallowed_as_trailers(logEvents):
    refused(post(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n")
            + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400, logEvents)


def test_valid_trailers_are_read_and_the_next_request_served():
    replies, _ = send(post(b"Transfer-Encoding: chunked",
                           body=b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-B:\r\n\r\n") + NEXT)
    assert [(r.status, r.body) for r in replies] == [(200, b"/ 5 ''"), (200, b"/next 0 ''")]


def test_a_bad_chunk_after_dispatch_destroys_the_servlet():
    destroyed = []

    class Slow(Report):
        def destroyServlet(self):
            destroyed.append(self.size)
            super().destroyServlet()

    replies, connection = send(post(b"Transfer-Encoding: chunked",
                                    body=b"5\r\nhello\r\nzz\r\n"), {"/": servletServer(Slow)})
    assert [r.status for r in replies] == [400] and connection.closed
    assert destroyed == [5]


# Host and target.

@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: evil.example/pwn?\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x:99999\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n",
    b"GET http://a@b/ HTTP/1.1\r\nHost: b\r\n\r\n",
    b"GET http://a/b/ HTTP/1.1\r\n\r\n",
    b"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_bad_host_and_target_are_400(head, logEvents):
    refused(head, 400, logEvents)


def test_host_is_never_reflected_unchecked():
    """The issue's shape: a bad Host reached a redirect's Location."""
    page = refused(b"GET / HTTP/1.1\r\nHost: evil.example/pwn?\r\n\r\n", 400)
    assert b"evil" not in page.body


def test_absolute_form_authority_wins_over_host():
    replies, _ = send(b"GET http://[::1]:8080/a?q HTTP/1.1\r\nHost: other\r\n\r\n" + NEXT)
    assert [(r.status, r.body) for r in replies] == [(200, b"/a 0 ''"), (200, b"/next 0 ''")]


def test_http10_without_host_is_served():
    replies, connection = send(b"GET / HTTP/1.0\r\n\r\n")
    assert [r.status for r in replies] == [200] and connection.closed


def test_connect_is_405_with_allow(logEvents):
    page = refused(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 405,
                   logEvents)
    assert "GET" in page.header("allow")


def test_options_star_is_200_with_allow():
    replies, connection = send(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" + NEXT)
    assert [r.status for r in replies] == [200, 200]
    assert "OPTIONS" in replies[0].header("allow") and replies[0].body == b""
    assert not connection.closed


@pytest.mark.parametrize("version, status", [
    (b"HTTP/2.0", 505), (b"HTTP/1.2", 505), (b"HTTP/1.10", 400), (b"http/1.1", 400)])
def test_versions(version, status):
    refused(b"GET / " + version + b"\r\nHost: x\r\n\r\n", status)


# Sizes: answered before the close, not a silent close.

def test_overlong_request_line_is_414():
    refused(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)


def test_overlong_request_line_still_arriving_is_414():
    replies, connection = send(b"GET /" + b"a" * 20000)
    assert [r.status for r in replies] == [414] and connection.closed


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 20000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(501)) + b"\r\n",
])
def test_overlong_header_section_is_431(head):
    refused(head, 431)


def test_bare_lf_is_refused_without_waiting():
    replies, connection = send(b"GET / HTTP/1.1\nHost: x\n\n")
    assert [r.status for r in replies] == [400] and connection.closed


def test_one_empty_line_before_a_request_is_ignored():
    replies, _ = send(b"\r\n" + NEXT)
    assert [r.status for r in replies] == [200]


# HTTP/1.0 keep-alive.

def test_http10_keep_alive_is_honoured():
    daemon = MemoryDaemon({"/": servletServer(Report)})
    connection = daemon.connect()
    for path in (b"/a", b"/b"):
        connection.send(b"GET " + path + b" HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        daemon.settle()
        [reply] = connection.replies()
        assert reply.status == 200 and reply.body.startswith(path)
        assert reply.header("connection") == "keep-alive"
        assert not connection.closed


def test_http10_keep_alive_without_a_length_closes():
    replies, connection = send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                               {"/": servletServer(Unframed)})
    assert [(r.status, r.body) for r in replies] == [(200, b"no length")]
    assert replies[0].header("connection") is None and connection.closed


def test_http10_without_keep_alive_closes():
    replies, connection = send(b"GET / HTTP/1.0\r\n\r\n" + NEXT)
    assert [r.status for r in replies] == [200] and connection.closed


# The idle timer across a response.

def test_a_slow_response_is_not_idleness_and_the_idle_time_restarts_after_it():
    pending = []

    class Later(netsvc.HttpServlet):
        def processRequest(self):
            pending.append(self)

        def answer(self):
            self.sendResponse(200)
            self.sendHeader("Content-Length", "2")
            self.endHeaders()
            self.sendContent("ok")
            self.endContent()

    daemon = MemoryDaemon({"/": servletServer(Later)},
                          netsvc.HttpDaemon(8000, idleTimeout=5))
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    daemon.clock.advance(12)  # two idle periods while the servlet works
    assert not connection.closed and len(pending) == 1
    pending[0].answer()
    assert [r.status for r in connection.replies()] == [200]
    daemon.clock.advance(4.5)
    assert not connection.closed  # idle for less than 5 s since the answer
    daemon.clock.advance(1)
    assert connection.closed


# Authorization.

def basic(text: bytes) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(text)


def test_duplicate_authorization_is_400():
    refused(b"GET / HTTP/1.1\r\nHost: x\r\n" + basic(b"user:pass") + b"\r\n"
            + basic(b"user:pass") + b"\r\n\r\n", 400)


@pytest.mark.parametrize("credentials", [b"user:pa\x00ss", b"us\ter:pass", b"user:pass\x7f",
                                         b"user\r\n:pass"])
def test_credentials_with_control_characters_are_refused(credentials):
    replies, _ = send(b"GET / HTTP/1.1\r\nHost: x\r\n" + basic(credentials) + b"\r\n\r\n",
                      {"/": Login()})
    assert [r.status for r in replies] == [401]


def test_good_credentials_still_pass():
    replies, _ = send(b"GET / HTTP/1.1\r\nHost: x\r\n" + basic(b"user:pass") + b"\r\n\r\n",
                      {"/": Login()})
    assert [(r.status, r.body) for r in replies] == [(200, b"/ 0 'user'")]


@pytest.mark.parametrize("value", [b"Basic", b"Basic %%%", b"Basic " + base64.b64encode(b"x"),
                                   b"Basic " + base64.b64encode(b"a:\x00")])
def test_malformed_credentials_to_a_server_without_login_pass(value):
    replies, _ = send(b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + b"\r\n\r\n")
    assert [(r.status, r.body) for r in replies] == [(200, b"/ 0 ''")]
    replies, _ = send(b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + b"\r\n\r\n",
                      {"/": Login()})
    assert [r.status for r in replies] == [401]


# The parser alone.

def test_parse_head():
    head = parseHead(b"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length:  12 \r\nX:", 10)
    assert head == (b"POST", b"/a?b", b"HTTP/1.1",
                    [(b"Host", b"x"), (b"Content-Length", b"12"), (b"X", b"")], 12)
    assert parseHead(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked", 10)[4] is None
    with pytest.raises(BadRequest) as raised:
        parseHead(b"GET / HTTP/1.1\r\nHost: x\r\nX: 1", 1)
    assert raised.value.status == 431


@pytest.mark.parametrize("value, expected", [
    (b"Example.ORG", (b"example.org", b"80")), (b"x:8080", (b"x", b"8080")),
    (b"[::1]:443", (b"[::1]", b"443")), (b"x:", (b"x", b"80")), (b"%41", (b"%41", b"80"))])
def test_check_host(value, expected):
    assert checkHost(value) == expected


# The listen backlog.

@pytest_twisted.ensureDeferred
async def test_backlog_defaults_to_1024_and_is_configurable(daemons):
    for kwargs, expected in (({}, DEFAULT_BACKLOG), ({"backlog": 77}, 77)):
        daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1", **kwargs)
        daemons.append(daemon)
        listening = await daemon.start()
        assert listening.backlog == expected
    assert DEFAULT_BACKLOG == 1024
    assert daemon.withBacklog("tcp:0:backlog=5") == "tcp:0:backlog=5"
    assert daemon.withBacklog("systemd:domain=INET:index=0") == "systemd:domain=INET:index=0"


@pytest_twisted.ensureDeferred
async def test_twistd_backlog_option():
    from netsvc_twisted._hosting._twistd import Options, makeService

    options = Options()
    options.parseOptions([
        "--config", str(Path(__file__).resolve().parents[2] / "examples" / "twistd_app.py"),
        "--backlog", "77", "--listen", "tcp:0:interface=127.0.0.1",
        "--listen", "tcp:0:interface=127.0.0.1"])
    top = makeService(options)
    top.privilegedStartService()
    top.startService()
    try:
        [child] = list(top)
        assert child.daemon._listening.backlog == 77
        assert [port.backlog for port in child._extraPorts] == [77]
    finally:
        await top.stopService()


# HTTP/2: the same Host rules for :authority.

@pytest_twisted.ensureDeferred
async def test_h2_authority_is_checked(startTLS):  # noqa: F811
    daemon = await startTLS({"/": servletServer(Report)})

    def client(fields):
        c = H2Client(daemon.port())
        c.conn.config.validate_outbound_headers = False  # send what a hostile client would
        try:
            streamID = c.conn.get_next_available_stream_id()
            stream = c.streams[streamID] = Stream()
            c.conn.send_headers(streamID, [(":method", "GET"), (":scheme", "https"),
                                           (":path", "/"), *fields], end_stream=True)
            c.flush()
            c.until(lambda: stream.ended or stream.reset or c.terminated)
            return stream.headers.get(":status") or "refused by h2"
        finally:
            c.close()

    answers = [await inThread(client, fields) for fields in (
        [(":authority", "evil.example/pwn?")], [(":authority", "a b")], [],
        [(":authority", "localhost"), ("host", "other")],
        [(":authority", "localhost:8443"), ("host", "localhost:8443")])]
    # h2 itself refuses a stream without either, or whose Host differs.
    assert answers == ["400", "400", "refused by h2", "refused by h2", "200"]
