# -*- test-case-name: tests.files.test_files_server -*-
"""
L{FileServer}: a server object mapping servlet paths onto the files of a
directory, with index files, hidden extensions, plugins and views
(aliases), following the search of spec 6.2 as amended by decisions.md.

Every file system probe goes through the confinement check, so neither
odd servlet paths nor symbolic links can lead outside the directory.
"""

from __future__ import annotations

import html
import os
import posixpath
from typing import Any, Callable, Optional
from urllib.parse import quote

from netsvc_twisted._files._confinement import Confinement, servletPathAllowed
from netsvc_twisted._files._plugins import FilePlugin
from netsvc_twisted._http._server import HttpServer
from netsvc_twisted._http._servlet import HttpServlet
from netsvc_twisted._http._servlets import ErrorServlet, RedirectServlet

__all__ = ["FileServer"]

Factory = Callable[[Any, str], Any]


def _splitAlias(alias: str) -> tuple[str, str]:
    """Split a view suffix into (partial stem, suffix): ``-xml.html`` →
    (``-xml``, ``.html``), ``.html`` → (``""``, ``.html``), ``""`` →
    (``""``, ``""``)."""
    dot = alias.rfind(".")
    if dot == -1:
        return alias, ""
    return alias[:dot], alias[dot:]


class FileServer(HttpServer):
    """Serve the files below `directory`; `default` is the plugin for
    files no other plugin claims (a L{FilePlugin} when omitted).

    Beyond OSE, and off by default: `followLinks` lets symbolic links
    lead outside the directory, `dotFiles` serves names starting with a
    dot, `listings` answers a directory without index file with a list
    of its entries instead of 403.

    Spec 6.2, with decisions.md's index order, MIME rule and confinement.

    @raise FileNotFoundError: C{directory} does not exist.
    @raise NotADirectoryError: C{directory} is a file.
    """

    def __init__(self, directory: str, default: Optional[Factory] = None, *,
                 followLinks: bool = False, dotFiles: bool = False,
                 listings: bool = False) -> None:
        # OSE answered 404 for ever when the directory was missing (a
        # typo, a relative path from another working directory): refuse it.
        if not os.path.isdir(directory):
            exists = os.path.exists(directory)
            problem = "is not a directory" if exists else "does not exist"
            error = NotADirectoryError if exists else FileNotFoundError
            raise error(
                f"FileServer({directory!r}): {os.path.abspath(directory)!r} {problem}; "
                f"give an existing directory, e.g. FileServer(os.path.join("
                f"os.path.dirname(os.path.abspath(__file__)), \"htdocs\"))"
            )
        self._directory = os.path.abspath(directory)
        self._default: Any = FilePlugin() if default is None else default
        self._indexes: list[str] = []
        self._hidden: set[str] = set()
        self._plugins: dict[str, Factory] = {}
        self._views: dict[str, list[tuple[str, str, Optional[Factory]]]] = {}
        self._confinement = Confinement(self._directory, followLinks)
        self._dotFiles = dotFiles
        self._listings = listings

    # -- configuration (OSE API) -----------------------------------------

    def directory(self) -> str:
        """
        The absolute path of the directory served (spec 6.2).
        """
        return self._directory

    def map(self, extension: str, type: str) -> None:
        """
        Serve files ending in C{extension} with MIME C{type}, through the
        default plugin's C{map()} (spec 6.1, 6.2).
        """
        self._default.map(extension, type)

    def index(self, name: str) -> None:
        """Add an index file name; the first registered that exists wins."""
        if name not in self._indexes:
            self._indexes.append(name)

    def hide(self, extension: str) -> None:
        """
        Never serve files ending in C{extension} directly: they answer 404
        (spec 6.2); views (C{plugin()} with an alias) may still use them.
        """
        self._hidden.add(extension)

    def plugin(self, extension: str, factory: Optional[Factory],
               alias: Optional[str] = None) -> None:
        """Serve files with `extension` through `factory(session, path)`;
        with `alias`, requests ending in that suffix are served from the
        file with `extension` instead (a view)."""
        if alias is None:
            if factory is None:
                self._plugins.pop(extension, None)
            else:
                self._plugins[extension] = factory
            return
        partial, suffix = _splitAlias(alias)
        self._views.setdefault(suffix, []).insert(
            0, (partial, extension, factory))

    # -- server object ---------------------------------------------------

    def servlet(self, session: Any) -> Any:
        """
        The servlet for the file the servlet path of C{session} names, found by
        the search of spec 6.2 (index files, views, plugins, extra path info),
        or a 404 L{ErrorServlet}.
        """
        servletPath = session.servletPath()
        if servletPathAllowed(servletPath, self._dotFiles):
            found = self._search(session, servletPath, "")
            if found is not None:
                return found
        return ErrorServlet(session, 404)

    # -- search (spec 6.2) -----------------------------------------------

    def _inside(self, path: str) -> bool:
        return self._confinement.contains(path)

    def _isdir(self, path: str) -> bool:
        return os.path.isdir(path) and self._inside(path)

    def _isfile(self, path: str) -> bool:
        return os.path.isfile(path) and self._inside(path)

    def _exists(self, path: str) -> bool:
        return os.path.exists(path) and self._inside(path)

    def _create(self, factory: Factory, session: Any, path: str) -> Any:
        return factory(session, os.path.normpath(path))

    def _search(self, session: Any, servletPath: str,
                servletInfo: str) -> Any:
        root = self._directory
        if servletPath:
            target = os.path.join(root, servletPath)
        else:
            slash = session.requestPath().endswith("/")
            target = root + ("/" if slash else "")

        if self._isdir(target):
            if servletInfo:
                return None
            if not target.endswith("/"):
                url, sep, query = session.url().partition("?")
                return RedirectServlet(session, url + "/" + sep + query)
            for name in self._indexes:
                if self._isdir(target + name):
                    return ErrorServlet(session, 403)
                found = self._search(session, servletPath + name, servletInfo)
                if found is not None:
                    return found

        stub, suffix = posixpath.splitext(servletPath)
        for partial, extension, factory in self._views.get(suffix, ()):
            base = stub
            if partial:
                if not posixpath.basename(stub).endswith(partial):
                    continue
                base = stub[:-len(partial)]
            relative = base + extension
            if not relative or not servletPathAllowed(relative, self._dotFiles):
                continue
            candidate = os.path.join(root, relative)
            if not self._isfile(candidate):
                continue
            if factory is None:
                if suffix in self._hidden:
                    continue
                factory = self._plugins.get(extension)
                if factory is None:
                    continue
            session.bindServlet(servletPath, servletInfo)
            # decisions.md: the factory gets the real file, not the alias.
            return self._create(factory, session, candidate)

        if self._exists(target):
            extension = os.path.splitext(target)[1]
            if extension not in self._hidden:
                factory = self._plugins.get(extension)
                if factory is not None:
                    session.bindServlet(servletPath, servletInfo)
                    return self._create(factory, session, target)
                if servletInfo:
                    return None
                if self._listings and os.path.isdir(target):
                    return _DirectoryServlet(session, target, self)
                return self._create(self._default, session, target)

        if servletPath:
            head, _, tail = servletPath.rpartition("/")
            servletInfo = tail + "/" + servletInfo if servletInfo else tail
            if head:
                return self._search(session, head, servletInfo)
        return None

    def _listable(self, directory: str, name: str) -> bool:
        if name.startswith(".") and not self._dotFiles:
            return False
        if os.path.splitext(name)[1] in self._hidden:
            return False
        return self._inside(os.path.join(directory, name))


class _DirectoryServlet(HttpServlet):
    """A plain HTML list of a directory's visible entries; only used when
    the FileServer was created with ``listings=True``."""

    def __init__(self, session: Any, directory: str,
                 server: FileServer) -> None:
        super().__init__(session)
        self._directory = directory
        self._server = server

    def processRequest(self) -> None:
        if self.requestMethod() not in ("GET", "HEAD"):
            self._response.sendError(
                405, "Only GET and HEAD methods are supported by this servlet.",
                [(b"allow", b"GET, HEAD")])
            return
        try:
            names = sorted(os.listdir(self._directory))
        except OSError:
            self.sendError(404)
            return
        title = html.escape(self.requestPath())
        lines = ["<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                 "<title>%s</title></head><body><h1>%s</h1><ul>\n"
                 % (title, title)]
        for name in names:
            if not self._server._listable(self._directory, name):
                continue
            shown = name + ("/" if os.path.isdir(
                os.path.join(self._directory, name)) else "")
            lines.append('<li><a href="%s">%s</a></li>\n'
                         % (html.escape(quote(shown)), html.escape(shown)))
        lines.append("</ul></body></html>\n")
        body = "".join(lines).encode("utf-8")
        self.sendResponse(200)
        self.sendHeader("Content-Type", "text/html; charset=utf-8")
        self.sendHeader("Content-Length", str(len(body)))
        self.endHeaders()
        if self.requestMethod() == "GET":
            self.sendContent(body)
        self.endContent()
