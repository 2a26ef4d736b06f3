"""PythonPlugin and other plugins over real sockets: __servlet__ kinds,
reload on edit, syntax errors as 500 with a logged traceback."""

import os
import textwrap

import pytest
import pytest_twisted

from netsvc_twisted._files._server import FileServer
from netsvc_twisted._files._servlet import FileServlet
from netsvc_twisted._files._modulecache import ModuleCache
from netsvc_twisted._files._plugins import PythonPlugin

from support import failuresIn, fetch, startDaemon

_tick = [1_900_000_000 * 10**9]

HELLO = """
    import netsvc_twisted as netsvc

    class HttpServlet(netsvc.HttpServlet):
        def processRequest(self):
            self.sendResponse(200)
            self.sendHeader("Content-Type", "text/plain")
            self.endHeaders()
            self.sendContent({text!r})
            self.endContent()

    __servlet__ = HttpServlet
"""


def write(path, text):
    path.write_text(textwrap.dedent(text))
    _tick[0] += 10**9
    os.utime(path, ns=(_tick[0], _tick[0]))


@pytest.fixture
def unloaded():
    """Afterwards, no module the test's plugins loaded is left in the cache."""
    yield
    cache = ModuleCache()
    for label in cache.cachedModules():
        cache.unloadModule(label)


async def serve(daemons, directory, configure=None):
    server = FileServer(str(directory))
    server.plugin(".py", PythonPlugin())
    if configure is not None:
        configure(server)
    daemon = await startDaemon({"/": server})
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_servlet_class_and_reload(daemons, tmp_path, unloaded, logEvents):
    write(tmp_path / "hello.py", HELLO.format(text="Hi there."))
    port = await serve(daemons, tmp_path)
    reply = await fetch(port, path="/hello.py")
    assert (reply.status, reply.body) == (200, b"Hi there.")
    write(tmp_path / "hello.py", HELLO.format(text="Changed."))
    assert (await fetch(port, path="/hello.py")).body == b"Changed."
    assert failuresIn(logEvents) == []


@pytest_twisted.ensureDeferred
async def test_function_and_proxy(daemons, tmp_path, unloaded):
    write(tmp_path / "choose.py", """
        import netsvc_twisted as netsvc

        class Yes(netsvc.HttpServlet):
            def processRequest(self):
                self.sendResponse(200)
                self.endHeaders()
                self.sendContent("yes " + self.servletInfo())
                self.endContent()

        def __servlet__(session):
            if session.servletInfo() == "no":
                return netsvc.ErrorServlet(session, 403)
            return Yes(session)
    """)
    write(tmp_path / "proxy.py", """
        import netsvc_twisted as netsvc

        made = []

        class Greeting(netsvc.HttpServlet):
            def __init__(self, session, greeting):
                super().__init__(session)
                self.greeting = greeting
                made.append(id(self))

            def processRequest(self):
                self.sendResponse(200)
                self.endHeaders()
                self.sendContent("%s %d" % (self.greeting, len(made)))
                self.endContent()

        class ServletProxy:
            def __call__(self, session):
                return Greeting(session, "hello")

        __servlet__ = ServletProxy()
    """)
    port = await serve(daemons, tmp_path)
    assert (await fetch(port, path="/choose.py/ok")).body == b"yes ok"
    assert (await fetch(port, path="/choose.py/no")).status == 403
    assert (await fetch(port, path="/proxy.py")).body == b"hello 1"
    # A new servlet per request; the module stays cached.
    assert (await fetch(port, path="/proxy.py")).body == b"hello 2"


@pytest_twisted.ensureDeferred
async def test_syntax_error_is_500_and_logged(daemons, tmp_path, unloaded, logEvents):
    write(tmp_path / "hello.py", HELLO.format(text="good"))
    port = await serve(daemons, tmp_path)
    assert (await fetch(port, path="/hello.py")).body == b"good"
    write(tmp_path / "hello.py", "def broken(:\n")
    reply = await fetch(port, path="/hello.py")
    assert reply.status == 500
    assert b"SyntaxError" not in reply.body and b"Traceback" not in reply.body
    assert any(f.check(SyntaxError) for f in failuresIn(logEvents))
    # Not the old good version either, on any later request.
    assert (await fetch(port, path="/hello.py")).status == 500
    write(tmp_path / "hello.py", HELLO.format(text="fixed"))
    assert (await fetch(port, path="/hello.py")).body == b"fixed"


@pytest_twisted.ensureDeferred
async def test_missing_servlet_attribute(daemons, tmp_path, unloaded, logEvents):
    write(tmp_path / "plain.py", "x = 1\n")
    port = await serve(daemons, tmp_path)
    assert (await fetch(port, path="/plain.py")).status == 500
    assert any(f.check(AttributeError) for f in failuresIn(logEvents))


@pytest_twisted.ensureDeferred
async def test_dependency_through_cache(daemons, tmp_path, unloaded):
    write(tmp_path / "template.py", "TITLE = 'one'\n")
    write(tmp_path / "page.py", """
        import os
        import netsvc_twisted as netsvc
        from netsvc_twisted._files._modulecache import ModuleCache

        template = ModuleCache().importModule("template", os.path.dirname(__file__))

        class Page(netsvc.HttpServlet):
            def processRequest(self):
                self.sendResponse(200)
                self.endHeaders()
                self.sendContent(template.TITLE)
                self.endContent()

        __servlet__ = Page
    """)
    port = await serve(daemons, tmp_path)
    assert (await fetch(port, path="/page.py")).body == b"one"
    write(tmp_path / "template.py", "TITLE = 'two'\n")
    assert (await fetch(port, path="/page.py")).body == b"two"


@pytest_twisted.ensureDeferred
async def test_alias_and_hidden_source(daemons, tmp_path, unloaded):
    write(tmp_path / "login.py", HELLO.format(text="login page"))

    def configure(server):
        server.plugin(".py", PythonPlugin(), ".html")
        server.plugin(".py", PythonPlugin(), "")
        server.hide(".py")

    port = await serve(daemons, tmp_path, configure)
    assert (await fetch(port, path="/login.html")).body == b"login page"
    assert (await fetch(port, path="/login")).body == b"login page"
    reply = await fetch(port, path="/login.py")
    assert reply.status == 404 and b"processRequest" not in reply.body


@pytest_twisted.ensureDeferred
async def test_plugin_kinds(daemons, tmp_path):
    (tmp_path / "a.txt").write_text("A")

    def factory(session, path):
        return FileServlet(session, path, "text/x-function")

    class Callable:
        def __call__(self, session, path):
            return FileServlet(session, path, "text/x-callable")

    for plugin, expected in ((factory, "text/x-function"),
                             (Callable(), "text/x-callable"),
                             (FileServlet, None)):
        server = FileServer(str(tmp_path))
        server.plugin(".txt", plugin)
        daemon = await startDaemon({"/": server})
        daemons.append(daemon)
        reply = await fetch(daemon.port(), path="/a.txt")
        assert reply.body == b"A"
        assert reply.headers.get("content-type") == expected
