# -*- test-case-name: tests.files.test_files_server,tests.test_layout -*-
"""
Files on disk: L{FileServer} maps a directory tree, L{FileServlet} streams
one file (ranges, validators, congestion), plugins turn ``.py`` files into
servlets through the module cache.

Imports C{_http} and below. Read C{_server} first, then C{_servlet}
(one download) and C{_confinement} (what a path may reach).
"""
