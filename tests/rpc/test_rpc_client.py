"""
Our clients against our gateways over 127.0.0.1, both flavours, and the
error mapping of spec 10.9.
"""

import pytest
import pytest_twisted
from twisted.internet import threads

import netsvc_twisted.netrpc as netrpc
import netsvc_twisted.netrpc.json
import netsvc_twisted.netrpc.xmlrpc
from netsvc_twisted._rpc._gateway import HttpBridge, RpcGateway
from netsvc_twisted._http._server import HttpServer
from netsvc_twisted._http._servlet import HttpServlet
from netsvc_twisted._http._servlets import ErrorServlet
from rpc_support import cleanServices  # noqa: F401
from support import freePort, startDaemon
from test_rpc_gateway import Validator

CLIENTS = [
    (netrpc.RemoteService, netrpc.DeferredRemoteService),
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, netsvc_twisted.netrpc.xmlrpc.DeferredRemoteService),
    (netsvc_twisted.netrpc.json.RemoteService, netsvc_twisted.netrpc.json.DeferredRemoteService),
]


class Secured(RpcGateway):
    def authorise(self, login, password):
        return (login, password) == ("admin", "secret")


class Garbage(HttpServlet):
    """Claims to be a NET-RPC answer but is not."""

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/x-rpc")
        self.sendHeader("X-RPC-Version", "1.1")
        self.sendHeader("X-RPC-Content-Type", "response")
        self.endHeaders()
        self.sendContent(b"<array>")
        self.endContent()


class Servers(HttpServer):
    def servlet(self, session):
        if session.servletPath() == "garbage":
            return Garbage(session)
        return ErrorServlet(session, 500)


async def start(daemons):
    daemon = await startDaemon({
        "/service": RpcGateway("web-services"),
        "/secure": Secured("web-services"),
        "/echo": HttpBridge("web-services"),
        "/other": Servers(),
    })
    daemons.append(daemon)
    return daemon.port()


async def both(clientPair, url, method, *args, **kw):
    """The result (or exception) of the blocking and the Deferred flavour."""
    blocking, deferred = clientPair
    outcomes = []
    try:
        outcomes.append(await threads.deferToThread(
            lambda: getattr(blocking(url, **kw), method)(*args)))
    except Exception as e:
        outcomes.append(e)
    try:
        outcomes.append(await getattr(deferred(url, **kw), method)(*args))
    except Exception as e:
        outcomes.append(e)
    return outcomes


@pytest.mark.parametrize("clients", CLIENTS)
@pytest_twisted.ensureDeferred
async def test_calls(daemons, cleanServices, clients):
    Validator()
    port = await start(daemons)
    url = f"http://127.0.0.1:{port}/service/validator"
    args = [1, 2**40, 1.5, "é ☃", True, [1, {"k": "v"}]]
    for outcome in await both(clients, url, "echo", *args):
        assert outcome == args
    for outcome in await both(clients, url, "nope"):
        assert isinstance(outcome, netrpc.ServiceFailure)
        assert (outcome.error, outcome.description, outcome.origin) == (
            55, "Method Unavailable", "netsvc")
    for outcome in await both(clients, url, "add", 1):
        assert outcome == netrpc.ServiceFailure(
            56, "Parameters Incorrect", "netsvc", "Expected 2 arguments, received 1.")


@pytest.mark.parametrize("clients", CLIENTS)
@pytest_twisted.ensureDeferred
async def test_errors(daemons, cleanServices, clients):
    Validator()
    port = await start(daemons)
    base = f"http://127.0.0.1:{port}"
    for outcome in await both(clients, f"{base}/service/absent", "echo"):
        assert type(outcome) is netrpc.ServiceUnavailable and outcome.error == 404
    for kw in ({}, {"login": "admin", "password": "wrong"}):
        for outcome in await both(clients, f"{base}/secure/validator", "echo", **kw):
            assert type(outcome) is netrpc.AuthenticationFailure and outcome.error == 401
    for outcome in await both(clients, f"{base}/secure/validator", "echo", 1,
                              login="admin", password="secret"):
        assert outcome == [1]
    for outcome in await both(clients, f"{base}/other/x", "echo"):
        assert type(outcome) is netrpc.TransportFailure
        assert (outcome.error, outcome.origin) == (500, "netrpc")
    for outcome in await both(clients, f"http://127.0.0.1:{freePort()}/x", "echo"):
        assert type(outcome) is netrpc.ServiceUnavailable and outcome.error == 46
    for cls in clients:
        with pytest.raises(netrpc.AddressInvalid) as info:
            cls("mailto:x@y")
        assert info.value.error == 45


@pytest_twisted.ensureDeferred
async def test_badAnswers(daemons, cleanServices):
    Validator()
    port = await start(daemons)
    base = f"http://127.0.0.1:{port}"
    clients = CLIENTS[0]
    for outcome in await both(clients, f"{base}/echo/validator", "echo"):
        assert outcome.error == 43
    for outcome in await both(clients, f"{base}/other/garbage", "echo"):
        assert outcome.error == 44
    for outcome in await both(clients, f"{base}/service/validator", "echo", object()):
        assert outcome.error == 42


@pytest_twisted.ensureDeferred
async def test_decoderBug(daemons, cleanServices):
    """A decoder failing with anything but DecodingError (a bug of ours) is
    failure 40 with the documented fixed text; the exception is chained."""
    Validator()
    port = await start(daemons)

    def broken(cls):
        class Client(cls):
            def _makeProtocol(self, encode, decode):
                protocol = cls._makeProtocol(self, encode, decode)
                protocol.decodeAnswer = lambda headers, body: {}["bug"]
                return protocol
        return Client

    for clients in CLIENTS:
        pair = tuple(broken(cls) for cls in clients)
        for outcome in await both(pair, f"http://127.0.0.1:{port}/service/validator", "echo"):
            assert outcome == netrpc.ServiceFailure(
                40, "Unknown Error", "netrpc", "answer the protocol cannot read")
            assert isinstance(outcome.__cause__, KeyError)


@pytest_twisted.ensureDeferred
async def test_hooks(daemons, cleanServices):
    class Point:
        def __init__(self, x):
            self.x = x

    class Points(Validator):
        def encodeObject(self, value):
            if isinstance(value, Point):
                return "test:point", str(value.x)
            return Validator.encodeObject(self, value)

        def decodeValue(self, kind, text):
            return Point(int(text)) if kind == "test:point" else None

        def twice(self, point):
            return Point(point.x * 2)

    service = Points()
    service.exportMethod(service.twice)
    port = await start(daemons)
    url = f"http://127.0.0.1:{port}/service/validator"
    client = netrpc.DeferredRemoteService(
        url, encode=lambda p: ("test:point", str(p.x)),
        decode=lambda kind, text: int(text))
    assert await client.twice(Point(21)) == 42
