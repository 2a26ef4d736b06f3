# -*- test-case-name: tests.files.test_plugins_python -*-
"""
File plugins (spec 6.1, 6.3): callables ``(session, path)`` that turn a
file found by L{FileServer} into a servlet.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any, Optional

from twisted.logger import Logger

from netsvc_twisted._files._servlet import FileServlet
from netsvc_twisted._files._modulecache import ModuleCache
from netsvc_twisted._http._servlets import ErrorServlet

__all__ = ["FilePlugin", "PythonPlugin", "DEFAULT_TYPE"]

_log = Logger(namespace="netsvc.http")

DEFAULT_TYPE = "application/octet-stream"

# Python's built-in table only: the host's /etc/mime.types would make
# the answer differ between machines.
_mimeTypes = mimetypes.MimeTypes()


class FilePlugin:
    """Serve the file as is, typed by its extension: explicit map()
    entries first, then the mimetypes table, else
    application/octet-stream.

    Spec 6.1; the type rule is decisions.md's (MIME).  Called as
    C{plugin(session, path)}, it returns a L{FileServlet} for the file at
    C{path}.
    """

    def __init__(self) -> None:
        self._types: dict[str, str] = {}

    def map(self, extension: str, type: str) -> None:
        """
        Serve files ending in C{extension} (such as C{".py"}) with the MIME
        C{type} (such as C{"text/plain"}) (spec 6.1).
        """
        self._types[extension] = type

    def mimeType(self, path: str) -> str:
        """
        The MIME type of the file at C{path}: its extension's C{map()} entry,
        else Python's table, else C{application/octet-stream} (decisions.md).
        """
        extension = os.path.splitext(path)[1]
        if extension in self._types:
            return self._types[extension]
        if extension:
            guessed, encoding = _mimeTypes.guess_type("file" + extension)
            if guessed and not encoding:
                return guessed
        return DEFAULT_TYPE

    def __call__(self, session: Any, path: str) -> FileServlet:
        return FileServlet(session, path, self.mimeType(path))


class PythonPlugin:
    """Run a ``.py`` file's ``__servlet__(session)`` (a servlet class, a
    function or any callable) to build the servlet; the module is loaded
    through the module cache, so edits show on the next request.

    Spec 6.3: register it with C{FileServer.plugin(".py", PythonPlugin())};
    called as C{plugin(session, path)}, it returns C{execute(session, path)}.
    Subclasses may override C{lookup()} and C{create()}.
    """

    def __call__(self, session: Any, path: str) -> Any:
        return self.execute(session, path)

    def execute(self, session: Any, path: str) -> Any:
        """
        The servlet for C{session} from the file at C{path}:
        C{create(lookup(path), session, path)}; when either raises, the
        traceback is logged and the client gets a 500 page (spec 6.3).
        """
        try:
            servlet = self.lookup(path)
            return self.create(servlet, session, path)
        except Exception:
            _log.failure("Cannot load servlet from {path}", path=path)
            return ErrorServlet(session, 500)

    def lookup(self, path: str) -> Any:
        """
        Import the Python file at C{path} through the L{ModuleCache} (reloaded
        when it changed) and return its C{__servlet__} (spec 6.3).

        @raise AttributeError: the module defines no C{__servlet__}.
        """
        path = os.path.normpath(path)
        directory, filename = os.path.split(path)
        name = os.path.splitext(filename)[0]
        module = ModuleCache().importModule(name, directory)
        return module.__servlet__

    def create(self, servlet: Any, session: Any, path: Optional[str]) -> Any:
        """
        Build the servlet: C{servlet(session)}, C{servlet} being what
        C{lookup()} returned (a class, a function or any callable); C{path} is
        the file's, for subclasses (spec 6.3).
        """
        return servlet(session)
