# -*- test-case-name: tests.http.test_request_parsing -*-
"""
The strict reading of an HTTP/1.1 request head (RFC 9112, RFC 9110):
what L{ServletChannel} checks before a request exists, so that no
framing or routing leniency is left for a request smuggler to use.

The whole head is parsed at once, with one compiled pattern per line:
cheaper than twisted.web's line-by-line parsing, and a rule broken
anywhere refuses the head before any of it is acted on.  docs/limits.md
lists every rule and its status.
"""

from __future__ import annotations

import ipaddress
import re

#: The methods an C{Allow} header names, for C{OPTIONS *} and a refused
#: C{CONNECT}: a servlet may take any, these are the common ones.
ALLOW = b"GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"
#: The largest Content-Length or chunk size taken (RFC 9112 6.3, 7.1:
#: a recipient must not overflow; 2**63-1 is what an off_t holds).
MAX_LENGTH = 2**63 - 1

# Method: upper-case letters, "-" and "_" (what nginx takes: every
# registered method, never a lower-case spelling of one).  Target:
# visible ASCII and obs-text, but no "#" (RFC 9112 3.2 has no fragment),
# no control character, no DEL.
_REQUEST_LINE = re.compile(
    rb"([A-Z_-]+) ([\x21\x22\x24-\x7e\x80-\xff]+) HTTP/([0-9]\.[0-9])")
_VERSION_ONLY = re.compile(rb"[^ ]+ [^ ]+ HTTP/[0-9]\.[0-9]")
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# field-line = field-name ":" OWS field-value OWS; field-value without
# CTLs (but HTAB) or DEL, and without leading or trailing whitespace.
_VCHAR = rb"[\x21-\x7e\x80-\xff]"
FIELD_LINE = re.compile(
    rb"(" + _TOKEN + rb"):[ \t]*((?:" + _VCHAR + rb"+(?:[ \t]+" + _VCHAR + rb"+)*)?)[ \t]*")
TOKEN = re.compile(_TOKEN)
# uri-host [":" port] (RFC 3986 3.2.2): IP-literal, or a reg-name (which
# also covers IPv4address).  "," is a sub-delim, but refused: it is what
# two Host lines joined by a proxy look like.
_HOST = re.compile(
    rb"(\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+;=:-]+\]"
    rb"|(?:[A-Za-z0-9._~!$&'()*+;=-]|%[0-9A-Fa-f]{2})+)"
    rb"(?::([0-9]{0,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?")
_ABSOLUTE = re.compile(rb"([A-Za-z][A-Za-z0-9+.-]*)://([^/?]*)(.*)", re.S)
_DEFAULT_PORTS = {b"http": b"80", b"https": b"443"}
#: Fields whose every line the rules below look at (lower-case).
_FRAMING = frozenset((b"host", b"content-length", b"transfer-encoding", b"authorization"))
_DECIMAL = re.compile(rb"[0-9]+").fullmatch
_HEXADECIMAL = re.compile(rb"[0-9A-Fa-f]+").fullmatch
_VERSIONS = {b"1.1": b"HTTP/1.1", b"1.0": b"HTTP/1.0"}

#: What L{parseHead} returns: method, target, version, fields, length.
Head = tuple[bytes, bytes, bytes, list[tuple[bytes, bytes]], "int | None"]


class BadRequest(Exception):
    """
    A head refused: the status, a short message for the client (and the
    log), and extra response headers.
    """

    def __init__(self, status: int, message: str,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.headers = headers


def parseHead(head: bytes, maxFields: int) -> Head:
    """
    Parse a request head (its lines without the final empty line) into
    (method, target, version, fields, length) or raise L{BadRequest}.
    C{fields} are (name, value) pairs in order, OWS stripped; C{length}
    is the body's: 0, a Content-Length, or L{None} for chunked.
    """
    lines = head.split(b"\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        if _VERSION_ONLY.fullmatch(lines[0]) and not lines[0].endswith((b"1.0", b"1.1")):
            raise BadRequest(505, "HTTP version not supported.")
        raise BadRequest(400, "Bad request line.")
    method, target, number = match.groups()
    version = _VERSIONS.get(number)
    if version is None:
        raise BadRequest(505, "HTTP version not supported.")
    del lines[0]
    if len(lines) > maxFields:
        raise BadRequest(431, "Too many header fields.")
    fields = []
    framing: dict[bytes, list[bytes]] = {}
    match = FIELD_LINE.fullmatch
    for line in lines:
        field = match(line)
        if field is None:
            if line[:1] in (b" ", b"\t"):
                raise BadRequest(400, "Folded header line (obs-fold).")
            raise BadRequest(400, "Bad header line.")
        pair = field.groups()
        fields.append(pair)
        lower = pair[0].lower()
        if lower in _FRAMING:
            values = framing.get(lower)
            if values is None:
                framing[lower] = [pair[1]]
            else:
                values.append(pair[1])
    hosts = framing.get(b"host")
    if (len(framing) == 1 and hosts is not None and len(hosts) == 1
            and target[:1] == b"/" and method != b"CONNECT" and validHost(hosts[0])):
        # The common head: one valid Host, origin-form, no body.
        return method, target, version, fields, 0
    length = _bodyLength(framing, version)
    _checkHost(hosts, version)
    _checkTarget(method, target)
    if len(framing.get(b"authorization", ())) > 1:
        raise BadRequest(400, "Duplicate Authorization header.")
    return method, target, version, fields, length


def _bodyLength(framing: dict[bytes, list[bytes]], version: bytes) -> int | None:
    codings = framing.get(b"transfer-encoding")
    lengths = framing.get(b"content-length")
    if codings is not None:
        if lengths is not None:
            raise BadRequest(400, "Both Content-Length and Transfer-Encoding.")
        if version != b"HTTP/1.1":
            # RFC 9112 6.1: faulty framing in HTTP/1.0.
            raise BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request.")
        items = [item.strip(b" \t").lower() for item in b",".join(codings).split(b",")]
        if not all(TOKEN.fullmatch(item) for item in items):
            raise BadRequest(400, "Bad Transfer-Encoding.")
        if any(item != b"chunked" for item in items):
            raise BadRequest(501, "Transfer-Encoding not implemented.")
        if len(items) > 1:
            raise BadRequest(400, "Bad Transfer-Encoding.")
        return None
    if lengths is None:
        return 0
    if len(lengths) > 1:
        raise BadRequest(400, "Duplicate Content-Length.")
    return parseLength(lengths[0], 10)


def parseLength(value: bytes | bytearray, base: int) -> int:
    """
    A Content-Length (C{base} 10) or chunk size (16): digits only, at most
    L{MAX_LENGTH}, else L{BadRequest}.
    """
    digits = value.lstrip(b"0")
    # isdigit() and int() both take more than ASCII digits (and int()
    # signs, spaces and "_"): the pattern decides.
    valid = _DECIMAL if base == 10 else _HEXADECIMAL
    if valid(value) is None or len(digits) > 19:
        raise BadRequest(400, "Bad length.")
    length = int(digits or b"0", base)
    if length > MAX_LENGTH:
        raise BadRequest(400, "Bad length.")
    return length


def validHost(value: bytes) -> bool:
    """
    Whether a Host value or authority is a valid uri-host[:port].
    """
    if _HOST.fullmatch(value) is None:
        return False
    if value[:1] == b"[" and value[:2] != b"[v":
        try:
            ipaddress.IPv6Address(value[1:value.index(b"]")].decode("ascii"))
        except ValueError:
            return False
    return True


def checkHost(value: bytes, scheme: bytes = b"http") -> tuple[bytes, bytes]:
    """
    The (host, port) of a Host value or authority, lower-cased and with
    the scheme's default port; L{BadRequest} unless L{validHost}.
    """
    if not validHost(value):
        raise BadRequest(400, "Bad host.")
    host, port = _HOST.fullmatch(value).groups()  # type: ignore[union-attr]
    return host.lower(), (port or _DEFAULT_PORTS.get(scheme, b"")).lstrip(b"0") or b"0"


def _checkHost(values: list[bytes] | None, version: bytes) -> None:
    # RFC 9112 3.2: exactly one valid Host in HTTP/1.1, at most one in 1.0.
    if values is None:
        if version == b"HTTP/1.1":
            raise BadRequest(400, "Missing Host header.")
        return
    if len(values) > 1:
        raise BadRequest(400, "Duplicate Host header.")
    checkHost(values[0])


def _checkTarget(method: bytes, target: bytes) -> None:
    if method == b"CONNECT":
        raise BadRequest(405, "CONNECT is not supported.", ((b"allow", ALLOW),))
    if target[:1] == b"/":
        return
    if target == b"*":
        if method != b"OPTIONS":
            raise BadRequest(400, "Bad request target.")
        return
    match = _ABSOLUTE.fullmatch(target)
    if match is None:
        raise BadRequest(400, "Bad request target.")
    scheme, authority, rest = match.groups()
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS or rest[:1] not in (b"", b"/", b"?"):
        raise BadRequest(400, "Bad request target.")
    # RFC 9112 3.2.2: the target's authority is the one that counts (the
    # Host field is ignored, once checked); it is held to the Host rules.
    if b"@" in authority:
        raise BadRequest(400, "User information in the request target.")
    checkHost(authority, scheme)


def hostProblem(values: list[bytes] | None) -> str | None:
    """
    What is wrong with the Host values of an HTTP/2 request (its
    C{:authority} and any C{Host} field, which must agree), or L{None}.
    """
    if not values:
        return "Missing :authority."
    try:
        first = checkHost(values[0])
        if any(checkHost(value) != first for value in values[1:]):
            return "Host does not match :authority."
    except BadRequest as e:
        return e.message
    return None
