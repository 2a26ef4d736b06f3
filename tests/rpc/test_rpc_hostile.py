"""
Hostile bodies against the three gateways over 127.0.0.1: lone
surrogates, DTDs in any encoding, entity bombs, deep nesting, bad and huge
numbers, answers the protocol cannot carry.  Each gets its documented
fault (docs/howto/rpc.md), nothing is logged as unhandled, and the server
goes on serving.
"""

import gc
import json
import xmlrpc.client

import pytest
import pytest_twisted

import netsvc_twisted.netrpc as netrpc
import netsvc_twisted.netrpc.json
import netsvc_twisted.netrpc.xmlrpc
from netsvc_twisted._rpc import _netrpc_codec, _xmlrpc_codec
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._gateway import RpcGateway
from netsvc_twisted._rpc._service import Service
from rpc_support import cleanServices  # noqa: F401
from support import failuresIn, fetch, freePort, startDaemon

class Target(Service):
    def __init__(self):
        Service.__init__(self, "target")
        self.joinGroup("web-services")
        for method in (self.add, self.echo, self.text, self.refuse):
            self.exportMethod(method)

    def add(self, a, b):
        return a + b

    def echo(self, *args):
        return list(args)

    def text(self, value):
        return {"surrogate": "\ud800", "control": "a\x01b"}[value]

    def refuse(self, value):
        raise ServiceFailure(1001, self.text(value), "target")


def noFailuresLogged(events):
    """No Failure among the logged C{events}, unhandled Deferreds included."""
    gc.collect()  # a Deferred reports its unhandled error when collected
    failures = failuresIn(events)
    assert not failures, [failure.getTraceback() for failure in failures]


async def gateway(daemons):
    daemon = await startDaemon({"/service": RpcGateway("web-services")})
    daemons.append(daemon)
    return daemon.port()


async def postJson(port, body):
    reply = await fetch(port, "POST", "/service/target", body,
                        {"Content-Type": "application/json"})
    assert reply.status in (200, 204)
    if reply.status == 204:
        return None
    assert reply.headers["content-type"] == "application/json"
    return json.loads(reply.body)


async def stillServing(port):
    answer = await postJson(port, b'{"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 0}')
    assert answer == {"jsonrpc": "2.0", "result": 3, "id": 0}
    reply = await fetch(port, "POST", "/service/target",
                        xmlrpc.client.dumps((1, 2), "add").encode(), {"Content-Type": "text/xml"})
    assert xmlrpc.client.loads(reply.body)[0] == (3,)


def deep(opening, closing, levels):
    return opening * levels + closing * levels


# JSON-RPC requests: (body, 2.0 code, id echoed, details).
JSON_CASES = [
    (rb'{"jsonrpc":"2.0","id":1,"method":"echo","params":["\ud800"]}',
     -32602, 1, "param 1: text that is not valid Unicode"),
    (rb'{"jsonrpc":"2.0","id":1,"method":"echo","params":[1, ["ok", "\udfff"]]}',
     -32602, 1, "param 2: text that is not valid Unicode"),
    (rb'{"jsonrpc":"2.0","id":1,"method":"echo","params":[{"\ud800": 1}]}',
     -32602, 1, "param 1: text that is not valid Unicode"),
    (rb'{"jsonrpc":"2.0","id":1,"method":"add","params":{"a": 1, "\ud800": 2}}',
     -32602, 1, "param 2: name that is not valid Unicode"),
    (rb'{"jsonrpc":"2.0","id":"\ud800","method":"echo","params":[]}',
     -32700, None, "id: text that is not valid Unicode"),
    (rb'{"jsonrpc":"2.0","id":2,"method":"ec\ud800ho","params":[]}',
     -32700, 2, "method: text that is not valid Unicode"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":' + deep(b"[", b"]", 100000) + b"}",
     -32700, None, "nested deeper than 100 levels"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[' + deep(b"[", b"]", 150) + b"]}",
     -32602, 1, "param 1: nested deeper than 100 levels"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":' + b'{"a":' * 120 + b"1"
     + b"}" * 120 + b"}}",
     -32602, 1, "param 'x': nested deeper than 100 levels"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[' + b"9" * 5000 + b"]}",
     -32602, 1, "param 1: number out of range"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[1e999]}',
     -32602, 1, "param 1: number out of range"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[NaN]}',
     -32700, None, "NaN and Infinity are not JSON"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":["\xff"]}',
     -32700, None, "not UTF-8 at byte 51"),
    ('{"jsonrpc":"2.0","id":1,"method":"echo","params":[]}'.encode("utf-16"),
     -32700, None, "not UTF-8 at byte 0"),
    (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[1,]}',
     -32700, None, "not valid JSON at line 1, column 53"),
    (b'{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}',
     -32600, None, "id must be a string, number or null"),
    (b'{"jsonrpc":"1.0","id":5,"method":"echo"}', -32600, 5, 'jsonrpc must be "2.0"'),
    (b'{"jsonrpc":"2.0","id":5,"method":"echo","params":"x"}',
     -32600, 5, "params must be an array or object"),
]


@pytest_twisted.ensureDeferred
async def test_jsonRequests(daemons, cleanServices, logEvents):
    Target()
    port = await gateway(daemons)
    for body, code, id, details in JSON_CASES:
        answer = await postJson(port, body)
        assert answer == {"jsonrpc": "2.0", "id": id, "error": {
            "code": code, "message": "Request Decoding Error",
            "data": {"error": 54, "origin": "netsvc.jsonrpc", "details": details}}}, body[:80]
    await stillServing(port)
    noFailuresLogged(logEvents)


@pytest_twisted.ensureDeferred
async def test_jsonOseEnvelopeKeepsOseCodes(daemons, cleanServices, logEvents):
    Target()
    port = await gateway(daemons)
    answer = await postJson(port, rb'{"id":"\ud800","method":"echo","params":[]}')
    assert answer == {"result": None, "id": None, "error": {
        "error": 54, "description": "Request Decoding Error", "origin": "netsvc.jsonrpc",
        "details": "id: text that is not valid Unicode"}}
    answer = await postJson(port, b'{"id":3,"method":"text","params":["surrogate"]}')
    assert answer == {"result": None, "id": 3, "error": {
        "error": 52, "description": "Response Encoding Error", "origin": "netsvc.jsonrpc",
        "details": "text that is not valid Unicode"}}
    noFailuresLogged(logEvents)


@pytest_twisted.ensureDeferred
async def test_jsonBatchWithOneBadCall(daemons, cleanServices, logEvents):
    Target()
    port = await gateway(daemons)
    answers = await postJson(port, (
        rb'[{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]},'
        rb' {"jsonrpc":"2.0","id":2,"method":"echo","params":["\ud800"]},'
        rb' {"jsonrpc":"2.0","method":"echo","params":["\ud800"]},'
        rb' {"jsonrpc":"2.0","id":"\udc00","method":"echo"},'
        rb' {"jsonrpc":"2.0","id":4,"method":"text","params":["surrogate"]},'
        rb' {"jsonrpc":"2.0","id":5,"method":"echo","params":["\ud83d\ude00"]}]'))
    assert [(a["id"], a.get("result"), a.get("error", {}).get("code")) for a in answers] == [
        (1, 3, None), (2, None, -32602), (None, None, -32700), (4, None, -32603),
        (5, ["\U0001f600"], None)]
    assert answers[3]["error"]["data"] == {
        "error": 52, "origin": "netsvc.jsonrpc", "details": "text that is not valid Unicode"}
    assert await postJson(port, rb'{"jsonrpc":"2.0","method":"echo","params":["\ud800"]}') is None
    await stillServing(port)
    noFailuresLogged(logEvents)


@pytest_twisted.ensureDeferred
async def test_unencodableAnswers(daemons, cleanServices, logEvents):
    """Text the protocol cannot carry, in a result or a service's own failure,
    is a Response Encoding Error (52) in every protocol."""
    Target()
    port = await gateway(daemons)
    for method, value in [("text", "surrogate"), ("refuse", "surrogate")]:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": [value]})
        answer = await postJson(port, body.encode())
        assert answer["error"]["code"] == -32603
        assert answer["error"]["data"]["error"] == 52
    for method, value in [("text", "control"), ("refuse", "control"), ("text", "surrogate")]:
        reply = await fetch(port, "POST", "/service/target",
                            xmlrpc.client.dumps((value,), method).encode(),
                            {"Content-Type": "text/xml"})
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(reply.body)
        assert (info.value.faultCode, info.value.faultString) == (
            52, "netsvc.xmlrpc -- Response Encoding Error\n\n"
                "text with a character XML cannot carry")
    url = f"http://127.0.0.1:{port}/service/target"
    for method in ("text", "refuse"):
        with pytest.raises(ServiceFailure) as info:
            await getattr(netrpc.DeferredRemoteService(url), method)("control")
        assert (info.value.error, info.value.details) == (
            52, "text with a character XML cannot carry")
    await stillServing(port)
    noFailuresLogged(logEvents)


class HookFails(Target):
    """A target whose encodeObject() breaks on the value its method returns."""

    def __init__(self):
        Target.__init__(self)
        self.exportMethod(self.thing)

    def thing(self):
        return object()

    def encodeObject(self, value):
        raise ValueError("a secret of the server")


@pytest_twisted.ensureDeferred
async def test_encodeHookFailure(daemons, cleanServices, logEvents):
    """An encodeObject() that raises is the server's to log: every protocol
    answers 52 with the documented fixed text, never the exception's."""
    HookFails()
    port = await gateway(daemons)
    answer = await postJson(port, b'{"jsonrpc": "2.0", "id": 1, "method": "thing", "params": []}')
    assert answer["error"]["data"] == {
        "error": 52, "origin": "netsvc.jsonrpc", "details": "value the protocol cannot carry"}
    reply = await fetch(port, "POST", "/service/target", xmlrpc.client.dumps((), "thing").encode(),
                        {"Content-Type": "text/xml"})
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(reply.body)
    assert (info.value.faultCode, info.value.faultString) == (
        52, "netsvc.xmlrpc -- Response Encoding Error\n\nvalue the protocol cannot carry")
    with pytest.raises(ServiceFailure) as info:
        await netrpc.DeferredRemoteService(f"http://127.0.0.1:{port}/service/target").thing()
    assert (info.value.error, info.value.details) == (52, "value the protocol cannot carry")
    assert [failure.value.args for failure in failuresIn(logEvents)] == [
        ("a secret of the server",)] * 3
    logEvents.clear()
    await stillServing(port)
    noFailuresLogged(logEvents)


def test_clientEncodeHookFailure():
    """The client's own encode hook raising: 42 with the fixed text, the
    exception chained, and nothing sent (nothing listens there)."""
    def encode(value):
        raise ValueError("a secret of the client")

    for client in (netrpc.RemoteService, netsvc_twisted.netrpc.xmlrpc.RemoteService,
                   netsvc_twisted.netrpc.json.RemoteService):
        service = client(f"http://127.0.0.1:{freePort()}/x", encode=encode)
        with pytest.raises(ServiceFailure) as info:
            service.echo(object())
        assert (info.value.error, info.value.details) == (42, "value the protocol cannot carry")
        assert isinstance(info.value.__cause__, ValueError)


# XML: (body, XML-RPC fault details); NET-RPC gets the same bodies' cousins.

def laughs(declared="UTF-8", levels=9):
    """A billion-laughs prolog, and the reference that would expand it."""
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, levels + 1))
    head = f'<?xml version="1.0" encoding="{declared}"?>'
    return head + f"<!DOCTYPE methodCall [{entities}]>", f"&l{levels};"


def xmlCall(value, encoding="utf-8", prolog=""):
    text = (f'{prolog}<methodCall><methodName>echo</methodName><params>'
            f'<param><value><int>1</int></value></param>'
            f'<param><value>{value}</value></param></params></methodCall>')
    return text.encode(encoding)


def bomb(encoding, declared=None):
    prolog, reference = laughs(declared or encoding.upper())
    return xmlCall(f"<string>{reference}</string>", encoding, prolog)


XMLRPC_CASES = [
    (bomb("utf-16"), "DTDs are not allowed"),
    (bomb("utf-16-le", "UTF-16LE"), "DTDs are not allowed"),
    (bomb("utf-16-le", "UTF-16-LE"), "unsupported encoding"),  # not expat's spelling
    (bomb("utf-8", "UTF-32"), "unsupported encoding"),
    (bomb("utf-8", "EBCDIC-CP-US"), "unsupported encoding"),
    (bomb("utf-8"), "DTDs are not allowed"),
    (b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "file:///etc/passwd"><methodCall/>',
     "DTDs are not allowed"),
    (xmlCall("<int>abc</int>"), "param 2: invalid <int>"),
    (xmlCall("<i4>" + "9" * 30 + "</i4>"), "param 2: integer outside signed 64 bits"),
    (xmlCall("<int>" + "9" * 5000 + "</int>"), "param 2: invalid <int>"),
    (xmlCall("<double>inf</double>"), "param 2: invalid <double>"),
    (xmlCall("<double>1e999</double>"), "param 2: invalid <double>"),
    (xmlCall("<boolean>yes</boolean>"), "param 2: invalid <boolean>"),
    (xmlCall("<base64>!!</base64>"), "param 2: invalid <base64>"),
    (xmlCall("<dateTime.iso8601>soon</dateTime.iso8601>"),
     "param 2: invalid <dateTime.iso8601>"),
    (xmlCall("<struct><member><value>1</value></member></struct>"),
     "param 2: invalid <struct>"),
    (xmlCall("<foo>1</foo>"), "param 2: unknown element"),
    (xmlCall(deep("<array><data><value>", "</value></data></array>", 5000)),
     "param 2: nested deeper than 100 levels"),
    (xmlCall("<string>&#0;</string>"), "not well-formed XML at line 1, column 114"),
    (b"<methodCall><methodName>x</methodName>", "not well-formed XML at line 1, column 39"),
    (b"   ", "empty body"),
    (b"<methodResponse><params><param><value>1</value></param></params></methodResponse>",
     "not a methodCall"),
]


@pytest_twisted.ensureDeferred
async def test_xmlrpcRequests(daemons, cleanServices, logEvents):
    Target()
    port = await gateway(daemons)
    for body, details in XMLRPC_CASES:
        reply = await fetch(port, "POST", "/service/target", body, {"Content-Type": "text/xml"})
        assert reply.status == 200
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(reply.body)
        assert (info.value.faultCode, info.value.faultString) == (
            54, f"netsvc.xmlrpc -- Request Decoding Error\n\n{details}"), body[:80]
    # Within the bounds, the same shapes are fine.
    body = xmlCall(deep("<array><data><value>", "</value></data></array>", 98)
                   .replace("<value></value>", "<value><i8>-9223372036854775808</i8></value>"))
    reply = await fetch(port, "POST", "/service/target", body, {"Content-Type": "text/xml"})
    (result,), _ = xmlrpc.client.loads(reply.body)
    assert result[0] == 1
    await stillServing(port)
    noFailuresLogged(logEvents)


def netrpcBody(payload):
    return payload, {"Content-Type": "application/x-rpc", "X-RPC-Version": "1.1",
                     "X-RPC-Content-Type": "request", "X-RPC-Request-Method": "echo"}


def netrpcBomb(encoding):
    prolog, reference = laughs(encoding.upper())
    return (prolog.replace("methodCall", "array")
            + f'<array><scalar type="xsd:string">{reference}</scalar></array>').encode(encoding)


@pytest_twisted.ensureDeferred
async def test_netrpcRequests(daemons, cleanServices, logEvents):
    Target()
    port = await gateway(daemons)
    for payload in [netrpcBomb("utf-16"), netrpcBomb("utf-8"),
                    deep(b"<array>", b"</array>", 5000),
                    b'<array><scalar type="xsd:int">abc</scalar></array>',
                    b'<array><scalar type="xsd:int">' + b"1" * 5000 + b"</scalar></array>"]:
        reply = await fetch(port, "POST", "/service/target", *netrpcBody(payload))
        assert (reply.status, b"Request has invalid format." in reply.body) == (400, True)
    reply = await fetch(port, "POST", "/service/target",
                        *netrpcBody(deep(b"<array>", b"</array>", 100)))
    assert reply.headers["x-rpc-content-type"] == "response"
    await stillServing(port)
    noFailuresLogged(logEvents)


@pytest.mark.parametrize("payload,details", [
    (netrpcBomb("utf-16"), "DTDs are not allowed"),
    (deep(b"<array>", b"</array>", 101), "item 1: nested deeper than 100 levels"),
    (b'<array><scalar type="xsd:int">1</scalar><scalar type="xsd:int">x</scalar></array>',
     "item 2: invalid xsd:int"),
    (b'<array><scalar type="made:up">x</scalar><foo/></array>', "item 2: unexpected element"),
    (b'<scalar type="xsd:boolean">maybe</scalar>', "value: invalid xsd:boolean"),
    (b'<index><scalar>1</scalar></index>', "item 1: index member without a name"),
    (b"<array>", "not well-formed XML at line 1, column 8"),
])
def test_netrpcDescriptions(payload, details):
    """What our NET-RPC client reports (failure 44) for such answers."""
    with pytest.raises(_netrpc_codec.DecodingError) as info:
        _netrpc_codec.loads(payload)
    assert str(info.value) == details


def test_xmlrpcAnswersAreReadTheSameWay():
    """Our XML-RPC client reads answers through the same defused parser."""
    prolog, reference = laughs("UTF-16")
    answer = "<methodResponse><params><param><value>%s</value></param></params></methodResponse>"
    for body, details in [
        ((prolog.replace("methodCall", "methodResponse") + answer % reference).encode("utf-16"),
         "DTDs are not allowed"),
        ((answer % "<i8>9223372036854775808</i8>").encode(),
         "result: integer outside signed 64 bits"),
    ]:
        with pytest.raises(_xmlrpc_codec.DecodingError) as info:
            _xmlrpc_codec.loadsResponse(body)
        assert str(info.value) == details


@pytest.mark.parametrize("client,args,details", [
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, (2**63,), "integer outside signed 64 bits"),
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, (-(2**63) - 1,), "integer outside signed 64 bits"),
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, (float("inf"),), "XML-RPC has no NaN or infinity"),
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, (float("nan"),), "XML-RPC has no NaN or infinity"),
    (netsvc_twisted.netrpc.xmlrpc.RemoteService, ("\x00",), "text with a character XML cannot carry"),
    (netsvc_twisted.netrpc.json.RemoteService, ("\ud800",), "text that is not valid Unicode"),
    (netsvc_twisted.netrpc.json.RemoteService, (float("nan"),), "JSON has no NaN or infinity"),
    (netrpc.RemoteService, (10**5000,), "integer with more than 4300 digits"),
    (netrpc.RemoteService, ("\x0b",), "text with a character XML cannot carry"),
    (netrpc.RemoteService, (2**70, float("inf"), {"k": "v"}), None),
])
def test_clientsDoNotSendWhatTheProtocolLacks(client, args, details):
    """Refused before connecting: failure 42, not 46 (nothing listens there)."""
    service = client(f"http://127.0.0.1:{freePort()}/x")
    with pytest.raises(ServiceFailure) as info:
        service.echo(*args)
    if details is None:  # a value the protocol carries: the connection is tried
        assert info.value.error == 46
        return
    assert (info.value.error, info.value.details) == (42, details)

