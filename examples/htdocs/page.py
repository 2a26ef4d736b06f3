"""E17: a servlet whose template module is imported through the module
cache, so editing either file takes effect on the next request."""

import os

import netsvc_twisted as netsvc

template = netsvc.ModuleCache().importModule("template", os.path.dirname(__file__))


class PageServlet(netsvc.HttpServlet):
    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/html")
        self.endHeaders()
        self.sendContent(template.render("<p>Page body.</p>"))
        self.endContent()


__servlet__ = PageServlet
