"""
The process's request-body memory budget (netsvc_twisted._http._budget):
the accounting itself, and a servlet that buffers its body through it,
in memory: 503 with Retry-After for new bodies while the budget is spent,
requests without a body still served, everything given back at the end.
"""

import pytest

import netsvc_twisted as netsvc
from netsvc_twisted._http import _budget
from netsvc_twisted._http._budget import BodyHold, MemoryBudget, admit, sendBusy
from netsvc_twisted.testing import MemoryDaemon

BUDGET = MemoryBudget(10, retryAfter=7)


class Buffering(netsvc.HttpServlet):
    """Keeps its body in memory, as an RPC servlet does, within BUDGET."""

    def processRequest(self):
        self.hold = admit(self, BUDGET)
        self.chunks = []

    def processContent(self, content):
        if self.hold is None:
            return
        if not self.hold.take(len(content)):
            self.hold.release()
            self.hold = None
            sendBusy(self, BUDGET)
            return
        self.chunks.append(content)

    def processContentEnd(self):
        if self.hold is None:
            return
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent(b"got %d" % sum(map(len, self.chunks)))
        self.endContent()

    def destroyServlet(self):
        if self.hold is not None:
            self.hold.release()
        super().destroyServlet()


@pytest.fixture
def daemon():
    BUDGET.used = 0
    BUDGET.refused = 0
    yield MemoryDaemon.forServlet(Buffering)
    assert BUDGET.used == 0, "a request kept its share of the budget"


def test_accounting():
    budget = MemoryBudget(100)
    one, two = budget.hold(), budget.hold()
    assert isinstance(one, BodyHold)
    assert one.take(60) and not two.take(41) and two.take(40)
    assert (budget.used, one.held, two.held, budget.full()) == (100, 60, 40, True)
    assert not one.take(1)
    one.give(10)
    assert (budget.used, one.held, budget.full()) == (90, 50, False)
    one.give(1000)  # never more than it holds
    assert (budget.used, one.held) == (40, 0)
    two.release()
    two.release()
    assert budget.used == 0
    budget.limit = None
    assert budget.hold().take(10 ** 12) and not budget.full()


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv(_budget.LIMIT_VARIABLE, "12345")
    assert _budget._limitFromEnvironment() == 12345
    for unlimited in ("0", "none", "Unlimited"):
        monkeypatch.setenv(_budget.LIMIT_VARIABLE, unlimited)
        assert _budget._limitFromEnvironment() is None
    monkeypatch.setenv(_budget.LIMIT_VARIABLE, "lots")
    assert _budget._limitFromEnvironment() == _budget.DEFAULT_LIMIT
    monkeypatch.delenv(_budget.LIMIT_VARIABLE)
    assert _budget._limitFromEnvironment() == _budget.DEFAULT_LIMIT
    assert _budget.bodyMemory.retryAfter == _budget.DEFAULT_RETRY_AFTER


def test_new_bodies_get_503_while_the_budget_is_spent(daemon):
    first = daemon.connect()
    # Ten bytes are due; the first eight arrive and are held.
    first.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345678")
    assert BUDGET.used == 8
    first.send(b"9")
    assert BUDGET.used == 9 and first.replies() == []
    # A body finds the budget short: refused mid-body.
    reply = daemon.request("POST", "/", b"abc")
    assert reply.status == 503
    assert reply.header("retry-after") == "7"
    assert b"retry later" in reply.body
    other = BUDGET.hold()
    assert other.take(1) and BUDGET.full()
    # Spent: a new body is refused before it is read...
    reply = daemon.request("POST", "/", b"", {"Content-Length": "5"})
    assert (reply.status, reply.header("retry-after")) == (503, "7")
    chunked = daemon.request("POST", "/", b"", {"Transfer-Encoding": "chunked"})
    assert chunked.status == 503
    # ... but a request without one is served.
    assert daemon.request("GET", "/").status == 200
    assert BUDGET.refused == 3
    other.release()
    first.send(b"0")
    [done] = first.replies()
    assert (done.status, done.body) == (200, b"got 10")
    assert BUDGET.used == 0
    assert daemon.request("POST", "/", b"again").body == b"got 5"


def test_a_client_that_leaves_gives_its_share_back(daemon):
    connection = daemon.connect()
    connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n1234")
    assert BUDGET.used == 4
    connection.disconnect()
    assert BUDGET.used == 0
