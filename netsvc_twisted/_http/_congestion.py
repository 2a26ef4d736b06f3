# -*- test-case-name: tests.http.test_congestion -*-
"""
The bridge between Twisted's flow control and OSE congestion callbacks
(spec 5, decisions.md "Congestion").

While a servlet monitors congestion, a streaming L{IPushProducer} is
registered on its request: the transport's C{pauseProducing()} becomes
C{CONNECTION_BLOCKED}, C{resumeProducing()} becomes C{CONNECTION_CLEARED}
and C{stopProducing()} means the client is gone.  Events are delivered as
jobs of the event loop (spec 5.2), never inside the C{sendContent()} whose
write filled the buffer: priority jobs, so a producer hears
C{CONNECTION_BLOCKED} before its next part whatever its own priority, in
the same drain, without waiting for a reactor turn.
"""

from __future__ import annotations

import os
from collections import deque
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from netsvc_twisted._constants import (
    CONNECTION_BACKLOG,
    CONNECTION_BLOCKED,
    CONNECTION_CLEARED,
    PRIORITY_JOB,
)
from netsvc_twisted._events._jobs import holdDrain, queueCall, runHeld
from netsvc_twisted._events._loop import getReactor
from netsvc_twisted._http._h2 import streamQueued
from netsvc_twisted._http._observe import observerOf
from netsvc_twisted._http._response import requestCallLater
from netsvc_twisted._http._tcpsend import _TCPServer

if TYPE_CHECKING:
    from netsvc_twisted._http._response import Response
    from netsvc_twisted._http._servlet import HttpServlet

#: Blocks queued before CONNECTION_BACKLOG fires (OSE's default).
DEFAULT_THRESHOLD = 256
#: Seconds between looks at a backlogged transport that Twisted has not
#: paused (it drains without telling its producer).
DRAIN_POLL = 0.05
#: Seconds a response may stay blocked before it is aborted.
DEFAULT_STALL_TIMEOUT = 300.0
#: See CongestionBridge.unheldParts.
UNHELD_AFTER_BLOCK = 32


def threshold() -> int:
    value = os.environ.get("OTCLIB_STREAMTHRESHOLD", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_THRESHOLD


def bufferedBytes(transport: Any) -> int | None:
    """
    Bytes a transport still holds, or L{None} when it cannot tell.

    Socket transports are read through Twisted's FileDescriptor buffer;
    other transports may offer a C{bufferedBytes()} method (the in-memory
    transport of L{netsvc_twisted.testing} does).
    """
    method = getattr(transport, "bufferedBytes", None)
    if method is not None:
        return method()
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except AttributeError:
        return None


def heldBytes(channel: Any) -> int | None:
    """
    Response bytes the request's channel still holds: its transport's
    buffer, or under HTTP/2 (an C{H2Stream}, which has no transport) what
    the stream has queued behind flow control.
    """
    transport = channel.transport
    if transport is None:
        return streamQueued(channel)
    return bufferedBytes(transport)


@implementer(IPushProducer)
class CongestionBridge:
    """
    One servlet's view of its connection's flow control.
    """

    paused = False
    backlog = False
    #: Parts the response writes one by one (Response.write) before it
    #: holds them to send together again: set at each CONNECTION_BLOCKED,
    #: so a slow reader, which blocks every few parts, is never held for.
    unheldParts = 0
    _sinceBacklog = 0
    _delivering = False  # a _deliver job is queued
    _drainCheck = None
    _stallTimer = None
    #: When the current block began (the reactor's seconds), or None.
    _blockedAt: float | None = None
    #: The site's IHttpObserver, and the queued bytes it was last told of
    #: while blocked (L{None}: not reported as blocked).
    observer: Any = None
    _reportedQueued: int | None = None

    def __init__(self, servlet: HttpServlet, response: Response) -> None:
        self.servlet = servlet
        self.response = response
        self.pending = 0
        self.threshold = threshold()
        site = getattr(response.request, "site", None)
        self.stallTimeout = getattr(site, "stallTimeout", DEFAULT_STALL_TIMEOUT)
        self.observer = observerOf(response.request)
        self._events: deque[tuple[int, int]] = deque()
        self._callLater = requestCallLater(response.request)
        self._seconds = getattr(getattr(self._callLater, "__self__", None), "seconds", None)
        # Events are jobs when the request is served on the dispatcher's
        # reactor, always but in a test whose clock serves requests while
        # jobs run on the real reactor (a MemoryDaemon outside its with).
        self._viaJobs = self._callLater == getReactor().callLater
        transport = getattr(response.request.channel, "transport", None)
        #: The connection's transport when it is plain TCP, whose buffer
        #: beforeWrite() reads directly.
        self._tcp = transport if type(transport) is _TCPServer else None

    # Events.

    def _queue(self, status: int, pending: int) -> None:
        self._events.append((status, pending))
        if not self._delivering:
            self._delivering = True
            if self._viaJobs:
                queueCall(self._deliver, PRIORITY_JOB)
            else:
                self._callLater(0, self._deliver)

    def _deliver(self) -> None:
        self._delivering = False
        events = self._events
        while events and self.servlet is not None:
            status, pending = events.popleft()
            self.response.call.congestion(self.servlet, status, pending)

    # Called by the response around every block handed to Twisted.

    def beforeWrite(self) -> None:
        """
        A transport holding nothing has written every earlier block: the
        connection is known to be drained, without a timer per block.
        """
        if self.pending and not self.paused:
            # Transports that cannot tell (TLS, test transports) count as
            # drained while Twisted has not paused us.
            transport = self._tcp
            if transport is not None:
                # heldBytes() of a TCP transport, inlined (every part).
                if transport.offset != len(transport.dataBuffer) or transport._tempDataLen:
                    return
            elif heldBytes(self.response.request.channel):
                return
            self._drained()

    def blockWritten(self) -> None:
        self.pending += 1
        if self._reportedQueued is not None:
            self._reportQueued(0)
        threshold = self.threshold
        if not self.backlog:
            if self.pending == threshold:
                self.backlog = True
                self._sinceBacklog = 0
                self._queue(CONNECTION_BACKLOG, self.pending)
        else:
            self._sinceBacklog += 1
            if self._sinceBacklog % threshold == 0 and self.pending >= threshold:
                self._queue(CONNECTION_BACKLOG, self.pending)
        if self.backlog and not self.paused and self._drainCheck is None:
            # A backlog must end with BACKLOG(0) even if nothing else is
            # written, so look again once the reactor has had a turn.
            self._drainCheck = self._callLater(0, self._checkDrained)

    def _checkDrained(self) -> None:
        self._drainCheck = None
        if self.paused or self.servlet is None:
            return
        if not heldBytes(self.response.request.channel):
            self._drained()
        elif self.backlog:
            self._drainCheck = self._callLater(DRAIN_POLL, self._checkDrained)

    def _drained(self) -> None:
        self.pending = 0
        if self.backlog:
            self.backlog = False
            self._queue(CONNECTION_BACKLOG, 0)

    # IPushProducer, called by the channel.

    def pauseProducing(self) -> None:
        if self.paused or self.servlet is None:
            return
        self.paused = True
        self.unheldParts = UNHELD_AFTER_BLOCK
        if self.observer is not None:
            self._reportQueued(1)
        self._queue(CONNECTION_BLOCKED, max(self.pending, 1))
        if self.stallTimeout and self._seconds is not None:
            # One timer for many block/clear cycles: it looks at the block
            # under way when it fires (_stallCheck), so a cycle costs no
            # timer of its own.
            self._blockedAt = self._seconds()
            if self._stallTimer is None:
                self._stallTimer = self._callLater(self.stallTimeout, self._stallCheck)

    def resumeProducing(self) -> None:
        if not self.paused or self.servlet is None:
            return
        self.paused = False
        if self._reportedQueued is not None:
            self._reportCleared()
        self._blockedAt = None
        # Twisted resumes producers only once its buffer is empty.
        self.pending = 0
        events = self._events
        blocked = (CONNECTION_BLOCKED, events[0][1]) if events else None
        if blocked is not None and events[0] == blocked:
            # Blocked and cleared before the servlet heard of it: a blip
            # within one reactor turn that it need not stop for.
            events.popleft()
        elif not events and not self.response.inHook:
            # From the reactor (Twisted's doWrite), not from inside a
            # servlet call: tell the servlet now, and run the job it
            # schedules for its next part at once, not after a timer.
            held = self._viaJobs and holdDrain()
            try:
                self.response.call.congestion(self.servlet, CONNECTION_CLEARED, 0)
                if self.backlog and self.servlet is not None:
                    self._drained()  # BACKLOG(0); pending is 0 already
            finally:
                if held:
                    runHeld()
            return
        else:
            self._queue(CONNECTION_CLEARED, 0)
        if self.servlet is not None:
            self._drained()

    def stopProducing(self) -> None:
        self.response.clientGone()

    def _reportQueued(self, connections: int) -> None:
        queued = heldBytes(self.response.request.channel) or 0
        change = queued - (self._reportedQueued or 0)
        self._reportedQueued = queued
        self.observer.congestionChanged(connections, change)

    def _reportCleared(self) -> None:
        queued, self._reportedQueued = self._reportedQueued, None
        if queued is not None:
            self.observer.congestionChanged(-1, -queued)

    def _stallCheck(self) -> None:
        self._stallTimer = None
        blockedAt = self._blockedAt
        if blockedAt is None or self.servlet is None:
            return  # not blocked now: the next block starts a timer
        left = blockedAt + self.stallTimeout - self._seconds()
        if left > 0:
            self._stallTimer = self._callLater(left, self._stallCheck)
        else:
            self._stalled()

    def _stalled(self) -> None:
        from twisted.logger import Logger

        Logger(namespace="netsvc.http").warn(
            "Response to {client} blocked for {seconds} s: aborting",
            client=self.response.request.getClientAddress(),
            seconds=self.stallTimeout,
        )
        if self.observer is not None:
            self.observer.stallAborted()
        self.response.abort(0)

    def _cancelStall(self) -> None:
        if self._stallTimer is not None:
            if self._stallTimer.active():
                self._stallTimer.cancel()
            self._stallTimer = None

    def detach(self) -> None:
        """
        Stop everything: the servlet unsubscribed or the response ended.
        """
        self.servlet = None
        self._events.clear()
        self._reportCleared()
        self._cancelStall()
        # A queued _deliver() finds no events and no servlet.
        call = self._drainCheck
        if call is not None and call.active():
            call.cancel()
        self._drainCheck = None


def subscribe(servlet: HttpServlet) -> None:
    response = servlet._response
    if response.bridge is not None or response.state >= 3:
        return
    bridge = CongestionBridge(servlet, response)
    response.bridge = bridge
    request = response.request
    request.registerProducer(bridge, True)
    if getattr(request.channel, "_waitingForTransport", False):
        bridge.pauseProducing()


def unsubscribe(servlet: HttpServlet) -> None:
    servlet._response.detachBridge()
