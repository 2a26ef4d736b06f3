# -*- test-case-name: tests.hosting.test_proxy -*-
"""
Requests relayed by a reverse proxy: which peers are trusted, and what
their C{Forwarded} (RFC 7239) or C{X-Forwarded-For}/C{-Proto}/C{-Host}/
C{-Port} headers say about the client and the address it used.

Only a trusted peer's headers count; from anyone else they are ignored,
so a client cannot choose its own address.  The client is the right-most
address of the chain that is not a trusted proxy (each proxy appends the
peer it saw, so everything left of an untrusted hop may be forged).
Every value is checked before use: an address must parse as an IP
address, a protocol must be C{http} or C{https}, a host a plain host name
or address, a port a number from 1 to 65535.  Anything else is ignored,
never reflected into URLs, redirects or the log.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

import attrs

from netsvc_twisted._http._response import headerName

#: Peers trusted by C{twistd netsvc --proxy-headers} unless
#: C{--forwarded-allow-ips} says otherwise.
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
#: Trust decisions remembered per proxy address.
TRUST_CACHE = 1024
#: Hops of a forwarded chain looked at; a longer chain is cut there.
MAX_HOPS = 32

_FORWARDED = headerName(b"forwarded")
_X_FOR = headerName(b"x-forwarded-for")
_X_PROTO = headerName(b"x-forwarded-proto")
_X_HOST = headerName(b"x-forwarded-host")
_X_PORT = headerName(b"x-forwarded-port")

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = re.compile(
    rf"(?:(?P<name>{_LABEL}(?:\.{_LABEL})*\.?)|\[(?P<ip6>[0-9A-Fa-f:.]+)\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
#: One C{name=value} pair of a Forwarded element: a token, or a
#: quoted-string without escapes (none of the parameters needs one).
_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)=([!#$%&\'*+.^_`|~0-9A-Za-z:-]+|"[^"\\]*")\s*')


@attrs.define(slots=True)
class Forwarded:
    """
    What a trusted proxy said about one request; L{None} fields were not
    said (or not usable) and keep their values from the connection.
    """

    client: str | None = None
    clientPort: str | None = None
    proto: str | None = None
    host: str | None = None
    port: str | None = None


def validPort(value: str) -> str | None:
    """C{value} when it is a port number (1-65535), else L{None}."""
    if value.isascii() and value.isdigit() and len(value) <= 5 and 0 < int(value) < 65536:
        return str(int(value))
    return None


def validHost(value: str) -> str | None:
    """
    C{value} when it is a host name, an IPv4 address or a bracketed IPv6
    address, optionally with a valid port; else L{None}.
    """
    if len(value) > 261:
        return None
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    if match["ip6"] is not None and not _isAddress(match["ip6"], 6):
        return None
    if match["port"] is not None and validPort(match["port"]) is None:
        return None
    return value


def validProto(value: str) -> str | None:
    value = value.strip().lower()
    return value if value in ("http", "https") else None


def _isAddress(value: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or address.version == version


def parseNode(value: str) -> tuple[str, str | None] | None:
    """
    An address with an optional port as proxies write it (C{192.0.2.1},
    C{192.0.2.1:8080}, C{2001:db8::1}, C{[2001:db8::1]:8080}): the
    address in its normal form and the port; L{None} for anything else
    (C{unknown}, RFC 7239's obfuscated C{_names}, garbage).
    """
    value = value.strip()
    port = None
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        rest = value[end + 1:]
        value = value[1:end]
        if rest:
            if not rest.startswith(":") or validPort(rest[1:]) is None:
                return None
            port = rest[1:]
    elif value.count(":") == 1:
        value, _, port = value.partition(":")
        if validPort(port) is None:
            return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address), port


def parseForwarded(values: Iterable[bytes]) -> list[dict[str, str]] | None:
    """
    The elements of C{Forwarded} header lines, each a dict of lower-cased
    parameter names to unquoted values, left to right; L{None} when the
    header does not parse (then it is not used at all).
    """
    elements = []
    for line in values:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            return None
        for element in _splitElements(text):
            pairs: dict[str, str] = {}
            if element.strip():
                for pair in element.split(";"):
                    match = _PAIR.fullmatch(pair)
                    if match is None:
                        return None
                    name, value = match.groups()
                    pairs[name.lower()] = value.strip('"')
            elements.append(pairs)
    return elements


def _splitElements(text: str) -> list[str]:
    # Commas separate elements, except inside a quoted string.
    parts, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _listOf(raw: list[bytes] | None) -> list[str]:
    if not raw:
        return []
    text = b",".join(raw).decode("latin-1")
    return [item.strip() for item in text.split(",")]


class TrustedProxies:
    """
    The peers whose forwarding headers are believed: addresses and CIDR
    networks (C{"10.0.0.0/8"}, C{"::1"}), C{"unix"} for peers on a UNIX
    socket, C{"*"} for every peer.
    """

    def __init__(self, entries: Iterable[str] | str) -> None:
        if isinstance(entries, str):
            entries = entries.split(",")
        self.everyone = False
        self.unix = False
        networks = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            if entry == "*":
                self.everyone = True
            elif entry == "unix":
                self.unix = True
            else:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(
                        f"trusted proxy {entry!r} is not an IP address, a CIDR network, "
                        f"'unix' or '*'"
                    ) from None
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def __repr__(self) -> str:
        names = [str(n) for n in self.networks]
        names += ["unix"] * self.unix + ["*"] * self.everyone
        return f"TrustedProxies({','.join(names)!r})"

    def trusts(self, host: str) -> bool:
        """Whether the proxy at address C{host} is trusted."""
        if self.everyone:
            return True
        found = self._cache.get(host)
        if found is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                found = False
            else:
                if address.version == 6 and address.ipv4_mapped is not None:
                    address = address.ipv4_mapped
                found = any(address in network for network in self.networks)
            if len(self._cache) >= TRUST_CACHE:
                self._cache.clear()
            self._cache[host] = found
        return found

    def trustsPeer(self, peer: Any) -> bool:
        host = getattr(peer, "host", None)
        if host is None:
            return self.unix or self.everyone  # a UNIX socket peer
        return self.trusts(host)

    def resolve(self, request: Any) -> Forwarded | None:
        """
        What the headers of C{request} say, if its peer is trusted and
        they say anything usable; L{None} otherwise.
        """
        if not self.trustsPeer(request.getClientAddress()):
            return None
        headers = request.requestHeaders._rawHeaders
        raw = headers.get(_FORWARDED)
        if raw:
            elements = parseForwarded(raw)
            if elements:
                return self._fromForwarded(elements)
        if not (headers.get(_X_FOR) or headers.get(_X_PROTO) or headers.get(_X_HOST)
                or headers.get(_X_PORT)):
            return None
        return self._fromXForwarded(headers)

    def _walk(self, nodes: list[str]) -> tuple[int, tuple[str, str | None] | None]:
        """
        The index of the client's hop in C{nodes} (right-most untrusted
        address, or the left-most when all are trusted) and its address;
        an unusable value stops the walk and leaves the address of the
        nearest trusted hop (L{None} when there is none).
        """
        nearest = None
        last = len(nodes) - 1
        stop = max(0, len(nodes) - MAX_HOPS)
        for index in range(last, stop - 1, -1):
            node = parseNode(nodes[index])
            if node is None:
                return index, nearest
            if not self.trusts(node[0]):
                return index, node
            nearest = node
        return stop, nearest

    def _fromForwarded(self, elements: list[dict[str, str]]) -> Forwarded:
        index, node = self._walk([element.get("for", "") for element in elements])
        element = elements[index]
        host = validHost(element.get("host", ""))
        return _forwarded(node, validProto(element.get("proto", "")), host, None)

    def _fromXForwarded(self, headers: dict[bytes, list[bytes]]) -> Forwarded:
        clients = _listOf(headers.get(_X_FOR))
        index, node = self._walk(clients) if clients else (0, None)

        def hop(name: bytes) -> str:
            # A proxy appends its own hop: the value of the client's hop
            # when the lists line up, else the one the nearest proxy set.
            values = _listOf(headers.get(name))
            if not values:
                return ""
            return values[index] if len(values) == len(clients) else values[-1]

        return _forwarded(node, validProto(hop(_X_PROTO)), validHost(hop(_X_HOST)),
                          validPort(hop(_X_PORT)))


def _forwarded(node: tuple[str, str | None] | None, proto: str | None, host: str | None,
               port: str | None) -> Forwarded:
    client, clientPort = node if node is not None else (None, None)
    return Forwarded(client, clientPort, proto, host, port)


def trustedProxies(entries: Iterable[str] | str | None) -> TrustedProxies | None:
    """A L{TrustedProxies}, or L{None} (nobody trusted) for no entries."""
    if entries is None:
        return None
    proxies = TrustedProxies(entries)
    if not (proxies.networks or proxies.unix or proxies.everyone):
        return None
    return proxies


def applyForwarded(proxies: TrustedProxies, request: Any) -> Forwarded | None:
    """
    Resolve C{request}'s forwarding headers and note the client for the
    access log; the L{Forwarded} for its session, if any.
    """
    forwarded = proxies.resolve(request)
    # The access log reads the client from its channel's cache: one
    # request at a time on HTTP/1, a channel per stream on HTTP/2.
    # Checked as an IP address, the client needs no escaping; L{None}
    # makes the log look at the connection again.
    client = None if forwarded is None else forwarded.client
    try:
        request.channel._netsvcLogHost = None if client is None else client.encode("ascii")
    except AttributeError:
        pass
    return forwarded
