# -*- test-case-name: tests.rpc.test_rpc_service -*-
"""
Services: named objects whose exported methods RPC gateways call (spec 10.1).

A call is dispatched in-process and always answered through a Deferred, so
that a method may answer at once, later (C{suspendResponse}), from a
Twisted C{Deferred} or from a coroutine, and the gateway does not care
which.  The failure rules of spec 10.1 live here so every protocol reports
the same codes.
"""

from __future__ import annotations

import contextvars
import inspect
import itertools
from typing import Any, Callable

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsvc_twisted._rpc._monitor import (
    Monitor,
    groupJoined,
    groupLeft,
    serviceAvailable,
    serviceWithdrawn,
)
from netsvc_twisted._constants import (
    CLIENT_SERVICE_UNAVAILABLE,
    CLIENT_SERVICE_UNAVAILABLE_MESSAGE,
    SERVER_APPLICATION_ERROR,
    SERVER_APPLICATION_ERROR_MESSAGE,
    SERVER_METHOD_UNAVAILABLE,
    SERVER_METHOD_UNAVAILABLE_MESSAGE,
    SERVER_PARAMETERS_INCORRECT,
    SERVER_PARAMETERS_INCORRECT_MESSAGE,
    SERVER_RESPONSE_ABORTED,
    SERVER_RESPONSE_ABORTED_MESSAGE,
    SERVICE_VISIBLE,
)
from netsvc_twisted._rpc._registry import ServiceBinding, registry
from netsvc_twisted._rpc._failure import ServiceFailure, ServiceUnavailable
from netsvc_twisted._rpc._types import Opaque

_log = Logger(namespace="netsvc.rpc")
_current: contextvars.ContextVar["ServiceRequest | None"] = contextvars.ContextVar(
    "netsvc_current_request", default=None
)
_conversations = itertools.count(1)

WITHDRAWN_DETAILS = "Service was withdrawn before response received."


class ServiceWithdrawn(ServiceFailure):
    """
    The service went away before answering; gateways re-label the origin
    with their own (spec 10.2).
    """

    def __init__(self) -> None:
        ServiceFailure.__init__(
            self,
            SERVER_APPLICATION_ERROR,
            SERVER_APPLICATION_ERROR_MESSAGE,
            "netsvc",
            WITHDRAWN_DETAILS,
        )


class ServiceRequest:
    """One incoming call, as a method sees it through C{currentRequest()}."""

    def __init__(
        self, service: "Service", methodName: str, params: Any, properties: dict
    ) -> None:
        self._service = service
        self._methodName = methodName
        self._params = params
        self._properties = dict(properties)
        self._conversationId = f"$CONV/{next(_conversations)}"
        self._deferred: Deferred = Deferred()
        self._suspended = False
        self._callback: Callable[[], Any] | None = None

    def methodName(self) -> str:
        return self._methodName

    def content(self) -> Any:
        return self._params

    def properties(self) -> dict:
        """C{REMOTE_ADDR}, C{REMOTE_USER} and whatever the gateway adds."""
        return dict(self._properties)

    def conversationId(self) -> str:
        return self._conversationId

    def answered(self) -> bool:
        return self._deferred.called

    def succeed(self, result: Any) -> None:
        if self.answered():
            return
        if inspect.iscoroutine(result):
            result = Deferred.fromCoroutine(result)
        if isinstance(result, Deferred):
            result.addCallbacks(self.succeed, self.fail)
            return
        self._service._pending.pop(self._conversationId, None)
        self._deferred.callback(result)

    def fail(self, reason: "Failure | BaseException") -> None:
        if self.answered():
            return
        if isinstance(reason, Failure):
            exc = reason.value
            if not isinstance(exc, ServiceFailure):
                _log.failure(
                    "Exception in RPC method {method!r}",
                    failure=reason,
                    method=self._methodName,
                )
                # OSE sent the traceback as the details; it stays in the
                # server's log unless the service opts in.
                details = (
                    reason.getTraceback() if self._service.exposeTracebacks
                    else f"{reason.type.__name__}: {reason.getErrorMessage()}"
                )
                exc = ServiceFailure(
                    SERVER_APPLICATION_ERROR,
                    SERVER_APPLICATION_ERROR_MESSAGE,
                    "netsvc",
                    details,
                )
        else:
            exc = reason
        self._service._pending.pop(self._conversationId, None)
        self._deferred.errback(Failure(exc))


def _arityError(method: Callable, count: int) -> str | None:
    """The spec's "Expected ..." text when C{count} arguments do not fit."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return None
    required = total = 0
    varargs = False
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            varargs = True
        elif parameter.kind in (
            parameter.POSITIONAL_ONLY,
            parameter.POSITIONAL_OR_KEYWORD,
        ):
            total += 1
            if parameter.default is parameter.empty:
                required += 1
    if varargs:
        if count < required:
            return f"Expected {required} or more arguments, received {count}."
        return None
    if required <= count <= total:
        return None
    if required == total:
        return f"Expected {required} arguments, received {count}."
    return f"Expected {required}-{total} arguments, received {count}."


def _namedArgumentsError(method: Callable, names: dict) -> str | None:
    """
    Why named arguments (JSON-RPC 2.0) do not fit C{method}, in words of
    ours that name only the method's own parameters, never the caller's.
    """
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return None
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if not any(p.kind == p.VAR_KEYWORD for p in parameters):
        accepted = {p.name for p in parameters if p.kind in named}
        unexpected = sum(1 for name in names if name not in accepted)
        if unexpected:
            return f"Received {unexpected} named argument(s) the method does not take."
    for p in parameters:
        if p.default is p.empty and (
            p.kind == p.POSITIONAL_ONLY or (p.kind in named and p.name not in names)
        ):
            return f"Missing argument {p.name}."
    return None


class Service(Monitor):
    """
    A named service.  Subclass it, export methods, join groups; gateways
    attached to a daemon then make the methods callable over HTTP.  It is
    also a L{Monitor} (an L{Agent}), so timers can complete suspended
    responses and it can watch other services come and go.

    C{exposeTracebacks}: when a method raises, the failure's details are
    C{"<type>: <message>"} and the traceback goes to the log; true sends
    the traceback to the client as OSE did.

    Spec 10.1: C{name}, the C{audience} (C{"*"}: every process) and the
    C{visibility} (C{SERVICE_VISIBLE} or C{SERVICE_HIDDEN}).
    """

    exposeTracebacks = False

    def __init__(
        self, name: str = "", audience: str = "*", visibility: int = SERVICE_VISIBLE
    ) -> None:
        Monitor.__init__(self)
        self._binding = ServiceBinding(name, audience)
        self._binding._service = self
        self._visibility = visibility
        self._groups: list[str] = []
        self._methods: dict[str, Callable] = {}
        self._pending: dict[str, ServiceRequest] = {}
        self._suspended: dict[str, ServiceRequest] = {}
        self._destroyed = False
        registry.announce(self)
        serviceAvailable(self)

    # Identity and groups.

    def serviceBinding(self) -> ServiceBinding:
        """
        The service's binding: its name, audience and address (spec 10.1).
        """
        return self._binding

    def serviceName(self) -> str:
        """
        The name the service was created with (spec 10.1).
        """
        return self._binding.serviceName()

    def serviceAudience(self) -> str:
        """
        The audience the service was created with (spec 10.1).
        """
        return self._binding.serviceAudience()

    def serviceVisibility(self) -> int:
        """
        C{SERVICE_VISIBLE} or C{SERVICE_HIDDEN} (spec 10.1).
        """
        return self._visibility

    def serviceGroups(self) -> list[str]:
        """
        The groups the service joined, in order (spec 10.1).
        """
        return list(self._groups)

    def joinGroup(self, group: str) -> None:
        """
        Join C{group}: gateways selecting that group serve the service (spec
        10.1, 10.2).
        """
        if group not in self._groups:
            self._groups.append(group)
            if not self._destroyed:
                groupJoined(self, group)

    def leaveGroup(self, group: str) -> None:
        """
        Leave C{group} (spec 10.1).
        """
        if group in self._groups:
            if not self._destroyed:
                groupLeft(self, group)
            self._groups.remove(group)

    # Exported methods.

    def exportMethod(self, method: Callable, methodName: str | None = None) -> None:
        """Publish C{method} under C{methodName} (default its C{__name__})."""
        self._methods[methodName or method.__name__] = method

    def exportedMethods(self) -> list[str]:
        """
        The names of the exported methods (spec 10.1).
        """
        return list(self._methods)

    def lookupMethod(self, methodName: str) -> Callable | None:
        """
        The callable exported as C{methodName}, or L{None} (spec 10.1).
        """
        return self._methods.get(methodName)

    def invalidMethod(self) -> None:
        """Called for a method that is not exported: fails the call (55)."""
        self.abortResponse(
            SERVER_METHOD_UNAVAILABLE, SERVER_METHOD_UNAVAILABLE_MESSAGE, "netsvc"
        )

    # Per-service codec hooks (NET-RPC types the global hooks do not know).

    def encodeObject(self, object: Any) -> tuple[str | None, Any]:
        """
        Hook: encode C{object}, a value the codecs do not know, as C{(type,
        value)} (spec 10.4); the default raises L{TypeError}, which the client
        sees as failure 52.
        """
        raise TypeError(f"cannot encode {type(object).__name__} objects")

    def decodeValue(self, type: str, text: str) -> Any:
        """
        Hook: decode a NET-RPC scalar of unknown C{type} from C{text}; the
        default keeps it as an L{Opaque} (spec 10.4).
        """
        return Opaque(type, text)

    # Answering.

    def abortResponse(
        self, error: int, description: str, origin: str = "", details: str = ""
    ) -> None:
        """Fail the current call with this failure.

        The failure is C{error} (a code of spec 10.6), C{description},
        C{origin} and C{details}, as for L{ServiceFailure} (spec 10.1).
        """
        raise ServiceFailure(error, description, origin, details)

    def currentRequest(self) -> ServiceRequest | None:
        """
        The request the running method serves (its C{properties()} hold
        C{REMOTE_ADDR} and C{REMOTE_USER}), or L{None} outside one (spec 10.1).
        """
        return _current.get()

    def returnResponse(self, result: Any) -> None:
        """Answer the current call now; what the method returns is ignored.

        C{result} is the answer (spec 10.1).
        """
        request = _current.get()
        if request is not None:
            request.succeed(result)

    def suspendResponse(self, callback: Callable[[], Any] | None = None) -> str:
        """
        Do not answer when the method returns; C{resumeResponse(id)} will,
        with the return value of C{callback}.
        """
        request = _current.get()
        if request is None:
            raise RuntimeError("suspendResponse() outside of a service request")
        request._suspended = True
        request._callback = callback
        self._suspended[request.conversationId()] = request
        return request.conversationId()

    def resumeResponse(self, conversationId: str) -> None:
        """
        Answer the suspended request C{conversationId} with the return value of
        the callback given to C{suspendResponse()} (spec 10.1).
        """
        request = self._suspended.pop(conversationId, None)
        if request is None:
            return
        callback = request._callback or (lambda: None)
        self._run(request, callback, ())

    def cancelResponse(
        self,
        conversationId: str,
        error: int,
        description: str,
        origin: str = "",
        details: str = "",
    ) -> None:
        """
        Answer the suspended request C{conversationId} with the failure
        C{error}, C{description}, C{origin}, C{details} (spec 10.1).
        """
        request = self._suspended.pop(conversationId, None)
        if request is not None:
            request.fail(ServiceFailure(error, description, origin, details))

    def abandonResponse(self, conversationId: str) -> None:
        """
        Give up on a suspended call.  OSE then never answered; over HTTP that
        would hang the client, so it gets failure 58 instead.

        C{conversationId} is what C{suspendResponse()} returned (spec 10.1).
        """
        request = self._suspended.pop(conversationId, None)
        if request is not None:
            request.fail(
                ServiceFailure(
                    SERVER_RESPONSE_ABORTED,
                    SERVER_RESPONSE_ABORTED_MESSAGE,
                    "netsvc",
                    "Response abandoned by service.",
                )
            )

    # Lifetime.

    def destroyService(self) -> None:
        """
        Withdraw the service and cancel its agent callbacks; unanswered
        calls fail (57, withdrawn).
        """
        Monitor.destroyAgent(self)
        if self._destroyed:
            return
        self._destroyed = True
        registry.withdraw(self)
        serviceWithdrawn(self)
        self._suspended.clear()
        for request in list(self._pending.values()):
            request.fail(ServiceWithdrawn())

    destroyAgent = destroyService
    destroyReferences = destroyService

    # Dispatch, used by gateways and LocalService.

    def _dispatch(
        self,
        methodName: str,
        params: Any = (),
        properties: dict | None = None,
    ) -> Deferred:
        """
        Call C{methodName}; the Deferred fires with the result or fails with
        a L{ServiceFailure}.  C{params} is a sequence, or a dict of keyword
        arguments (JSON-RPC 2.0 named parameters).
        """
        request = ServiceRequest(self, methodName, params, properties or {})
        if self._destroyed:
            request.fail(ServiceWithdrawn())
            return request._deferred
        self._pending[request.conversationId()] = request
        method = self.lookupMethod(methodName)
        if method is None:
            self._run(request, self.invalidMethod, ())
            return request._deferred
        if isinstance(params, dict):
            problem = _namedArgumentsError(method, params)
            if problem is not None:
                request.fail(_parametersIncorrect(problem))
                return request._deferred
            self._run(request, lambda: method(**params), ())
        else:
            problem = _arityError(method, len(params))
            if problem is not None:
                request.fail(_parametersIncorrect(problem))
                return request._deferred
            self._run(request, method, tuple(params))
        return request._deferred

    def _run(self, request: ServiceRequest, function: Callable, args: tuple) -> None:
        """Run user code for C{request} with C{currentRequest()} set."""
        context = contextvars.copy_context()
        request._suspended = False
        context.run(self._call, request, function, args)

    def _call(self, request: ServiceRequest, function: Callable, args: tuple) -> None:
        _current.set(request)
        try:
            result = function(*args)
            if inspect.iscoroutine(result):
                result = ensureDeferred(result)
        except ServiceFailure as failure:
            request.fail(failure)
            return
        except Exception:
            request.fail(Failure())
            return
        if not request._suspended:
            request.succeed(result)


def _parametersIncorrect(details: str) -> ServiceFailure:
    return ServiceFailure(
        SERVER_PARAMETERS_INCORRECT,
        SERVER_PARAMETERS_INCORRECT_MESSAGE,
        "netsvc",
        details,
    )


class LocalService:
    """
    Calls a service of this process by name: C{LocalService("x").m(1)}.

    The answer is returned directly when the service answers at once; a
    method answering later gives a Deferred (OSE blocked here, which the
    reactor cannot).

    Spec 10.1.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, methodName: str) -> "_LocalMethod":
        if methodName.startswith("_"):
            raise AttributeError(methodName)
        return _LocalMethod(self._name, methodName)


class _LocalMethod:
    def __init__(self, serviceName: str, methodName: str) -> None:
        self._serviceName = serviceName
        self._methodName = methodName

    def __getattr__(self, name: str) -> "_LocalMethod":
        if name.startswith("_"):
            raise AttributeError(name)
        return _LocalMethod(self._serviceName, f"{self._methodName}.{name}")

    def __call__(self, *args: Any) -> Any:
        service = registry.byName(self._serviceName)
        if service is None:
            raise ServiceUnavailable(
                CLIENT_SERVICE_UNAVAILABLE,
                CLIENT_SERVICE_UNAVAILABLE_MESSAGE,
                "netsvc",
                f"No service called {self._serviceName!r} exists.",
            )
        d = service._dispatch(self._methodName, args)
        if not d.called:
            return d
        outcome: list = []
        d.addBoth(outcome.append)
        if isinstance(outcome[0], Failure):
            outcome[0].raiseException()
        return outcome[0]
