# -*- test-case-name: tests.test_logging -*-
"""Tests for the Logger facade and the exception helpers."""

import pytest
from twisted.logger import LogLevel

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
from netsvc_twisted._events._logging import (
    Logger,
    exceptionDescription,
    exceptionDetails,
    logException,
)


@pytest.fixture
def monitors():
    """Monitor callbacks registered through this fixture are removed afterwards."""
    channels = []

    def monitor(channel, callback):
        channels.append(channel)
        Logger().monitorChannel(channel, callback)

    yield monitor
    for channel in channels:
        Logger().monitorChannel(channel, None)


def netsvcEvents(events):
    return [e for e in events if e.get("log_namespace", "").startswith("netsvc")]


def test_notify_goes_to_twisted_logger(logEvents):
    Logger().notify(LOG_WARNING, "careful {not a field}")
    [event] = netsvcEvents(logEvents)
    assert event["log_namespace"] == "netsvc"
    assert event["log_level"] is LogLevel.warn
    assert event["netsvc_message"] == "careful {not a field}"


@pytest.mark.parametrize(
    "level, expected",
    [
        (LOG_EMERGENCY, LogLevel.critical),
        (LOG_ALERT, LogLevel.critical),
        (LOG_CRITICAL, LogLevel.critical),
        (LOG_ERROR, LogLevel.error),
        (LOG_WARNING, LogLevel.warn),
        (LOG_NOTICE, LogLevel.info),
        (LOG_INFO, LogLevel.info),
        (LOG_DEBUG, LogLevel.debug),
    ],
)
def test_channel_namespace_and_levels(logEvents, level, expected):
    Logger().notifyChannel("app", level, "message")
    [event] = netsvcEvents(logEvents)
    assert event["log_namespace"] == "netsvc.app"
    assert event["log_level"] is expected
    assert event["netsvc_level"] == level


def test_monitor_shared_between_instances(monitors, logEvents):
    seen = []
    monitors("app", lambda *args: seen.append(args))
    Logger().notifyChannel("app", LOG_INFO, "one")
    Logger().notifyChannel("other", LOG_INFO, "two")
    assert seen == [("app", LOG_INFO, "one")]
    # A visible channel still reaches twisted.logger while monitored.
    assert len(netsvcEvents(logEvents)) == 2


def test_monitor_replace_and_remove(monitors):
    first, second = [], []
    monitors("app", lambda *args: first.append(args))
    Logger().monitorChannel("app", lambda *args: second.append(args))
    Logger().notifyChannel("app", LOG_INFO, "one")
    Logger().monitorChannel("app", None)
    Logger().notifyChannel("app", LOG_INFO, "two")
    assert first == []
    assert second == [("app", LOG_INFO, "one")]


def test_hidden_channel_only_reaches_monitors(monitors, logEvents):
    seen = []
    monitors("%access", lambda *args: seen.append(args))
    Logger().notifyChannel("%access", LOG_INFO, "GET /")
    assert seen == [("%access", LOG_INFO, "GET /")]
    assert netsvcEvents(logEvents) == []


def test_unmonitored_hidden_channel_costs_nothing(logEvents):
    class Expensive:
        def __str__(self):
            raise AssertionError("formatted although nobody listens")

    Logger().notifyChannel("_private", LOG_DEBUG, Expensive())
    assert netsvcEvents(logEvents) == []


def test_broken_monitor_does_not_break_caller(monitors, logEvents):
    def broken(channel, level, message):
        raise RuntimeError("monitor bug")

    monitors("app", broken)
    Logger().notifyChannel("app", LOG_INFO, "still logged")
    messages = [e.get("netsvc_message") for e in netsvcEvents(logEvents)]
    assert "still logged" in messages
    assert any("log_failure" in e for e in netsvcEvents(logEvents))


def raiser():
    raise ValueError("bad value")


def test_log_exception_gives_observers_a_failure(logEvents):
    try:
        raiser()
    except ValueError:
        logException()
    [event] = netsvcEvents(logEvents)
    assert event["log_level"] is LogLevel.error
    assert event["log_failure"].check(ValueError)
    assert event["netsvc_message"] == "ValueError: bad value"


def test_log_exception_reaches_default_channel_monitor(monitors, logEvents):
    seen = []
    monitors("", lambda *args: seen.append(args))
    try:
        raiser()
    except ValueError:
        logException()
    [(channel, level, text)] = seen
    assert (channel, level) == ("", LOG_ERROR)
    assert "Traceback" in text and "ValueError: bad value" in text


def test_log_exception_without_exception_is_quiet(logEvents):
    logException()
    assert netsvcEvents(logEvents) == []


def test_exception_description_and_details():
    try:
        raiser()
    except ValueError:
        assert exceptionDescription() == "ValueError: bad value"
        details = exceptionDetails()
        skipped = exceptionDetails(skip=1)
    assert "test_exception_description_and_details" in details
    assert "raiser" in details
    assert "test_exception_description_and_details" not in skipped
    assert "raiser" in skipped and skipped.rstrip().endswith("ValueError: bad value")
    assert exceptionDescription() == ""
    assert exceptionDetails() == ""
