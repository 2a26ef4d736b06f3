# -*- test-case-name: tests.files.test_files_paths -*-
"""
Keeping FileServer inside its directory.

The daemon already percent-decodes and normalises request paths (and
refuses to climb above the root); these checks are the second line: they
hold for any servlet path a server object or a subclass may hand over,
and they catch what normalisation cannot see, such as symbolic links
that lead out of the directory.
"""

from __future__ import annotations

import os

__all__ = ["servletPathAllowed", "Confinement"]


def servletPathAllowed(servletPath: str, dotFiles: bool = False) -> bool:
    """Whether a (decoded) servlet path may be looked up at all.

    Refused: NUL, backslashes (a separator elsewhere, never a name
    character here), absolute paths, ``.``/``..`` segments, a ``%`` escape
    that survived decoding next to a dot or slash (a double-encoding
    attempt), and hidden (dot) names unless `dotFiles`.
    """
    if "\x00" in servletPath or "\\" in servletPath:
        return False
    if servletPath.startswith("/"):
        return False
    lowered = servletPath.lower()
    if "%2e" in lowered or "%2f" in lowered or "%5c" in lowered or "%00" in lowered:
        return False
    for segment in servletPath.split("/"):
        if segment in (".", ".."):
            return False
        if segment.startswith(".") and not dotFiles:
            return False
    return True


class Confinement:
    """The real location of a directory and the test that a path found
    below it really is inside (symbolic links resolved), unless links are
    explicitly allowed to lead out."""

    def __init__(self, directory: str, followLinks: bool = False) -> None:
        self.directory = os.path.abspath(directory)
        self.real = os.path.realpath(self.directory)
        self.followLinks = followLinks

    def contains(self, path: str) -> bool:
        if self.followLinks:
            return True
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError):
            return False
        return real == self.real or real.startswith(
            self.real.rstrip(os.sep) + os.sep)
