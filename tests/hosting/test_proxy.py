"""
Trusted proxies in memory: which peers are believed, the right-most
untrusted address, Forwarded and X-Forwarded-*, what the session, the
redirects and the access log then report, and malformed values ignored.
The real nginx is in test_proxy_nginx.py.
"""

from __future__ import annotations

import json

import pytest
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage

import netsvc_twisted as netsvc
from netsvc_twisted._hosting import _twistd
from netsvc_twisted._http._accesslog import AccessLog
from netsvc_twisted._http._proxy import (
    TrustedProxies,
    parseForwarded,
    parseNode,
    trustedProxies,
    validHost,
)
from netsvc_twisted.testing import MemoryDaemon, servletServer

ACCESSORS = ("clientHost", "clientPort", "serverHost", "serverPort", "serverRoot", "url")


class Describe(netsvc.HttpServlet):
    """Answers with what the session says about the addresses."""

    def processRequest(self):
        body = json.dumps({name: getattr(self, name)() for name in ACCESSORS})
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/json")
        self.endHeaders()
        self.sendContent(body)
        self.endContent()


def memory(trusted=None, servers=None, **kwargs):
    clock = MemoryReactorClock()
    daemon = netsvc.HttpDaemon(8000, reactor=clock, trustedProxies=trusted, **kwargs)
    return MemoryDaemon(servers or {"/app": servletServer(Describe)}, daemon=daemon, clock=clock)


def describe(daemon, headers, peer="127.0.0.1", path="/app/x?q=1", host="backend:8000"):
    connection = daemon.connect(peer)
    connection.request("GET", path, headers=[("Host", host), *headers])
    [reply] = connection.replies()
    assert reply.status == 200, reply
    return json.loads(reply.body)


def test_headers_are_ignored_by_default_even_from_localhost():
    seen = describe(memory(), [("X-Forwarded-For", "203.0.113.5"),
                               ("X-Forwarded-Proto", "https"),
                               ("Forwarded", "for=198.51.100.1;proto=https")])
    assert seen["clientHost"] == "127.0.0.1"
    assert seen["serverRoot"] == "http://backend:8000/app"


def test_headers_from_an_untrusted_peer_are_ignored():
    seen = describe(memory(["127.0.0.1"]), [("X-Forwarded-For", "203.0.113.5"),
                                            ("X-Forwarded-Host", "evil.example")],
                    peer="192.0.2.9")
    assert (seen["clientHost"], seen["serverHost"]) == ("192.0.2.9", "backend")


def test_x_forwarded_from_a_trusted_peer():
    seen = describe(memory(["127.0.0.1"]), [("X-Forwarded-For", "203.0.113.5"),
                                            ("X-Forwarded-Proto", "https"),
                                            ("X-Forwarded-Host", "shop.example")])
    assert seen == {
        "clientHost": "203.0.113.5", "clientPort": "",
        "serverHost": "shop.example", "serverPort": "443",
        "serverRoot": "https://shop.example/app",
        "url": "https://shop.example/app/x?q=1",
    }


def test_x_forwarded_port_and_a_port_in_the_host():
    daemon = memory(["127.0.0.0/8"])
    seen = describe(daemon, [("X-Forwarded-Proto", "https"),
                             ("X-Forwarded-Host", "shop.example"),
                             ("X-Forwarded-Port", "8443")])
    assert seen["serverRoot"] == "https://shop.example:8443/app"
    seen = describe(daemon, [("X-Forwarded-Host", "shop.example:8080")])
    assert (seen["serverPort"], seen["url"]) == ("8080", "http://shop.example:8080/app/x?q=1")
    # The proto alone keeps the Host header's name, and its port.
    seen = describe(daemon, [("X-Forwarded-Proto", "https")], host="www.example")
    assert seen["serverRoot"] == "https://www.example/app"


def test_the_right_most_untrusted_address_wins():
    daemon = memory(["127.0.0.1", "10.0.0.0/8"])
    chain = "198.51.100.7, 203.0.113.5, 10.1.2.3"
    assert describe(daemon, [("X-Forwarded-For", chain)])["clientHost"] == "203.0.113.5"
    # Several header lines are one list.
    seen = describe(daemon, [("X-Forwarded-For", "198.51.100.7"),
                             ("X-Forwarded-For", "10.9.9.9")])
    assert seen["clientHost"] == "198.51.100.7"
    # Only trusted hops: the left-most is the client.
    assert describe(daemon, [("X-Forwarded-For", "10.0.0.1, 10.0.0.2")])["clientHost"] == "10.0.0.1"


def test_the_proto_of_the_clients_hop_when_the_lists_line_up():
    daemon = memory(["127.0.0.1", "10.0.0.0/8"])
    seen = describe(daemon, [("X-Forwarded-For", "203.0.113.5, 10.1.2.3"),
                             ("X-Forwarded-Proto", "https, http")])
    assert seen["serverRoot"].startswith("https://")
    seen = describe(daemon, [("X-Forwarded-For", "203.0.113.5, 10.1.2.3"),
                             ("X-Forwarded-Proto", "https")])
    assert seen["serverRoot"].startswith("https://")


def test_rfc_7239_forwarded():
    daemon = memory(["127.0.0.1", "10.0.0.0/8"])
    value = ('for=198.51.100.7;proto=http, for="[2001:db8::17]:4711";proto=https;'
             'host=shop.example, for=10.0.0.3;proto=http')
    seen = describe(daemon, [("Forwarded", value), ("X-Forwarded-For", "192.0.2.1")])
    assert seen["clientHost"] == "2001:db8::17" and seen["clientPort"] == "4711"
    assert seen["serverRoot"] == "https://shop.example/app"
    # Case-insensitive names, an IPv4 address with a port.
    seen = describe(daemon, [("Forwarded", 'For="192.0.2.60:8080";Proto=HTTPS')])
    assert (seen["clientHost"], seen["clientPort"]) == ("192.0.2.60", "8080")
    assert seen["serverRoot"] == "https://backend:8000/app"


def test_unusable_addresses_stop_at_the_nearest_trusted_hop():
    daemon = memory(["127.0.0.1", "10.0.0.0/8"])
    # "unknown", an obfuscated name or garbage: nothing left of it counts.
    for chain in ("203.0.113.5, unknown, 10.1.2.3", "_hidden, 10.1.2.3",
                  "<script>, 10.1.2.3", "203.0.113.5:99999, 10.1.2.3"):
        assert describe(daemon, [("X-Forwarded-For", chain)])["clientHost"] == "10.1.2.3"
    # Nothing usable at all: the connection's peer.
    assert describe(daemon, [("X-Forwarded-For", "bogus")])["clientHost"] == "127.0.0.1"
    seen = describe(daemon, [("Forwarded", "for=unknown;proto=https")])
    assert (seen["clientHost"], seen["serverRoot"]) == ("127.0.0.1", "https://backend:8000/app")


@pytest.mark.parametrize("name, value", [
    ("X-Forwarded-Host", "evil.example/path"),
    ("X-Forwarded-Host", "evil.example@other"),
    ("X-Forwarded-Host", "<script>alert(1)</script>"),
    ("X-Forwarded-Host", "a b"),
    ("X-Forwarded-Host", "[not-an-ip]"),
    ("X-Forwarded-Host", "shop.example:0"),
    ("X-Forwarded-Host", "x" * 300),
    ("X-Forwarded-Proto", "javascript"),
    # ("X-Forwarded-Proto", "https\x7f") never gets here: the head parser
    # refuses DEL in any field value (400, tests/robustness/framing_cases.py).
    ("X-Forwarded-Port", "99999"),
    ("X-Forwarded-Port", "-1"),
    ("X-Forwarded-Port", "\xb2"),  # a digit to str.isdigit(), not to int()
    ("X-Forwarded-Port", "８０".encode().decode("latin-1")),
    ("Forwarded", 'for=203.0.113.5;host="evil.example/x"'),
    ("Forwarded", 'for=203.0.113.5;;;proto'),
    ("Forwarded", 'for="unterminated'),
    ("Forwarded", "for=\xff"),
])
def test_malformed_values_are_ignored(name, value):
    daemon = memory(["127.0.0.1"])
    seen = describe(daemon, [(name, value)])
    assert seen["serverRoot"] == "http://backend:8000/app"
    assert seen["clientHost"] in ("127.0.0.1", "203.0.113.5")


def test_redirects_follow_the_proxy(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("index")

    class ToPath(netsvc.HttpServlet):
        def processRequest(self):
            netsvc.RedirectServlet(self._session, "/elsewhere").processRequest()

    daemon = memory(["127.0.0.1"], {
        "/files": netsvc.FileServer(str(tmp_path)),
        "/old": netsvc.RedirectServer("/new"),
        "/to": servletServer(lambda session: netsvc.RedirectServlet(session, "/elsewhere")),
    })
    headers = [("Host", "backend:8000"), ("X-Forwarded-Proto", "https"),
               ("X-Forwarded-Host", "shop.example")]
    locations = {}
    for path in ("/files/docs", "/old/a/b?x=1", "/to"):
        connection = daemon.connect("127.0.0.1")
        connection.request("GET", path, headers=headers)
        [reply] = connection.replies()
        locations[path] = (reply.status, reply.header("location"))
    assert locations == {
        "/files/docs": (302, "https://shop.example/files/docs/"),
        "/old/a/b?x=1": (301, "https://shop.example/new/a/b?x=1"),
        "/to": (302, "https://shop.example/elsewhere"),
    }


def test_access_log_shows_the_forwarded_client(tmp_path):
    path = tmp_path / "access.log"
    daemon = memory(["127.0.0.1"])
    daemon.daemon.site.accessLog = log = AccessLog(str(path))
    connection = daemon.connect("127.0.0.1")
    for client in ("203.0.113.5", "198.51.100.7"):
        # Two clients on one kept-alive proxy connection.
        connection.request("GET", "/app/", headers=[("X-Forwarded-For", client)])
    connection.request("GET", "/app/", headers=[("X-Forwarded-For", "<bad>")])
    assert [r.status for r in connection.replies()] == [200, 200, 200]
    log.flush()
    hosts = [line.split(" ")[0] for line in path.read_text().splitlines()]
    assert hosts == ["203.0.113.5", "198.51.100.7", "127.0.0.1"]


def test_absolute_form_target_through_a_proxy():
    seen = describe(memory(["127.0.0.1"]), [("X-Forwarded-Host", "shop.example")],
                    path="http://backend:8000/app/y?z=2")
    assert seen["url"] == "http://shop.example/app/y?z=2"


def test_parsers():
    assert parseNode("[2001:db8::1]:80") == ("2001:db8::1", "80")
    assert parseNode("2001:db8::1") == ("2001:db8::1", None)
    assert parseNode("::ffff:192.0.2.1") == ("192.0.2.1", None)
    assert parseNode("192.0.2.1:8080") == ("192.0.2.1", "8080")
    for bad in ("unknown", "_x", "[::1", "[::1]x", "1.2.3.4:", "300.1.1.1", ""):
        assert parseNode(bad) is None, bad
    assert parseForwarded([b'for=a, for="b, c";by=d']) == [
        {"for": "a"}, {"for": "b, c", "by": "d"}]
    assert parseForwarded([b"for a"]) is None
    assert validHost("[::1]:8080") and validHost("shop.example.") and validHost("10.0.0.1")
    assert not validHost("[::1]:65536") and not validHost("sh op")


def test_trusted_entries():
    proxies = TrustedProxies("10.0.0.0/8, ::1,unix")
    assert proxies.trusts("10.200.0.1") and proxies.trusts("::1")
    assert proxies.trusts("::ffff:10.0.0.1") and not proxies.trusts("11.0.0.1")
    assert proxies.unix and not proxies.trusts("garbage")
    assert TrustedProxies(["*"]).trusts("192.0.2.1")
    assert trustedProxies([]) is None and trustedProxies(None) is None
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not an IP address"):
        netsvc.HttpDaemon(8000, trustedProxies=["10.0.0.0/33"])


def script(tmp_path, text="import netsvc_twisted as netsvc\ndaemon = netsvc.HttpDaemon()\n"):
    path = tmp_path / "app.py"
    path.write_text(text)
    return str(path)


def service(*args):
    options = _twistd.Options()
    options.parseOptions(list(args))
    return _twistd.makeService(options)


def test_twistd_proxy_options(tmp_path):
    app = script(tmp_path)
    [child] = service("--config", app, "--proxy-headers")
    proxies = child.daemon.site.proxies
    assert proxies.trusts("127.0.0.1") and proxies.trusts("::1")
    assert not proxies.trusts("10.0.0.1")
    [child] = service("--config", app, "--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8")
    assert child.daemon.site.proxies.trusts("10.0.0.1")
    assert not child.daemon.site.proxies.trusts("127.0.0.1")
    [child] = service("--config", app)
    assert child.daemon.site.proxies is None
    # A daemon's own list is kept.
    own = script(tmp_path, "import netsvc_twisted as netsvc\n"
                 "daemon = netsvc.HttpDaemon(trustedProxies=['192.0.2.0/24'])\n")
    [child] = service("--config", own, "--proxy-headers")
    assert child.daemon.site.proxies.trusts("192.0.2.1")
    assert not child.daemon.site.proxies.trusts("127.0.0.1")


def test_twistd_proxy_option_errors(tmp_path):
    with pytest.raises(usage.UsageError, match="--forwarded-allow-ips: trusted proxy 'nope' is not"):
        _twistd.Options().parseOptions(["--config", "x", "--forwarded-allow-ips", "nope"])
    # Refused with the command line, before the script runs.
    with pytest.raises(usage.UsageError, match="^--forwarded-allow-ips needs --proxy-headers$"):
        _twistd.Options().parseOptions(["--config", "x", "--forwarded-allow-ips", "10.0.0.1"])
