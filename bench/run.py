"""
netsvc_twisted against bare twisted.web and its peers: prints tables.

1. hello world, access log on and off (requests/s, wrk);
2. a url-encoded form POST (requests/s, wrk with a Lua POST script);
3. a streamed body to a fast reader (MiB/s) and to a slow reader (peak
   RSS growth and server CPU seconds);
4. a 10 MiB static file (MiB/s, wrk);
5. 64 MiB streamed over plain HTTP/1.1, HTTP/1.1 on TLS and HTTP/2 on
   TLS (MiB/s, curl).

Each server is one process on 127.0.0.1 (bench/_servers.py), pinned to
one core while this script and its clients run on another (``--no-pin``
to share them).  Cases run interleaved, A B C A B C..., for ``--rounds``
rounds; each figure is the median with its min-max and its ratio to a
peer measured in the same run.  Missing tools are installed first: the
peers with pip, and with apt-get the commands the chosen tables run (wrk,
curl, openssl).  The last table gives every target with its ratio and
verdict.

Usage: python bench/run.py [--quick] [--rounds N] [--only hello,form,stream,static,tls]
"""

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import _common
from _common import (MIB, Child, closeAll, cpuSeconds, download, peakRss, printTable,
                     procStatus, resetPeak, spread)

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "_servers.py")
#: The pyproject ``bench`` extra: the peers measured against.
BENCH_PACKAGES = {"aiohttp": "aiohttp>=3.9", "tornado": "tornado>=6.4", "klein": "klein>=24.8"}
TABLES = ("hello", "form", "stream", "static", "tls")
FORM_BODY = "name=World&age=42&colour=blue&comment=Hi+there%2C+how+are+you%3F&agree=on"

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d\\n", summary.requests, summary.bytes,
    summary.duration, e.connect + e.read + e.write + e.status + e.timeout))
end
"""
WRK_POST = """
wrk.method = "POST"
wrk.body = "%s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
""" % FORM_BODY


class Settings:
    """Durations and sizes of a full run, or of a ``--quick`` one."""

    #: The servers ``--frameworks`` asked for; None: all.
    frameworks = None

    def pick(self, names):
        """The servers of ``names`` that ``--frameworks`` asked for."""
        return [name for name in names if self.frameworks is None or name in self.frameworks]

    def __init__(self, quick, rounds):
        self.quick = quick
        self.rounds = rounds or (3 if quick else 5)
        self.streamRounds = rounds or (3 if quick else 5)
        self.duration = 1 if quick else 5  # seconds per wrk run
        self.warmup = 1
        self.connections = 50
        self.fastSize = (128 if quick else 1024) * MIB
        self.slowSize = (32 if quick else 256) * MIB
        self.staticSize = 10 * MIB
        self.tlsSize = (32 if quick else 64) * MIB


# -- set-up ---------------------------------------------------------------

#: The commands the tables run, each with the Debian package holding it.
TOOLS = {"wrk": "wrk", "curl": "curl", "openssl": "openssl"}
TABLE_TOOLS = {"hello": ["wrk"], "form": ["wrk"], "stream": [], "static": ["wrk"],
               "tls": ["curl", "openssl"]}


def ensureTools(commands=tuple(TOOLS), peers=tuple(BENCH_PACKAGES)):
    """
    Install what is missing of the peers (pip) and of the ``commands``
    (apt-get), or stop saying what to install.
    """
    missing = [BENCH_PACKAGES[name] for name in peers if importlib.util.find_spec(name) is None]
    if missing:
        print("installing %s" % " ".join(missing), flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + missing, check=True)
    absent = [name for name in dict.fromkeys(commands) if shutil.which(name) is None]
    if not absent:
        return
    packages = [TOOLS[name] for name in absent]
    print("installing %s" % " ".join(packages), flush=True)
    apt = ["apt-get", "install", "-y", "-q"] + packages
    if shutil.which("apt-get") and subprocess.run(apt, stdout=subprocess.DEVNULL).returncode:
        if subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL).returncode == 0:
            subprocess.run(apt, stdout=subprocess.DEVNULL)
    absent = [name for name in absent if shutil.which(name) is None]
    if absent:
        raise SystemExit("%s not found, nor installed by apt-get: run "
                         "'apt-get install -y %s' as root, then run this again"
                         % (" and ".join(absent), " ".join(TOOLS[name] for name in absent)))


@contextlib.contextmanager
def servers(specs):
    """Start ``{name: argv}`` servers; end every one of them by PID on exit."""
    started = {}
    try:
        for name, argv in specs.items():
            started[name] = Child([SERVERS] + argv)
        yield started
    finally:
        closeAll(started.values())


def wrk(port, path, seconds, connections, script, cpus=None):
    """
    (requests/s, bytes/s, errors) of one wrk run, keep-alive; ``script``
    must end with WRK_REPORT.  ``cpus`` pins wrk with taskset (``"1"``).
    """
    command = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s",
               "-s", script, "http://127.0.0.1:%d%s" % (port, path)]
    if cpus:
        command = ["taskset", "-c", cpus] + command
    output = subprocess.run(command, capture_output=True, text=True,
                            timeout=seconds + 60).stdout
    for line in output.splitlines():
        if line.startswith("WRK "):
            requests, size, micros, errors = map(int, line.split()[1:])
            return requests * 1e6 / micros, size * 1e6 / micros, errors
    raise RuntimeError("no wrk summary in %r" % output)


def interleaved(cases, rounds, measure):
    """Run ``measure(case)`` for every case, round after round."""
    results = {case: [] for case in cases}
    for _ in range(rounds):
        for case in cases:
            results[case].append(measure(case))
    return results


def ratio(value, base):
    return "%.2fx" % (value / base) if base else "-"


def figureRows(names, values, base, fmt="%.0f"):
    """Rows of name, median, min-max, ratio to ``base``'s median."""
    rows = []
    for name in names:
        median, low, high = spread(values[name])
        rows.append([name, fmt % median, (fmt + "-" + fmt) % (low, high),
                     ratio(median, base)])
    return rows


# -- tables ---------------------------------------------------------------

def helloTable(settings, work, targets):
    frameworks = settings.pick(["twisted", "servlet", "aiohttp", "tornado", "klein"])
    specs = {}
    for framework in frameworks:
        specs[(framework, "off")] = [framework, "hello"]
        specs[(framework, "on")] = [framework, "hello", "--log",
                                    os.path.join(work, framework + ".log")]
    report = os.path.join(work, "report.lua")
    with servers(specs) as children:
        for child in children.values():
            wrk(child.port, "/", settings.warmup, settings.connections, report)
        results = interleaved(list(children), settings.rounds, lambda case: wrk(
            children[case].port, "/", settings.duration, settings.connections, report))
    rate = {case: [r[0] for r in runs] for case, runs in results.items()}
    errors = {case: sum(r[2] for r in runs) for case, runs in results.items()}
    print("\n1. Hello world: requests/s (wrk -t1 -c%d -d%ds, keep-alive), %d rounds"
          % (settings.connections, settings.duration, settings.rounds))
    rows = [["server", "access log", "req/s", "min-max", "vs twisted.web", "log cost",
             "errors"]]
    for logging in ("off", "on"):
        base = spread(rate[("twisted", logging)])[0]
        for framework in frameworks:
            case = (framework, logging)
            median, low, high = spread(rate[case])
            off = spread(rate[(framework, "off")])[0]
            cost = "%.0f%%" % (100 * (1 - median / off)) if logging == "on" else ""
            rows.append([framework, logging, "%.0f" % median, "%.0f-%.0f" % (low, high),
                         ratio(median, base), cost, errors[case]])
    printTable(rows)
    for logging in ("off", "on"):
        servlet = spread(rate[("servlet", logging)])[0]
        bare = spread(rate[("twisted", logging)])[0]
        targets.append(("hello, log %s: servlet vs bare twisted.web (7)" % logging,
                        ">= 1.0x", "%.2fx" % (servlet / bare), servlet / bare >= 1.0))
    on, off = (spread(rate[("servlet", s)])[0] for s in ("on", "off"))
    targets.append(("hello: servlet access log cost (7)", "< 10%",
                    "%.0f%%" % (100 * (1 - on / off)), 1 - on / off < 0.10))
    if ("aiohttp", "off") in rate:
        aio = spread(rate[("aiohttp", "off")])[0]
        targets.append(("hello, log off: servlet vs aiohttp (15)", ">= 1.0x",
                        "%.2fx" % (off / aio), off / aio >= 1.0))


def formTable(settings, work, targets):
    frameworks = ["twisted", "servlet", "aiohttp"]
    script = os.path.join(work, "post.lua")
    with servers({name: [name, "form"] for name in frameworks}) as children:
        for child in children.values():
            wrk(child.port, "/", settings.warmup, settings.connections, script)
        results = interleaved(frameworks, settings.rounds, lambda name: wrk(
            children[name].port, "/", settings.duration, settings.connections, script))
    rate = {name: [r[0] for r in runs] for name, runs in results.items()}
    print("\n2. Url-encoded form POST (%d bytes, 5 fields): requests/s, access log off, "
          "%d rounds" % (len(FORM_BODY), settings.rounds))
    rows = [["server", "req/s", "min-max", "vs twisted.web", "errors"]]
    base = spread(rate["twisted"])[0]
    for row, name in zip(figureRows(frameworks, rate, base), frameworks):
        rows.append(row + [sum(r[2] for r in results[name])])
    printTable(rows)
    servlet, aio = spread(rate["servlet"])[0], spread(rate["aiohttp"])[0]
    targets.append(("form POST: FormServlet vs aiohttp", "(no target)",
                    "%.2fx" % (servlet / aio), None))


def streamTable(settings, work, targets):
    frameworks = settings.pick(["twisted", "servlet", "aiohttp"])
    with servers({name: [name, "stream"] for name in frameworks}) as children:
        for child in children.values():
            download(child.port, MIB, slow=False)

        def fast(name):
            child = children[name]
            cpu, started = cpuSeconds(child.pid), time.monotonic()
            download(child.port, settings.fastSize, slow=False)
            elapsed = time.monotonic() - started
            return settings.fastSize / MIB / elapsed, cpuSeconds(child.pid) - cpu

        def slow(name):
            pid = children[name].pid
            windowed = resetPeak(pid)
            before = procStatus(pid, "VmRSS") if windowed else peakRss(pid)
            cpu, started = cpuSeconds(pid), time.monotonic()
            download(children[name].port, settings.slowSize, slow=True)
            elapsed = time.monotonic() - started
            return peakRss(pid) - before, cpuSeconds(pid) - cpu, elapsed

        fastRuns = interleaved(frameworks, settings.streamRounds, fast)
        slowRuns = interleaved(frameworks, settings.streamRounds, slow)

    print("\n3a. Fast reader, %d MiB streamed in 128 KiB parts: MiB/s, %d rounds"
          % (settings.fastSize // MIB, settings.streamRounds))
    rate = {name: [r[0] for r in runs] for name, runs in fastRuns.items()}
    cpu = {name: [r[1] for r in runs] for name, runs in fastRuns.items()}
    rows = [["server", "MiB/s", "min-max", "vs twisted.web", "server CPU s"]]
    base = spread(rate["twisted"])[0]
    for row, name in zip(figureRows(frameworks, rate, base), frameworks):
        rows.append(row + ["%.2f" % spread(cpu[name])[0]])
    printTable(rows)
    best = max(spread(rate[name])[0] for name in frameworks if name != "servlet")
    servlet = spread(rate["servlet"])[0]
    targets.append(("fast reader: servlet vs best peer (7)", ">= 0.9x",
                    "%.2fx" % (servlet / best), servlet / best >= 0.9))
    if "aiohttp" in rate:
        aio = spread(rate["aiohttp"])[0]
        targets.append(("fast reader %d MiB: servlet vs aiohttp (15)" % (settings.fastSize // MIB),
                        ">= 1.0x",
                        "%.2fx" % (servlet / aio), servlet / aio >= 1.0))

    print("\n3b. Slow reader (16 KiB receive buffer and reads, 0.2 ms apart), %d MiB: "
          "%d rounds" % (settings.slowSize // MIB, settings.streamRounds))
    growth = {name: [r[0] / MIB for r in runs] for name, runs in slowRuns.items()}
    cpu = {name: [r[1] for r in runs] for name, runs in slowRuns.items()}
    took = {name: [r[2] for r in runs] for name, runs in slowRuns.items()}
    rows = [["server", "RSS growth MiB", "min-max", "server CPU s", "min-max",
             "CPU vs twisted.web", "CPU vs aiohttp", "time s"]]
    baseCpu = spread(cpu["twisted"])[0]
    aioCpu = spread(cpu["aiohttp"])[0] if "aiohttp" in cpu else float("nan")
    for name in frameworks:
        g, c = spread(growth[name]), spread(cpu[name])
        rows.append([name, "%.1f" % g[0], "%.1f-%.1f" % g[1:], "%.2f" % c[0],
                     "%.2f-%.2f" % c[1:], ratio(c[0], baseCpu), ratio(c[0], aioCpu),
                     "%.1f" % spread(took[name])[0]])
    printTable(rows)
    worst = max(growth["servlet"])
    targets.append(("slow reader: servlet RSS growth, worst round (7, 15)", "< 8 MiB",
                    "%.1f MiB" % worst, worst < 8))
    servletCpu = spread(cpu["servlet"])[0]
    targets.append(("slow reader: servlet CPU vs aiohttp (15)", "<= 1.0x",
                    "%.2fx" % (servletCpu / aioCpu), servletCpu / aioCpu <= 1.0))


def staticTable(settings, work, targets):
    frameworks = ["twisted", "servlet", "aiohttp"]
    root = os.path.join(work, "static")
    os.mkdir(root)
    with open(os.path.join(root, "big.bin"), "wb") as handle:
        handle.write(os.urandom(settings.staticSize))
    report = os.path.join(work, "report.lua")
    connections = 4
    specs = {name: [name, "static", "--root", root] for name in frameworks}
    with servers(specs) as children:
        for child in children.values():
            wrk(child.port, "/big.bin", settings.warmup, connections, report)
        results = interleaved(frameworks, settings.rounds, lambda name: wrk(
            children[name].port, "/big.bin", settings.duration, connections, report))
    rate = {name: [r[1] / MIB for r in runs] for name, runs in results.items()}
    print("\n4. Static file, %d MiB (wrk -t1 -c%d -d%ds): MiB/s, %d rounds"
          % (settings.staticSize // MIB, connections, settings.duration, settings.rounds))
    rows = [["server", "MiB/s", "min-max", "vs twisted.web", "errors"]]
    base = spread(rate["twisted"])[0]
    for row, name in zip(figureRows(frameworks, rate, base), frameworks):
        rows.append(row + [sum(r[2] for r in results[name])])
    printTable(rows)
    servlet, aio = spread(rate["servlet"])[0], spread(rate["aiohttp"])[0]
    targets.append(("static 10 MiB: FileServer vs aiohttp add_static (15)", ">= 1.0x",
                    "%.2fx" % (servlet / aio), servlet / aio >= 1.0))


def makeCertificate(directory):
    """A throw-away self-signed certificate and key for 127.0.0.1 (openssl)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", os.path.join(directory, "key.pem"),
                    "-out", os.path.join(directory, "cert.pem")],
                   check=True, capture_output=True)


def curl(url, version, size):
    """MiB/s of one ``curl`` download of ``url?size=SIZE`` to /dev/null."""
    command = ["curl", "-sSk", "--" + version, "-o", "/dev/null", "--max-time", "120",
               "-w", "%{size_download} %{time_total} %{http_version}",
               "%s?size=%d" % (url, size)]
    received, seconds, used = subprocess.run(command, capture_output=True, text=True,
                                             check=True).stdout.split()
    if int(received) != size or used != {"http1.1": "1.1", "http2": "2"}[version]:
        raise RuntimeError("%s: %s bytes over HTTP/%s" % (url, received, used))
    return size / MIB / float(seconds)


def tlsTable(settings, work, targets):
    """E14's servlet over plain HTTP/1.1, HTTP/1.1 on TLS and h2 on TLS (curl)."""
    certificates = os.path.join(work, "tls")
    os.mkdir(certificates)
    makeCertificate(certificates)
    specs = {"plain": ["servlet", "stream"],
             "tls": ["servlet", "stream", "--tls", certificates]}
    cases = [("plain", "http1.1"), ("tls", "http1.1"), ("tls", "http2")]
    names = {cases[0]: "HTTP/1.1", cases[1]: "HTTP/1.1 on TLS", cases[2]: "HTTP/2 on TLS"}
    with servers(specs) as children:
        def url(server):
            scheme = "https" if server == "tls" else "http"
            return "%s://127.0.0.1:%d/" % (scheme, children[server].port)

        def measure(case):
            server, version = case
            pid = children[server].pid
            cpu = cpuSeconds(pid)
            rate = curl(url(server), version, settings.tlsSize)
            return rate, (cpuSeconds(pid) - cpu) / (settings.tlsSize / MIB) * 1000

        for case in cases:
            curl(url(case[0]), case[1], MIB)
        results = interleaved(cases, settings.streamRounds, measure)
    print("\n5. %d MiB streamed by E14's servlet, curl to /dev/null: MiB/s, %d rounds"
          % (settings.tlsSize // MIB, settings.streamRounds))
    rate = {names[case]: [r[0] for r in runs] for case, runs in results.items()}
    cost = {names[case]: [r[1] for r in runs] for case, runs in results.items()}
    rows = [["protocol", "MiB/s", "min-max", "vs HTTP/1.1", "server CPU ms/MiB"]]
    base = spread(rate["HTTP/1.1"])[0]
    for row, name in zip(figureRows(list(rate), rate, base), rate):
        rows.append(row + ["%.2f" % spread(cost[name])[0]])
    printTable(rows)
    plain, tls, h2 = (spread(rate[names[case]])[0] for case in cases)
    targets.append(("64 MiB: HTTP/2 on TLS vs HTTP/1.1 on TLS (15)", ">= 0.5x",
                    "%.2fx" % (h2 / tls), h2 / tls >= 0.5))
    targets.append(("64 MiB: HTTP/1.1 on TLS vs plain HTTP/1.1 (15)", ">= 0.5x",
                    "%.2fx" % (tls / plain), tls / plain >= 0.5))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (~2 minutes)")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds")
    parser.add_argument("--only", default=",".join(TABLES), help="tables to run")
    parser.add_argument("--frameworks", default="",
                        help="hello and stream tables: only these servers besides twisted "
                             "and servlet (default: all), e.g. aiohttp")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin servers and clients to separate cores")
    options = parser.parse_args()
    tables = [name for name in options.only.split(",") if name]
    for name in tables:
        if name not in TABLES:
            parser.error("unknown table %r" % name)
    # SIGTERM unwinds like Ctrl-C, so every child is still ended.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensureTools([command for name in tables for command in TABLE_TOOLS[name]])
    settings = Settings(options.quick, options.rounds)
    if options.frameworks:
        settings.frameworks = {"twisted", "servlet"} | set(options.frameworks.split(","))
    pinned = not options.no_pin and _common.pin()
    print("netsvc_twisted benchmarks (%s), %d cores%s, load average %s"
          % ("quick" if options.quick else "full", os.cpu_count(),
             ", servers on CPU %s, clients on CPU %s" % (
                 ",".join(map(str, sorted(_common.SERVER_CPUS))),
                 ",".join(map(str, sorted(os.sched_getaffinity(0))))) if pinned else "",
             " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    targets = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="netsvc-bench-") as work:
        with open(os.path.join(work, "report.lua"), "w") as handle:
            handle.write(WRK_REPORT)
        with open(os.path.join(work, "post.lua"), "w") as handle:
            handle.write(WRK_POST + WRK_REPORT)
        functions = {"hello": helloTable, "form": formTable, "stream": streamTable,
                     "static": staticTable, "tls": tlsTable}
        for name in tables:
            functions[name](settings, work, targets)
    print("\nTargets (issue number in brackets)")
    rows = [["target", "wanted", "measured", "result"]]
    for what, wanted, measured, passed in targets:
        rows.append([what, wanted, measured,
                     "-" if passed is None else "met" if passed else "MISSED"])
    printTable(rows)
    print("\n%.0f s, load average %s" % (time.monotonic() - started,
                                         " ".join("%.2f" % x for x in os.getloadavg())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
