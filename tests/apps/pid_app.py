"""
An app for worker tests: every response names the process that made it.

GET /       -> 200, body "<pid>", headers X-Worker-Pid, X-Worker-Id and
               X-Metrics-Dir (the worker's environment)
GET /slow   -> 200, PARTS parts of "part N\n" one every DELAY seconds (a
               slow download still in flight when a drain begins)
Created without a port: twistd netsvc --listen gives its endpoint.  When
the file named by PID_APP_FAIL_IF exists, the script fails to start (a
broken deployment for a reload to meet).
"""

import os

import netsvc_twisted as netsvc

if os.path.exists(os.environ.get("PID_APP_FAIL_IF", "/nonexistent/")):
    raise SystemExit("pid_app: failing as asked")

PARTS = 20
DELAY = 0.1


class Pid(netsvc.HttpServlet):
    def processRequest(self):
        body = str(os.getpid())
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.sendHeader("Content-Length", str(len(body)))
        self.sendHeader("X-Worker-Pid", body)
        self.sendHeader("X-Worker-Id", os.environ.get("NETSVC_WORKER_ID", "-"))
        self.sendHeader("X-Metrics-Dir", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "-"))
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


class Slow(netsvc.HttpServlet, netsvc.Agent):
    def __init__(self, session):
        netsvc.HttpServlet.__init__(self, session)
        netsvc.Agent.__init__(self)
        self.sent = 0

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.sendHeader("X-Worker-Pid", str(os.getpid()))
        self.endHeaders()
        self.part()

    def part(self):
        self.sendContent(f"part {self.sent}\n")
        self.flushContent()
        self.sent += 1
        if self.sent < PARTS:
            self.startTimer(self.part, DELAY)
        else:
            self.endContent()

    def destroyServlet(self):
        netsvc.HttpServlet.destroyServlet(self)
        self.destroyAgent()


class Server(netsvc.HttpServer):
    def __init__(self, servletClass):
        netsvc.HttpServer.__init__(self)
        self.servletClass = servletClass

    def servlet(self, session):
        return self.servletClass(session)


daemon = netsvc.HttpDaemon()
daemon.attach("/", Server(Pid))
daemon.attach("/slow", Server(Slow))
daemon.start()
netsvc.Dispatcher().run()
