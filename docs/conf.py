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
    "sphinx.ext.intersphinx",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_static_path = []

# The build must work offline: no intersphinx inventories are fetched.
intersphinx_mapping = {}

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}


# --- epytext -> reST -------------------------------------------------------
#
# The package's docstrings use Twisted's epytext markup (C{...}, L{...},
# I{...}, B{...}).  Convert it to reST before autodoc parses the
# docstring, so the markup neither shows up literally nor produces
# warnings.  L{...} becomes a literal, not a cross-reference: many of the
# targets are Twisted names or private helpers that have no page here.

_EPYTEXT = re.compile(r"([CLIBU])\{((?:[^{}]|\{[^{}]*\})*)\}")


def _epytextField(match):
    kind, text = match.group(1), match.group(2)
    if kind == "L" and "<" in text and text.endswith(">"):
        text = text[text.index("<") + 1 : -1]
    if kind in "CLU":
        return "``%s``" % text.strip()
    if kind == "I":
        return "*%s*" % text
    return "**%s**" % text


def epytextToRest(app, what, name, obj, options, lines):
    # Work on the whole docstring: a C{...} may be broken across lines.
    # reST inline markup may span lines of one paragraph, so the line
    # breaks can stay where they are.
    text = _EPYTEXT.sub(_epytextField, "\n".join(lines))
    lines[:] = text.split("\n")


def setup(app):
    app.connect("autodoc-process-docstring", epytextToRest)
