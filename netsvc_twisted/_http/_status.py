# -*- test-case-name: tests.http.test_servlet -*-
"""
Status texts and the standard error page (spec 2.10).

The reason phrases are IANA's, not OSE's table with its typos
(decisions.md, open point 27).
"""

from http import HTTPStatus

_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def statusText(status: int) -> str:
    """
    The reason phrase of HTTP status code C{status}, such as C{"Not Found"}
    for 404 (spec 2.10; IANA's phrases, decisions.md), or
    C{"Unknown Status"}.
    """
    return _PHRASES.get(status, "Unknown Status")


def errorPage(status: int, body: str | None = None) -> bytes:
    """
    The OSE error page: one item per line, upper-case tags.  C{body} is
    HTML and inserted verbatim, as in OSE: callers escape it.
    """
    title = f"{status} {statusText(status)}"
    lines = ["<HTML>", "<HEAD>", "<TITLE>", title, "</TITLE>", "</HEAD>",
             "<BODY>", "<H2>", title, "</H2>"]
    if body:
        lines.append(body)
    lines += ["</BODY>", "</HTML>", ""]
    return "\n".join(lines).encode("utf-8")
