"""
An application script that runs both as ``python examples/twistd_app.py``
and as ``twistd -n netsvc --config examples/twistd_app.py``.

The daemon is created without a port, ``HttpDaemon()``: under twistd the
``--listen`` options say where it listens (default ``tcp:8000``), run
standalone the first argument does (an int or an endpoint string such as
``tcp:0:interface=127.0.0.1``).  ``daemon.start()`` returns a Deferred
that fires once the daemon listens, under twistd too, so the message
below names the real port even for port 0.

``/`` greets; ``/echo/...`` describes the request (``EchoServlet``).

Run with ``twistd -n netsvc --config examples/twistd_app.py --listen
tcp:8080`` or ``python examples/twistd_app.py [port-or-endpoint]``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class HelloServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("Hello from netsvc.\n")
        self.endContent()


class HelloServer(netsvc.HttpServer):
    def servlet(self, session):
        return HelloServlet(session)


class EchoServer(netsvc.HttpServer):
    def servlet(self, session):
        return netsvc.EchoServlet(session)


def endpoint(argv):
    if len(argv) < 2:
        return None
    return int(argv[1]) if argv[1].isdigit() else argv[1]


def listening(port, daemon):
    if port is not None:
        print(f"Serving on http://localhost:{daemon.port()}/", flush=True)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(endpoint(sys.argv))
    daemon.attach("/", HelloServer())
    daemon.attach("/echo", EchoServer())
    daemon.start().addCallback(listening, daemon)
    dispatcher.run()
