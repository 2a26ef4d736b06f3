"""
E4 (OSE Python Manual pp. 90-91, 114): client-host authorisation.

The daemon only accepts connections from the hosts in ``allowed``; any
other client sees its connection closed without a response.

Run with ``python examples/host_authorisation.py [port]``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class HttpDaemon(netsvc.HttpDaemon):
    allowed = ["127.0.0.1", "::1"]

    def authorise(self, host):
        return host in self.allowed


class EchoServer(netsvc.HttpServer):
    def servlet(self, session):
        return netsvc.EchoServlet(session)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/", EchoServer())
    daemon.start()
    dispatcher.run()
