# -*- test-case-name: tests.http.test_http2 -*-
"""
HTTP/2 underneath L{HttpDaemon}, when Twisted's h2 support is installed
and TLS negotiates C{h2} with ALPN (an C{ssl:} endpoint is enough: the
site offers C{h2} and C{http/1.1}).

Twisted swaps the connection's L{ServletChannel} for an C{H2Connection}
once ALPN has chosen C{h2}; each request then has an C{H2Stream} as its
channel (no C{transport}, no HTTP/1 persistence).  This module makes
servlets behave as over HTTP/1.1 keep-alive:

 - L{ServletChannelProtocol} builds a L{ServletH2Connection} instead of
   Twisted's own and moves the connection from the old channel to it in
   the site's connection set, so C{stop()} drains HTTP/2 connections too:
   C{closeWhenIdle()} says GOAWAY once the streams in progress are done.
 - L{ServletH2Stream} is dispatched when its headers are in, like an
   HTTP/1.1 request: the body reaches C{processContent()} as it arrives
   (Twisted would buffer it all first), a response may end before the
   body (the rest is refused with RST_STREAM(NO_ERROR)), and a
   "100 Continue" waits until the servlet has seen the head.
 - Flow control is congestion: a stream's producer (the congestion
   bridge) is paused when its window is used up (Twisted's own rule),
   and also while 64 KiB are queued on it or the transport is full,
   which Twisted does not do (a write that fills the 64 KiB is framed
   at once unless the transport is full); streams waiting for a window
   leave Twisted's send loop instead of making it spin.
 - DATA frames are cut and framed here, not by h2's C{send_data()}
   (L{ServletH2Connection._frameData}): fewer calls and one copy.
 - Connection-specific response headers (C{Connection}, C{Keep-Alive},
   C{Transfer-Encoding}...), which HTTP/2 forbids and h2 would refuse
   with the whole header block, are dropped; C{sendComplete()}'s raw
   HTTP/1 response is translated (L{writeRawResponse}); an abort resets
   the stream only (in L{Response.abort}).
 - A stream's C{:authority} (and any C{Host} beside it) is held to the
   HTTP/1.1 Host rules of L{netsvc_twisted._http._parser}: a 400 if not.
 - L{streamQueued} tells the congestion bridge how much of a stream's
   response is still queued, for C{CONNECTION_BACKLOG}.
"""

from __future__ import annotations

import io
import struct
from collections import deque
from http.client import HTTPException, HTTPResponse
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web import http

from netsvc_twisted._http._parser import hostProblem

try:
    import priority
    from h2.connection import ConnectionInputs
    from h2.errors import ErrorCodes
    from h2.exceptions import ProtocolError
    from h2.stream import StreamInputs
    from twisted.web._http2 import _END_STREAM_SENTINEL, H2Connection, H2Stream
except ImportError:  # h2 is not installed: HTTP/1.1 only.
    H2Connection = H2Stream = _END_STREAM_SENTINEL = None

_log = Logger(namespace="netsvc.http")

#: Bytes queued on a stream that pause its producer (an HTTP/1.1
#: transport's buffer size) and below which it resumes (one frame).
STREAM_BUFFER = 65536
RESUME_BELOW = 16384
#: DATA frame bytes framed per reactor turn, and written at once.
SEND_BATCH = 1 << 18
#: DATA frames framed for a stream per pick of the priority tree.
PICK_FRAMES = 4
#: A frame header (RFC 9113 4.1): length (24 bits), type, flags, stream.
FRAME_HEADER = struct.Struct(">HBBBL")
#: Response headers that HTTP/2 forbids (RFC 9113 8.2.2).
CONNECTION_HEADERS = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


def streamQueued(channel: Any) -> int | None:
    """
    Response bytes an HTTP/2 stream holds that the connection has not
    framed yet (waiting for the flow-control window or its turn), or
    L{None} when C{channel} is not a live HTTP/2 stream.
    """
    conn = getattr(channel, "_conn", None)
    queues = getattr(conn, "_outboundStreamQueues", None)
    if queues is None:
        return None
    return _queuedBytes(queues.get(getattr(channel, "streamID", None)))


def _queuedBytes(queue: deque | None) -> int:
    if not queue:
        return 0
    return sum(len(chunk) for chunk in queue if chunk is not _END_STREAM_SENTINEL)


class _RawResponse:
    """What L{HTTPResponse} reads a response from: bytes."""

    def __init__(self, raw: bytes) -> None:
        self._file = io.BytesIO(raw)

    def makefile(self, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self._file


def writeRawResponse(request: Any, raw: bytes) -> bool:
    """
    C{sendComplete(raw)} on an HTTP/2 stream, which has no raw bytes: the
    HTTP/1 response is parsed (by the standard library's client) and its
    status, headers and body written the HTTP/2 way: connection-specific
    headers dropped, a chunked body decoded, a body cut at its
    Content-Length.  False, with nothing written, when C{raw} does not
    parse as an HTTP/1 response.
    """
    response = HTTPResponse(
        _RawResponse(raw), method=request.method.decode("latin-1")  # type: ignore[arg-type]
    )
    try:
        response.begin()
        body = response.read()
    except (HTTPException, ValueError):
        return False
    request.setResponseCode(response.status, response.reason.encode("latin-1") or None)
    headers = request.responseHeaders
    for name, _ in list(headers.getAllRawHeaders()):
        headers.removeHeader(name)  # Verbatim: only the servlet's headers.
    for name, value in response.getheaders():
        rawName = name.lower().encode("latin-1")
        if rawName not in CONNECTION_HEADERS and not (
            response.chunked and rawName == b"content-length"
        ):
            headers.addRawHeader(rawName, value.encode("latin-1"))
    request.write(body)
    return True


if H2Connection is not None:

    class ServletH2Stream(H2Stream):
        """
        An HTTP/2 stream whose request is dispatched when its headers are
        in, as over HTTP/1.1: the body reaches C{processContent()} frame
        by frame instead of being buffered by Twisted first, and a
        servlet may answer (401, 413...) before the body is sent.
        """

        #: Read by C{ServletRequest.finish()}: a stream is never reused,
        #: so a response that ends before the request body finishes at
        #: once and the rest of the body is refused (L{ignoreInput}).
        persistent = False
        _requestEnded = False
        _ignoring = False

        def headReceived(self) -> None:
            request = self._request
            headReceived = getattr(request, "headReceived", None)
            if headReceived is None:
                return
            request._streaming = True
            content = request.content
            if content is not None:
                # Twisted's buffer for the body, unused: the servlet gets it.
                content.close()
                request.content = io.BytesIO()
            # The Host rules of HTTP/1.1 hold for :authority (and a Host
            # field beside it must agree), RFC 9113 8.3.1.
            problem = hostProblem(request.requestHeaders.getRawHeaders(b"host"))
            if problem is not None:
                request.refuse(self.command, self.path, b"HTTP/2", 400, problem)
                return
            headReceived(self.command, self.path, b"HTTP/2")
            if self._continueWanted and not (request.startedWriting or request.finished):
                # The servlet wants the body and has not answered yet.
                super()._send100Continue()

        _continueWanted = False

        def _send100Continue(self):
            # Twisted sends "100 Continue" while converting the headers,
            # before the servlet has seen them: hold it until it has, so a
            # client is not invited to upload a body a 401 or 413 refuses.
            self._continueWanted = True

        def requestComplete(self):
            self._requestEnded = True
            super().requestComplete()

        def unreadBody(self) -> float:
            return 0 if self._requestEnded else float("inf")

        def ignoreInput(self) -> None:
            """
            The response is complete without the rest of the request body:
            once it has gone, the stream is reset with NO_ERROR so the
            client stops sending (RFC 9113 8.1).
            """
            self._ignoring = True

        def receiveDataChunk(self, data, flowControlledLength):
            if self._ignoring:
                self._conn.openStreamWindow(self.streamID, flowControlledLength)
                return
            super().receiveDataChunk(data, flowControlledLength)

    class ServletH2Connection(H2Connection):
        """
        An HTTP/2 connection that the daemon can drain and count.
        """

        _closing = False
        _closed = False

        def _requestReceived(self, event):
            # Twisted's, with a ServletH2Stream dispatched once registered
            # (so that an answer written at once has its queue).
            streamID = event.stream_id
            stream = ServletH2Stream(
                streamID, self, event.headers, self.requestFactory, self.site,
                self.factory)
            self.streams[streamID] = stream
            self._streamCleanupCallbacks[streamID] = Deferred()
            self._outboundStreamQueues[streamID] = deque()
            try:
                self.priority.insert_stream(streamID)
            except priority.DuplicateStreamError:
                pass
            else:
                self.priority.block(streamID)
            stream.headReceived()

        # A response may now end before its request: frames still coming
        # for a stream Twisted has already forgotten are dropped (Twisted
        # would raise KeyError), their bytes given back to the window.

        def _requestDataReceived(self, event):
            if event.stream_id in self.streams:
                super()._requestDataReceived(event)
                return
            try:
                self.conn.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id)
            except ProtocolError:
                pass

        def _requestEnded(self, event):
            if event.stream_id in self.streams:
                super()._requestEnded(event)

        def _requestAborted(self, event):
            if event.stream_id in self.streams:
                super()._requestAborted(event)

        def writeHeaders(self, version, code, reason, headers, streamID):
            kept = [(name, value) for name, value in headers
                    if name.lower() not in CONNECTION_HEADERS]
            if len(kept) != len(headers):
                _log.debug("Connection-specific response headers dropped under HTTP/2")
            super().writeHeaders(version, code, reason, kept, streamID)

        # Twisted pauses a stream's producer only when the stream's
        # flow-control window is used up, and sends one frame per reactor
        # turn.  A servlet writing faster than that, to a client with wide
        # windows (httpx opens 16 MiB per stream), would pile its whole
        # response up in the stream's queue.  So a stream is also paused
        # while it has STREAM_BUFFER bytes queued or the transport is full,
        # and resumed once its queue is nearly empty, the transport has
        # room and the window allows: what an HTTP/1.1 transport does for
        # its request's producer.
        #
        # A write that fills a stream's buffer is framed at once unless the
        # send loop waits for the transport (or is running): as over
        # HTTP/1.1, a servlet writing large parts to a client that keeps
        # up is never paused, and sends a part per write, not per reactor
        # turn.  Small writes still wait and leave in one batch.

        _nextTurn: Any = None
        _framing = False

        def writeDataToStream(self, streamID, data):
            super().writeDataToStream(streamID, data)
            stream = self.streams.get(streamID)
            if stream is None:
                return
            queued = self._queued(streamID)
            if queued < STREAM_BUFFER:
                return
            if (not self._framing and self._consumerBlocked is None
                    and self._sendingDeferred is None):
                self._sendPrioritisedData()
                queued = self._queued(streamID)  # What that pass left.
            if stream._producerProducing and queued >= STREAM_BUFFER:
                stream.flowControlBlocked()

        def _queued(self, streamID) -> int:
            return _queuedBytes(self._outboundStreamQueues.get(streamID))

        def _window(self, streamID) -> int:
            try:
                return self.conn.local_flow_control_window(streamID)
            except ProtocolError:  # Closed in h2 already: nothing to send.
                return 0

        def _wakeStreams(self) -> None:
            if self._consumerBlocked is not None or not self._stillProducing:
                return
            for stream in list(self.streams.values()):
                if (stream.producer is not None and not stream._producerProducing
                        and self._queued(stream.streamID) < RESUME_BELOW):
                    # Resumes it only if its window has room.
                    stream.windowUpdated()

        def _sendPrioritisedData(self, *args):
            # Twisted's loop, which sends one DATA frame (16 KiB at most,
            # the client's usual SETTINGS_MAX_FRAME_SIZE) per reactor turn
            # and copies the rest of a chunk for every frame cut from it.
            # Here a turn frames up to SEND_BATCH bytes, up to PICK_FRAMES
            # frames per pick of the priority tree, cut from a memoryview
            # and framed here (L{_frameData}), and hands them to the
            # transport in one write (one TLS write), copied once.
            # A pass supersedes the one scheduled for the next turn (and
            # Twisted's first one, scheduled untracked); a parked loop is
            # woken by its Deferred when there is data again.
            turn, self._nextTurn = self._nextTurn, None
            if turn is not None and turn.active():
                turn.cancel()
            if not self._stillProducing or self._sendingDeferred is not None:
                return
            self._framing = True
            try:
                self._sendFrames()
            finally:
                self._framing = False

        def _sendFrames(self) -> None:
            conn = self.conn
            queues = self._outboundStreamQueues
            budget = SEND_BATCH
            pieces: list = []
            while budget > 0:
                try:
                    streamID = next(self.priority)
                except priority.DeadlockError:
                    # Nothing to send: wait until a stream has data again,
                    # then frame it a turn later, not inside the write that
                    # woke us (so a servlet's writes queue up as before, and
                    # leave in one batch).
                    self._writeFramed(pieces)
                    assert self._sendingDeferred is None
                    self._sendingDeferred = Deferred()
                    self._sendingDeferred.addCallback(self._sendNextTurn)
                    self._afterSending()
                    return
                if self._consumerBlocked is not None:
                    # Wait behind the transport.
                    self._writeFramed(pieces)
                    self._consumerBlocked.addCallback(self._sendPrioritisedData)
                    self._afterSending()
                    return
                queue = queues[streamID]
                frameData = queue.popleft()
                if frameData is _END_STREAM_SENTINEL:
                    conn.end_stream(streamID)
                    pieces.append(b"")  # Written even if nothing was framed.
                    self._writeFramed(pieces)
                    self._requestDone(streamID)
                    continue
                window = self._window(streamID)
                if window <= 0:
                    # No window: out of the tree until a WINDOW_UPDATE.
                    queue.appendleft(frameData)
                    self.priority.block(streamID)
                    continue
                size = min(window, PICK_FRAMES * conn.max_outbound_frame_size)
                if len(frameData) > size:
                    view = memoryview(frameData)
                    queue.appendleft(view[size:])
                    frameData = view[:size]
                self._frameData(streamID, frameData, pieces)
                budget -= len(frameData)
                if not queue:
                    self.priority.block(streamID)
                if self.remainingOutboundWindow(streamID) <= 0:
                    # Out in the order framed before the producer hears.
                    self._writeFramed(pieces)
                    self.streams[streamID].flowControlBlocked()
            self.resetTimeout()
            self._writeFramed(pieces)
            self._afterSending()
            self._nextTurn = self._reactor.callLater(0, self._sendPrioritisedData)

        def _frameData(self, streamID: int, data: Any, pieces: list) -> None:
            """
            What h2's C{send_data()} does for each frame of C{data} (within
            the stream's window): its state machines asked once, its windows
            shrunk by C{len(data)}; the frames' headers and slices go on
            C{pieces}, after anything h2 had buffered, so that C{send_data()}'s
            three copies of the payload (frame, buffer, C{data_to_send()})
            become one join in L{_writeFramed}.
            """
            conn = self.conn
            conn.state_machine.process_input(ConnectionInputs.SEND_DATA)
            stream = conn._get_stream_by_id(streamID)
            stream.state_machine.process_input(StreamInputs.SEND_DATA)
            buffered = conn.data_to_send()
            if buffered:
                pieces.append(buffered)
            size = len(data)
            step = conn.max_outbound_frame_size
            pack = FRAME_HEADER.pack
            view = memoryview(data)
            for start in range(0, size, step):
                frame = view[start:start + step]
                length = len(frame)
                pieces.append(pack(length >> 8, length & 0xFF, 0, 0, streamID))
                pieces.append(frame)
            stream.outbound_flow_control_window -= size
            conn.outbound_flow_control_window -= size

        def _sendNextTurn(self, *args) -> None:
            self._nextTurn = self._reactor.callLater(0, self._sendPrioritisedData)

        def _writeFramed(self, pieces: list) -> None:
            # What was framed, and what h2 buffered after it, in one write.
            if pieces:
                pieces.append(self.conn.data_to_send())
                data = b"".join(pieces)
                pieces.clear()
                if data:
                    self.transport.write(data)

        def _afterSending(self) -> None:
            # Twisted keeps a stream with queued data but no window in its
            # priority tree: its loop then sends nothing every reactor turn
            # (a busy loop for as long as the client keeps the window
            # shut).  Such streams leave the tree until a WINDOW_UPDATE.
            queues = self._outboundStreamQueues
            for streamID in list(self.streams):
                if queues.get(streamID) and self._window(streamID) <= 0:
                    self.priority.block(streamID)
            self._wakeStreams()

        def pauseProducing(self):
            super().pauseProducing()
            for stream in list(self.streams.values()):
                stream.flowControlBlocked()

        def resumeProducing(self):
            super().resumeProducing()
            self._wakeStreams()

        def _handleWindowUpdate(self, event):
            # Twisted's, with the streams woken through _wakeStreams().
            queues = self._outboundStreamQueues
            streamID = event.stream_id
            if streamID and streamID not in self.streams:
                return  # A late WINDOW_UPDATE for a finished stream.
            unblocked = None
            for candidate in (streamID,) if streamID else list(self.streams):
                if queues.get(candidate) and self._window(candidate) > 0:
                    self.priority.unblock(candidate)
                    unblocked = candidate
            if unblocked is not None and self._sendingDeferred is not None:
                # The loop waits for data: there is some again.
                d, self._sendingDeferred = self._sendingDeferred, None
                d.callback(unblocked)
            self._wakeStreams()

        def closeWhenIdle(self) -> None:
            """
            Say GOAWAY and close now if no stream is in progress, else once
            the last one is done.
            """
            self._closing = True
            if not self.streams:
                self._goAway()

        def _requestDone(self, streamID):
            stream = self.streams.get(streamID)
            if stream is not None and stream._ignoring and not stream._requestEnded:
                # The response went out before the request body: stop it.
                try:
                    self.conn.reset_stream(streamID, ErrorCodes.NO_ERROR)
                    self._tryToWriteControlData()
                except ProtocolError:
                    pass
            super()._requestDone(streamID)
            if self._closing and not self.streams and self._stillProducing:
                self._goAway()

        def _goAway(self) -> None:
            if self._closed or self.transport is None:
                return
            self._closed = True
            try:
                self.conn.close_connection()
                self._tryToWriteControlData()
            except ProtocolError:
                _log.failure("Sending GOAWAY failed")
            self.transport.loseConnection()

        def connectionLost(self, reason, _cancelTimeouts=True):
            super().connectionLost(reason, _cancelTimeouts)
            site = self.site
            if site is not None and hasattr(site, "channelClosed"):
                site.channelClosed(self)

else:  # pragma: no cover - h2 missing
    ServletH2Connection = ServletH2Stream = None


class ServletChannelProtocol(http._GenericHTTPChannelProtocol):
    """
    Twisted's protocol switch between HTTP/1.1 and HTTP/2, building a
    L{ServletH2Connection} when ALPN chose C{h2}.
    """

    def dataReceived(self, data: bytes) -> None:
        if self._negotiatedProtocol is None and ServletH2Connection is not None:
            transport = self._channel.transport
            negotiated = getattr(transport, "negotiatedProtocol", None)
            if negotiated == b"h2":
                self._switchToH2(transport)
        return super().dataReceived(data)

    def _switchToH2(self, transport: Any) -> None:
        # What Twisted's _GenericHTTPChannelProtocol does, with our class,
        # and with the site's connection set kept right.
        old = self._channel
        networkProducer = old._networkProducer
        networkProducer.unregisterProducer()
        old.setTimeout(None)
        channel = ServletH2Connection(getattr(self._site, "reactor", None))
        channel.requestFactory = self._requestFactory
        channel.site = self._site
        channel.factory = self._factory
        channel.timeOut = self._timeOut
        if self._callLater is not None:
            channel.callLater = self._callLater
        self._channel = channel
        connections = getattr(self._site, "connections", None)
        if connections is not None:
            connections.discard(old)
            connections.add(channel)
        channel.makeConnection(transport)
        networkProducer.registerProducer(channel, True)
        self._negotiatedProtocol = b"h2"
        if getattr(old, "_closing", False):
            # A drain started before the first bytes arrived.
            channel.closeWhenIdle()
