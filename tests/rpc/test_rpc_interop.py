"""
Clients nobody here wrote against the gateways over 127.0.0.1:
jsonrpcclient and tinyrpc (JSON-RPC 2.0: results, the standard error
codes, batches, notifications) and the stdlib's xmlrpc.client (XML-RPC's
integer range, non-finite doubles, faults).
"""

import json
import math
import xmlrpc.client

import jsonrpcclient
import pytest_twisted
import requests
from tinyrpc import RPCClient
from tinyrpc.protocols.jsonrpc import JSONRPCErrorResponse, JSONRPCProtocol
from tinyrpc.transports.http import HttpPostClientTransport
from twisted.internet import threads

import netsvc_twisted.json
import netsvc_twisted.xmlrpc
from netsvc_twisted._rpc._failure import ServiceFailure
from netsvc_twisted._rpc._gateway import RpcGateway
from netsvc_twisted._rpc._service import Service
from rpc_support import cleanServices  # noqa: F401
from support import startDaemon


class Probe(Service):
    """Methods whose answers each protocol must carry, or refuse cleanly."""

    def __init__(self):
        Service.__init__(self, "probe")
        self.joinGroup("web-services")
        self.notified = []
        for method in (self.add, self.echo, self.boom, self.refuse, self.record,
                       self.value):
            self.exportMethod(method)

    def add(self, a, b):
        return a + b

    def echo(self, *args):
        return list(args)

    def boom(self):
        raise RuntimeError("kaput")

    def refuse(self):
        raise ServiceFailure(1001, "Refused", "probe", "not today")

    def record(self, item):
        self.notified.append(item)

    def value(self, name):
        return {
            "int64max": 2**63 - 1, "int64min": -(2**63), "int32over": 2**31,
            "int64over": 2**63, "int64under": -(2**63) - 1,
            "inf": math.inf, "-inf": -math.inf, "nan": math.nan,
            "control": "a\x00b", "nested": [[2**64]],
        }[name]


async def start(daemons, servers):
    daemon = await startDaemon(servers)
    daemons.append(daemon)
    return f"http://127.0.0.1:{daemon.port()}"


def inThread(function, *args, **kwargs):
    return threads.deferToThread(function, *args, **kwargs)


# jsonrpcclient: it builds and parses, requests carries.


def post(url, document):
    response = requests.post(url, json=document, timeout=20)
    assert response.headers.get("content-type", "application/json") == "application/json"
    return response


@pytest_twisted.ensureDeferred
async def test_jsonrpcclient(daemons, cleanServices):
    probe = Probe()
    base = await start(daemons, {"/json": netsvc_twisted.json.RpcGateway("web-services")})
    url = base + "/json/probe"

    def call(method, params=None):
        request = jsonrpcclient.request(method, params)
        return jsonrpcclient.parse(post(url, request).json()), request["id"]

    answer, id = await inThread(call, "add", (2, 3))
    assert answer == jsonrpcclient.Ok(5, id)
    answer, _ = await inThread(call, "add", {"a": 2, "b": 3})
    assert answer.result == 5
    for method, params, code, oseCode, details in [
        ("missing", None, -32601, 55, ""),
        ("add", (1,), -32602, 56, "Expected 2 arguments, received 1."),
        ("add", {"a": 1}, -32602, 56, "Missing argument b."),
        ("boom", None, -32603, 57, "RuntimeError: kaput"),
        ("refuse", None, 1001, 1001, "not today"),
    ]:
        answer, id = await inThread(call, method, params)
        assert isinstance(answer, jsonrpcclient.Error), answer
        assert (answer.code, answer.data["error"], answer.data["details"], answer.id) == (
            code, oseCode, details, id)

    batch = [jsonrpcclient.request("add", (1, 2)),
             jsonrpcclient.notification("record", ("batched",)),
             jsonrpcclient.request("missing"),
             jsonrpcclient.request("echo", ("é",))]
    response = await inThread(post, url, batch)
    answers = list(jsonrpcclient.parse(response.json()))
    assert [type(a).__name__ for a in answers] == ["Ok", "Error", "Ok"]
    assert [a.id for a in answers] == [batch[0]["id"], batch[2]["id"], batch[3]["id"]]
    assert (answers[0].result, answers[1].code, answers[2].result) == (3, -32601, ["é"])
    assert probe.notified == ["batched"]

    response = await inThread(post, url, jsonrpcclient.notification("record", ("alone",)))
    assert (response.status_code, response.content) == (204, b"")
    assert probe.notified == ["batched", "alone"]

    response = await inThread(requests.post, url, data=b'{"jsonrpc": "2.0", "method"', timeout=20)
    assert response.headers["content-type"] == "application/json"
    answer = jsonrpcclient.parse(response.json())
    assert (answer.code, answer.id) == (-32700, None)


# tinyrpc: a proxy over its HTTP transport, which rejects anything not 2.0.


@pytest_twisted.ensureDeferred
async def test_tinyrpc(daemons, cleanServices):
    probe = Probe()
    base = await start(daemons, {"/service": RpcGateway("web-services")})
    transport = HttpPostClientTransport(base + "/service/probe", timeout=20,
                                        headers={"Content-Type": "application/json"})
    client = RPCClient(JSONRPCProtocol(), transport)
    proxy = client.get_proxy()

    assert await inThread(proxy.add, 2, 3) == 5
    assert await inThread(proxy.add, a=2, b=3) == 5
    assert await inThread(proxy.echo, [1, {"k": None}], 1.5) == [[1, {"k": None}], 1.5]

    def failing(method, *args):
        try:
            getattr(proxy, method)(*args)
        except Exception as e:  # tinyrpc's JSONRPCError
            return e
        raise AssertionError(f"{method} did not fail")

    for method, args, code in [("missing", (), -32601), ("add", (1,), -32602),
                               ("boom", (), -32603), ("refuse", (), 1001)]:
        error = await inThread(failing, method, *args)
        assert error._jsonrpc_error_code == code, (method, error)

    replies = await inThread(client.batch_call, [
        ("add", [1, 2], {}), ("record", ["tiny"], {}, True), ("missing", [], {}),
    ])
    assert len(replies) == 2
    assert replies[0].result == 3
    assert isinstance(replies[1], JSONRPCErrorResponse)
    assert replies[1]._jsonrpc_error_code == -32601

    await inThread(client.call, "record", ["one way"], {}, True)
    assert probe.notified == ["tiny", "one way"]


# xmlrpc.client: what it refuses to send, we refuse to answer (a fault).


@pytest_twisted.ensureDeferred
async def test_xmlrpcRange(daemons, cleanServices):
    Probe()
    base = await start(daemons, {"/xml": netsvc_twisted.xmlrpc.RpcGateway("web-services")})
    proxy = xmlrpc.client.ServerProxy(base + "/xml/probe")

    def value(name):
        try:
            return getattr(proxy, "value")(name)
        except xmlrpc.client.Fault as fault:
            return fault

    for name, expected in [("int64max", 2**63 - 1), ("int64min", -(2**63)),
                           ("int32over", 2**31)]:
        assert await inThread(value, name) == expected
    for name, details in [("int64over", "integer outside signed 64 bits"),
                          ("int64under", "integer outside signed 64 bits"),
                          ("nested", "integer outside signed 64 bits"),
                          ("inf", "XML-RPC has no NaN or infinity"),
                          ("-inf", "XML-RPC has no NaN or infinity"),
                          ("nan", "XML-RPC has no NaN or infinity"),
                          ("control", "text with a character XML cannot carry")]:
        fault = await inThread(value, name)
        assert isinstance(fault, xmlrpc.client.Fault), (name, fault)
        assert (fault.faultCode, fault.faultString) == (
            52, f"netsvc.xmlrpc -- Response Encoding Error\n\n{details}"), name
    assert await inThread(proxy.add, 2, 3) == 5


@pytest_twisted.ensureDeferred
async def test_xmlrpcFaults(daemons, cleanServices):
    Probe()
    base = await start(daemons, {"/xml": netsvc_twisted.xmlrpc.RpcGateway("web-services")})
    proxy = xmlrpc.client.ServerProxy(base + "/xml/probe")

    def fault(method, *args):
        try:
            getattr(proxy, method)(*args)
        except xmlrpc.client.Fault as e:
            return e.faultCode, e.faultString
        raise AssertionError(f"{method} did not fail")

    assert await inThread(fault, "missing") == (55, "netsvc -- Method Unavailable")
    assert await inThread(fault, "add", 1) == (
        56, "netsvc -- Parameters Incorrect\n\nExpected 2 arguments, received 1.")
    assert await inThread(fault, "boom") == (
        57, "netsvc -- Application Error\n\nRuntimeError: kaput")
    assert await inThread(fault, "refuse") == (1001, "probe -- Refused\n\nnot today")
    assert await inThread(proxy.add, 2, 3) == 5


@pytest_twisted.ensureDeferred
async def test_ourJsonClientReadsStandardErrors(daemons, cleanServices):
    """Our client turns 2.0 errors back into the OSE failure, as over NET-RPC."""
    Probe()
    base = await start(daemons, {"/json": netsvc_twisted.json.RpcGateway("web-services")})
    from netsvc_twisted.netrpc.json import RemoteService

    service = RemoteService(base + "/json/probe")

    def failure(method, *args):
        try:
            getattr(service, method)(*args)
        except ServiceFailure as e:
            return e
        raise AssertionError(f"{method} did not fail")

    assert await inThread(failure, "missing") == ServiceFailure(55, "Method Unavailable",
                                                                "netsvc")
    assert await inThread(failure, "refuse") == ServiceFailure(1001, "Refused", "probe",
                                                               "not today")
    raw = await inThread(requests.post, base + "/json/probe", timeout=20,
                         data=json.dumps({"method": "missing", "params": [], "id": 1}))
    assert raw.json()["error"] == {"error": 55, "description": "Method Unavailable",
                                   "origin": "netsvc", "details": ""}
