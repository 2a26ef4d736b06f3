# -*- test-case-name: tests.rpc.test_rpc_service -*-
"""
The in-process service registry: which services exist, in the order they
were announced, and which of them a gateway selection can see.

OSE's gateways learn about services from announcements; in one process a
list in announcement order gives the same answers, including the rule for
duplicate names (the first announced answers until it is withdrawn).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Iterator

from netsvc_twisted._constants import (
    SERVICE_ADDRESS,
    SERVICE_GROUP,
    SERVICE_NAME,
    SERVICE_REGISTRY,
    SERVICE_VISIBLE,
)

if TYPE_CHECKING:
    from netsvc_twisted._rpc._service import Service

_counter = itertools.count(1)


class ServiceBinding:
    """The identity of one service, as gateways and clients see it."""

    _service: "Service | None" = None

    def __init__(self, name: str, audience: str) -> None:
        number = next(_counter)
        self._name = name
        self._audience = audience
        self._identity = f"$LOCAL/{number}"
        self._address = f"@{number}"

    def serviceName(self) -> str:
        return self._name

    def serviceAudience(self) -> str:
        return self._audience

    def agentIdentity(self) -> str:
        return self._identity

    def serviceIdentity(self) -> str:
        return self._identity

    def serviceAddress(self) -> str:
        return self._address

    def processAddress(self) -> str:
        return ""

    def serviceLocation(self) -> str:
        return self._address

    def __repr__(self) -> str:
        return f"<ServiceBinding {self._name!r} {self._address}>"


class Registry:
    """Services of this process, oldest first."""

    def __init__(self) -> None:
        self._services: list[Service] = []

    def announce(self, service: "Service") -> None:
        if service not in self._services:
            self._services.append(service)

    def withdraw(self, service: "Service") -> None:
        if service in self._services:
            self._services.remove(service)

    def services(self) -> Iterator["Service"]:
        return iter(list(self._services))

    def byName(self, name: str) -> "Service | None":
        """The first announced service called C{name}, hidden or not."""
        for service in self._services:
            if service.serviceBinding().serviceName() == name:
                return service
        return None

    def select(self, selection: str, type: int, name: str) -> "Service | None":
        """
        The service a gateway with (C{selection}, C{type}) serves for the
        servlet path C{name}; C{None} when there is none.
        """
        for service in self._services:
            if service._visibility != SERVICE_VISIBLE:
                continue
            binding = service.serviceBinding()
            if type in (SERVICE_NAME, SERVICE_ADDRESS):
                if name != "":
                    return None
                key = (
                    binding.serviceName()
                    if type == SERVICE_NAME
                    else binding.serviceAddress()
                )
                if key == selection:
                    return service
                continue
            if binding.serviceName() != name:
                continue
            if type == SERVICE_GROUP:
                if selection == "" or selection in service._groups:
                    return service
            elif type == SERVICE_REGISTRY:
                if selection in ("*", "") or binding.serviceAudience() == selection:
                    return service
        return None


registry = Registry()
