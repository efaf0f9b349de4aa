"""Sphinx configuration: the API reference of livingcircle, built from its docstrings.

Build with ``make docs`` (``sphinx-build -W --keep-going -b html docs build/docs``): every
warning is an error. The package is imported as installed (``make install`` installs it
editable), never from a path added here: geo/, data/, api/ and maps/ only become
``livingcircle.*`` through the installed package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import livingcircle

sys.path.insert(0, str(Path(__file__).parent / "_ext"))  # this folder's own extensions

project = "livingcircle"
author = "livingcircle maintainers"
copyright = "livingcircle maintainers"
release = version = livingcircle.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "lc_cli",
]

# The public names load lazily (livingcircle/__init__.py's __getattr__), so dir(livingcircle)
# does not list them and autodoc would skip them: resolve every name in __all__ once, here,
# and the reference documents whatever __all__ lists.
for _name in livingcircle.__all__:
    setattr(livingcircle, _name, getattr(livingcircle, _name))

autodoc_default_options = {"members": True, "imported-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"  # types in signatures only, as the docstrings (numpydoc)
autodoc_preserve_defaults = True
numpydoc_show_class_members = False  # autodoc lists members; no autosummary stub pages
numpydoc_class_members_toctree = False

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"livingcircle {release}"
html_static_path: list[str] = []
smartquotes = False  # "--profile" stays two hyphens
