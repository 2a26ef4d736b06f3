"""
E14 (OSE Python Manual pp. 101-103): large responses for slow clients.

The servlet never produces more than one part at a time: a scheduled job
writes a part and schedules itself again.  When the connection blocks
(the client does not read fast enough) the job is cancelled; when it
clears, a new job carries on.  So a slow client never makes the server
hold more than about one transport buffer of the response.

``GET /?size=BYTES`` streams that many bytes (default 64 MiB) in parts of
``PART`` bytes; part ``i`` is the 8-byte big-endian number ``i`` repeated.

Run with ``python examples/slow_clients.py [port]``.
"""

import signal
import sys
from urllib.parse import parse_qs

import netsvc_twisted as netsvc

PART = 131072


def part(index):
    return index.to_bytes(8, "big") * (PART // 8)


class SlowClientServlet(netsvc.HttpServlet):
    def processRequest(self):
        query = parse_qs(self.queryString())
        self.size = int(query.get("size", [64 << 20])[0])
        self.sent = 0
        self.index = 0
        self.events = []
        self.sendResponse(200)
        self.sendHeader("Content-Type", "application/octet-stream")
        self.sendHeader("Content-Length", str(self.size))
        self.endHeaders()
        self.monitorCongestion(self.congestion)
        self.job = netsvc.Job(self.produce)
        self.job.schedule(netsvc.STANDARD_JOB)

    def produce(self):
        data = part(self.index)[: self.size - self.sent]
        self.index += 1
        self.sent += len(data)
        self.sendContent(data)
        # Let the client see this part now, not when the buffer fills.
        self.flushContent()
        if self.sent < self.size:
            self.job.schedule(netsvc.STANDARD_JOB)
        else:
            self.endContent()

    def congestion(self, status, pending):
        self.events.append(status)
        if status == netsvc.CONNECTION_BLOCKED:
            self.job.cancel()
        elif status == netsvc.CONNECTION_CLEARED and self.sent < self.size:
            # A fresh job: the cancelled one may still sit in the queue.
            self.job = netsvc.Job(self.produce)
            self.job.schedule(netsvc.STANDARD_JOB)

    def destroyServlet(self):
        self.job.cancel()
        netsvc.HttpServlet.destroyServlet(self)


class HttpServer(netsvc.HttpServer):
    def servlet(self, session):
        return SlowClientServlet(session)


if __name__ == "__main__":
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon = netsvc.HttpDaemon(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    daemon.attach("/", HttpServer())
    daemon.start()
    dispatcher.run()
