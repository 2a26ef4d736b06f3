"""
What the RPC examples share (not an example itself): serve, run the
example's client demo once the daemon listens, then end the program, or,
under ``twistd -n netsvc --config``, serve on.

How a script tells the two apart: ``Dispatcher().run()`` runs the reactor
only when the script runs as a program (under twistd it returns at once),
so a job scheduled when the demo is over finds ``_dispatching`` still set
only in a program.
"""

import signal
import sys

from twisted.python.failure import Failure

import netsvc_twisted as netsvc

#: True while run() below runs the reactor.
_dispatching = False


def run(daemon, demo, *args):
    """
    Start C{daemon}, then call C{demo(daemon, *args)} (which may return a
    Deferred) once it listens, and run the dispatcher.
    """
    global _dispatching
    dispatcher = netsvc.Dispatcher()
    dispatcher.monitor(signal.SIGINT)
    dispatcher.monitor(signal.SIGTERM)
    daemon.start().addCallback(_listening, daemon, demo, args).addBoth(_finish)
    _dispatching = True
    dispatcher.run()
    _dispatching = False


def _listening(listening, daemon, demo, args):
    if listening is None:
        return daemon.startFailure  # could not listen: the demo cannot run
    return demo(daemon, *args)


def _finish(result):
    """A program ends with status 0, or 1 after a failure; twistd serves on."""
    if isinstance(result, Failure):
        result.printTraceback(sys.stderr)
    status = 1 if isinstance(result, Failure) else 0
    netsvc.Dispatcher().schedule(lambda: _end(status))


def _end(status):
    # A job runs from the reactor, so by now run() either runs it (a
    # program: the daemon drains as the reactor stops) or has returned.
    if _dispatching:
        sys.exit(status)
