"""``.. livingcircle-commands::``: every command of the ``livingcircle`` CLI, from the app.

Walks the Typer app's click commands, so the page lists what ``livingcircle --help`` does
and never drifts from it: each command's usage, its help and its options.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from livingcircle.cli import app

# Typer builds click commands (its own copy of click in newer releases): they are read here
# through the click interface only, duck-typed, with each command's own context class.
Command = Any


def _commands(command: Command, path: list[str]) -> list[tuple[list[str], Command]]:
    found = [(path, command)]
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += _commands(sub, [*path, name])
    return found


def _plain(text: str) -> str:
    """Help text as plain words: every markup character of reStructuredText escaped."""
    return re.sub(r"([\\`*_|\[\]<>:])", r"\\\1", text)


def _option(param: Any) -> tuple[str, str]:
    names = ", ".join(f"``{n}``" for n in [*param.opts, *param.secondary_opts])
    return names, _plain(" ".join((getattr(param, "help", None) or "").split()))


def _section(path: list[str], command: Command) -> list[str]:
    title = " ".join(path)
    ctx = command.context_class(command, info_name=title)
    usage = " ".join([title, *command.collect_usage_pieces(ctx)])
    text = [title, "-" * len(title), "", ".. code-block:: text", "", f"   {usage}", ""]
    text += [_plain(line.rstrip()) for line in (command.help or "").replace("\b", "").splitlines()]
    rows = [_option(p) for p in command.params if not getattr(p, "hidden", False)]
    if rows:
        text += ["", ".. list-table::", "   :widths: 35 65", ""]
        for names, help_text in rows:
            text += [f"   * - {names}", f"     - {help_text or ' '}"]
    return [*text, ""]


class Commands(SphinxDirective):
    """The CLI reference, one section per command."""

    def run(self) -> list[nodes.Node]:
        """Parse the generated reStructuredText in place."""
        lines: list[str] = []
        for path, command in _commands(typer.main.get_command(app), ["livingcircle"])[1:]:
            lines += _section(path, command)
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(
            StringList(lines, source="livingcircle --help"), 0, container, match_titles=True
        )
        return list(container.children)


def setup(sphinx: Sphinx) -> dict[str, Any]:
    """Register the directive."""
    sphinx.add_directive("livingcircle-commands", Commands)
    return {"parallel_read_safe": True}
