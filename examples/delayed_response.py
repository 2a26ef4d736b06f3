"""
E10 and E11 (OSE Python Manual pp. 97-99): a delayed response, and
cleaning up when the client goes away first.

The servlet sends its headers at once and the body ten seconds later
from an agent timer.  If the client disconnects before that,
``destroyServlet()`` cancels the timer so the servlet can be collected.

Run with ``python examples/delayed_response.py [port]``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class HttpServlet(netsvc.HttpServlet, netsvc.Agent):
    delay = 10

    def __init__(self, session):
        netsvc.HttpServlet.__init__(self, session)
        netsvc.Agent.__init__(self)

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.flushContent()
        self.startTimer(self.completeResponse, self.delay, "timeout")

    def completeResponse(self):
        self.sendContent("Hi there.")
        self.endContent()

    def destroyServlet(self):
        netsvc.HttpServlet.destroyServlet(self)
        self.destroyReferences()


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        return HttpServlet(session)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/", HttpServer())
    daemon.start()
    dispatcher.run()
