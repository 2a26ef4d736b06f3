"""
RPC bodies are parsed whole, so they count against the process's
body-memory budget (netsvc_twisted._http._budget): past it a call gets
503 with Retry-After instead of growing the server, and every byte is
given back when the call ends.
"""

import json

import pytest

from netsvc_twisted._http._budget import bodyMemory
from netsvc_twisted._rpc._gateway import RpcGateway
from netsvc_twisted._rpc._service import Service
from netsvc_twisted.testing import MemoryDaemon
from rpc_support import cleanServices  # noqa: F401

CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["x" * 40]}).encode()
HEADERS = {"Content-Type": "application/json"}


class Echo(Service):
    def __init__(self):
        Service.__init__(self, "echo")
        self.exportMethod(self.echo)

    def echo(self, *args):
        return list(args)


@pytest.fixture
def daemon(cleanServices, monkeypatch):
    monkeypatch.setattr(bodyMemory, "limit", len(CALL) + 10)
    monkeypatch.setattr(bodyMemory, "used", 0)
    Echo()
    with MemoryDaemon() as daemon:
        daemon.attach("/rpc", RpcGateway(""))
        yield daemon
    assert bodyMemory.used == 0, "an RPC call kept its share of the budget"


def test_a_call_within_the_budget_is_answered_and_gives_it_back(daemon):
    reply = daemon.request("POST", "/rpc/echo", CALL, HEADERS)
    assert reply.status == 200
    assert json.loads(reply.body)["result"] == ["x" * 40]
    assert bodyMemory.used == 0


def test_a_call_past_the_budget_gets_503(daemon):
    other = bodyMemory.hold()
    assert other.take(20)
    reply = daemon.request("POST", "/rpc/echo", CALL, HEADERS)
    assert reply.status == 503 and reply.header("retry-after") is not None
    other.release()
    assert daemon.request("POST", "/rpc/echo", CALL, HEADERS).status == 200


def test_a_spent_budget_refuses_a_call_before_its_body(daemon):
    other = bodyMemory.hold()
    assert other.take(bodyMemory.limit)
    connection = daemon.connect()
    connection.send(b"POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(CALL))
    [reply] = connection.replies()
    assert reply.status == 503
    other.release()
