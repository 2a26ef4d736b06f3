"""
Mounting a server with ``twistd web --resource-script``.

twistd web runs this file (once: it caches the result) and serves the
resource it leaves in the global ``resource``: the tree of
``examples/mount_resource.py``, with ``WhereServer`` at ``/app``.

Put the ``ServletResource`` below a ``Resource`` as here: used directly as
the script's resource, twistd web's wrapper would already have consumed
the first path segment, so the server path would come out one segment
too long.

Run with ``twistd -n web --listen tcp:8080 --resource-script
examples/resource_script.py`` and open http://localhost:8080/app/x.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_resource import build  # noqa: E402

resource = build()
