"""
E6 (OSE Python Manual pp. 91-92): a server object of your own.

Attached at ``/test``, it maps servlet paths to servlets: ``/test/echo``
echoes the request, ``/test/hello`` greets, anything else is a 404.

Run with ``python examples/custom_server.py [port]``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class HelloServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("Hello from %s.\n" % self.serverPath())
        self.endContent()


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        path = session.servletPath()
        if path == "echo":
            return netsvc.EchoServlet(session)
        if path == "hello":
            return HelloServlet(session)
        # The manual omits the session argument; the servlet needs it.
        return netsvc.ErrorServlet(session, 404)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/test", HttpServer())
    daemon.start()
    dispatcher.run()
