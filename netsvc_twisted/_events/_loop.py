# -*- test-case-name: tests.events.test_dispatcher -*-
"""
The reactor the event system runs on, and the process-wide state of the
loop that is not a queue: who owns the reactor, a pending exit, a fatal
error.  Everything in C{_events} reaches the reactor through
L{getReactor}, so a test can substitute a clock (C{usingReactor} in
C{_dispatcher}).
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.error import AlreadyCalled, AlreadyCancelled, ReactorNotRunning

#: The substitute reactor set by C{_dispatcher.usingReactor}, or None.
reactorOverride: Any = None


def getReactor() -> Any:
    """Return the reactor every event-system object uses."""
    if reactorOverride is not None:
        return reactorOverride
    from twisted.internet import reactor

    return reactor


def _cancelCall(call: Any) -> None:
    try:
        call.cancel()
    except (AlreadyCalled, AlreadyCancelled):
        pass


def _stopReactor() -> None:
    stop = getattr(getReactor(), "stop", None)
    if stop is None:
        return
    try:
        stop()
    except ReactorNotRunning:
        pass


class _LoopState:
    """Dispatcher bookkeeping that is not a queue."""

    def __init__(self) -> None:
        self.ownsReactor = False
        self.exit: Optional[SystemExit] = None
        self.idleCheck: Any = None
        self.warnings = True
        self.fatal: Optional[str] = None

    def reset(self) -> None:
        if self.idleCheck is not None:
            _cancelCall(self.idleCheck)
        self.idleCheck = None
        self.exit = None
        self.fatal = None


_state = _LoopState()


def _terminated(exc: SystemExit) -> None:
    """A callback raised SystemExit: stop, and let Dispatcher.run re-raise."""
    if _state.exit is None:
        _state.exit = exc
    _stopReactor()


def fatalError(message: str) -> None:
    """
    Make the program L{Dispatcher.run} runs (or is about to run) end with
    the one-line C{message} on stderr and exit status 1: how a part of
    the program that cannot work (a daemon that cannot listen) stops it
    loudly instead of leaving a process that serves nothing.  Ignored
    when something else runs the reactor (twistd, a test runner), whose
    owner sees the failure its own way; the first message wins.
    """
    reactor = getReactor()
    if getattr(reactor, "running", False) and not _state.ownsReactor:
        return
    if _state.fatal is None:
        _state.fatal = " ".join(message.split())
    if _state.ownsReactor:
        _stopReactor()


def terminate() -> None:
    """Stop the dispatcher and raise C{SystemExit} (spec 1.5)."""
    _stopReactor()
    raise SystemExit()
