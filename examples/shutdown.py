"""
E27 (OSE Python Manual pp. 34-35): an orderly shutdown.

The agent shuts the program down when it gets SIGINT or SIGTERM, or when
its timer expires (60 seconds, or the number of seconds given as the first
argument).  Subscribers see SHUTDOWN_PENDING first; this one suspends the
shutdown while it "cleans up" and resumes it afterwards, then sees
SHUTDOWN_ARRIVED, after which the dispatcher stops and the program exits.

Run with ``python examples/shutdown.py [seconds]``; ``python
examples/shutdown.py 1`` prints:

    ready
    timeout timeout
    shutdown pending
    cleaned up
    shutdown arrived
    exiting

``twistd -n netsvc --config examples/shutdown.py [seconds]`` prints
``ready`` while twistd reads the script (before its log starts, so on
the terminal), the rest into the twistd log (``signal SIGTERM`` instead
of ``timeout timeout`` on SIGTERM), and exits once the dispatcher stops.
There ``Dispatcher().run()`` returns at once, so the agent cleans up when
the shutdown arrives rather than after ``run()``.
"""

import signal
import sys

import netsvc_twisted as netsvc


class Application(netsvc.Agent):
    def __init__(self, delay):
        netsvc.Agent.__init__(self)
        self.subscribeSignal(self.signalReceived, signal.SIGINT)
        self.subscribeSignal(self.signalReceived, signal.SIGTERM)
        self.subscribeShutdown(self.shutdownEvent)
        self.startTimer(self.timeout, delay, "timeout")

    def signalReceived(self, signum):
        print("signal %s" % signal.Signals(signum).name, flush=True)
        self.scheduleShutdown()

    def timeout(self, name):
        print("timeout %s" % name, flush=True)
        self.scheduleShutdown()

    def shutdownEvent(self, category):
        if category == netsvc.SHUTDOWN_PENDING:
            print("shutdown pending", flush=True)
            self.cancelTimer("timeout")
            # Hold the shutdown back until the clean-up is done.
            self.suspendShutdown()
            self.startTimer(self.cleanedUp, 0.1)
        elif category == netsvc.SHUTDOWN_ARRIVED:
            print("shutdown arrived", flush=True)
            # The dispatcher stops once every subscriber has seen this.
            self.destroyAgent()
            print("exiting", flush=True)

    def cleanedUp(self):
        print("cleaned up", flush=True)
        self.resumeShutdown()


def main(argv):
    delay = float(argv[1]) if len(argv) > 1 else 60.0
    Application(delay)
    print("ready", flush=True)
    # Returns once the shutdown has arrived; under twistd at once.
    netsvc.Dispatcher().run()


if __name__ == "__main__":
    main(sys.argv)
