# -*- test-case-name: tests.forms.test_form_servlet,tests.test_layout -*-
"""
HTML forms: L{FormServlet} and the incremental decoders behind it
(url-encoded and multipart bodies decoded as they arrive, within limits).

Imports C{_http} and below. Read C{_servlet} first, then C{_submission}
(one body) and C{_fields} (limits and what a field holds).
"""
