"""
Real WSGI applications under WsgiServer, over 127.0.0.1: a Flask app and a
minimal Django project (settings made here, nothing on disk but a tmp
file) mounted at a path: the root route (PATH_INFO "/" below the mount,
PEP 3333), a JSON POST, a streamed response, a file sent through
wsgi.file_wrapper, a redirect and a 404; and wsgiref.validate around an
application, with its warnings made errors.
"""

import json
import sys
import types
import warnings
from wsgiref.validate import WSGIWarning, validator

import pytest
import pytest_twisted

from netsvc_twisted._hosting import _wsgi
from netsvc_twisted._hosting._wsgi import WsgiServer
from support import fetch, startDaemon

FILE_DATA = bytes(range(256)) * 1024 * 3  # 768 KiB: several blocks


@pytest.fixture
def fileWrappers(monkeypatch):
    """Counts the files sent through wsgi.file_wrapper."""
    wrapped = []

    def counting(filelike, blksize=8192):
        wrapped.append(blksize)
        return _wsgi.FileWrapper(filelike, max(blksize, _wsgi.FILE_BLOCK))

    monkeypatch.setattr(_wsgi, "fileWrapper", counting)
    return wrapped


@pytest.fixture
def dataFile(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_DATA)
    return path


def flaskApp(dataFile):
    import flask

    app = flask.Flask("netsvc_test_flask")

    @app.route("/")
    def root():
        return "flask root"

    @app.post("/echo")
    def echo():
        return {"got": flask.request.get_json(),
                "path": flask.request.script_root + flask.request.path}

    @app.route("/stream")
    def stream():
        return flask.Response((b"part%d," % i for i in range(100)), mimetype="text/plain")

    @app.route("/file")
    def sendFile():
        return flask.send_file(dataFile, mimetype="application/octet-stream")

    @app.route("/go")
    def go():
        return flask.redirect(flask.url_for("root"))

    return app


def djangoApp(dataFile):
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="netsvc-tests", ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="netsvc_test_django_urls", INSTALLED_APPS=[],
            MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
            APPEND_SLASH=True, USE_TZ=True)
        django.setup()
    from django import http
    from django.core.handlers.wsgi import WSGIHandler
    from django.shortcuts import redirect
    from django.urls import path

    def root(request):
        return http.HttpResponse("django root", content_type="text/plain")

    def echo(request):
        return http.JsonResponse({"got": json.loads(request.body),
                                  "path": request.path})

    def stream(request):
        return http.StreamingHttpResponse(
            (b"part%d," % i for i in range(100)), content_type="text/plain")

    def sendFile(request):
        return http.FileResponse(open(dataFile, "rb"),
                                 content_type="application/octet-stream")

    def go(request):
        return redirect("root")

    urls = types.ModuleType("netsvc_test_django_urls")
    urls.urlpatterns = [
        path("", root, name="root"), path("echo/", echo), path("stream/", stream),
        path("file/", sendFile), path("go/", go),
    ]
    sys.modules[urls.__name__] = urls
    from django.urls import clear_url_caches
    clear_url_caches()
    return WSGIHandler()


async def serve(daemons, path, app):
    daemon = await startDaemon({path: WsgiServer(app)})
    daemons.append(daemon)
    return daemon.port()


@pytest.mark.parametrize("framework", ["flask", "django"])
@pytest_twisted.ensureDeferred
async def test_framework_under_a_mount(daemons, dataFile, fileWrappers, framework):
    slash = "/" if framework == "django" else ""
    build = flaskApp if framework == "flask" else djangoApp
    port = await serve(daemons, "/" + framework, build(dataFile))
    base = "/" + framework

    # The root route, below the mount with its slash (PATH_INFO "/").
    reply = await fetch(port, "GET", base + "/")
    assert (reply.status, reply.body) == (200, b"%s root" % framework.encode())

    reply = await fetch(port, "POST", base + "/echo" + slash, b'{"a": [1, "\\u00e9"]}',
                        {"Content-Type": "application/json"})
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == {"got": {"a": [1, "é"]}, "path": base + "/echo" + slash}

    reply = await fetch(port, "GET", base + "/stream" + slash)
    assert reply.status == 200
    assert reply.body == b"".join(b"part%d," % i for i in range(100))

    reply = await fetch(port, "GET", base + "/file" + slash)
    assert (reply.status, reply.body) == (200, FILE_DATA)
    assert reply.headers["content-length"] == str(len(FILE_DATA))
    assert len(fileWrappers) == 1, "the file did not go through wsgi.file_wrapper"

    reply = await fetch(port, "GET", base + "/go" + slash)
    assert reply.status == 302 and reply.headers["location"] == base + "/"

    reply = await fetch(port, "GET", base + "/missing" + slash)
    assert reply.status == 404


@pytest_twisted.ensureDeferred
async def test_django_append_slash_redirect(daemons, dataFile):
    port = await serve(daemons, "/django", djangoApp(dataFile))
    reply = await fetch(port, "GET", "/django/echo")
    assert reply.status == 301 and reply.headers["location"] == "/django/echo/"


def plainApp(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["PATH_INFO"] == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        import io
        return environ["wsgi.file_wrapper"](io.BytesIO(FILE_DATA), 4096)
    out = json.dumps({"script": environ["SCRIPT_NAME"], "path": environ["PATH_INFO"],
                      "body": body.decode()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]


@pytest_twisted.ensureDeferred
async def test_wsgiref_validate(daemons):
    port = await serve(daemons, "/v", validator(plainApp))
    rootPort = await serve(daemons, "/", validator(plainApp))
    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        for number, path, script, info in [
            (port, "/v", "/v", ""), (port, "/v/", "/v", "/"), (port, "/v/a/b/", "/v", "/a/b/"),
            (rootPort, "/", "", "/"), (rootPort, "/x", "", "/x"),
        ]:
            reply = await fetch(number, "GET", path)
            assert reply.status == 200, (path, reply.body)
            assert json.loads(reply.body) == {"script": script, "path": info, "body": ""}
        reply = await fetch(port, "POST", "/v/p", b"hello", {"Content-Type": "text/plain"})
        assert json.loads(reply.body)["body"] == "hello"
        reply = await fetch(port, "GET", "/v/file")
        assert (reply.status, reply.body) == (200, FILE_DATA)
