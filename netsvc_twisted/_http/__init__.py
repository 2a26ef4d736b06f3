# -*- test-case-name: tests.http.test_servlet,tests.test_layout -*-
"""
The servlet engine on twisted.web: the daemon and its channel, dispatch of
a request to a mounted server, one servlet's life, the response state
machine and the congestion bridge to C{IPushProducer}.

Imports C{_events} and the ground floor. Read C{_daemon} (listening and
mounting), then C{_lifecycle} (one request), C{_servlet} and C{_response}
(the OSE servlet API), C{_congestion} (monitorCongestion).
"""
