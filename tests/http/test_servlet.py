"""
In-memory tests of the servlet model: the response API, its state
machine, the hooks and the exception policy.
"""

import pytest

import netsvc_twisted as netsvc
from netsvc_twisted.testing import MemoryDaemon

from support import failuresIn


def serve(servletClass, **kwargs):
    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return servletClass(session, **kwargs)

    return MemoryDaemon({"/": Server()})


class Script(netsvc.HttpServlet):
    """
    Runs a list of response calls given as (name, args) pairs.
    """

    def __init__(self, session, steps, record):
        super().__init__(session)
        self.steps = steps
        self.record = record

    def processRequest(self):
        for name, args in self.steps:
            try:
                getattr(self, name)(*args)
            except netsvc.ResponseStateError as e:
                self.record.append((name, "ResponseStateError", str(e)))
                raise

    def destroyServlet(self):
        self.record.append("destroyed")
        super().destroyServlet()


def run(steps, method="GET", body=b""):
    record = []
    reply = serve(Script, steps=steps, record=record).request(method, "/x", body)
    return reply, record


def test_hello():
    reply, record = run([
        ("sendResponse", (200,)),
        ("sendHeader", ("Content-Type", "text/plain")),
        ("sendHeader", ("Content-Length", "9")),
        ("endHeaders", ()),
        ("sendContent", ("Hi there.",)),
        ("endContent", ()),
    ])
    assert (reply.status, reply.body) == (200, b"Hi there.")
    assert reply.header("content-type") == "text/plain"
    assert reply.header("content-length") == "9"
    assert record == ["destroyed"]


def test_line_breaks_in_headers_cannot_inject_headers():
    # Response headers are stored without twisted.web's Headers methods:
    # the same line-break replacement and name check must still apply.
    daemon = serve(Script, steps=[
        ("sendResponse", (200, "OK\r\nX-Reason: injected")),
        ("sendHeader", ("X-Value", "a\r\nSet-Cookie: evil=1\nX-Two: 2\r")),
        ("sendHeader", (b"X-Bytes", b"b\n\rX-Three: 3")),
        ("sendHeader", ("Content-Length", "2")),
        ("endHeaders", ()),
        ("sendContent", ("ok",)),
        ("endContent", ()),
    ], record=[])
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = connection.received().split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 200 OK X-Reason: injected"
    assert b"X-Value: a Set-Cookie: evil=1 X-Two: 2" in head
    assert b"X-Bytes: b  X-Three: 3" in head
    names = [line.split(b":")[0].lower() for line in head[1:]]
    assert not {b"set-cookie", b"x-two", b"x-three", b"x-reason"} & set(names)
    for name in ("X-Bad\r\nSet-Cookie", "X-Bad Name", "X-Bad:"):
        reply, _ = run([("sendResponse", (200,)), ("sendHeader", (name, "1")),
                        ("endHeaders", ()), ("endContent", ())])
        assert reply.status == 500
        assert reply.header("set-cookie") is None


def test_custom_reason_and_str_content_uses_sent_charset():
    reply, _ = run([
        ("sendResponse", (299, "Fine Thanks")),
        ("sendHeader", ("Content-Type", "text/plain; charset=iso-8859-1")),
        ("endHeaders", ()),
        ("sendContent", ("caf\u00e9",)),
        ("sendContent", ("!",)),
        ("endContent", ()),
    ])
    assert (reply.status, reply.reason) == (299, "Fine Thanks")
    assert reply.body == b"caf\xe9!"


def test_str_content_defaults_to_utf8():
    reply, _ = run([("sendResponse", (200,)), ("endHeaders", ()),
                    ("sendContent", ("caf\u00e9",)), ("endContent", ())])
    assert reply.body == "caf\u00e9".encode()


def test_send_error_page():
    reply, record = run([("sendError", (404, "<P>Gone fishing.</P>"))])
    assert reply.status == 404
    assert reply.header("content-type") == "text/html"
    assert reply.body.startswith(b"<HTML>\n<HEAD>\n<TITLE>\n404 Not Found\n</TITLE>")
    assert b"<H2>\n404 Not Found\n</H2>\n<P>Gone fishing.</P>\n</BODY>" in reply.body
    assert int(reply.header("content-length")) == len(reply.body)
    assert record == ["destroyed"]


def test_send_complete_raw_response():
    raw = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"
    daemon = serve(Script, steps=[("sendComplete", (raw,))], record=[])
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert connection.received() == raw
    assert connection.closed


def test_status_text():
    servlet_text = netsvc.HttpServlet.statusText
    assert servlet_text(None, 404) == "Not Found"
    assert netsvc.statusText(417) == "Expectation Failed"
    assert netsvc.statusText(799) == "Unknown Status"


def test_default_process_request_is_501():
    daemon = serve(netsvc.HttpServlet)
    assert daemon.request().status == 501


@pytest.mark.parametrize("steps, failing", [
    ([("sendContent", ("x",))], "sendContent"),
    ([("sendHeader", ("A", "b"))], "sendHeader"),
    ([("endHeaders", ())], "endHeaders"),
    ([("endContent", ())], "endContent"),
    ([("sendResponse", (200,)), ("sendResponse", (200,))], "sendResponse"),
    ([("sendResponse", (200,)), ("sendContent", ("x",))], "sendContent"),
    ([("sendResponse", (200,)), ("sendError", (500,))], "sendError"),
    ([("sendResponse", (200,)), ("sendComplete", (b"x",))], "sendComplete"),
])
def test_misuse_before_anything_went_out_gives_500(steps, failing, logEvents):
    reply, record = run(steps)
    assert record[0][:2] == (failing, "ResponseStateError")
    assert record[-1] == "destroyed"
    assert reply.status == 500
    assert b"Traceback" not in reply.body and b"ResponseStateError" not in reply.body
    failures = failuresIn(logEvents)
    assert failures and failures[0].check(netsvc.ResponseStateError)


def test_misuse_after_headers_aborts_connection():
    record = []
    daemon = serve(Script, steps=[
        ("sendResponse", (200,)), ("endHeaders", ()), ("sendContent", ("part",)),
        ("flushContent", ()), ("sendError", (500,)),
    ], record=record)
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = connection.received()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert b"part" in data and not data.endswith(b"0\r\n\r\n")
    assert connection.transport.disconnecting
    assert record[-1] == "destroyed" and record.count("destroyed") == 1


def test_second_end_content_raises_after_completion():
    outcome = []

    class Twice(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()
            self.endContent()
            try:
                self.endContent()
            except netsvc.ResponseStateError:
                outcome.append("raised")

    assert serve(Twice).request().status == 200
    assert outcome == ["raised"]


def test_send_header_after_end_headers_is_ignored_with_warning(logEvents):
    reply, _ = run([("sendResponse", (200,)), ("endHeaders", ()),
                    ("sendHeader", ("X-Late", "1")), ("sendContent", ("ok",)),
                    ("endContent", ())])
    assert reply.status == 200 and reply.body == b"ok"
    assert reply.header("x-late") is None
    assert len([e for e in logEvents if "sendHeader" in (e.get("log_format") or "")]) == 1


def test_buffering_flushes_past_maximum():
    writes = []

    class Buffered(netsvc.HttpServlet):
        _bufferedMaximum = 10

        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()
            request = self._session.request
            original = request.write
            request.write = lambda data: (writes.append(data), original(data))[1]
            self.sendContent(b"12345")
            self.sendContent(b"67890")  # exactly the maximum: still buffered
            assert writes == []
            self.sendContent(b"X")  # now greater: one joined block
            self.sendContent(b"tail")
            self.endContent()

    reply = serve(Buffered).request()
    assert reply.body == b"1234567890Xtail"
    assert writes[:2] == [b"1234567890X", b"tail"]


def test_process_request_exception_gives_500_without_traceback(logEvents):
    class Broken(netsvc.HttpServlet):
        def processRequest(self):
            raise ValueError("secret detail")

    reply = serve(Broken).request()
    assert reply.status == 500
    assert b"secret" not in reply.body and b"Traceback" not in reply.body
    assert failuresIn(logEvents)[0].check(ValueError)


def test_servlet_factory_exception_gives_500(logEvents):
    class Server(netsvc.HttpServer):
        def servlet(self, session):
            raise KeyError("boom")

    reply = MemoryDaemon({"/": Server()}).request()
    assert reply.status == 500 and b"boom" not in reply.body
    assert failuresIn(logEvents)[0].check(KeyError)


def test_process_content_exception_and_destroy_exception(logEvents):
    destroyed = []

    class Broken(netsvc.HttpServlet):
        def processRequest(self):
            pass

        def processContent(self, content):
            raise RuntimeError("bad body")

        def destroyServlet(self):
            destroyed.append(1)
            raise RuntimeError("bad destroy")

    reply = serve(Broken).request("POST", "/", b"data")
    assert reply.status == 500
    assert destroyed == [1]
    assert [f.value.args[0] for f in failuresIn(logEvents)] == ["bad body", "bad destroy"]


def test_unknown_mount_and_no_servlet():
    daemon = MemoryDaemon({"/app": netsvc.HttpServer()})
    missing = daemon.request("GET", "/other")
    assert missing.status == 404 and b"No server loaded" in missing.body
    noServlet = daemon.request("GET", "/app/x")
    assert noServlet.status == 404 and b"No servlet loaded" in noServlet.body


def test_content_streamed_in_chunks_then_end():
    events = []

    class Body(netsvc.HttpServlet):
        def processRequest(self):
            events.append(("request", self.contentLength()))

        def processContent(self, content):
            events.append(("content", content))

        def processContentEnd(self):
            events.append(("end",))
            self.sendResponse(200)
            self.endHeaders()
            self.endContent()

    daemon = serve(Body)
    connection = daemon.connect()
    connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert events == [("request", -1)]
    connection.send(b"5\r\nhello\r\n")
    connection.send(b"6\r\n world\r\n")
    assert events[1:] == [("content", b"hello"), ("content", b" world")]
    connection.send(b"0\r\n\r\n")
    assert events[-1] == ("end",)
    assert connection.replies()[0].status == 200


def test_early_response_waits_for_rest_of_body_then_keeps_alive():
    """
    A servlet answering before the body is in must not make the channel
    parse body bytes as the next request.
    """

    class Early(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Length", "2")
            self.endHeaders()
            self.sendContent("ok")
            self.endContent()

    daemon = serve(Early)
    connection = daemon.connect()
    connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nGET / HT")
    connection.send(b"TP")
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    replies = connection.replies()
    assert [r.status for r in replies] == [200, 200]
    assert not connection.closed


def test_disconnect_mid_response_destroys_once():
    destroyed = []

    class Slow(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()
            self.sendContent("partial")
            self.flushContent()

        def destroyServlet(self):
            destroyed.append(self)
            super().destroyServlet()

    daemon = serve(Slow)
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert destroyed == []
    connection.disconnect()
    assert len(destroyed) == 1
    servlet = destroyed[0]
    # Calls after the client went away are quiet no-ops.
    servlet.sendContent("more")
    servlet.flushContent()
    servlet.endContent()
    assert len(destroyed) == 1


def test_shutdown_closes_and_destroys():
    destroyed = []

    class Quit(netsvc.HttpServlet):
        def processRequest(self):
            self.shutdown(0)

        def destroyServlet(self):
            destroyed.append(1)

    daemon = serve(Quit)
    connection = daemon.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert connection.received() == b""
    assert destroyed == [1]
    assert connection.transport.disconnecting


def test_host_authorisation_refuses_connection():
    class Picky(netsvc.HttpDaemon):
        def authorise(self, host):
            return host == "127.0.0.1"

    daemon = MemoryDaemon({"/": netsvc.HttpServer()},
                          daemon=Picky(0))
    assert daemon.connect("10.1.2.3") is None
    assert daemon.connect("127.0.0.1") is not None


def test_host_authorisation_exception_refuses(logEvents):
    class Broken(netsvc.HttpDaemon):
        def authorise(self, host):
            raise RuntimeError("no")

    daemon = MemoryDaemon(daemon=Broken(0))
    assert daemon.connect() is None
    assert failuresIn(logEvents)[0].check(RuntimeError)


def test_body_over_server_limit_is_refused_with_413():
    seen = []

    class Sink(netsvc.HttpServlet):
        def processRequest(self):
            seen.append("request")

        def processContent(self, content):
            seen.append(len(content))

        def processContentEnd(self):
            self.sendError(422)

    class Limited(netsvc.HttpServer):
        maxContentLength = 10

        def servlet(self, session):
            return Sink(session)

    daemon = MemoryDaemon({"/": Limited()})
    declared = daemon.request("POST", "/", b"x" * 11)
    assert declared.status == 413 and seen == []
    connection = daemon.connect()
    connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"8\r\n12345678\r\n")
    connection.send(b"8\r\n12345678\r\n8\r\n12345678\r\n")
    (reply,) = connection.replies()
    assert reply.status == 413
    assert seen == ["request", 8]
    assert connection.closed
    assert daemon.request("POST", "/", b"x" * 10).status == 422


def test_non_ascii_query_string_is_served():
    class Query(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.endHeaders()
            self.sendContent(self.queryString())
            self.endContent()

    reply = serve(Query).request("GET", "/?c=%C3%A9&d=%FF")
    assert (reply.status, reply.body) == (200, b"c=%C3%A9&d=%FF")


def test_early_refusal_of_a_big_body_closes_instead_of_draining():
    class Refuse(netsvc.HttpServlet):
        def processRequest(self):
            self.sendError(400)

    daemon = serve(Refuse)
    connection = daemon.connect()
    connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
    (reply,) = connection.replies()
    assert reply.status == 400
    assert connection.closed
    small = daemon.connect()
    small.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert [r.status for r in small.replies()] == [400]
    small.send(b"defghij")  # the small rest is read and dropped
    assert not small.closed
    small.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [r.status for r in small.replies()] == [400]


def test_expect_continue_only_when_the_body_is_wanted():
    class Limited(netsvc.HttpServer):
        maxContentLength = 10

        def servlet(self, session):
            return netsvc.EchoServlet(session)

    daemon = MemoryDaemon({"/": Limited()})
    refused = daemon.connect()
    refused.send(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 b"Content-Length: 1000000\r\n\r\n")
    data = refused.received()
    assert data.startswith(b"HTTP/1.1 413") and b"100 Continue" not in data
    wanted = daemon.connect()
    wanted.send(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 5\r\n\r\n")
    data = wanted.received()
    assert data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    wanted.send(b"hello")
    assert b"hello" in wanted.received()


def test_basic_scheme_is_case_insensitive():
    class Users(netsvc.HttpServer):
        def authorise(self, login, password):
            return (login, password) == ("foo", "bar")

        def servlet(self, session):
            return netsvc.ErrorServlet(session, 204)

    daemon = MemoryDaemon({"/": Users()})
    assert daemon.request(headers={"Authorization": "basic Zm9vOmJhcg=="}).status == 204
    assert daemon.request(headers={"Authorization": "Basic"}).status == 401
    assert daemon.request(headers={"Authorization": "Bearer x"}).status == 501
    assert daemon.request().status == 401
