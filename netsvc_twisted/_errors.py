# -*- test-case-name: tests.http.test_servlet -*-
"""
Exceptions raised by the servlet API.
"""


class ResponseStateError(RuntimeError):
    """
    A response method was called out of order.

    OSE silently wrote such calls into the stream (a second status line,
    headers inside the body); raising instead keeps the wire correct and
    lets the normal exception policy deal with the servlet.

    decisions.md, response state (10); spec 2.6.
    """
