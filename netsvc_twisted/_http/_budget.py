# -*- test-case-name: tests.http.test_budget,tests.forms.test_form_memory,tests.hosting.test_wsgi_memory -*-
"""
One budget per process for the request-body bytes that decoders keep in
memory (form text and small uploads, a WSGI body before it spools, an
RPC body), so that many concurrent requests cannot add up to unbounded
memory, however small each one's own limit.

A request takes from the budget as its body arrives (L{BodyHold.take})
and gives it all back when its servlet is destroyed.  A decoder that can
move bytes to disk does so when C{take()} says no; one that cannot
refuses the request with 503 and C{Retry-After} (L{sendBusy}).  While the
budget is spent, a new request with a body gets the same 503 before its
body is read (L{admit}).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from twisted.logger import Logger

if TYPE_CHECKING:
    from netsvc_twisted._http._servlet import HttpServlet

__all__ = [
    "MemoryBudget", "BodyHold", "bodyMemory", "admit", "sendBusy", "hasBody",
    "DEFAULT_LIMIT", "DEFAULT_RETRY_AFTER", "LIMIT_VARIABLE", "BUSY_MESSAGE",
]

_log = Logger(namespace="netsvc.http")

#: Request-body bytes all requests of the process may hold in memory.
DEFAULT_LIMIT = 64 * 1024 * 1024
#: Seconds a client refused for lack of memory is told to wait.
DEFAULT_RETRY_AFTER = 1
#: Environment variable that sets the process limit at start-up (bytes;
#: 0 or "none" for unlimited).
LIMIT_VARIABLE = "OTCLIB_BODYMEMORYLIMIT"

BUSY_MESSAGE = "The server holds too much request data; retry later."


class MemoryBudget:
    """
    Request-body bytes held in memory by all requests: C{used} of
    C{limit} (None: unlimited).  Beyond OSE: each decoder's own limit
    bounds one request, this bounds their sum, so many concurrent
    requests cannot exhaust memory.  C{limit} and C{retryAfter} (the
    seconds of the 503's C{Retry-After}) may be changed at any time; a
    lower limit only affects what is taken next.  The process's one is
    L{bodyMemory}.
    """

    def __init__(self, limit: int | None = DEFAULT_LIMIT,
                 retryAfter: int = DEFAULT_RETRY_AFTER) -> None:
        self.limit = limit
        self.retryAfter = retryAfter
        self.used = 0
        #: Requests refused with 503 so far (for monitoring).
        self.refused = 0
        self._warned = False

    def full(self) -> bool:
        """True while nothing more may be taken: a new request with a
        body is then refused with 503 before its body is read."""
        limit = self.limit
        return limit is not None and self.used >= limit

    def hold(self) -> BodyHold:
        """A new, empty account for one request."""
        return BodyHold(self)

    def _refusing(self) -> None:
        self.refused += 1
        if not self._warned:
            # Once per episode: the access log has every 503.
            self._warned = True
            _log.warn(
                "Request bodies hold {used} bytes of memory (limit {limit}): "
                "new ones get 503 until some finish", used=self.used, limit=self.limit)

    def _gave(self) -> None:
        if self._warned and not self.full():
            self._warned = False


class BodyHold:
    """
    What one request holds of a L{MemoryBudget}; L{release} gives it all
    back and may be called any number of times.
    """

    __slots__ = ("budget", "held")

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.held = 0

    def take(self, size: int) -> bool:
        """Account for C{size} more bytes, unless the budget cannot
        afford them: then nothing is taken and the answer is False."""
        budget = self.budget
        limit = budget.limit
        if limit is not None and budget.used + size > limit:
            return False
        budget.used += size
        self.held += size
        return True

    def give(self, size: int) -> None:
        """Give back C{size} bytes (moved to disk, or freed)."""
        size = min(size, self.held)
        self.held -= size
        self.budget.used -= size
        self.budget._gave()

    def release(self) -> None:
        """Give back everything held (when the servlet is destroyed)."""
        self.give(self.held)


def _limitFromEnvironment() -> int | None:
    value = os.environ.get(LIMIT_VARIABLE, "").strip().lower()
    if value in ("0", "none", "unlimited"):
        return None
    return int(value) if value.isdigit() else DEFAULT_LIMIT


#: The process's budget, shared by every decoder of the package (beyond
#: OSE): form text and small uploads, WSGI bodies before they spool, RPC
#: bodies.  64 MiB unless C{OTCLIB_BODYMEMORYLIMIT} says otherwise.
bodyMemory = MemoryBudget(_limitFromEnvironment())


def hasBody(servlet: HttpServlet) -> bool:
    return servlet.contentLength() > 0 or servlet.containsHeader("transfer-encoding")


def sendBusy(servlet: HttpServlet, budget: MemoryBudget | None = None) -> None:
    """Refuse the request with 503 and C{Retry-After}."""
    budget = budget or bodyMemory
    budget._refusing()
    retry = b"%d" % max(0, int(budget.retryAfter))
    servlet._response.sendError(503, BUSY_MESSAGE, [(b"retry-after", retry)])


def admit(servlet: HttpServlet, budget: MemoryBudget | None = None) -> BodyHold | None:
    """
    An account for this request's body, or None once it has been
    refused with 503 because the budget is spent and it has a body.
    Call it from C{processRequest()}; release the hold in
    C{destroyServlet()}.
    """
    budget = budget or bodyMemory
    if budget.full() and hasBody(servlet):
        sendBusy(servlet, budget)
        return None
    return budget.hold()
