"""E15: a servlet class as ``__servlet__``; a new instance per request."""

import netsvc_twisted as netsvc


class HttpServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("Hi there.")
        self.endContent()


__servlet__ = HttpServlet
