# -*- test-case-name: tests.hosting.test_twistd_plugin,tests.test_layout -*-
"""
How the engine is run and what it hosts: the ``twistd netsvc`` plugin that
runs an OSE application script (C{_twistd}; its options C{_operations},
C{_endpoints}, C{_failures}), the supervisor and worker processes of
C{--workers} (C{_supervisor}, C{_workers}), and WSGI applications served
as servlets.

Imports C{_http}, C{_events} and below. Read C{_twistd} first.
"""

from netsvc_twisted._http._observe import registerMetricsProvider


def _metricsFor(daemon, endpoint):
    # Imported when a daemon first asks: prometheus_client costs ~50 ms.
    from netsvc_twisted._hosting._metrics import metricsFor

    return metricsFor(daemon, endpoint)


# HttpDaemon(metrics=...) is in _http, its server here: a hook, not an
# upward import.
registerMetricsProvider(_metricsFor)
