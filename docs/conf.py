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

html_theme = "alabaster"
html_static_path = []

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


def setup(app):
    app.connect("autodoc-process-docstring", epytextToRest)
