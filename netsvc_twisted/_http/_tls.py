# -*- test-case-name: tests.http.test_write_path -*-
"""
Bigger, fewer TLS writes for C{ssl:} endpoints.

Twisted's TLS transport hands pyOpenSSL 16 KiB at a time, reads at most
32 KiB of records back after each, and puts every piece into the TCP
transport's buffer, which sends it a reactor turn later (and pauses the
producer at 64 KiB, so a 128 KiB response part always blocked).  Over
TLS that is three Python-level calls per 16 KiB and a blocked-cleared
round trip per part, where plain TCP has one C{send()}.

L{ServletTLSTransport} hands pyOpenSSL slices of a memoryview (no copy;
it still encrypts one 16 KiB record per call), reads the records back
once per L{TLS_WRITE} bytes, and sends them as L{netsvc_twisted._http._tcpsend.sendData}
sends plain responses: straight to the socket while the TCP transport
holds nothing, the rest through its buffer and flow control.
L{useServletTLS} installs it on a listening port made by an C{ssl:}
endpoint; any other port is left as it is.
"""

from __future__ import annotations

from typing import Any

from netsvc_twisted._http._tcpsend import sendData

try:
    from OpenSSL.SSL import Error, WantReadError
    from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory
    from twisted.python.failure import Failure
except ImportError:  # pragma: no cover - no pyOpenSSL: no TLS at all
    BufferingTLSTransport = TLSMemoryBIOFactory = None

#: Plaintext bytes encrypted before the records go to the socket (one
#: 128 KiB part of E14's servlet).
TLS_WRITE = 1 << 17
#: Bytes asked of the memory BIO per read: a whole L{TLS_WRITE} of records.
BIO_READ = TLS_WRITE + (1 << 12)


if BufferingTLSTransport is not None:

    class ServletTLSTransport(BufferingTLSTransport):
        """
        Twisted's TLS transport with larger writes into pyOpenSSL and its
        records sent without a detour through the TCP buffer.
        """

        def _write(self, bytes):
            # Twisted's _write, with slices of a memoryview (no copy) and
            # the BIO emptied once per TLS_WRITE bytes, not per record
            # (pyOpenSSL's partial-write mode returns after each record).
            if self._lostTLSConnection:
                return
            view = memoryview(bytes)
            size = len(view)
            done = flushed = 0
            tls = self._tlsConnection
            while done < size:
                try:
                    done += tls.send(view[done:done + TLS_WRITE])
                except WantReadError:
                    self._flushSendBIO()
                    self._bufferedWrite(bytes[done:])
                    return
                except Error:
                    self._tlsShutdownFinished(Failure())
                    return
                if done - flushed >= TLS_WRITE:
                    flushed = done
                    self._flushSendBIO()
            self._flushSendBIO()

        def _flushSendBIO(self):
            # Every record waiting in the BIO, in one write.
            tls = self._tlsConnection
            records = []
            while True:
                try:
                    chunk = tls.bio_read(BIO_READ)
                except WantReadError:
                    break
                records.append(chunk)
                if len(chunk) < BIO_READ:
                    break
            if records:
                sendData(self.transport, records)

else:  # pragma: no cover
    ServletTLSTransport = None


def useServletTLS(listening: Any) -> bool:
    """
    Make the TLS connections of C{listening} (a port from an C{ssl:}
    endpoint) use L{ServletTLSTransport}; false for any other port.
    """
    factory = getattr(listening, "factory", None)
    if (
        ServletTLSTransport is None or not isinstance(factory, TLSMemoryBIOFactory)
        or factory.protocol is not BufferingTLSTransport
    ):
        return False
    factory.protocol = ServletTLSTransport
    return True
