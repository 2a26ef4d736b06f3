"""
The servers the benchmarks compare, each one process on 127.0.0.1 that
prints its port and serves until SIGTERM.

    python bench/_servers.py FRAMEWORK SCENARIO [--log PATH] [--root DIR]

FRAMEWORK is servlet (netsvc_twisted's HttpDaemon), twisted (a bare
twisted.web Resource), aiohttp, tornado or klein; SCENARIO is hello,
form, stream or static.  ``--log`` turns the access log on, written to
PATH; without it each server logs nothing.  ``--root`` is the static
directory; ``--profile PATH`` runs the server under cProfile;
``--tls DIR`` serves the servlet over TLS (HTTP/1.1 and h2 by ALPN) with
DIR/cert.pem and DIR/key.pem.
"""

import argparse
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
HELLO = b"Hi there."


def example(name):
    return runpy.run_path(os.path.join(EXAMPLES, name))


def part(index):
    """Part ``index`` of a streamed body, the same for every server (E14's)."""
    global part
    part = example("slow_clients.py")["part"]
    return part(index)


def formReply(name, count):
    return ("Hello, %s: %d fields" % (name, count)).encode()


# -- Twisted based --------------------------------------------------------

def _quietTwisted():
    # Nobody reads the global log here: drop its start-up buffer, so no
    # server pays for keeping events (each still formats what it logs).
    from twisted.logger import globalLogBeginner

    globalLogBeginner.beginLoggingTo([], discardBuffer=True, redirectStandardIO=False)


class BareParts:
    """
    An IPushProducer writing parts of a body of ``size`` bytes to a
    twisted.web request as fast as the transport takes them.
    """

    def __init__(self, request, size):
        from twisted.internet import reactor

        self.request, self.left, self.index = request, size, 0
        self.paused = False
        request.registerProducer(self, True)
        reactor.callLater(0, self.resumeProducing)

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.left > 0:
            data = part(self.index)[: self.left]
            self.index += 1
            self.left -= len(data)
            self.request.write(data)
        if self.left <= 0 and self.request is not None:
            request, self.request = self.request, None
            request.unregisterProducer()
            request.finish()

    def pauseProducing(self):
        self.paused = True

    def stopProducing(self):
        self.paused = True
        self.left = 0


def bareStreamResource(default):
    """A twisted.web resource streaming ``?size=N`` bytes (default ``default``)."""
    from twisted.internet.interfaces import IPushProducer
    from twisted.web import resource, server
    from zope.interface import classImplements

    classImplements(BareParts, IPushProducer)

    class Stream(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            wanted = int(request.args.get(b"size", [default])[0])
            request.setHeader(b"content-type", b"application/octet-stream")
            request.setHeader(b"content-length", b"%d" % wanted)
            BareParts(request, wanted)
            return server.NOT_DONE_YET

    return Stream()


def twistedSite(root, logPath):
    from twisted.web import server

    class Site(server.Site):
        if not logPath:
            def log(self, request):
                pass

    return Site(root, logPath=logPath or None)


def listenTwisted(site):
    from twisted.internet import reactor

    port = reactor.listenTCP(0, site, interface="127.0.0.1", backlog=1024)
    print(port.getHost().port, flush=True)
    reactor.run()


def servlet(scenario, log, root, tls=""):
    from twisted.internet import reactor

    import netsvc_twisted as netsvc

    if scenario == "hello":
        server = example("hello.py")["HttpServer"]()
    elif scenario == "form":
        class Form(netsvc.FormServlet):
            def handleRequest(self):
                body = formReply(self.field("name"), len(self.fields()))
                self.sendResponse(200)
                self.sendHeader("Content-Type", "text/plain")
                self.sendHeader("Content-Length", str(len(body)))
                self.endHeaders()
                self.sendContent(body)
                self.endContent()

        class FormServer(netsvc.HttpServer):
            def servlet(self, session):
                return Form(session)

        server = FormServer()
    elif scenario == "stream":
        server = example("slow_clients.py")["HttpServer"]()
    else:
        server = netsvc.FileServer(root)
    os.environ.pop("OTCLIB_HTTPLOGCHANNEL", None)
    endpoint = "tcp:0:interface=127.0.0.1"
    if tls:
        endpoint = "ssl:0:interface=127.0.0.1:privateKey=%s:certKey=%s" % (
            os.path.join(tls, "key.pem"), os.path.join(tls, "cert.pem"))
    daemon = netsvc.HttpDaemon(endpoint, accessLog=log or None)
    daemon.attach("/", server)
    _quietTwisted()
    daemon.start().addCallback(lambda _: print(daemon.port(), flush=True))
    reactor.run()


def twisted(scenario, log, root, tls=""):
    from twisted.web import resource, static

    class Hello(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            return HELLO

    class Form(resource.Resource):
        isLeaf = True

        def render_POST(self, request):
            # twisted.web decodes url-encoded bodies into request.args.
            args = request.args
            request.setHeader(b"content-type", b"text/plain")
            return formReply(args[b"name"][0].decode(), len(args))

    if scenario == "hello":
        top = Hello()
    elif scenario == "form":
        top = Form()
    elif scenario == "stream":
        top = bareStreamResource(64 << 20)
    else:
        top = static.File(root)
    _quietTwisted()
    listenTwisted(twistedSite(top, log))


def klein(scenario, log, root, tls=""):
    from klein import Klein

    app = Klein()

    @app.route("/")
    def hello(request):
        request.setHeader(b"content-type", b"text/plain")
        return HELLO

    _quietTwisted()
    listenTwisted(twistedSite(app.resource(), log))


# -- asyncio based --------------------------------------------------------

def fileLogger(name, path):
    """A logging.Logger writing INFO lines to ``path``, or None."""
    import logging

    if not path:
        return None
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(logging.FileHandler(path))
    return logger


def aiohttp(scenario, log, root, tls=""):
    import asyncio

    from aiohttp import web

    async def hello(request):
        return web.Response(body=HELLO, content_type="text/plain")

    async def form(request):
        fields = await request.post()
        return web.Response(body=formReply(fields["name"], len(fields)),
                            content_type="text/plain")

    async def stream(request):
        size = int(request.query.get("size", 64 << 20))
        response = web.StreamResponse()
        response.content_type = "application/octet-stream"
        response.content_length = size
        await response.prepare(request)
        index = 0
        while size > 0:
            data = part(index)[:size]
            index += 1
            size -= len(data)
            await response.write(data)
        await response.write_eof()
        return response

    app = web.Application()
    if scenario == "hello":
        app.router.add_get("/", hello)
    elif scenario == "form":
        app.router.add_post("/", form)
    elif scenario == "stream":
        app.router.add_get("/", stream)
    else:
        app.router.add_static("/", root)

    async def main():
        runner = web.AppRunner(app, access_log=fileLogger("aiohttp.access", log))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def tornado(scenario, log, root, tls=""):
    import asyncio

    import tornado.web
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    class Hello(tornado.web.RequestHandler):
        def get(self):
            self.set_header("Content-Type", "text/plain")
            self.write(HELLO)

    settings = {}
    if fileLogger("tornado.access", log) is None:
        settings["log_function"] = lambda handler: None

    async def main():
        app = tornado.web.Application([("/", Hello)], **settings)
        sockets = bind_sockets(0, "127.0.0.1", backlog=1024)
        HTTPServer(app).add_sockets(sockets)
        print(sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


SERVERS = {"servlet": servlet, "twisted": twisted, "klein": klein,
           "aiohttp": aiohttp, "tornado": tornado}


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("framework", choices=sorted(SERVERS))
    parser.add_argument("scenario", choices=["hello", "form", "stream", "static"])
    parser.add_argument("--log", default="")
    parser.add_argument("--root", default="")
    parser.add_argument("--tls", default="", help="servlet: serve TLS with DIR/{cert,key}.pem")
    parser.add_argument("--profile", default="",
                        help="cProfile stats to this file when stopped")
    options = parser.parse_args()
    if not options.profile:
        SERVERS[options.framework](options.scenario, options.log, options.root, options.tls)
        return 0
    import cProfile
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt  # asyncio.run() unwinds, and the stats are written

    # The reactor stops on SIGTERM (its own handler replaces this one), so
    # the stats are written on the way out.
    signal.signal(signal.SIGTERM, stop)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        SERVERS[options.framework](options.scenario, options.log, options.root, options.tls)
    except KeyboardInterrupt:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(options.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
