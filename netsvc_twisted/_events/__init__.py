# -*- test-case-name: tests.events.test_dispatcher,tests.test_layout -*-
"""
OSE's event system on the Twisted reactor: L{Dispatcher} and L{Job} with
their priorities, L{Agent} timers and signals, the OSE logger and the
environment helpers.

The bottom layer: it imports only the ground floor (C{_constants},
C{_errors}, C{_interfaces}). Read C{_dispatcher} first, then C{_jobs} and C{_agent}.
"""
