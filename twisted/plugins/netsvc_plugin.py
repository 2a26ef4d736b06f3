# -*- test-case-name: tests.hosting.test_twistd_plugin,tests.hosting.test_operations -*-
"""
The C{twistd netsvc} drop-in.

No C{__init__.py} here or in C{twisted/}: Twisted merges every
C{twisted/plugins} directory on C{sys.path} into C{twisted.plugins}.  The
service maker names its module instead of importing it, so C{twistd
--help} stays fast and a broken install cannot break other plugins.

It also mends C{systemd:} endpoints before Twisted reads the environment.
Twisted's C{ListenFDs} keeps the sockets of C{LISTEN_FDS} only when
C{LISTEN_FDNAMES} has as many names, and drops them all otherwise, so
C{--listen systemd:domain=INET:index=0} raised C{IndexError} wherever the
names are missing: systemd before 227 and the other socket activators
(and tests) that set only C{LISTEN_FDS} and C{LISTEN_PID}.  It reads the
environment once, when C{twisted.internet.endpoints} is first imported,
which twistd usually does after loading this plugin: filling in the name
systemd itself gives an unnamed socket ("unknown", as
C{sd_listen_fds_with_names} does) makes the index work.  When something
imported it first (another plugin, or Twisted's own while it rebuilds a
stale plugin cache), C{makeService} mends Twisted's parser instead
(C{_endpoints.adoptInheritedSockets}).  The fix belongs in Twisted.
"""

import os
import sys

from twisted.application.service import ServiceMaker


def _nameInheritedSockets(environ=os.environ) -> None:
    count = environ.get("LISTEN_FDS", "")
    if (count.isdigit() and "LISTEN_FDNAMES" not in environ
            and environ.get("LISTEN_PID") == str(os.getpid())
            and "twisted.internet.endpoints" not in sys.modules):
        environ["LISTEN_FDNAMES"] = ":".join(["unknown"] * int(count))


_nameInheritedSockets()

netsvc = ServiceMaker(
    "netsvc",
    "netsvc_twisted._hosting._twistd",
    "Run an OSE-style netsvc application script (twistd netsvc --config app.py).",
    "netsvc",
)
