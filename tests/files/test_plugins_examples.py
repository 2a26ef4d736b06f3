"""The manual's plugin examples E15-E19 (spec 11), built by the example
programs' own build() over a copy of examples/htdocs."""

import os
import runpy
import shutil

import pytest
import pytest_twisted

from netsvc_twisted._files import _modulecache

from support import LOCAL, fetch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_tick = [2_100_000_000 * 10**9]


@pytest.fixture
def htdocs(tmp_path):
    target = tmp_path / "htdocs"
    shutil.copytree(os.path.join(ROOT, "examples", "htdocs"), target)
    yield target
    cache = _modulecache.ModuleCache()
    for label in cache.cachedModules():
        cache.unloadModule(label)


def touch(path, text):
    path.write_text(text)
    _tick[0] += 10**9
    os.utime(path, ns=(_tick[0], _tick[0]))


async def serve(daemons, name, directory):
    build = runpy.run_path(os.path.join(ROOT, "examples", name),
                           run_name="example_" + name[:-3])["build"]
    daemon = build(LOCAL, str(directory))
    await daemon.start()
    assert daemon.startFailure is None
    daemons.append(daemon)
    return daemon.port()


@pytest_twisted.ensureDeferred
async def test_e15_servlet_file(daemons, htdocs):
    port = await serve(daemons, "python_plugins.py", htdocs)
    reply = await fetch(port, path="/hello.py")
    assert (reply.status, reply.body) == (200, b"Hi there.")
    assert (await fetch(port, path="/")).body.startswith(b"<html>")


@pytest_twisted.ensureDeferred
async def test_e16_function_and_proxy(daemons, htdocs):
    port = await serve(daemons, "python_plugins.py", htdocs)
    assert (await fetch(port, path="/select.py/news")).body == b"You asked for 'news'."
    assert (await fetch(port, path="/select.py/secret")).status == 403
    first = (await fetch(port, path="/proxy.py")).body
    second = (await fetch(port, path="/proxy.py")).body
    assert first.startswith(b"Hello from a proxy. (servlet ")
    assert second.startswith(b"Hello from a proxy. (servlet ")


@pytest_twisted.ensureDeferred
async def test_e17_module_cache(daemons, htdocs):
    port = await serve(daemons, "python_plugins.py", htdocs)
    assert b"<title>Module caching</title>" in (await fetch(port, path="/page.py")).body
    # Touch only the template: the page picks it up.
    source = (htdocs / "template.py").read_text()
    touch(htdocs / "template.py", source.replace('"Module caching"', '"Edited template"'))
    assert b"<title>Edited template</title>" in (await fetch(port, path="/page.py")).body
    # Touch the servlet file itself.
    source = (htdocs / "page.py").read_text()
    touch(htdocs / "page.py", source.replace("Page body.", "New body."))
    assert b"New body." in (await fetch(port, path="/page.py")).body


@pytest_twisted.ensureDeferred
async def test_e18_plugin_kinds(daemons, htdocs):
    port = await serve(daemons, "file_plugins.py", htdocs)
    for path, contentType in (("/function", "text/plain; charset=utf-8"),
                              ("/class", None), ("/object", "text/x-readme")):
        reply = await fetch(port, path=path + "/readme.txt")
        assert reply.body == b"Read me.\n"
        assert reply.headers.get("content-type") == contentType


@pytest_twisted.ensureDeferred
async def test_e19_aliases(daemons, htdocs):
    port = await serve(daemons, "aliases.py", htdocs)
    reply = await fetch(port, path="/login.html")
    assert (reply.status, reply.body) == (200, b"<form method='post'>Login page (login.html)</form>")
    assert (await fetch(port, path="/login.py")).status == 404
    assert (await fetch(port, path="/both/login.py")).body.startswith(b"<form")
    assert (await fetch(port, path="/both/login.html")).body.startswith(b"<form")
    assert (await fetch(port, path="/bare/login")).body.startswith(b"<form")
    assert (await fetch(port, path="/bare/login.py")).status == 404
