"""
Latency of hello world under a burst of connections (issue 15): the p99
that wrk reports for 500 concurrent connections opened at once against
HttpDaemon, bare twisted.web and aiohttp (all three listening with a
backlog of 1024 here).

A listen queue shorter than the burst drops SYNs, and a dropped SYN costs
the client a 1 s, then 3 s retransmission, which is what a p99 of seconds
means; HttpDaemon listens with a backlog of 1024.  Each server is one
process; the servers run on the cores apart from wrk's (``--no-pin`` to
share), cases interleave for ``--rounds`` rounds, and every round opens
all its connections afresh.  Bounded: 127.0.0.1 only, ``--seconds`` per
wrk run.

Usage: python bench/latency.py [--rounds N] [--seconds S] [--connections C]
"""

import argparse
import re
import signal
import subprocess
import sys

import _common
from _common import printTable, spread
from run import ensureTools, interleaved, servers

TARGET_MS = 250.0
#: wrk --latency's distribution line: "     99%  12.34ms".
PERCENTILE = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def p99(port, connections, seconds, close):
    """The p99 latency in ms, and wrk's error count, of one fresh run;
    with `close`, every request on a new connection."""
    header = ["-H", "Connection: close"] if close else []
    output = subprocess.run(
        ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s",
         "--latency", *header, "http://127.0.0.1:%d/" % port],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    found = PERCENTILE.search(output)
    if not found:
        raise RuntimeError("no p99 in wrk's output: %r" % output)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return float(found.group(1)) * UNITS[found.group(2)], errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--no-pin", action="store_true")
    options = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the servers are still ended by PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensureTools(["wrk"], peers=["aiohttp"])
    pinned = not options.no_pin and _common.pin()
    names = ["servlet", "twisted", "aiohttp"]
    cases = [(name, close) for close in (False, True) for name in names]
    with servers({name: [name, "hello"] for name in names}) as children:
        runs = interleaved(cases, options.rounds, lambda case: p99(
            children[case[0]].port, options.connections, options.seconds, case[1]))
    results = {case: [r[0] for r in found] for case, found in runs.items()}
    errors = {case: sum(r[1] for r in found) for case, found in runs.items()}
    print("Hello world, p99 latency at %d concurrent connections (wrk -t2 --latency, "
          "%d s, %d rounds, %s)" % (options.connections, options.seconds, options.rounds,
                                     "pinned" if pinned else "not pinned"))
    rows = [["server", "connections", "p99 ms (median)", "min-max", "errors"]]
    for name, close in cases:
        median, low, high = spread(results[(name, close)])
        rows.append([name, "new per request" if close else "keep-alive",
                     "%.1f" % median, "%.1f-%.1f" % (low, high), errors[(name, close)]])
    printTable(rows)
    worst = max(spread(results[("servlet", close)])[0] for close in (False, True))
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print("target: servlet p99 < %.0f ms, both ways: %.1f ms, %s" % (TARGET_MS, worst, verdict))
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
