# -*- test-case-name: tests.http.test_servlet -*-
"""
The request view handed to C{server.servlet(session)} and to servlets.

Accessors read the underlying twisted.web request lazily: most servlets
look at two or three attributes, so nothing is copied up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netsvc_twisted._http._paths import decodeText

if TYPE_CHECKING:
    from twisted.web.server import Request

    from netsvc_twisted._http._proxy import Forwarded
    from netsvc_twisted._http._response import Response


def _latin1(raw: bytes | None) -> str:
    return raw.decode("latin-1") if raw else ""


_METHODS = {
    method.encode("ascii"): method
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
}


def splitHostPort(value: str) -> tuple[str, str]:
    """
    Split a C{Host} value, keeping IPv6 brackets out of the port.
    """
    if value.startswith("["):
        end = value.find("]")
        if end != -1:
            rest = value[end + 1:]
            return value[1:end], rest[1:] if rest.startswith(":") else ""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return value, ""
    return host, port


class HttpSession:
    """
    One request as OSE's session object: request accessors plus
    C{bindServlet()}/C{bindSession()} for server objects.

    The argument of C{servlet(session)} (spec 4.3); servlets have the same
    accessors (spec 2.3).  It is only meaningful during its request.
    """

    response: Response
    # Until bound or asked for: class defaults, so a session costs four
    # attribute stores per request.
    _servletInfo = ""
    _sessionId = ""
    _sessionContext: Any = ""
    _remoteUser = ""
    _absoluteHost: str | None = None
    _hostPort: tuple[str, str] | None = None
    #: What a trusted proxy said about this request (netsvc_twisted._http._proxy).
    _forwarded: Forwarded | None = None

    def __init__(
        self,
        request: Request,
        requestPath: str,
        serverPath: str,
        servletPath: str,
        absoluteHost: str | None = None,
    ) -> None:
        self.request = request
        self._requestPath = requestPath
        self._serverPath = serverPath
        self._servletPath = servletPath
        if absoluteHost is not None:
            self._absoluteHost = absoluteHost

    # Binding, for server objects.

    def bindServlet(self, servletPath: str, servletInfo: str = "") -> None:
        """
        Replace the servlet path with C{servletPath} and set the extra path
        info to C{servletInfo} (spec 4.3), as L{FileServer} does for
        C{/script.py/extra/info}.
        """
        self._servletPath = servletPath
        self._servletInfo = servletInfo

    def bindSession(self, sessionId: str, sessionContext: Any = None) -> None:
        """
        Store the user session's C{sessionId} and C{sessionContext} (C{""} when
        L{None}), for the servlet to read with C{sessionId()} and
        C{sessionContext()} (spec 4.3, 7).
        """
        self._sessionId = sessionId
        self._sessionContext = "" if sessionContext is None else sessionContext

    def instance(self) -> HttpSession:
        """
        The session itself (OSE's internal handle, spec 4.3).
        """
        return self

    # Request accessors (spec 2.3).

    def requestMethod(self) -> str:
        """
        The request method, such as C{"GET"} (spec 2.3).
        """
        method = self.request.method
        return _METHODS.get(method) or _latin1(method)

    def protocolVersion(self) -> str:
        """
        The protocol as the client sent it, such as C{"HTTP/1.1"} (spec 2.3).
        """
        return _latin1(self.request.clientproto)

    def _serverAddress(self) -> tuple[str, str]:
        if self._hostPort is None:
            forwarded = self._forwarded
            value = self._absoluteHost
            if forwarded is not None and forwarded.host is not None:
                value = forwarded.host
            if value is None:
                raw = self.request.requestHeaders.getRawHeaders(b"host")
                value = _latin1(raw[0]) if raw else ""
            host, port = splitHostPort(value)
            if forwarded is not None and forwarded.port is not None:
                port = forwarded.port
            if not host:
                local = self.request.getHost()
                host = getattr(local, "host", "") or "localhost"
                port = port or str(getattr(local, "port", ""))
            elif not port:
                port = "443" if self.scheme() == "https" else "80"
            self._hostPort = (host, port)
        return self._hostPort

    def serverHost(self) -> str:
        """
        The host the client addressed: from the C{Host} header, else the
        listening address (spec 2.3; decisions.md, serverRoot).
        """
        return self._serverAddress()[0]

    def serverPort(self) -> str:
        """
        The port the client addressed, as a string (spec 2.3).
        """
        return self._serverAddress()[1]

    def scheme(self) -> str:
        """
        Beyond OSE: C{"https"} over TLS (or as a trusted proxy forwarded),
        else C{"http"}.
        """
        forwarded = self._forwarded
        if forwarded is not None and forwarded.proto is not None:
            return forwarded.proto
        return "https" if self.request.isSecure() else "http"

    def origin(self) -> str:
        """
        C{scheme://host[:port]} of this request, the prefix of absolute URLs.
        """
        host, port = self._serverAddress()
        scheme = self.scheme()
        if ":" in host:
            host = f"[{host}]"
        default = "443" if scheme == "https" else "80"
        return f"{scheme}://{host}" + ("" if port == default else f":{port}")

    def url(self) -> str:
        """
        The full URL of the request, query string included (spec 2.3).
        """
        uri = self.request.uri
        if uri.startswith((b"http://", b"https://")):
            if self._forwarded is None:
                return decodeText(uri)
            # Absolute form through a proxy: the proxy's origin, our path.
            _, _, rest = uri.partition(b"//")
            start = min(i for i in (rest.find(b"/"), rest.find(b"?"), len(rest)) if i >= 0)
            uri = rest[start:]
            uri = uri if uri.startswith(b"/") else b"/" + uri
        return self.origin() + decodeText(uri)

    def requestPath(self) -> str:
        """
        The request's path, percent-decoded and normalised, without the query
        string (spec 2.3).
        """
        return self._requestPath

    def queryString(self) -> str:
        """
        The query string as sent (not decoded), C{""} when none (spec 2.3).
        """
        _, _, query = self.request.uri.partition(b"?")
        return _latin1(query)

    def clientHost(self) -> str:
        """
        The client's IP address (spec 2.3); behind a trusted proxy, the
        forwarded client's.
        """
        forwarded = self._forwarded
        if forwarded is not None and forwarded.client is not None:
            return forwarded.client
        return getattr(self.request.getClientAddress(), "host", "") or ""

    def clientPort(self) -> str:
        """
        The client's port, as a string (spec 2.3); behind a trusted proxy,
        the forwarded one or "".
        """
        forwarded = self._forwarded
        if forwarded is not None and forwarded.client is not None:
            # The peer's port is the proxy's: only a forwarded one means anything.
            return forwarded.clientPort or ""
        port = getattr(self.request.getClientAddress(), "port", None)
        return "" if port is None else str(port)

    def remoteUser(self) -> str:
        """
        The login accepted by the server's C{authorise()}, else C{""} (spec
        2.3, 2.4).
        """
        return self._remoteUser

    def headers(self) -> dict[str, str]:
        """
        A new dict of the request headers: lower-case names, repeated headers
        joined with C{", "} (spec 2.3).
        """
        return {
            _latin1(name).lower(): ", ".join(decodeText(v) for v in values)
            for name, values in self.request.requestHeaders.getAllRawHeaders()
        }

    def containsHeader(self, name: str) -> bool:
        """
        Whether the request has header C{name} (spec 2.3; any case).
        """
        return self.request.requestHeaders.hasHeader(name.encode("latin-1"))

    def header(self, name: str) -> str:
        """
        The value of header C{name} (any case), repeated ones joined with
        C{", "} (spec 2.3).

        @raise KeyError: the request has no such header.
        """
        values = self.request.requestHeaders.getRawHeaders(name.encode("latin-1"))
        if values is None:
            raise KeyError(name)
        return ", ".join(decodeText(v) for v in values)

    def contentLength(self) -> int:
        """
        The C{Content-Length} as an int, -1 without one (a chunked body has
        none) (spec 2.3).
        """
        raw = self.request.requestHeaders.getRawHeaders(b"content-length")
        if not raw or not raw[0].strip().isdigit():
            return -1
        return int(raw[0])

    def contentType(self) -> str:
        """
        The whole C{Content-Type} value, parameters included; C{""} without one
        (spec 2.3).
        """
        raw = self.request.requestHeaders.getRawHeaders(b"content-type")
        return _latin1(raw[0]) if raw else ""

    def serverRoot(self) -> str:
        """
        The absolute URL of the mount point, C{scheme://host[:port]} plus
        C{serverPath()}, without a trailing slash except for C{/} (spec 2.3;
        decisions.md).
        """
        path = self._serverPath
        return self.origin() + ("" if path == "/" else path)

    def serverPath(self) -> str:
        """
        The path the server object is mounted at (spec 1.3, 2.3).
        """
        return self._serverPath

    def servletPath(self) -> str:
        """
        The rest of the request path below the mount, without a leading slash
        (spec 1.3, 2.3).
        """
        return self._servletPath

    def servletInfo(self) -> str:
        """
        Extra path info set with C{bindServlet()}, else C{""} (spec 2.3, 6.2).
        """
        return self._servletInfo

    def sessionId(self) -> str:
        """
        The user session id set with C{bindSession()}, else C{""} (spec 7).
        """
        return self._sessionId

    def sessionContext(self) -> Any:
        """
        The user session context set with C{bindSession()}, else C{""} (spec 7).
        """
        return self._sessionContext


#: The accessor names a servlet exposes by delegating to its session.
ACCESSORS = (
    "requestMethod", "url", "protocolVersion", "serverHost", "serverPort",
    "requestPath", "queryString", "clientHost", "clientPort", "remoteUser",
    "headers", "containsHeader", "header", "contentLength", "contentType",
    "serverRoot", "serverPath", "servletPath", "servletInfo", "sessionId",
    "sessionContext",
)
