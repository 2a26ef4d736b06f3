# -*- test-case-name: tests.rpc.test_rpc_monitor -*-
"""
C{Monitor}: an agent told when services of this process come and go.

OSE spread service announcements (C{SERVICE_AVAILABLE},
C{SERVICE_WITHDRAWN}) over its message exchange; here the registry is the
process's own list, so a monitor subscribes to it directly.  Every
subscription first reports the services that already match, as
available, so a monitor never has to look them up separately, and
announcements arrive from the reactor (a job), never inside the
C{Service()} or C{joinGroup()} call that caused them.
"""

from __future__ import annotations

from typing import Any, Callable

from netsvc_twisted._events._agent import Agent
from netsvc_twisted._constants import SERVICE_AVAILABLE, SERVICE_WITHDRAWN, STANDARD_JOB
from netsvc_twisted._events._jobs import Job
from netsvc_twisted._rpc._registry import ServiceBinding, registry

__all__ = ["Monitor"]

#: A subscription's key: ("name", name), ("group", group) or ("registry", "").
_Key = tuple[str, str]


class Monitor(Agent):
    """
    Subscribe to the services called C{name}, the members of C{group}, or
    every service; the callback gets the service's binding and
    C{SERVICE_AVAILABLE} or C{SERVICE_WITHDRAWN} (group callbacks also
    get the group).  L{destroyAgent} drops every subscription.

    Spec 10.1 (service announcements); an L{Agent} (spec 9.3).
    """

    def subscribeServiceName(self, callback: Callable[..., object], name: str) -> None:
        """C{callback(binding, status)} for services called C{name}."""
        self._subscribe(("name", name), callback)

    def unsubscribeServiceName(self, name: str) -> None:
        """
        Undo C{subscribeServiceName()} for C{name}.
        """
        self._unsubscribe(("name", name))

    def subscribeServiceGroup(self, callback: Callable[..., object], group: str) -> None:
        """C{callback(binding, group, status)} as services join and leave C{group}."""
        self._subscribe(("group", group), callback)

    def unsubscribeServiceGroup(self, group: str) -> None:
        """
        Undo C{subscribeServiceGroup()} for C{group}.
        """
        self._unsubscribe(("group", group))

    def subscribeServiceRegistry(self, callback: Callable[..., object]) -> None:
        """C{callback(binding, status)} for every service of the process."""
        self._subscribe(("registry", ""), callback)

    def unsubscribeServiceRegistry(self) -> None:
        """
        Undo C{subscribeServiceRegistry()}.
        """
        self._unsubscribe(("registry", ""))

    def destroyAgent(self) -> None:
        for key in list(self._subscriptions):
            self._unsubscribe(key)
        Agent.destroyAgent(self)

    destroyReferences = destroyAgent

    # -- internals -----------------------------------------------------------

    @property
    def _subscriptions(self) -> dict[_Key, Callable[..., object]]:
        found = self.__dict__.get("_netsvcMonitor")
        if found is None:
            found = self.__dict__["_netsvcMonitor"] = {}
        return found

    def _subscribe(self, key: _Key, callback: Callable[..., object]) -> None:
        self._subscriptions[key] = callback
        _watchers.add(self)
        for service in registry.services():
            if _matches(key, service):
                self._announce(key, service.serviceBinding(), SERVICE_AVAILABLE)

    def _unsubscribe(self, key: _Key) -> None:
        self._subscriptions.pop(key, None)
        if not self._subscriptions:
            _watchers.discard(self)

    def _announce(self, key: _Key, binding: ServiceBinding, status: int) -> None:
        callback = self._subscriptions[key]
        args: tuple[Any, ...] = (
            (binding, key[1], status) if key[0] == "group" else (binding, status)
        )

        def deliver() -> None:
            # Unsubscribed (or resubscribed elsewhere) since: not for us.
            if self._subscriptions.get(key) is callback:
                self._agentDeliver(callback, args)

        Job(deliver).schedule(STANDARD_JOB)


def _matches(key: _Key, service: Any) -> bool:
    kind, value = key
    if kind == "name":
        return service.serviceBinding().serviceName() == value
    if kind == "group":
        return value in service._groups
    return True


class _Watchers:
    """The monitors with a subscription, told by the registry and groups."""

    def __init__(self) -> None:
        self._monitors: dict[int, Monitor] = {}

    def add(self, monitor: Monitor) -> None:
        self._monitors[id(monitor)] = monitor

    def discard(self, monitor: Monitor) -> None:
        self._monitors.pop(id(monitor), None)

    def serviceChanged(self, service: Any, status: int) -> None:
        """A service was announced or withdrawn: its names and groups."""
        binding = service.serviceBinding()
        for monitor in list(self._monitors.values()):
            for key in list(monitor._subscriptions):
                if key[0] != "group" and _matches(key, service):
                    monitor._announce(key, binding, status)
            for group in list(service._groups):
                if ("group", group) in monitor._subscriptions:
                    monitor._announce(("group", group), binding, status)

    def groupChanged(self, service: Any, group: str, status: int) -> None:
        binding = service.serviceBinding()
        for monitor in list(self._monitors.values()):
            if ("group", group) in monitor._subscriptions:
                monitor._announce(("group", group), binding, status)


_watchers = _Watchers()


def serviceAvailable(service: Any) -> None:
    _watchers.serviceChanged(service, SERVICE_AVAILABLE)


def serviceWithdrawn(service: Any) -> None:
    _watchers.serviceChanged(service, SERVICE_WITHDRAWN)


def groupJoined(service: Any, group: str) -> None:
    _watchers.groupChanged(service, group, SERVICE_AVAILABLE)


def groupLeft(service: Any, group: str) -> None:
    _watchers.groupChanged(service, group, SERVICE_WITHDRAWN)
