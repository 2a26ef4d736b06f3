"""
Why the servlet path costs what it does: profiles behind bench/README.md.

hello: the hello world servers (servlet, bare twisted.web and aiohttp,
access log off, or on with ``--log``) under cProfile while wrk loads
them; prints function calls and Python objects built (``__init__`` calls)
per request and the top functions by own time.

stream: the streaming servers (servlet, bare twisted.web) under cProfile
while a slow reader takes ``--slow-size`` bytes.

slow: ``strace -c -f`` on each streaming server while a slow reader
takes ``--slow-size`` bytes; prints the syscall counts side by side.

counts: the load-independent streaming figures of E14's servlet and
aiohttp: system calls per MiB (``strace -c -f``, one transfer each) and
server CPU ms per MiB (schedstat, without strace, ``--rounds`` interleaved
rounds, also as the median of each round's ratio to aiohttp's) for a
fast reader of ``--fast-size`` bytes and a slow reader of
``--slow-size`` bytes.  Pins servers and client to separate cores.
``--baseline DIR`` adds E14 served by the tree exported in DIR (say
``git archive main | tar -x -C DIR``), measured in the same rounds.

Usage: python bench/profiles.py [hello] [stream] [slow] [counts] [--seconds N] [--top N]
       [--log] [--slow-size BYTES] [--fast-size BYTES] [--rounds N] [--baseline DIR]
"""

import argparse
import io
import os
import pstats
import re
import signal
import statistics
import subprocess
import tempfile
import time

import _common
from _common import MIB, Child, closeAll, cpuSeconds, download, printTable, spread
from run import WRK_REPORT, ensureTools, interleaved, servers, wrk


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
    for framework in ("twisted", "servlet", "aiohttp"):
        stats = os.path.join(work, framework + ".prof")
        argv = [framework, "hello", "--profile", stats]
        if log:
            argv += ["--log", os.path.join(work, framework + ".log")]
        with servers({framework: argv}) as children:
            rate, _, errors = wrk(children[framework].port, "/", seconds, 50, report)
        print("\n== %s hello (access log %s): %.0f req/s under cProfile, %d errors"
              % (framework, "on" if log else "off", rate, errors))
        calls = printStats(stats, top)
        requests = rate * seconds
        print("   %.0f function calls per request, %.1f Python objects built per request"
              " (calls of __init__ methods)" % (calls / requests, inits(stats) / requests))


def inits(path):
    """Calls of Python __init__ methods in a cProfile file: objects built."""
    return sum(stat[1] for (_, _, name), stat in pstats.Stats(path).stats.items()
               if name == "__init__")


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
    with servers({name: [name, "stream"] for name in frameworks}) as children:
        counts = {name: straceDownload(children[name], size, True) for name in frameworks}
    calls = sorted({call for found in counts.values() for call in found},
                   key=lambda call: -max(found.get(call, 0) for found in counts.values()))
    print("\n== strace -c -f: syscalls while a slow reader takes %d MiB" % (size // MIB))
    rows = [["syscall"] + list(frameworks)]
    for call in calls[:12]:
        rows.append([call] + [counts[name].get(call, 0) for name in frameworks])
    rows.append(["total"] + [sum(counts[name].values()) for name in frameworks])
    printTable(rows)


def straceDownload(child, size, slow):
    """{syscall: calls} of the server ``child`` while one client takes ``size`` bytes."""
    download(child.port, MIB, slow=False)
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out.name,
                                   "-p", str(child.pid)], stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)  # attached
            download(child.port, size, slow=slow)
        finally:
            os.kill(tracer.pid, signal.SIGINT)
            tracer.wait(30)
        return parseStrace(out.read())


def streamCounts(fastSize, slowSize, rounds, baseline=None):
    """System calls and server CPU per MiB, fast and slow reader, servlet and aiohttp."""
    frameworks = ("servlet", "aiohttp") + (("baseline",) if baseline else ())
    cases = [("fast", fastSize, False), ("slow", slowSize, True)]
    with servers({name: [name, "stream"] for name in frameworks[:2]}) as children:
        if baseline:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(baseline))
            children["baseline"] = Child(
                [os.path.join(baseline, "bench", "_servers.py"), "servlet", "stream"], env=env)
        try:
            streamTables(children, frameworks, cases, rounds)
        finally:
            closeAll([children.pop("baseline")] if baseline else [])


def streamTables(children, frameworks, cases, rounds):
    """Print the counts and CPU tables of ``cases`` for the running ``children``."""
    for reader, size, slow in cases:
        counts = {name: straceDownload(children[name], size, slow) for name in frameworks}

        def measure(name):
            pid = children[name].pid
            before, started = cpuSeconds(pid), time.monotonic()
            download(children[name].port, size, slow=slow)
            elapsed = time.monotonic() - started
            return (cpuSeconds(pid) - before) * 1000 / (size / MIB), size / MIB / elapsed

        runs = interleaved(frameworks, rounds, measure)
        cpu = {name: [run[0] for run in found] for name, found in runs.items()}
        rate = {name: [run[1] for run in found] for name, found in runs.items()}
        print("\n== %s reader, %d MiB: system calls per MiB (strace -c -f, one transfer) "
              "and server CPU ms/MiB, MiB/s (median, min-max of %d interleaved rounds)"
              % (reader, size // MIB, rounds))
        rows = [["figure"] + list(frameworks)]
        for call in ("sendto", "epoll_wait", "epoll_ctl"):
            rows.append([call + "/MiB"] + ["%.2f" % (counts[name].get(call, 0) / (size / MIB))
                                           for name in frameworks])
        rows.append(["all calls/MiB"] + ["%.2f" % (sum(counts[name].values()) / (size / MIB))
                                         for name in frameworks])
        rows.append(["CPU ms/MiB"] + ["%.3f (%.3f-%.3f)" % spread(cpu[name])
                                      for name in frameworks])
        rows.append(["MiB/s"] + ["%.0f (%.0f-%.0f)" % spread(rate[name])
                                 for name in frameworks])
        aio = spread(cpu["aiohttp"])[0]
        rows.append(["CPU vs aiohttp"] + ["%.2fx" % (spread(cpu[name])[0] / aio)
                                          for name in frameworks])
        # Per round against aiohttp's run next to it: the machine's drift
        # between rounds cancels out, which the ratio of medians keeps.
        paired = {name: [a / b for a, b in zip(cpu[name], cpu["aiohttp"])]
                  for name in frameworks}
        rows.append(["paired CPU vs aiohttp"] + [
            "%.3f (%d/%d below 1)" % (statistics.median(paired[name]),
                                      sum(value < 1 for value in paired[name]), rounds)
            for name in frameworks])
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
    parser.add_argument("--fast-size", type=int, default=256 * MIB)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", help="a tree whose E14 servlet to measure too")
    options = parser.parse_args()
    ensureTools()
    with tempfile.TemporaryDirectory(prefix="netsvc-profile-") as work:
        if "hello" in options.what:
            profileHello(work, options.seconds, options.top, options.log)
        if "stream" in options.what:
            profileSlow(work, options.slow_size, options.top)
        if "slow" in options.what:
            straceSlow(options.slow_size)
        if "counts" in options.what:
            _common.pin()
            streamCounts(options.fast_size, options.slow_size, options.rounds, options.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
