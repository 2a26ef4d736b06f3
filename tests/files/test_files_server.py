"""FileServer over real sockets: the search of spec 6.2, plugins, views,
hidden and dot files, symbolic links, listings."""

import os

import pytest
import pytest_twisted

import netsvc_twisted as netsvc
from netsvc_twisted._files._server import FileServer
from netsvc_twisted._files._servlet import FileServlet
from netsvc_twisted._files._plugins import FilePlugin

from support import fetch, startDaemon


class InfoServlet(netsvc.HttpServlet):
    """Shows what the plugin was given, to check the search's bindings."""

    def __init__(self, session, path):
        super().__init__(session)
        self.path = path

    def processRequest(self):
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/plain")
        self.endHeaders()
        self.sendContent("%s|%s|%s" % (self.servletPath(), self.servletInfo(),
                                       os.path.basename(self.path)))
        self.endContent()


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello world\n")
    (root / "page.html").write_text("<p>page</p>")
    (root / "code.py").write_text("print('hi')\n")
    (root / "notes.bak").write_text("backup")
    (root / ".secret").write_text("dot file")
    (root / "unknown.zzqx").write_bytes(b"\x00\x01")
    docs = root / "docs"
    docs.mkdir()
    (docs / "index.htm").write_text("index.htm")
    (docs / "index.html").write_text("index.html")
    (root / "bare").mkdir()
    (root / "odd").mkdir()
    (root / "odd" / "index.html").mkdir()
    (root / "cgi").mkdir()
    (root / "cgi" / "login.tool").write_text("")
    (root / "report.tool").write_text("")
    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE")
    os.symlink(outside, root / "link-out.txt")
    os.symlink(root / "hello.txt", root / "link-in.txt")
    os.symlink(tmp_path, root / "dirlink")
    os.mkfifo(root / "fifo")
    return root


async def serve(daemons, server, path="/"):
    daemon = await startDaemon({path: server})
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_plain_files(daemons, tree):
    server = FileServer(str(tree))
    port = await serve(daemons, server)
    reply = await fetch(port, path="/hello.txt")
    assert reply.status == 200
    assert reply.body == b"hello world\n"
    assert reply.headers["content-length"] == "12"
    assert reply.headers["content-type"] == "text/plain"
    reply = await fetch(port, path="/page.html")
    assert reply.headers["content-type"] == "text/html"
    reply = await fetch(port, path="/unknown.zzqx")
    assert reply.headers["content-type"] == "application/octet-stream"
    reply = await fetch(port, path="/missing.txt")
    assert reply.status == 404
    assert server.directory() == str(tree)


@pytest_twisted.ensureDeferred
async def test_map_index_hide(daemons, tree):
    server = FileServer(str(tree))
    server.map(".py", "text/plain")
    server.index("index.htm")
    server.index("index.html")
    server.hide(".bak")
    port = await serve(daemons, server)
    assert (await fetch(port, path="/code.py")).headers["content-type"] == \
        "text/plain"
    reply = await fetch(port, path="/docs?x=1")
    assert reply.status == 302
    assert reply.headers["location"] == "http://127.0.0.1:%d/docs/?x=1" % port
    reply = await fetch(port, path="/docs/")
    assert (reply.status, reply.body) == (200, b"index.htm")
    assert (await fetch(port, path="/docs/index.html")).body == b"index.html"
    assert (await fetch(port, path="/notes.bak")).status == 404
    assert (await fetch(port, path="/bare/")).status == 403
    assert (await fetch(port, path="/odd/")).status == 403
    assert (await fetch(port, path="/")).status == 403


@pytest_twisted.ensureDeferred
async def test_redirect_on_mount_root(daemons, tree):
    port = await serve(daemons, FileServer(str(tree / "docs")), "/docs")
    reply = await fetch(port, path="/docs")
    assert reply.status == 302
    assert reply.headers["location"] == "http://127.0.0.1:%d/docs/" % port


@pytest_twisted.ensureDeferred
async def test_plugins_and_extra_path_info(daemons, tree):
    server = FileServer(str(tree))
    server.plugin(".tool", InfoServlet)
    port = await serve(daemons, server)
    reply = await fetch(port, path="/cgi/login.tool/a/b")
    assert reply.body == b"cgi/login.tool|a/b|login.tool"
    reply = await fetch(port, path="/report.tool")
    assert reply.body == b"report.tool||report.tool"
    assert (await fetch(port, path="/hello.txt/extra")).status == 404
    assert (await fetch(port, path="/cgi/nothing.tool/x")).status == 404


@pytest_twisted.ensureDeferred
async def test_views(daemons, tree):
    (tree / "login.tool").write_text("")
    (tree / "feed.tool").write_text("")
    server = FileServer(str(tree))
    server.plugin(".tool", InfoServlet)
    server.plugin(".tool", InfoServlet, ".view")
    server.plugin(".tool", None, "")
    server.plugin(".tool", InfoServlet, "-xml.html")
    server.hide(".tool")
    port = await serve(daemons, server)
    # The factory gets the real file path (decisions.md).
    assert (await fetch(port, path="/login.view")).body == \
        b"login.view||login.tool"
    assert (await fetch(port, path="/login")).body == b"login||login.tool"
    assert (await fetch(port, path="/feed-xml.html")).body == \
        b"feed-xml.html||feed.tool"
    assert (await fetch(port, path="/login.view/p/q")).body == \
        b"login.view|p/q|login.tool"
    assert (await fetch(port, path="/login.tool")).status == 404
    assert (await fetch(port, path="/nothing.view")).status == 404
    assert (await fetch(port, path="/page.html")).status == 200


@pytest_twisted.ensureDeferred
async def test_default_plugin(daemons, tree):
    def default(session, path):
        return FileServlet(session, path, "x-test/default")

    port = await serve(daemons, FileServer(str(tree), default))
    assert (await fetch(port, path="/hello.txt")).headers["content-type"] == \
        "x-test/default"


@pytest_twisted.ensureDeferred
async def test_dot_files(daemons, tree):
    port = await serve(daemons, FileServer(str(tree)))
    assert (await fetch(port, path="/.secret")).status == 404
    port = await serve(daemons, FileServer(str(tree), dotFiles=True))
    assert (await fetch(port, path="/.secret")).body == b"dot file"


@pytest_twisted.ensureDeferred
async def test_symlinks(daemons, tree):
    port = await serve(daemons, FileServer(str(tree)))
    assert (await fetch(port, path="/link-in.txt")).body == b"hello world\n"
    reply = await fetch(port, path="/link-out.txt")
    assert reply.status == 404 and b"OUTSIDE" not in reply.body
    reply = await fetch(port, path="/dirlink/outside.txt")
    assert reply.status == 404 and b"OUTSIDE" not in reply.body
    assert (await fetch(port, path="/dirlink")).status == 404
    port = await serve(daemons, FileServer(str(tree), followLinks=True))
    assert (await fetch(port, path="/link-out.txt")).body == b"OUTSIDE"


@pytest_twisted.ensureDeferred
async def test_fifo_is_not_served(daemons, tree):
    port = await serve(daemons, FileServer(str(tree)))
    assert (await fetch(port, path="/fifo")).status == 404


@pytest_twisted.ensureDeferred
async def test_listings(daemons, tree):
    server = FileServer(str(tree), listings=True)
    server.hide(".bak")
    port = await serve(daemons, server)
    reply = await fetch(port, path="/")
    assert reply.status == 200
    assert b'href="hello.txt"' in reply.body
    assert b'href="docs/"' in reply.body
    assert b".secret" not in reply.body
    assert b"notes.bak" not in reply.body
    assert b"link-out" not in reply.body


def test_file_plugin_types():
    plugin = FilePlugin()
    assert plugin.mimeType("/x/a.html") == "text/html"
    assert plugin.mimeType("/x/a.tar.gz") == "application/octet-stream"
    assert plugin.mimeType("/x/noext") == "application/octet-stream"
    plugin.map(".py", "text/plain")
    assert plugin.mimeType("a.py") == "text/plain"
    plugin.map(".html", "text/html; charset=utf-8")
    assert plugin.mimeType("a.html") == "text/html; charset=utf-8"
