"""
Twisted plugin drop-in for netsvc_twisted.

This directory has no ``__init__.py`` on purpose: Twisted merges every
``twisted/plugins`` directory found on ``sys.path`` into ``twisted.plugins``.
The ``twistd netsvc`` service maker lands here (see the twistd issue);
until then the file only proves that the drop-in is found.
"""
