"""
Monitor: service announcements for names, groups and the whole registry,
delivered from the reactor (a Clock here), never inside the call that
caused them.
"""

from twisted.internet.task import Clock

import netsvc_twisted as netsvc
from netsvc_twisted._events._dispatcher import usingReactor
from rpc_support import cleanServices  # noqa: F401

A, W = netsvc.SERVICE_AVAILABLE, netsvc.SERVICE_WITHDRAWN


class Recorder(netsvc.Monitor):
    def __init__(self):
        self.seen = []

    def named(self, binding, status):
        self.seen.append(("name", binding.serviceName(), status))

    def grouped(self, binding, group, status):
        self.seen.append((group, binding.serviceName(), status))

    def everything(self, binding, status):
        self.seen.append(("all", binding.serviceName(), status))


def test_name_group_and_registry_announcements(cleanServices):
    with usingReactor(Clock()) as clock:
        old = netsvc.Service("old")
        monitor = Recorder()
        monitor.subscribeServiceName(monitor.named, "validator")
        monitor.subscribeServiceGroup(monitor.grouped, "web")
        monitor.subscribeServiceRegistry(monitor.everything)
        validator = netsvc.Service("validator")
        validator.joinGroup("web")
        assert monitor.seen == []  # nothing inside the calls themselves
        clock.advance(0)
        assert monitor.seen == [
            ("all", "old", A),  # what already existed, on subscription
            ("name", "validator", A),
            ("all", "validator", A),
            ("web", "validator", A),
        ]
        del monitor.seen[:]
        validator.leaveGroup("web")
        validator.joinGroup("web")
        validator.destroyService()
        old.destroyService()
        clock.advance(0)
        assert monitor.seen == [
            ("web", "validator", W),
            ("web", "validator", A),
            ("name", "validator", W),
            ("all", "validator", W),
            ("web", "validator", W),
            ("all", "old", W),
        ]


def test_existing_members_are_announced_on_subscription(cleanServices):
    with usingReactor(Clock()) as clock:
        member = netsvc.Service("member")
        member.joinGroup("g")
        netsvc.Service("outsider")
        monitor = Recorder()
        monitor.subscribeServiceGroup(monitor.grouped, "g")
        clock.advance(0)
        assert monitor.seen == [("g", "member", A)]


def test_unsubscribe_and_destroy_stop_announcements(cleanServices):
    with usingReactor(Clock()) as clock:
        monitor = Recorder()
        monitor.subscribeServiceName(monitor.named, "x")
        monitor.subscribeServiceRegistry(monitor.everything)
        netsvc.Service("x")  # queued, then unsubscribed before delivery
        monitor.unsubscribeServiceName("x")
        clock.advance(0)
        assert monitor.seen == [("all", "x", A)]
        monitor.destroyAgent()
        netsvc.Service("y")
        clock.advance(0)
        assert monitor.seen == [("all", "x", A)]


def test_a_failing_callback_goes_to_unexpectedException(cleanServices):
    failures = []

    class Failing(netsvc.Monitor):
        def unexpectedException(self):
            failures.append(True)

    with usingReactor(Clock()) as clock:
        monitor = Failing()
        monitor.subscribeServiceRegistry(lambda binding, status: 1 / 0)
        netsvc.Service("z")
        clock.advance(0)
        assert failures == [True]


def test_a_service_is_a_monitor(cleanServices):
    with usingReactor(Clock()) as clock:
        watcher = netsvc.Service("watcher")
        seen = []
        watcher.subscribeServiceName(lambda binding, status: seen.append(status), "peer")
        peer = netsvc.Service("peer")
        peer.destroyService()
        clock.advance(0)
        assert seen == [A, W]
        watcher.destroyService()
        netsvc.Service("peer")
        clock.advance(0)
        assert seen == [A, W]
