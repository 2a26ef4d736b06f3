"""Sphinx configuration for the netsvc_twisted documentation.

Build with ``python -m sphinx -W --keep-going -b html docs <outdir>``.
"""

import os
import re
import sys

# Document the package of this checkout, not whatever is installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

project = "netsvc_twisted"
author = "netsvc_twisted contributors"
copyright = "netsvc_twisted contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Furo: a readable content column and code blocks that fit it at 1280 px
# (_static/netsvc.css narrows the code font a little for 99-column lines).
html_theme = "furo"
html_title = "netsvc_twisted"
html_static_path = ["_static"]
html_css_files = ["netsvc.css"]

# Docstrings use single backquotes for parameter names: show them as code.
default_role = "code"

# "Bases: HttpServlet", not "Bases: netsvc_twisted._http._servlet.HttpServlet".
python_use_unqualified_type_names = True

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}


# --- epytext -> reST -------------------------------------------------------
#
# The package's docstrings use Twisted's epytext markup (C{...}, L{...},
# I{...}, B{...}).  Convert it to reST before autodoc parses the
# docstring, so the markup neither shows up literally nor produces
# warnings.  L{...} becomes a link when it names something documented
# here (a public name of netsvc_twisted or netsvc_twisted.testing, or one
# of the documented modules), always by its full name so that Sphinx never
# has to guess between targets; anything else (Twisted names, private
# helpers) becomes a literal.

_EPYTEXT = re.compile(r"([CLIBU])\{((?:[^{}]|\{[^{}]*\})*)\}")

_MODULES = {
    "netsvc_twisted",
    "netsvc_twisted.testing",
    "netsvc_twisted.xmlrpc",
    "netsvc_twisted.json",
    "netsvc_twisted.netrpc",
    "netsvc_twisted.netrpc.xmlrpc",
    "netsvc_twisted.netrpc.json",
}


def _publicNames():
    import netsvc_twisted
    import netsvc_twisted.testing

    names = {name: "netsvc_twisted." + name for name in netsvc_twisted.__all__}
    for name in netsvc_twisted.testing.__all__:
        names.setdefault(name, "netsvc_twisted.testing." + name)
    return names


_PUBLIC = _publicNames()


def _target(text):
    """The full name L{text} refers to, or None when it has no page here."""
    if text in _MODULES:
        return text
    if text.startswith("netsvc_twisted."):
        text = text[len("netsvc_twisted."):]
    head, dot, rest = text.partition(".")
    if head in _PUBLIC:
        return _PUBLIC[head] + dot + rest
    return None


def _epytextField(match):
    kind, text = match.group(1), " ".join(match.group(2).split())
    if kind == "L":
        if "<" in text and text.endswith(">"):
            text = text[text.index("<") + 1 : -1].strip()
        target = _target(text)
        if target in _MODULES:
            return ":py:mod:`%s`" % target
        if target is not None:
            return ":py:obj:`~%s`" % target
        return "``%s``" % text
    if kind in "CU":
        return "``%s``" % text
    if kind == "I":
        return "*%s*" % text
    return "**%s**" % text


def epytextToRest(app, what, name, obj, options, lines):
    # Work on the whole docstring: a C{...} may be broken across lines.
    text = _EPYTEXT.sub(_epytextField, "\n".join(lines))
    lines[:] = text.split("\n")


# --- the servlet's request accessors --------------------------------------
#
# HttpServlet's accessors (requestMethod(), header(name), ...) delegate to
# the session with *args; show the session method's signature instead.


def accessorSignature(app, what, name, obj, options, signature, returnAnnotation):
    from netsvc_twisted._http._session import ACCESSORS, HttpSession

    if what == "method" and name.startswith("netsvc_twisted.") and \
            getattr(obj, "__name__", None) in ACCESSORS and \
            getattr(obj, "__code__", None) is not None and obj.__code__.co_varnames[1:2] == ("args",):
        import inspect

        target = inspect.signature(getattr(HttpSession, obj.__name__))
        parameters = [p.replace(annotation=inspect.Parameter.empty)
                      for p in list(target.parameters.values())[1:]]
        return str(target.replace(parameters=parameters,
                                  return_annotation=inspect.Signature.empty)), None
    return None


# --- constants -------------------------------------------------------------
#
# {constant}`NAME` in a table cell of docs/api/constants.md is the entry of
# netsvc_twisted.NAME: a link target, and an object of the Python domain
# (so :py:data: and L{NAME} references resolve and objects.inv lists it).


def constantRole(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes

    import netsvc_twisted

    document = inliner.document
    env = document.settings.env
    if text not in netsvc_twisted.__all__:
        message = document.reporter.error(
            "{constant}`%s`: not a public name of netsvc_twisted" % text, line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    full = "netsvc_twisted." + text
    target = nodes.target("", "", ids=[full])
    document.note_explicit_target(target)
    env.get_domain("py").note_object(full, "data", full, location=(env.docname, lineno))
    return [target, nodes.literal(text, text)], []


def setup(app):
    app.connect("autodoc-process-docstring", epytextToRest)
    app.connect("autodoc-process-signature", accessorSignature)
    app.add_role("constant", constantRole)
