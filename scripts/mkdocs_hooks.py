"""MkDocs hooks for the docs site (mkdocs.yml: ``hooks:``).

The docstrings use reST roles (``:class:`~realtalk.errors.ConfigError```), which Markdown renders
as a stray ``:class:`` before the code. This shows the name as code, without the role: the short
name for ``~dotted.name``, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):<code>(~?)([\w.]+)</code>")


def _code(match: re.Match[str]) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_code, html)
