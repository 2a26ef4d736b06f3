"""
A servlet whose response is still in flight when SIGTERM arrives: it
finishes half a second after the shutdown began.  Prints "ready <port>".
"""

import signal
import sys

import netsvc_twisted as netsvc


class Slow(netsvc.HttpServlet, netsvc.Agent):
    def __init__(self, session):
        netsvc.HttpServlet.__init__(self, session)
        netsvc.Agent.__init__(self)

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("part one\n")
        self.flushContent()
        self.subscribeShutdown(self.shuttingDown)

    def shuttingDown(self, category):
        if category == netsvc.SHUTDOWN_PENDING:
            self.startTimer(self.finish, 0.5)

    def finish(self):
        self.sendContent("part two\n")
        self.endContent()

    def destroyServlet(self):
        netsvc.HttpServlet.destroyServlet(self)
        self.destroyAgent()


class Server(netsvc.HttpServer):
    def servlet(self, session):
        return Slow(session)


dispatcher = netsvc.Dispatcher()
dispatcher.monitor(signal.SIGTERM)
daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
daemon.attach("/", Server())
daemon.start()
print("ready", daemon.port(), flush=True)
dispatcher.run()
print("stopped", flush=True)
sys.exit(0)
