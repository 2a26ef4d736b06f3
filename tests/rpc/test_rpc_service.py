"""
Services in-process (spec 10.1): exports, the failure rules, deferred
replies, Deferred and coroutine results, the registry's selection rules.
"""

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from netsvc_twisted._constants import (
    SERVICE_ADDRESS,
    SERVICE_GROUP,
    SERVICE_HIDDEN,
    SERVICE_NAME,
    SERVICE_REGISTRY,
)
from netsvc_twisted._rpc._failure import (
    AddressInvalid,
    AuthenticationFailure,
    ServiceFailure,
    ServiceUnavailable,
    TransportFailure,
)
from netsvc_twisted._rpc._service import LocalService, Service
from rpc_support import cleanServices  # noqa: F401


def outcome(d: Deferred):
    box = []
    d.addBoth(box.append)
    assert box, "deferred did not fire"
    return box[0]


def failureOf(d: Deferred) -> ServiceFailure:
    result = outcome(d)
    assert isinstance(result, Failure), result
    assert isinstance(result.value, ServiceFailure)
    return result.value


class Math(Service):
    def __init__(self, name="math", **kw):
        Service.__init__(self, name, **kw)
        self.exportMethod(self.add)
        self.exportMethod(self.add, "math.add")
        self.exportMethod(self.opt)
        self.exportMethod(self.var)
        self.exportMethod(self.boom)
        self.exportMethod(self.fail)
        self.exportMethod(self.later)
        self.exportMethod(self.coro)
        self.exportMethod(self.deferred)
        self.exportMethod(self.props)
        self.exportMethod(self.suspend)
        self.exportMethod(self.early)
        self.conversation = None

    def add(self, a, b):
        return a + b

    def opt(self, a, b=1, c=2):
        return a + b + c

    def var(self, a, *rest):
        return [a, *rest]

    def boom(self):
        raise ValueError("boom")

    def fail(self):
        self.abortResponse(99, "Custom", "here", "more")

    def later(self):
        self.pending = Deferred()
        return self.pending

    async def coro(self, x):
        value = await succeed(x * 2)
        return [value, self.currentRequest().properties()["REMOTE_USER"]]

    def deferred(self):
        return succeed("d")

    def props(self):
        return self.currentRequest().properties()

    def suspend(self, value):
        self.conversation = self.suspendResponse(lambda: value + 1)

    def early(self):
        self.returnResponse("early")
        return "late"


def test_exportAndLookup(cleanServices):
    service = Math()
    assert "add" in service.exportedMethods()
    assert "math.add" in service.exportedMethods()
    assert service.lookupMethod("nope") is None
    assert outcome(service._dispatch("math.add", [1, 2])) == 3


def test_methodUnavailable(cleanServices):
    failure = failureOf(Math()._dispatch("nope", []))
    assert (failure.error, failure.description, failure.origin, failure.details) == (
        55,
        "Method Unavailable",
        "netsvc",
        "",
    )


@pytest.mark.parametrize(
    "method,args,details",
    [
        ("add", [1], "Expected 2 arguments, received 1."),
        ("opt", [], "Expected 1-3 arguments, received 0."),
        ("opt", [1, 2, 3, 4], "Expected 1-3 arguments, received 4."),
        ("var", [], "Expected 1 or more arguments, received 0."),
    ],
)
def test_parametersIncorrect(cleanServices, method, args, details):
    failure = failureOf(Math()._dispatch(method, args))
    assert (failure.error, failure.description, failure.origin, failure.details) == (
        56,
        "Parameters Incorrect",
        "netsvc",
        details,
    )


def test_varargsAccepted(cleanServices):
    assert outcome(Math()._dispatch("var", [1, 2, 3])) == [1, 2, 3]


def test_namedParameters(cleanServices):
    service = Math()
    assert outcome(service._dispatch("opt", {"a": 1, "c": 5})) == 7
    assert failureOf(service._dispatch("opt", {"z": 1})).error == 56


@pytest.mark.parametrize("method,params,details", [
    ("opt", {"b": 1}, "Missing argument a."),
    ("opt", {"a": 1, "z": 1, "y": 2}, "Received 2 named argument(s) the method does not take."),
    ("var", {"a": 1, "rest": 2}, "Received 1 named argument(s) the method does not take."),
])
def test_namedParametersIncorrect(cleanServices, method, params, details):
    """Our words, naming only the method's parameters, not Python's TypeError."""
    failure = failureOf(Math()._dispatch(method, params))
    assert (failure.error, failure.details) == (56, details)


def test_applicationError(cleanServices):
    failure = failureOf(Math()._dispatch("boom", []))
    assert (failure.error, failure.description, failure.origin) == (
        57,
        "Application Error",
        "netsvc",
    )
    assert failure.details == "ValueError: boom"


def test_applicationErrorTracebackOnlyWhenExposed(cleanServices):
    class Loud(Math):
        exposeTracebacks = True

    failure = failureOf(Loud()._dispatch("boom", []))
    assert failure.details.startswith("Traceback") and "ValueError: boom" in failure.details


def test_abortResponse(cleanServices):
    failure = failureOf(Math()._dispatch("fail", []))
    assert failure == ServiceFailure(99, "Custom", "here", "more")


def test_deferredAndCoroutineResults(cleanServices):
    service = Math()
    assert outcome(service._dispatch("deferred", [])) == "d"
    assert outcome(service._dispatch("coro", [4], {"REMOTE_USER": "bob"})) == [8, "bob"]
    d = service._dispatch("later", [])
    assert not d.called
    service.pending.callback(42)
    assert outcome(d) == 42


def test_deferredFailure(cleanServices):
    service = Math()
    d = service._dispatch("later", [])
    service.pending.errback(ServiceFailure(1, "x"))
    assert failureOf(d) == ServiceFailure(1, "x")
    d = service._dispatch("later", [])
    service.pending.errback(KeyError("k"))
    assert failureOf(d).error == 57


def test_properties(cleanServices):
    props = {"REMOTE_ADDR": "1.2.3.4", "REMOTE_USER": "me"}
    assert outcome(Math()._dispatch("props", [], props)) == props


def test_suspendResume(cleanServices):
    service = Math()
    d = service._dispatch("suspend", [1])
    assert not d.called
    service.resumeResponse(service.conversation)
    assert outcome(d) == 2


def test_suspendCancel(cleanServices):
    service = Math()
    d = service._dispatch("suspend", [1])
    service.cancelResponse(service.conversation, 70, "Cancelled", "me", "why")
    assert failureOf(d) == ServiceFailure(70, "Cancelled", "me", "why")


def test_suspendAbandon(cleanServices):
    service = Math()
    d = service._dispatch("suspend", [1])
    service.abandonResponse(service.conversation)
    assert failureOf(d).error == 58


def test_returnResponse(cleanServices):
    assert outcome(Math()._dispatch("early", [])) == "early"


def test_withdrawnBeforeReply(cleanServices):
    service = Math()
    d = service._dispatch("later", [])
    service.destroyService()
    failure = failureOf(d)
    assert failure.error == 57
    assert failure.details == "Service was withdrawn before response received."


def test_localService(cleanServices):
    Math()
    assert LocalService("math").add(1, 2) == 3
    assert LocalService("math").math.add(2, 2) == 4
    with pytest.raises(ServiceFailure) as info:
        LocalService("math").boom()
    assert info.value.error == 57
    with pytest.raises(ServiceUnavailable) as info:
        LocalService("absent").add(1, 2)
    assert info.value.error == 46


def test_failureSubclasses():
    for cls in (AddressInvalid, ServiceUnavailable, TransportFailure, AuthenticationFailure):
        assert issubclass(cls, ServiceFailure)
    failure = ServiceFailure(57, "Application Error", "netsvc", "tb")
    assert (failure.error, failure.description, failure.origin, failure.details) == (
        57,
        "Application Error",
        "netsvc",
        "tb",
    )


def test_selection(cleanServices):
    registry = cleanServices
    a = Math("a", audience="public")
    a.joinGroup("web")
    b = Math("b")
    hidden = Math("h", visibility=SERVICE_HIDDEN)
    hidden.joinGroup("web")
    assert registry.select("web", SERVICE_GROUP, "a") is a
    assert registry.select("web", SERVICE_GROUP, "b") is None
    assert registry.select("", SERVICE_GROUP, "b") is b
    assert registry.select("web", SERVICE_GROUP, "h") is None
    assert registry.select("*", SERVICE_REGISTRY, "b") is b
    assert registry.select("public", SERVICE_REGISTRY, "a") is a
    assert registry.select("public", SERVICE_REGISTRY, "b") is None
    assert registry.select("a", SERVICE_NAME, "") is a
    assert registry.select("a", SERVICE_NAME, "x") is None
    address = b.serviceBinding().serviceAddress()
    assert registry.select(address, SERVICE_ADDRESS, "") is b
    a.leaveGroup("web")
    assert registry.select("web", SERVICE_GROUP, "a") is None


def test_duplicateNames(cleanServices):
    registry = cleanServices
    first = Math("dup")
    second = Math("dup")
    first.joinGroup("g")
    second.joinGroup("g")
    assert registry.select("g", SERVICE_GROUP, "dup") is first
    first.destroyService()
    assert registry.select("g", SERVICE_GROUP, "dup") is second


def test_serviceIsAnAgent(cleanServices):
    """A timer of the service may finish a suspended response."""
    from twisted.internet.task import Clock

    clock = Clock()

    class Timed(Service):
        def __init__(self):
            Service.__init__(self, "timed")
            self.exportMethod(self.slow)

        def slow(self):
            conversation = self.suspendResponse(lambda: "done")
            clock.callLater(5, self.resumeResponse, conversation)

    service = Timed()
    assert hasattr(service, "startTimer")
    d = service._dispatch("slow", [])
    assert not d.called
    clock.advance(5)
    assert outcome(d) == "done"
    service.destroyAgent()
    assert service._destroyed

