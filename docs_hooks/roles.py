"""mkdocs hook: render the docstrings' reST roles readably.

The package's docstrings are written for plain-text reading, with reST-style roles such
as :func:`solve` or :mod:`jaxnickel.fit`. Markdown renders the backticked name as code
and leaves the role prefix as text; this hook drops the prefix (and the ``~`` that
shortens a dotted name), so the API pages show just the code.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|attr|data|obj|exc|const|ref|term):(?=<code)")
_TILDE = re.compile(r"<code>~")


def on_page_content(html, page, config, files, **kwargs):
    if not page.file.src_uri.startswith("api/"):
        return html
    return _TILDE.sub("<code>", _ROLE.sub("", html))
