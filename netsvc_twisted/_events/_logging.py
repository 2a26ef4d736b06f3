# -*- test-case-name: tests.events.test_logging -*-
"""
OSE's logger facade (spec 9.5, section 3) on top of C{twisted.logger}.

Ordinary channels become C{twisted.logger} events so whatever observers the
application (or twistd) configured decide where output goes; this is also
why C{OTCLIB_NOLOGSTDERR} is accepted but has no effect of its own.
Channels whose name does not start with a letter or a digit are "hidden":
OSE uses them as private pipes between components (for instance the HTTP
access log), so they only reach monitors registered with
L{Logger.monitorChannel}.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType
from typing import Callable, Optional

from twisted.logger import Logger as _TwistedLogger
from twisted.logger import LogLevel
from twisted.python.failure import Failure

from netsvc_twisted._constants import (
    LOG_ALERT,
    LOG_CRITICAL,
    LOG_DEBUG,
    LOG_EMERGENCY,
    LOG_ERROR,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
)

MonitorCallback = Callable[[str, int, str], object]

_LEVELS: dict[int, LogLevel] = {
    LOG_EMERGENCY: LogLevel.critical,
    LOG_ALERT: LogLevel.critical,
    LOG_CRITICAL: LogLevel.critical,
    LOG_ERROR: LogLevel.error,
    LOG_WARNING: LogLevel.warn,
    LOG_NOTICE: LogLevel.info,
    LOG_INFO: LogLevel.info,
    LOG_DEBUG: LogLevel.debug,
}

# Shared by every Logger instance: OSE's monitors are process-wide.
_monitors: dict[str, MonitorCallback] = {}
_twistedLoggers: dict[str, _TwistedLogger] = {}
_FORMAT = "{netsvc_message}"


def _twistedLogger(namespace: str) -> _TwistedLogger:
    logger = _twistedLoggers.get(namespace)
    if logger is None:
        logger = _twistedLoggers[namespace] = _TwistedLogger(namespace=namespace)
    return logger


def _twistedLevel(level: int) -> LogLevel:
    if level in _LEVELS:
        return _LEVELS[level]
    return LogLevel.critical if level < LOG_EMERGENCY else LogLevel.debug


def _isHidden(channel: str) -> bool:
    return not (channel[:1].isascii() and channel[:1].isalnum())


def _deliverToMonitor(channel: str, level: int, message: object) -> None:
    callback = _monitors.get(channel)
    if callback is None:
        return
    try:
        callback(channel, level, str(message))
    except Exception:
        # Report straight to twisted.logger: going through notify() again
        # could recurse into the same broken monitor.
        _twistedLogger("netsvc").failure(
            "Log monitor for channel {channel!r} raised", channel=channel
        )


def _emit(namespace: str, channel: str, level: int, message: object) -> None:
    _twistedLogger(namespace).emit(
        _twistedLevel(level),
        _FORMAT,
        netsvc_message=str(message),
        netsvc_channel=channel,
        netsvc_level=level,
    )


class Logger:
    """
    OSE's C{netsvc.Logger}: notify channels and monitor them.

    Instances are cheap and interchangeable; they all share one table of
    monitors, one callback per channel.

    Spec 9.5.
    """

    def notify(self, level: int, message: object) -> None:
        """Log C{message} at OSE C{level} on the default channel."""
        if _monitors:
            _deliverToMonitor("", level, message)
        _emit("netsvc", "", level, message)

    def notifyChannel(self, channel: str, level: int, message: object) -> None:
        """Log C{message} at OSE C{level} on C{channel}."""
        if not channel:
            self.notify(level, message)
            return
        if _isHidden(channel):
            if channel in _monitors:
                _deliverToMonitor(channel, level, message)
            return
        if _monitors:
            _deliverToMonitor(channel, level, message)
        _emit("netsvc." + channel, channel, level, message)

    def monitorChannel(
        self, channel: str, callback: Optional[MonitorCallback]
    ) -> None:
        """
        Call C{callback(channel, level, message)} for each message on
        C{channel}, replacing any earlier monitor; C{None} removes it.
        """
        if callback is None:
            _monitors.pop(channel, None)
        else:
            _monitors[channel] = callback


def _currentException(
    skip: int,
) -> tuple[type[BaseException], BaseException, TracebackType | None] | None:
    excType, excValue, tb = sys.exc_info()
    if excType is None or excValue is None:
        return None
    while skip > 0 and tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
        skip -= 1
    return excType, excValue, tb


def exceptionDescription() -> str:
    """Return C{"<type>: <value>"} for the exception being handled.

    Spec 3.
    """
    excType, excValue = sys.exc_info()[:2]
    if excType is None:
        return ""
    return "%s: %s" % (excType.__name__, excValue)


def exceptionDetails(skip: int = 0) -> str:
    """
    Return the traceback text of the exception being handled, leaving out
    the C{skip} outermost frames (typically framework wrappers).

    Spec 3.
    """
    current = _currentException(skip)
    if current is None:
        return ""
    return "".join(traceback.format_exception(*current))


def logException(skip: int = 0) -> None:
    """
    Log the exception being handled, with its traceback, at LOG_ERROR.

    It goes to C{twisted.logger} as a failure event (observers get the
    L{Failure}) and, as text, to a monitor of the default channel if any.

    Spec 3; C{skip} leaves out that many outermost frames.
    """
    current = _currentException(skip)
    if current is None:
        return
    excType, excValue, tb = current
    description = "%s: %s" % (excType.__name__, excValue)
    if "" in _monitors:
        _deliverToMonitor(
            "", LOG_ERROR, "".join(traceback.format_exception(excType, excValue, tb))
        )
    _twistedLogger("netsvc").failure(
        _FORMAT,
        failure=Failure(excValue, excType, tb),
        level=LogLevel.error,
        netsvc_message=description,
        netsvc_channel="",
        netsvc_level=LOG_ERROR,
    )
