"""
netsvc_twisted: the OSE ``netsvc`` HTTP servlet API on Twisted.

OSE programs port with ``import netsvc_twisted as netsvc``: every public
OSE name is exported here; the implementation lives in private modules.
"""

from netsvc_twisted._constants import *  # noqa: F401,F403
