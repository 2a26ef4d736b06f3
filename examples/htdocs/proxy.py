"""E16: ``__servlet__`` as a proxy object that supplies constructor
arguments the plugin knows nothing about."""

import netsvc_twisted as netsvc


class GreetingServlet(netsvc.HttpServlet):
    def __init__(self, session, greeting):
        super().__init__(session)
        self._greeting = greeting

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("%s (servlet %x)" % (self._greeting, id(self)))
        self.endContent()


class ServletProxy:
    def __init__(self, greeting):
        self._greeting = greeting

    def __call__(self, session):
        return GreetingServlet(session, self._greeting)


__servlet__ = ServletProxy("Hello from a proxy.")
