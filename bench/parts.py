"""
Python calls per streamed part of E14's servlet (examples/slow_clients.py)
on a real socket, in this process under cProfile, curl reading.

Prints the calls of two transfers and their difference per part, which
leaves out start-up and the request's own calls.  Deterministic to a
call or two while the reader keeps up (a blocked part costs more).

Usage: python bench/parts.py [SMALL_MIB LARGE_MIB] [--limit-rate RATE]
"""

import cProfile
import os
import pstats
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def child(size, rate):
    sys.path.insert(0, os.path.join(HERE, "..", "examples"))
    from twisted.internet import protocol, reactor

    import netsvc_twisted as netsvc
    import slow_clients

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    daemon = netsvc.HttpDaemon(port)
    daemon.attach("/", slow_clients.HttpServer())
    daemon.start()

    class Reader(protocol.ProcessProtocol):
        def processEnded(self, reason):
            reactor.stop()

    def start():
        args = ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:%d/?size=%d" % (port, size)]
        if rate:
            args[1:1] = ["--limit-rate", rate]
        reactor.spawnProcess(Reader(), "/usr/bin/curl", args, env=os.environ)

    reactor.callLater(0.2, start)
    profile = cProfile.Profile()
    profile.enable()
    reactor.run()
    profile.disable()
    print(pstats.Stats(profile).total_calls, size // slow_clients.PART)


def main():
    args = sys.argv[1:]
    if {"-h", "--help"} & set(args):
        print(__doc__.strip())
        return
    rate = None
    if "--limit-rate" in args:
        at = args.index("--limit-rate")
        rate = args[at + 1]
        del args[at:at + 2]
    small, large = (int(args[0]), int(args[1])) if args else (16, 64)
    runs = []
    for mib in (small, large):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(mib << 20), rate or ""],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        calls, parts = int(out[-2]), int(out[-1])
        runs.append((calls, parts))
        print("%4d MiB, %5d parts: %8d calls" % (mib, parts, calls))
    (c1, p1), (c2, p2) = runs
    print("calls per part: %.1f" % ((c2 - c1) / (p2 - p1)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), sys.argv[3])
    else:
        main()
