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
import shutil
import subprocess
import sys

from run import ensureTools

HERE = os.path.dirname(os.path.abspath(__file__))


def child(size, rate):
    """
    Serve on 127.0.0.1 port 0 and, once listening, run curl against the
    bound port; prints the calls and parts, or exits 1 with curl's words.
    """
    sys.path.insert(0, os.path.join(HERE, "..", "examples"))
    from twisted.internet import protocol, reactor

    import netsvc_twisted as netsvc
    import slow_clients

    curl = shutil.which("curl")  # main() made sure there is one
    daemon = netsvc.HttpDaemon("tcp:0:interface=127.0.0.1")
    daemon.attach("/", slow_clients.HttpServer())
    outcome = {}

    class Reader(protocol.ProcessProtocol):
        def __init__(self):
            self.out, self.err = [], []

        def outReceived(self, data):
            self.out.append(data)

        def errReceived(self, data):
            self.err.append(data)

        def processEnded(self, reason):
            outcome["code"] = reason.value.exitCode
            outcome["received"] = b"".join(self.out).decode()
            outcome["said"] = b"".join(self.err).decode(errors="replace").strip()
            reactor.stop()

    def start(_):
        url = "http://127.0.0.1:%d/?size=%d" % (daemon.port(), size)
        args = ["curl", "-sS", "--fail", "--max-time", "300", "-o", "/dev/null",
                "-w", "%{size_download}", url]
        if rate:
            args[1:1] = ["--limit-rate", rate]
        reactor.spawnProcess(Reader(), curl, args, env=os.environ)

    def failed(reason):
        outcome["said"] = "could not listen: %s" % reason.getErrorMessage()
        reactor.stop()

    daemon.start().addCallbacks(start, failed)
    profile = cProfile.Profile()
    profile.enable()
    reactor.run()
    profile.disable()
    if outcome.get("code") != 0 or outcome.get("received") != str(size):
        raise SystemExit("curl exited %s after %s of %d bytes: %s" % (
            outcome.get("code"), outcome.get("received") or 0, size, outcome.get("said")))
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
    ensureTools(["curl"], peers=())
    runs = []
    for mib in (small, large):
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(mib << 20), rate or ""],
            capture_output=True, text=True, timeout=600,
        )
        if done.returncode != 0:
            raise SystemExit("%d MiB run failed (exit %d): %s"
                             % (mib, done.returncode, done.stderr.strip()[-2000:]))
        calls, parts = map(int, done.stdout.split()[-2:])
        runs.append((calls, parts))
        print("%4d MiB, %5d parts: %8d calls" % (mib, parts, calls))
    (c1, p1), (c2, p2) = runs
    print("calls per part: %.1f" % ((c2 - c1) / (p2 - p1)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), sys.argv[3])
    else:
        main()
