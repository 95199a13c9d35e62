"""griffe extension: numpy-style items written as ``name : description``.

The package's ``Parameters`` / ``Attributes`` sections put a prose description after
the colon (``rho : initial penalty parameter ...``), where numpy style expects a type.
Parsed literally, the description lands in the type slot.  Before parsing, this
extension moves the text after the colon onto an indented continuation line, so the
API pages show ``name`` with its description.  It also fences doctest blocks
(``>>>`` lines and their output), which Markdown would otherwise read as nested
quotes.  Used by mkdocstrings (``mkdocs.yml``).
"""

from __future__ import annotations

import re

from griffe import Extension

_SECTIONS = {"Parameters", "Attributes", "Other Parameters"}
_ITEM = re.compile(r"^([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*) : (.+)$")
_DASHES = re.compile(r"^-{3,}$")


def fence_doctests(text: str) -> str:
    out, inside = [], False
    for line in text.split("\n"):
        if not inside and line.startswith(">>>"):
            out.append("```pycon")
            inside = True
        elif inside and not line.strip():
            out.append("```")
            inside = False
        out.append(line)
    if inside:
        out.append("```")
    return "\n".join(out)


def rewrite(text: str) -> str:
    lines = text.split("\n")
    out = []
    section = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _DASHES.match(nxt.strip()) and line.strip():
            section = line.strip()
        elif section in _SECTIONS and (m := _ITEM.match(line)):
            out.extend([m.group(1), "    " + m.group(2)])
            continue
        out.append(line)
    return "\n".join(out)


class ProseItems(Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is None:
            return
        value = obj.docstring.value
        if "----" in value:
            value = rewrite(value)
        if ">>>" in value:
            value = fence_doctests(value)
        obj.docstring.value = value
