"""
The hello world request path in memory: no sockets, no wrk, no reactor
turns, so the figures move only with the code.

Each case feeds ``GET / HTTP/1.1`` (what wrk sends) to one keep-alive
channel on a Twisted StringTransport, N times, and prints microseconds
per request (process CPU time, best of ``--repeat`` runs) and, under cProfile, Python
function calls per request (exact).  Cases: a bare twisted.web Resource
on a Site (what bench/run.py's "twisted" server runs) and examples/hello.py's
servlet through an HttpDaemon, each with the access log off and on.

    python bench/micro.py [--requests N] [--repeat N] [--profile CASE] [--top N]
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"


def twistedSite(logPath):
    from twisted.internet.testing import MemoryReactorClock
    from twisted.web import resource, server

    class Hello(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            return b"Hi there."

    class Site(server.Site):
        if not logPath:
            def log(self, request):
                pass

    return Site(Hello(), logPath=logPath, reactor=MemoryReactorClock())


def servletSite(logPath):
    import runpy

    from twisted.internet.testing import MemoryReactorClock

    import netsvc_twisted as netsvc

    hello = runpy.run_path(os.path.join(HERE, "..", "examples", "hello.py"))
    daemon = netsvc.HttpDaemon("tcp:0", accessLog=logPath, reactor=MemoryReactorClock())
    daemon.attach("/", hello["HttpServer"]())
    return daemon.site


def connect(site):
    from twisted.internet.address import IPv4Address
    from twisted.internet.testing import StringTransport

    address = IPv4Address("TCP", "127.0.0.1", 40000)
    protocol = site.buildProtocol(address)
    transport = StringTransport(peerAddress=address,
                                hostAddress=IPv4Address("TCP", "127.0.0.1", 8080))
    protocol.makeConnection(transport)
    return protocol, transport


def run(site, count):
    protocol, transport = connect(site)
    feed = protocol.dataReceived
    clear = transport.clear
    feed(REQUEST)
    reply = transport.value()
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"Hi there."), reply
    clear()
    start = time.process_time()
    for _ in range(count):
        feed(REQUEST)
        clear()
    return (time.process_time() - start) / count * 1e6


CASES = {
    "twisted": (twistedSite, False),
    "servlet": (servletSite, False),
    "twisted-log": (twistedSite, True),
    "servlet-log": (servletSite, True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", default="", help="print the profile of one case")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--no-gc", action="store_true", help="run with gc disabled")
    args = parser.parse_args()
    if args.no_gc:
        import gc

        gc.disable()
    from twisted.logger import globalLogBeginner

    globalLogBeginner.beginLoggingTo([], discardBuffer=True, redirectStandardIO=False)
    work = tempfile.mkdtemp(prefix="micro")
    names = args.cases.split(",")
    sites = {}
    for name in names:
        factory, log = CASES[name]
        sites[name] = factory(os.path.join(work, name + ".log") if log else None)
        sites[name].doStart()  # opens twisted.web's log file
    best = {name: float("inf") for name in names}
    for _ in range(args.repeat):
        for name in names:  # interleaved
            best[name] = min(best[name], run(sites[name], args.requests))
    calls = {}
    for name in names:
        profile = cProfile.Profile()
        count = 2000
        protocol, transport = connect(sites[name])
        protocol.dataReceived(REQUEST)
        transport.clear()
        profile.enable()
        for _ in range(count):
            protocol.dataReceived(REQUEST)
            transport.clear()
        profile.disable()
        stats = pstats.Stats(profile)
        calls[name] = stats.total_calls / count
        if name == args.profile:
            text = io.StringIO()
            stats.stream = text
            stats.sort_stats("tottime").print_stats(args.top)
            print(text.getvalue())
    print("case          us/request  vs twisted  calls/request")
    for name in names:
        base = "twisted-log" if name.endswith("-log") else "twisted"
        ratio = best[base] / best[name] if base in best else float("nan")
        print("%-13s %10.1f  %9.2fx  %13.0f" % (name, best[name], ratio, calls[name]))


if __name__ == "__main__":
    main()
