# -*- test-case-name: tests.hosting.test_twistd_plugin,tests.test_layout -*-
"""
How the engine is run and what it hosts: the ``twistd netsvc`` plugin that
runs an OSE application script, and WSGI applications served as servlets.

Imports C{_http}, C{_events} and below. Read C{_twistd} first.
"""
