"""
The servlet model over real sockets on 127.0.0.1 with real HTTP clients.
"""

import base64
import json

import pytest_twisted
from twisted.internet import defer
from twisted.web import resource, server

import netsvc_twisted as netsvc
from support import LOCAL, exchange, fetch, fetchSequence, startDaemon

ACCESSORS = [
    "requestMethod", "url", "protocolVersion", "serverHost", "serverPort",
    "requestPath", "queryString", "clientHost", "remoteUser", "contentLength",
    "contentType", "serverRoot", "serverPath", "servletPath", "servletInfo",
    "sessionId", "sessionContext",
]


class Inspect(netsvc.HttpServlet):
    """
    Answers with every accessor's value as JSON, once the body is in.
    """

    def processRequest(self):
        self.body = b""

    def processContent(self, content):
        self.body += content

    def processContentEnd(self):
        values = {name: getattr(self, name)() for name in ACCESSORS}
        values["clientPort"] = self.clientPort()
        values["headers"] = self.headers()
        values["containsHeader"] = [self.containsHeader("x-test"),
                                    self.containsHeader("x-missing")]
        values["header"] = self.header("x-test") if values["containsHeader"][0] else None
        try:
            self.header("x-missing")
        except KeyError:
            values["headerMissing"] = "KeyError"
        values["body"] = self.body.decode()
        data = json.dumps(values).encode()
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.sendHeader("Content-Length", str(len(data)))
        self.endHeaders()
        self.sendContent(data)
        self.endContent()


class InspectServer(netsvc.HttpServer):
    users = {"alice": "s3cret:x"}

    def authorise(self, login, password):
        return login == "" or self.users.get(login) == password

    def servlet(self, session):
        session.bindSession("sid-1", "context")
        return Inspect(session)


def basic(login, password):
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest_twisted.ensureDeferred
async def test_every_accessor(daemons):
    daemon = await startDaemon({"/test": InspectServer()})
    daemons.append(daemon)
    port = daemon.port()
    headers = {"X-Test": "one", "Content-Type": "text/plain; charset=utf-8"}
    headers.update(basic("alice", "s3cret:x"))
    reply = await fetch(port, "POST", "/test/a/./b/?q=1&r=%20", b"payload", headers)
    assert reply.status == 200
    v = json.loads(reply.body)
    origin = f"http://127.0.0.1:{port}"
    assert v["requestMethod"] == "POST"
    assert v["url"] == f"{origin}/test/a/./b/?q=1&r=%20"
    assert v["protocolVersion"] == "HTTP/1.1"
    assert (v["serverHost"], v["serverPort"]) == ("127.0.0.1", str(port))
    assert v["requestPath"] == "/test/a/b/"
    assert v["queryString"] == "q=1&r=%20"
    assert v["clientHost"] == "127.0.0.1" and v["clientPort"].isdigit()
    assert v["remoteUser"] == "alice"
    assert v["contentLength"] == 7 and v["body"] == "payload"
    assert v["contentType"] == "text/plain; charset=utf-8"
    assert v["serverRoot"] == f"{origin}/test"
    assert (v["serverPath"], v["servletPath"], v["servletInfo"]) == ("/test", "a/b/", "")
    assert (v["sessionId"], v["sessionContext"]) == ("sid-1", "context")
    assert v["headers"]["x-test"] == "one"
    assert v["containsHeader"] == [True, False]
    assert v["header"] == "one" and v["headerMissing"] == "KeyError"


@pytest_twisted.ensureDeferred
async def test_basic_auth(daemons):
    daemon = await startDaemon({"/": InspectServer()})
    daemons.append(daemon)
    port = daemon.port()
    wrong = await fetch(port, "GET", "/", headers=basic("alice", "nope"))
    assert wrong.status == 401
    assert wrong.headers["www-authenticate"] == 'Basic realm=""'
    assert b"Authorization Failed." in wrong.body
    garbled = await fetch(port, "GET", "/", headers={"Authorization": "Basic !!!"})
    assert garbled.status == 401
    other = await fetch(port, "GET", "/", headers={"Authorization": "Digest x"})
    assert other.status == 501
    right = await fetch(port, "GET", "/", headers=basic("alice", "s3cret:x"))
    assert right.status == 200 and json.loads(right.body)["remoteUser"] == "alice"
    anonymous = await fetch(port, "GET", "/")
    assert json.loads(anonymous.body)["remoteUser"] == ""


class Hello(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent(f"Hi {self.servletPath()}.")
        self.endContent()


class HelloServer(netsvc.HttpServer):
    def servlet(self, session):
        return Hello(session)


@pytest_twisted.ensureDeferred
async def test_keep_alive_and_pipelining(daemons):
    daemon = await startDaemon({"/": HelloServer()})
    daemons.append(daemon)
    port = daemon.port()
    replies = await fetchSequence(port, [("GET", "/a", None, None),
                                         ("POST", "/b", b"xyz", None),
                                         ("GET", "/c", None, None)])
    assert [r.body for r in replies[:3]] == [b"Hi a.", b"Hi b.", b"Hi c."]
    assert replies[3] is True
    pipelined = (b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                 b"GET /two HTTP/1.1\r\nHost: h\r\n\r\n"
                 b"GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    data = await exchange(port, pipelined)
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b"Hi one.") < data.index(b"Hi two.") < data.index(b"Hi three.")


@pytest_twisted.ensureDeferred
async def test_path_errors_and_unmapped(daemons):
    daemon = await startDaemon({"/app": HelloServer()})
    daemons.append(daemon)
    port = daemon.port()
    data = await exchange(port, b"GET /app/../../etc/passwd HTTP/1.1\r\nHost: h\r\n"
                                b"Connection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 403")
    data = await exchange(port, b"GET /app/%zz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400")
    missing = await fetch(port, "GET", "/elsewhere")
    assert missing.status == 404
    absolute = await exchange(port, b"GET http://example.org:81/app/x HTTP/1.1\r\n"
                                    b"Host: h\r\nConnection: close\r\n\r\n")
    assert absolute.startswith(b"HTTP/1.1 200") and b"Hi x." in absolute


class Failing(netsvc.HttpServlet):
    destroyed = []

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent(b"x" * 5000)
        raise RuntimeError("internal detail")

    def destroyServlet(self):
        Failing.destroyed.append(1)


class FailingServer(netsvc.HttpServer):
    def servlet(self, session):
        if session.servletPath() == "factory":
            raise ValueError("factory detail")
        return Failing(session)


@pytest_twisted.ensureDeferred
async def test_exceptions_never_reach_the_client(daemons):
    daemon = await startDaemon({"/": FailingServer()})
    daemons.append(daemon)
    port = daemon.port()
    factory = await fetch(port, "GET", "/factory")
    assert factory.status == 500 and b"detail" not in factory.body
    Failing.destroyed.clear()
    data = await exchange(port, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK")
    # Aborted: the chunked body never reaches its terminating chunk.
    assert not data.endswith(b"0\r\n\r\n")
    assert b"detail" not in data and b"Traceback" not in data
    assert Failing.destroyed == [1]


class Waiting(netsvc.HttpServlet):
    """
    Sends its headers and then waits for ever.
    """

    destroyed: defer.Deferred

    def processRequest(self):
        self.sendResponse(200)
        self.endHeaders()
        self.sendContent("started")
        self.flushContent()

    def destroyServlet(self):
        Waiting.count += 1
        Waiting.destroyed.callback(Waiting.count)


@pytest_twisted.ensureDeferred
async def test_client_disconnect_destroys_once(daemons):
    Waiting.count = 0
    Waiting.destroyed = defer.Deferred()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Waiting(session)

    daemon = await startDaemon({"/": Server()})
    daemons.append(daemon)
    # Read until the partial body arrives, then hang up.
    data = await exchange(daemon.port(), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", readLimit=1)
    assert data.startswith(b"HTTP/1.1")
    assert await Waiting.destroyed == 1
    assert Waiting.count == 1


@pytest_twisted.ensureDeferred
async def test_host_authorisation_closes_without_response(daemons):
    class Refusing(netsvc.HttpDaemon):
        def authorise(self, host):
            return False

    daemon = await startDaemon({"/": HelloServer()}, daemonClass=Refusing)
    daemons.append(daemon)
    data = await exchange(daemon.port(), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data == b""


@pytest_twisted.ensureDeferred
async def test_streamed_chunked_upload(daemons):
    chunks = []

    class Counter(netsvc.HttpServlet):
        def processRequest(self):
            self.total = 0

        def processContent(self, content):
            chunks.append(len(content))
            self.total += len(content)

        def processContentEnd(self):
            self.sendResponse(200)
            self.endHeaders()
            self.sendContent(str(self.total))
            self.endContent()

    class Server(netsvc.HttpServer):
        def servlet(self, session):
            return Counter(session)

    daemon = await startDaemon({"/": Server()})
    daemons.append(daemon)

    def body():
        for _ in range(64):
            yield b"y" * 65536

    # http.client sends a generator body with chunked encoding.
    reply = await fetch(daemon.port(), "PUT", "/", body())
    assert reply.body == str(64 * 65536).encode()
    assert len(chunks) >= 64


@pytest_twisted.ensureDeferred
async def test_servlet_resource_in_foreign_site():
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    root = resource.Resource()
    root.putChild(b"app", netsvc.ServletResource(InspectServer()))
    port = await serverFromString(reactor, LOCAL).listen(server.Site(root))
    try:
        reply = await fetch(port.getHost().port, "POST", "/app/x/y?z=1", b"body!")
        v = json.loads(reply.body)
        assert (v["serverPath"], v["servletPath"]) == ("/app", "x/y")
        assert v["body"] == "body!" and v["queryString"] == "z=1"
        assert v["serverRoot"].endswith("/app")
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_access_log_file(tmp_path, daemons):
    path = tmp_path / "access.log"
    daemon = await startDaemon({"/": InspectServer()}, accessLog=str(path))
    daemons.append(daemon)
    await fetch(daemon.port(), "GET", "/x?y=1",
                headers={**basic("alice", "s3cret:x"), "User-Agent": "tester/1",
                         "Referer": "http://r/"})
    await daemon.stop()  # flushes the buffered log
    line = path.read_text().strip()
    import re
    assert re.fullmatch(
        r'127\.0\.0\.1 - alice \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /x\?y=1 HTTP/1\.1" 200 \d+ "http://r/" "tester/1"', line), line


@pytest_twisted.ensureDeferred
async def test_port_and_restart():
    daemon = netsvc.HttpDaemon(LOCAL)
    assert daemon.port() == 0
    await daemon.start()
    assert daemon.port() > 0
    await daemon.stop()
    taken = netsvc.HttpDaemon(f"tcp:{daemon.port()}:interface=127.0.0.1")
    blocker = netsvc.HttpDaemon(f"tcp:{daemon.port()}:interface=127.0.0.1")
    await taken.start()
    result = await blocker.start()
    assert result is None and blocker.startFailure is not None
    await taken.stop()


def test_access_log_channel_and_twisted_logger(monkeypatch, logEvents):
    """
    OTCLIB_HTTPLOGCHANNEL turns the log on: lines go through twisted.logger
    (namespace netsvc.http.access) and to the channel's monitor.
    """
    from netsvc_twisted.testing import MemoryDaemon

    monkeypatch.setenv("OTCLIB_HTTPLOGCHANNEL", "_http")
    monitored = []
    netsvc.Logger().monitorChannel("_http", lambda *args: monitored.append(args))
    try:
        daemon = MemoryDaemon({"/": InspectServer()})
        daemon.request("GET", "/logged", headers={"User-Agent": 'a "quoted" agent'})
    finally:
        netsvc.Logger().monitorChannel("_http", None)
    events = [e["log_line"] for e in logEvents
              if e.get("log_namespace") == "netsvc.http.access"]
    assert len(events) == 1
    assert '"GET /logged HTTP/1.1" 200' in events[0]
    assert events[0].endswith('"a \\"quoted\\" agent"')
    assert monitored == [("_http", netsvc.LOG_INFO, events[0])]
