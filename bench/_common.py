"""
Helpers shared by the bench scripts: server child processes on 127.0.0.1,
their memory and CPU from /proc, a download client, and plain tables.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time

MIB = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
_TICK = os.sysconf("SC_CLK_TCK")


# -- /proc ----------------------------------------------------------------

def procStatus(pid, field):
    """A size field of /proc/PID/status (VmHWM, VmRSS...) in bytes."""
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def peakRss(pid):
    return procStatus(pid, "VmHWM")


def resetPeak(pid):
    """
    Start a new VmHWM window (Linux: clear_refs 5), so each measurement
    gets its own peak; returns False where that is not allowed.
    """
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def cpuSeconds(pid):
    """
    CPU seconds the process has used: from the scheduler's nanosecond
    counts (/proc/PID/task/*/schedstat) where there are some, else user
    plus system time in clock ticks (10 ms each: too coarse for the
    slow-reader figures).
    """
    try:
        total = 0
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as handle:
                total += int(handle.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rpartition(")")[2].split()
    # Fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / _TICK


# -- server children ------------------------------------------------------

#: CPUs the servers run on, and the rest (this process and its load
#: generators): separate cores when there are two or more, so a server
#: and its client never take turns on one (``pin()``).
SERVER_CPUS = None


def pin():
    """
    Pin this process (and the clients it starts) to the last CPU and the
    servers started afterwards to the others; False on one CPU.
    """
    global SERVER_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return False
    SERVER_CPUS = set(cpus[:-1])
    os.sched_setaffinity(0, {cpus[-1]})
    return True


class Child:
    """
    A server in a child process that prints its port on its first line;
    close() ends it by its PID.  It runs on SERVER_CPUS when ``pin()``
    set them.
    """

    def __init__(self, argv, env=None, timeout=60):
        cpus = SERVER_CPUS
        self.process = subprocess.Popen(
            [sys.executable] + list(argv), stdout=subprocess.PIPE, text=True,
            env=env, preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus))
        self.pid = self.process.pid
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError("server %r did not start: %r" % (argv, line))
        self.port = int(line)

    def close(self):
        process = self.process
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        process.stdout.close()


def closeAll(children):
    """Close every child, even when one of them fails to close."""
    for child in children:
        try:
            child.close()
        except Exception as e:  # pragma: no cover - reported, not fatal
            print("could not stop PID %d: %s" % (child.pid, e), file=sys.stderr)


# -- client ---------------------------------------------------------------

def download(port, size, slow, path="/"):
    """
    GET ``path?size=SIZE`` and read the body: as fast as possible, or as
    a slow reader (16 KiB receive buffer, 16 KiB reads, 0.2 ms apart).
    """
    with socket.socket() as s:
        if slow:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(120)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET %s?size=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  % (path.encode(), size))
        data = b""
        while b"\r\n\r\n" not in data:
            more = s.recv(65536)
            if not more:
                raise RuntimeError("closed before the head")
            data += more
        head, _, rest = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("bad answer: %r" % head[:80])
        received = len(rest)
        buffer = bytearray(16384 if slow else MIB)
        while received < size:
            count = s.recv_into(buffer)
            if not count:
                raise RuntimeError("closed after %d bytes" % received)
            received += count
            if slow:
                time.sleep(0.0002)
        return received


# -- figures --------------------------------------------------------------

def spread(values):
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def printTable(rows, out=sys.stdout):
    """Print rows (the first is the heading) as left-aligned columns."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(),
              file=out)
    out.flush()
