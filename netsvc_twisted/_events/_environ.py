# -*- test-case-name: tests.events.test_environ -*-
"""
OSE's environment helpers (spec section 3).

OSE programs configure the framework through environment variables
(``OTCLIB_*``) and set them from code with ``mergeEnviron`` before the
objects that read them are created, so these act on ``os.environ``.
"""

from __future__ import annotations

import itertools
import os
import re

_counter = itertools.count(1)
_VARIABLE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def lookupEnviron(name: str) -> str | None:
    """Return the value of environment variable C{name}, or None if unset.

    Spec 3.
    """
    return os.environ.get(name)


def mergeEnviron(name: str, value: str) -> None:
    """Set environment variable C{name} to C{value} for this process.

    Spec 3.
    """
    os.environ[name] = str(value)


def expandEnviron(text: str) -> str:
    """
    Expand C{${NAME}} and C{$NAME} references in C{text}.

    Unset variables expand to the empty string, as in the shell; a C{$}
    that does not start a reference is left alone.

    Spec 3.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        return os.environ.get(name, "")

    return _VARIABLE.sub(replace, text)


def uniqueId(prefix: str = "") -> str:
    """
    Return a string unique within this process, starting with C{prefix}.

    Used for generated timer, alarm and action names; the process id is
    included so ids from a forked child do not collide with the parent's.

    Spec 3.
    """
    return "%s%d.%d" % (prefix, os.getpid(), next(_counter))
