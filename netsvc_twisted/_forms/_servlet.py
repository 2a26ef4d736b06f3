# -*- test-case-name: tests.forms.test_form_servlet -*-
"""
L{FormServlet} (spec 8.1 as amended by decisions.md): decodes a form
submission and calls C{handleRequest()}.

Bodies are decoded as they arrive (L{netsvc_twisted._forms._fields}), so an
upload costs bounded memory and a refused submission is answered as soon
as it is recognised.  What a submission keeps in memory is also counted
in the process's request-body budget (L{netsvc_twisted._http._budget}).
"""

from __future__ import annotations

from typing import Any, Optional

from netsvc_twisted._forms._fields import BUSY, FormError, FormLimits
from netsvc_twisted._forms._submission import FormSubmission, checkLength
from netsvc_twisted._http._budget import admit, hasBody, sendBusy
from netsvc_twisted._http._servlet import HttpServlet

__all__ = ["FormServlet"]


class FormServlet(HttpServlet):
    """Override C{handleRequest()}; read the form with C{containsField()},
    C{field()} and C{fields()}.

    Limits are class attributes, like C{_bufferedMaximum}, so a subclass
    or an instance may change them: C{_maximumBodySize} (413),
    C{_maximumFieldCount} (400), C{_maximumFieldSize} (413, per non-file
    value), C{_maximumMemorySize} (413 past that much text in all; also
    the most bytes of uploads kept in memory) and C{_spoolThreshold}
    (bytes of one upload kept in memory before it moves to a temporary
    file). None means unlimited.  When the process's request-body memory
    is spent, a POST gets 503 with C{Retry-After}.

    Spec 8.1; the limits are decisions.md's (9).
    """

    _maximumBodySize: Optional[int] = FormLimits.maximumBodySize
    _maximumFieldCount: Optional[int] = FormLimits.maximumFieldCount
    _maximumFieldSize: Optional[int] = FormLimits.maximumFieldSize
    _maximumMemorySize: Optional[int] = FormLimits.maximumMemorySize
    _spoolThreshold: int = FormLimits.spoolThreshold

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._fields: dict[str, Any] = {}
        self._submission: Optional[FormSubmission] = None

    # -- OSE API -----------------------------------------------------------

    def containsField(self, name: str) -> bool:
        """
        Whether the form has a field C{name} (spec 8.1).
        """
        return name in self._fields

    def field(self, name: str) -> Any:
        """
        The value of field C{name}: a C{str}, an L{UploadedFile}, or a list of
        them when the name came more than once (spec 8.1).

        @raise KeyError: the form has no such field.
        """
        return self._fields[name]

    def fields(self) -> dict[str, Any]:
        """
        Every field, as the dict C{field()} reads (spec 8.1).
        """
        return self._fields

    def handleRequest(self) -> None:
        """
        Hook: the form is decoded; read it with C{field()} and answer (spec
        8.1).  The default answers 501 (decisions.md, 8).
        """
        self.sendError(501)

    # -- hooks ---------------------------------------------------------------

    def _limits(self) -> FormLimits:
        return FormLimits(
            maximumBodySize=self._maximumBodySize,
            maximumFieldCount=self._maximumFieldCount,
            maximumFieldSize=self._maximumFieldSize,
            spoolThreshold=self._spoolThreshold,
            maximumMemorySize=self._maximumMemorySize)

    def processRequest(self) -> None:
        """
        Check the method and body (spec 8.1's table), decode a GET's query
        string and call C{handleRequest()}, or wait for a POST's body.
        """
        method = self.requestMethod()
        if method not in ("GET", "POST"):
            self.sendError(501, "Request method type is not supported.")
            return
        chunked = self.containsHeader("transfer-encoding")
        if method == "POST" and self.contentLength() < 0 and not chunked:
            self.sendError(400, "Content length required for POST.")
            return
        if method == "GET" and hasBody(self):
            self.sendError(400, "Unexpected content length for GET.")
            return
        query = self.queryString().encode("latin-1")
        limits = self._limits()
        try:
            if method == "GET":
                self._submission = FormSubmission(
                    "application/x-www-form-urlencoded", limits)
                self._submission.feed(query)
                return
            checkLength(limits, self.contentLength())
        except FormError as e:
            self._refuse(e)
            return
        hold = admit(self)
        if hold is None:
            return  # 503: the process's body memory is spent
        try:
            self._submission = FormSubmission(
                self.contentType(), limits, query, hold)
        except FormError as e:
            hold.release()
            self._refuse(e)

    def processContent(self, content: bytes) -> None:
        """
        Decode the next chunk C{content} of a POST body as it arrives
        (urlencoded or multipart), within the limits (spec 8.1).
        """
        submission = self._submission
        if submission is None:
            return
        try:
            submission.feed(content)
        except FormError as e:
            self._refuse(e)

    def processContentEnd(self) -> None:
        submission = self._submission
        if submission is None:
            return
        try:
            self._fields = submission.finish()
        except FormError as e:
            self._refuse(e)
            return
        self.handleRequest()

    def _refuse(self, error: FormError) -> None:
        submission, self._submission = self._submission, None
        if submission is not None:
            submission.close()
        if error.status == BUSY:
            sendBusy(self)
        else:
            self.sendError(error.status, error.message)

    def destroyServlet(self) -> None:
        """Uploaded files are temporary: they go with the servlet."""
        submission, self._submission = self._submission, None
        if submission is not None:
            submission.close()
        super().destroyServlet()
