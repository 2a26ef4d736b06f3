"""
Hello world through ``twistd netsvc --workers 1`` and ``--workers 2`` with wrk on
127.0.0.1 (and one process without ``--workers`` for reference): requests/s, their
ratio, and the CPU each process used, the supervisor's above all (it should do no
per-request work).

    python bench/workers.py [--seconds 5] [--rounds 3] [--connections 50]
                            [--wrk-cpus 1] [--server-cpus 0,1]

Each server is started by this script and ended by its PID (also on Ctrl-C); every
run is bounded (wrk -d, at most 60 s per round). ``--wrk-cpus``/``--server-cpus``
pin wrk and the server with taskset (default: wrk on the last CPU, servers on all),
since on a small machine wrk competes with the workers for the same cores.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from _common import cpuSeconds, printTable, spread
from run import WRK_REPORT, ensureTools, wrk

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APP = os.path.join(ROOT, "examples", "twistd_app.py")
#: Seconds a server may take to have all its workers ready.
START_TIMEOUT = 60
#: The daemon's line once listening (a worker's, relayed by the supervisor).
LISTENING = re.compile(r"HttpDaemon listening on .*port=(\d+)")


def childPids(pid):
    """The PIDs whose parent is ``pid`` (the supervisor's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


class Supervised:
    """``twistd -n netsvc --workers N`` on examples/twistd_app.py."""

    def __init__(self, workers, work, cpus):
        """``workers`` None: one process, no supervisor (no --workers)."""
        self.log = os.path.join(work, "twistd-%s.log" % workers)
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        option = [] if workers is None else ["--workers", str(workers)]
        command = [twistd, "-n", "--pidfile=", "--logfile=%s" % self.log, "netsvc",
                   *option, "--config", APP,
                   "--listen", "tcp:0:interface=127.0.0.1"]
        if cpus:
            command = ["taskset", "-c", cpus] + command
        self.process = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        ready = LISTENING if workers is None else re.compile(r"worker \d+ \(pid \d+\) is ready")
        while True:
            text = self.text()
            listening = LISTENING.search(text)
            if listening and len(ready.findall(text)) >= (workers or 1):
                break
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("--workers %s did not start:\n%s" % (workers, text))
            time.sleep(0.05)
        # Port 0, bound once (by the supervisor for all its workers), read back.
        self.port = int(listening.group(1))
        self.workers = childPids(self.process.pid)

    def text(self):
        try:
            with open(self.log) as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def close(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def measure(server, args, report):
    pids = [server.process.pid] + server.workers
    before = {pid: cpuSeconds(pid) for pid in pids}
    started = time.monotonic()
    rate, _, errors = wrk(server.port, "/", args.seconds, args.connections, report,
                          args.wrk_cpus)
    wall = time.monotonic() - started
    used = {pid: cpuSeconds(pid) - before[pid] for pid in pids}
    supervisor = used.pop(server.process.pid)
    if not server.workers:  # no --workers: that process is the worker
        return rate, errors, None, supervisor / wall
    return rate, errors, supervisor / wall, sum(used.values()) / wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    cpus = os.sched_getaffinity(0)
    parser.add_argument("--wrk-cpus", default=str(max(cpus)))
    parser.add_argument("--server-cpus", default=",".join(map(str, sorted(cpus))))
    args = parser.parse_args()
    args.seconds = max(1, min(args.seconds, 30))
    # SIGTERM ends the servers too (by the finally below), as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensureTools(["wrk"], peers=())
    work = tempfile.mkdtemp(prefix="bench-workers-")
    report = os.path.join(work, "report.lua")
    with open(report, "w") as handle:
        handle.write(WRK_REPORT)
    servers = {}
    try:
        for count in (None, 1, 2):
            servers[count] = Supervised(count, work, args.server_cpus)
        results = {count: [] for count in servers}
        for _ in range(args.rounds):
            for count, server in servers.items():
                results[count].append(measure(server, args, report))
    finally:
        for server in servers.values():
            server.close()
        shutil.rmtree(work, ignore_errors=True)
    print("Hello world through twistd netsvc --workers N: wrk -t1 -c%d -d%ds, %d rounds, "
          "%d CPUs (wrk on %s, servers on %s)"
          % (args.connections, args.seconds, args.rounds, os.cpu_count(), args.wrk_cpus,
             args.server_cpus))
    base = spread([r[0] for r in results[1]])[0]
    rows = [["--workers", "req/s", "min-max", "vs 1 worker", "errors",
             "supervisor CPU", "server CPU"]]
    for count, runs in results.items():
        median, low, high = spread([r[0] for r in runs])
        supervisor = "-" if count is None else "%.2f%%" % (
            100 * spread([r[2] for r in runs])[0])
        rows.append(["(none)" if count is None else count, "%.0f" % median,
                     "%.0f-%.0f" % (low, high), "%.2fx" % (median / base),
                     sum(r[1] for r in runs), supervisor,
                     "%.0f%%" % (100 * spread([r[3] for r in runs])[0])])
    printTable(rows)


if __name__ == "__main__":
    main()
