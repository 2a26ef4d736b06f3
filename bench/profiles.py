"""
Why the servlet path costs what it does: profiles behind bench/README.md.

hello: the hello world servers (servlet and bare twisted.web, access log
off, or on with ``--log``) under cProfile while wrk loads them; prints
function calls per request and the top functions by own time.

stream: the streaming servers (servlet, bare twisted.web) under cProfile
while a slow reader takes ``--slow-size`` bytes.

slow: ``strace -c -f`` on each streaming server while a slow reader
takes ``--slow-size`` bytes; prints the syscall counts side by side.

Usage: python bench/profiles.py [hello] [stream] [slow] [--seconds N] [--top N] [--log]
"""

import argparse
import io
import os
import pstats
import re
import signal
import subprocess
import tempfile
import time

from _common import MIB, download, printTable
from run import WRK_REPORT, ensureTools, servers, wrk


def printStats(path, top, sort="tottime"):
    """The top functions of a cProfile file, paths shortened; returns its call count."""
    loaded = pstats.Stats(path)
    text = io.StringIO()
    loaded.stream = text
    loaded.sort_stats(sort).print_stats(top)
    table = text.getvalue().partition("ncalls")[2]
    print("   ncalls" + re.sub(r"\S*site-packages/|\S*/work/main/|\S*bench/\.\./", "",
                             table).rstrip())
    return loaded.total_calls


def profileHello(work, seconds, top, log):
    report = os.path.join(work, "report.lua")
    with open(report, "w") as handle:
        handle.write(WRK_REPORT)
    for framework in ("twisted", "servlet"):
        stats = os.path.join(work, framework + ".prof")
        argv = [framework, "hello", "--profile", stats]
        if log:
            argv += ["--log", os.path.join(work, framework + ".log")]
        with servers({framework: argv}) as children:
            rate, _, errors = wrk(children[framework].port, "/", seconds, 50, report)
        print("\n== %s hello (access log %s): %.0f req/s under cProfile, %d errors"
              % (framework, "on" if log else "off", rate, errors))
        calls = printStats(stats, top)
        print("   %.0f function calls per request" % (calls / (rate * seconds)))


def profileSlow(work, size, top):
    """The servlet streaming path under cProfile while a slow reader reads."""
    for framework in ("twisted", "servlet"):
        stats = os.path.join(work, framework + "-stream.prof")
        with servers({framework: [framework, "stream", "--profile", stats]}) as children:
            download(children[framework].port, size, slow=True)
        parts = size // (128 << 10)
        print("\n== %s stream to a slow reader, %d MiB (%d parts of 128 KiB) under cProfile"
              % (framework, size // MIB, parts))
        calls = printStats(stats, top)
        print("   %.0f function calls per 128 KiB part" % (calls / parts))


def straceSlow(size):
    frameworks = ("twisted", "servlet", "aiohttp")
    counts = {}
    with servers({name: [name, "stream"] for name in frameworks}) as children:
        for name in frameworks:
            child = children[name]
            download(child.port, MIB, slow=False)
            with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
                tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out.name,
                                           "-p", str(child.pid)],
                                          stderr=subprocess.DEVNULL)
                try:
                    time.sleep(0.5)  # attached
                    download(child.port, size, slow=True)
                finally:
                    os.kill(tracer.pid, signal.SIGINT)
                    tracer.wait(30)
                counts[name] = parseStrace(out.read())
    calls = sorted({call for found in counts.values() for call in found},
                   key=lambda call: -max(found.get(call, 0) for found in counts.values()))
    print("\n== strace -c -f: syscalls while a slow reader takes %d MiB" % (size // MIB))
    rows = [["syscall"] + list(frameworks)]
    for call in calls[:12]:
        rows.append([call] + [counts[name].get(call, 0) for name in frameworks])
    rows.append(["total"] + [sum(counts[name].values()) for name in frameworks])
    printTable(rows)


def parseStrace(text):
    """{syscall: calls} from an ``strace -c`` summary."""
    found = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            found[fields[-1]] = int(fields[3])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("what", nargs="*", default=["hello", "stream", "slow"])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--log", action="store_true")
    parser.add_argument("--slow-size", type=int, default=64 * MIB)
    options = parser.parse_args()
    ensureTools()
    with tempfile.TemporaryDirectory(prefix="netsvc-profile-") as work:
        if "hello" in options.what:
            profileHello(work, options.seconds, options.top, options.log)
        if "stream" in options.what:
            profileSlow(work, options.slow_size, options.top)
        if "slow" in options.what:
            straceSlow(options.slow_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
