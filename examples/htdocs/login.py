"""E19: the servlet behind the ``login.html`` view."""

import netsvc_twisted as netsvc


class LoginPage(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/html")
        self.endHeaders()
        self.sendContent("<form method='post'>Login page (%s)</form>"
                         % self.servletPath())
        self.endContent()


__servlet__ = LoginPage
