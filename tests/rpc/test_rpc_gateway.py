"""
RPC gateways over 127.0.0.1: pre-checks with the spec's messages, the
three protocols, bounded bodies, and interop with clients nobody here
wrote (Python's xmlrpc.client, a plain HTTP client for JSON-RPC).
"""

import json
import xmlrpc.client

import pytest
import pytest_twisted
from twisted.internet import threads
from twisted.internet.defer import Deferred

from netsvc_twisted._rpc import _netrpc_codec as netrpc
from netsvc_twisted._constants import SERVICE_NAME
from netsvc_twisted._rpc._gateway import HttpBridge, RpcGateway
from netsvc_twisted._rpc._types import Binary
from netsvc_twisted._rpc._service import Service
import netsvc_twisted.json
import netsvc_twisted.xmlrpc
from rpc_support import cleanServices  # noqa: F401
from support import fetch, startDaemon


class Validator(Service):
    def __init__(self, name="validator"):
        Service.__init__(self, name)
        self.joinGroup("web-services")
        self.exportMethod(self.echo)
        self.exportMethod(self.add)
        self.exportMethod(self.boom)
        self.exportMethod(self.whoami)
        self.exportMethod(self.later)
        self.exportMethod(self.nothing)
        self.exportMethod(self.unencodable)
        self.pending = []

    def echo(self, *args):
        return list(args)

    def add(self, a, b):
        return a + b

    def boom(self):
        raise RuntimeError("kaput")

    def whoami(self):
        return self.currentRequest().properties()

    def later(self):
        d = Deferred()
        self.pending.append(d)
        return d

    def nothing(self):
        return None

    def unencodable(self):
        return object()


async def gateway(daemons, servers):
    daemon = await startDaemon(servers)
    daemons.append(daemon)
    return daemon.port()


def netrpcHeaders(method="echo", **overrides):
    headers = {
        "Content-Type": "application/x-rpc",
        "X-RPC-Version": "1.1",
        "X-RPC-Content-Type": "request",
        "X-RPC-Request-Method": method,
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


@pytest_twisted.ensureDeferred
async def test_netrpcCall(daemons, cleanServices):
    Validator()
    port = await gateway(daemons, {"/service": RpcGateway("web-services")})
    args = [1, 2**40, 1.1, "é", None, True, Binary(b"\x00"), {"k": [1]}]
    reply = await fetch(port, "POST", "/service/validator", netrpc.dumps(args),
                        netrpcHeaders())
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/x-rpc"
    assert reply.headers["x-rpc-version"] == "1.1"
    assert reply.headers["x-rpc-content-type"] == "response"
    assert netrpc.loads(reply.body) == args
    reply = await fetch(port, "POST", "/service/validator", netrpc.dumps([]),
                        netrpcHeaders("nope"))
    assert reply.headers["x-rpc-content-type"] == "failure"
    assert netrpc.loadsFailure(reply.body).error == 55


@pytest.mark.parametrize("path,method,headers,body,status,message", [
    ("/service/absent", "POST", {}, b"<array></array>", 404, "No such service available."),
    ("/service/validator", "GET", {}, None, 405, "Request must use POST."),
    ("/service/validator", "POST", {"X-RPC-Version": None}, b"<array></array>", 400,
     "No version number specified."),
    ("/service/validator", "POST", {"X-RPC-Version": "2"}, b"<array></array>", 400,
     "Unsupported version."),
    ("/service/validator", "POST", {"X-RPC-Content-Type": None}, b"<array></array>", 400,
     "No x-rpc content type indicator."),
    ("/service/validator", "POST", {"X-RPC-Content-Type": "x"}, b"<array></array>", 400,
     "Unexpected x-rpc content type."),
    ("/service/validator", "POST", {"X-RPC-Request-Method": None}, b"<array></array>", 400,
     "No request method specified."),
    ("/service/validator", "POST", {"X-RPC-Request-Method": " "}, b"<array></array>", 400,
     "Invalid request method."),
    ("/service/validator", "POST", {}, b"<array>", 400, "Request has invalid format."),
    ("/service/validator", "POST", {}, b"", 400, "Request has invalid format."),
])
@pytest_twisted.ensureDeferred
async def test_netrpcPreChecks(daemons, cleanServices, path, method, headers, body,
                               status, message):
    Validator()
    port = await gateway(daemons, {"/service": netsvc_twisted_RpcServletGateway()})
    reply = await fetch(port, method, path, body, netrpcHeaders(**headers))
    assert reply.status == status
    assert message.encode() in reply.body


def netsvc_twisted_RpcServletGateway():
    """A gateway that always picks NET-RPC, to test its checks alone."""
    from netsvc_twisted._rpc._netrpc_servlet import RpcServlet

    class Gateway(HttpBridge):
        def servlet(self, session):
            return RpcServlet(session, self.lookupBinding(session.servletPath()))

    return Gateway("web-services")


def xmlrpcProxy(port, path="/service/validator", allow_none=False):
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}{path}",
                                     allow_none=allow_none, use_builtin_types=True)


@pytest_twisted.ensureDeferred
async def test_xmlrpcInterop(daemons, cleanServices):
    Validator()
    port = await gateway(daemons, {
        "/service": netsvc_twisted.xmlrpc.RpcGateway("web-services"),
        "/nil": netsvc_twisted.xmlrpc.RpcGateway("web-services", allowNone=True),
        "/auto": RpcGateway("web-services"),
    })
    args = [1, -5, 2**31 - 1, 1.25, "naïve ☃", [1, [2]], {"a": {"b": True}},
            False, b"\x00\xffbin"]
    for path in ("/service/validator", "/auto/validator"):
        proxy = xmlrpcProxy(port, path)
        assert await threads.deferToThread(proxy.echo, *args) == args
    assert await threads.deferToThread(xmlrpcProxy(port).nothing) == ""
    # xmlrpc.client cannot send integers beyond 32 bits, but reads <i8>.
    body = (b"<?xml version='1.0'?><methodCall><methodName>add</methodName><params>"
            b"<param><value><i8>4611686018427387904</i8></value></param>"
            b"<param><value><int>1</int></value></param></params></methodCall>")
    reply = await fetch(port, "POST", "/service/validator", body, {"Content-Type": "text/xml"})
    assert xmlrpc.client.loads(reply.body)[0] == (2**62 + 1,)
    proxy = xmlrpcProxy(port, "/nil/validator", allow_none=True)
    assert await threads.deferToThread(proxy.echo, None, [None]) == [None, [None]]

    async def fault(name, *args):
        try:
            await threads.deferToThread(getattr(xmlrpcProxy(port), name), *args)
        except xmlrpc.client.Fault as f:
            return f
        raise AssertionError("no fault")

    f = await fault("nope")
    assert (f.faultCode, f.faultString) == (55, "netsvc -- Method Unavailable")
    f = await fault("add", 1)
    assert (f.faultCode, f.faultString) == (
        56, "netsvc -- Parameters Incorrect\n\nExpected 2 arguments, received 1.")
    f = await fault("boom")
    assert f.faultCode == 57
    assert f.faultString.startswith("netsvc -- Application Error\n\n")
    assert "RuntimeError: kaput" in f.faultString
    f = await fault("unencodable")
    assert (f.faultCode, f.faultString.split("\n")[0]) == (
        52, "netsvc.xmlrpc -- Response Encoding Error")


@pytest_twisted.ensureDeferred
async def test_xmlrpcChecks(daemons, cleanServices):
    Validator()
    port = await gateway(daemons, {"/service": netsvc_twisted.xmlrpc.RpcGateway("web-services")})
    reply = await fetch(port, "GET", "/service/validator")
    assert (reply.status, b"Only POST method supported by servlet." in reply.body) == (405, True)
    reply = await fetch(port, "POST", "/service/validator", b"x", {"Content-Type": "text/plain"})
    assert (reply.status, b"Servlet can only handle text/xml." in reply.body) == (400, True)
    reply = await fetch(port, "POST", "/service/absent", b"x", {"Content-Type": "text/xml"})
    assert reply.status == 404
    for body in (b"", b"<methodCall><methodName>x", b"garbage"):
        reply = await fetch(port, "POST", "/service/validator", body,
                            {"Content-Type": "text/xml; charset=utf-8"})
        assert reply.status == 200
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(reply.body)
        assert info.value.faultCode == 54
        assert info.value.faultString.startswith("netsvc.xmlrpc -- Request Decoding Error")


@pytest_twisted.ensureDeferred
async def test_jsonrpc(daemons, cleanServices):
    Validator()
    port = await gateway(daemons, {"/auto": RpcGateway("web-services"),
                                   "/json": netsvc_twisted.json.RpcGateway("web-services")})
    for path in ("/auto/validator", "/json/validator"):
        body = json.dumps({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1})
        reply = await fetch(port, "POST", path, body.encode(),
                            {"Content-Type": "application/json"})
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        assert json.loads(reply.body) == {"jsonrpc": "2.0", "result": 5, "id": 1}
    body = b'{"method": "whoami", "params": [], "id": "x"}'
    reply = await fetch(port, "POST", "/json/validator", body)
    assert json.loads(reply.body) == {
        "result": {"REMOTE_ADDR": "127.0.0.1", "REMOTE_USER": ""}, "error": None, "id": "x"}
    assert reply.headers["content-type"] == "application/json"
    reply = await fetch(port, "POST", "/json/validator",
                        b'{"jsonrpc": "2.0", "method": "add", "params": {"a": 1, "b": 2}}')
    assert (reply.status, reply.body) == (204, b"")
    reply = await fetch(port, "POST", "/json/validator", b"{nope")
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32700, "message": "Request Decoding Error",
        "data": {"error": 54, "origin": "netsvc.jsonrpc",
                 "details": "not valid JSON at line 1, column 2"}}}
    reply = await fetch(port, "POST", "/json/validator",
                        b'{"jsonrpc": "2.0", "method": "add", "params": [1], "id": 9}')
    assert json.loads(reply.body)["error"] == {
        "code": -32602, "message": "Parameters Incorrect",
        "data": {"error": 56, "origin": "netsvc", "details": "Expected 2 arguments, received 1."}}


@pytest_twisted.ensureDeferred
async def test_jsonrpcBatch(daemons, cleanServices):
    """A JSON-RPC 2.0 batch: an array of answers in request order, without
    the notifications; members that are not calls get the decoding fault;
    a batch of notifications only is a 204; an empty or oversized batch is
    one decoding fault."""
    Validator()
    port = await gateway(daemons, {"/json": netsvc_twisted.json.RpcGateway("web-services")})

    async def post(document):
        reply = await fetch(port, "POST", "/json/validator", json.dumps(document).encode(),
                            {"Content-Type": "application/json"})
        return reply.status, (json.loads(reply.body) if reply.body else None)

    status, answers = await post([
        {"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": "a"},
        {"jsonrpc": "2.0", "method": "add", "params": [5, 5]},
        {"jsonrpc": "2.0", "method": "missing", "id": "b"},
        7,
        {"jsonrpc": "2.0", "method": "echo", "params": ["é"], "id": 3},
        {"method": "add", "params": [2, 2], "id": "old"},
    ])
    assert status == 200
    assert answers == [
        {"jsonrpc": "2.0", "result": 3, "id": "a"},
        {"jsonrpc": "2.0", "id": "b", "error": {
            "code": -32601, "message": "Method Unavailable",
            "data": {"error": 55, "origin": "netsvc", "details": ""}}},
        {"jsonrpc": "2.0", "id": None, "error": {
            "code": -32600, "message": "Request Decoding Error",
            "data": {"error": 54, "origin": "netsvc.jsonrpc",
                     "details": "request must be a JSON object"}}},
        {"jsonrpc": "2.0", "result": ["é"], "id": 3},
        {"result": 4, "error": None, "id": "old"},
    ]
    assert await post([{"jsonrpc": "2.0", "method": "add", "params": [1, 1]}]) == (204, None)
    for batch, details in (([], "empty batch"),
                           ([1] * 101, "more than 100 calls in a batch")):
        status, answer = await post(batch)
        assert (status, answer["error"]["code"], answer["error"]["data"]["details"]) == (
            200, -32600, details)


@pytest_twisted.ensureDeferred
async def test_bodies(daemons, cleanServices):
    Validator()
    small = RpcGateway("web-services")
    small.maximumContentLength = 100
    port = await gateway(daemons, {"/service": small})
    big = json.dumps({"method": "echo", "params": ["x" * 200], "id": 1}).encode()
    reply = await fetch(port, "POST", "/service/validator", big)
    assert reply.status == 413

    def chunks():
        yield big[:50]
        yield big[50:]

    # http.client sends an iterable body with chunked encoding.
    reply = await fetch(port, "POST", "/service/validator", chunks())
    assert reply.status == 413
    ok = b'{"method": "add", "params": [1, 2], "id": 1}'

    def okChunks():
        yield ok[:10]
        yield ok[10:]

    reply = await fetch(port, "POST", "/service/validator", okChunks())
    assert json.loads(reply.body)["result"] == 3
    reply = await fetch(port, "POST", "/service/validator", b"",
                        {"Content-Length": "0"})
    assert reply.status == 200
    assert json.loads(reply.body)["error"]["code"] == -32700


@pytest_twisted.ensureDeferred
async def test_selectionTypes(daemons, cleanServices):
    v = Validator("v")
    port = await gateway(daemons, {
        "/one": RpcGateway("v", SERVICE_NAME),
        "/all": RpcGateway(""),
        "/bridge": HttpBridge("web-services"),
    })
    call = b'{"method": "add", "params": [1, 2], "id": 1}'
    assert json.loads((await fetch(port, "POST", "/one", call)).body)["result"] == 3
    assert (await fetch(port, "POST", "/one/v", call)).status == 404
    assert json.loads((await fetch(port, "POST", "/all/v", call)).body)["result"] == 3
    assert (await fetch(port, "GET", "/bridge/v")).status == 200
    assert (await fetch(port, "GET", "/bridge/x")).status == 404
    v.destroyService()
    assert (await fetch(port, "POST", "/all/v", call)).status == 404


@pytest_twisted.ensureDeferred
async def test_withdrawnBeforeReply(daemons, cleanServices):
    v = Validator()
    port = await gateway(daemons, {"/service": RpcGateway("web-services")})
    pending = fetch(port, "POST", "/service/validator",
                    b'{"method": "later", "params": [], "id": 1}')
    while not v.pending:
        await threads.deferToThread(lambda: None)
    v.destroyService()
    error = json.loads((await pending).body)["error"]
    assert (error["error"], error["origin"], error["details"]) == (
        57, "netsvc.jsonrpc", "Service was withdrawn before response received.")


class Users(RpcGateway):
    def authorise(self, login, password):
        return login == "" or (login, password) == ("ann", "pw")


@pytest_twisted.ensureDeferred
async def test_remoteUserAndEmptyBodies(daemons, cleanServices):
    Validator()
    port = await gateway(daemons, {"/service": Users("web-services")})
    call = b'{"method": "whoami", "params": [], "id": 1}'
    reply = await fetch(port, "POST", "/service/validator", call,
                        {"Authorization": "Basic YW5uOnB3"})
    assert json.loads(reply.body)["result"]["REMOTE_USER"] == "ann"
    reply = await fetch(port, "POST", "/service/validator", b"",
                        {"Content-Type": "text/xml", "Content-Length": "0"})
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(reply.body)
    assert info.value.faultCode == 54
    reply = await fetch(port, "POST", "/service/validator", b"",
                        netrpcHeaders(**{"Content-Length": "0"}))
    assert (reply.status, b"Request has invalid format." in reply.body) == (400, True)
