"""E16: ``__servlet__`` as a function that picks the servlet to build."""

import netsvc_twisted as netsvc


class TextServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("You asked for %r." % self.servletInfo())
        self.endContent()


def __servlet__(session):
    if session.servletInfo() == "secret":
        return netsvc.ErrorServlet(session, 403)
    return TextServlet(session)
