# -*- test-case-name: tests.test_twistd_plugin -*-
"""
The C{twistd netsvc} drop-in.

No C{__init__.py} here or in C{twisted/}: Twisted merges every
C{twisted/plugins} directory on C{sys.path} into C{twisted.plugins}.  The
service maker names its module instead of importing it, so C{twistd
--help} stays fast and a broken install cannot break other plugins.
"""

from twisted.application.service import ServiceMaker

netsvc = ServiceMaker(
    "netsvc",
    "netsvc_twisted._hosting._twistd",
    "Run an OSE-style netsvc application script (twistd netsvc --config app.py).",
    "netsvc",
)
