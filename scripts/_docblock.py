"""What ``scripts/gen_*_docs.py`` share: a block of a doc, between two marker comments, that a
script generates; rewritten in place, or checked with ``--check`` (CI and the tests).

Each script imports this module from beside it (``python scripts/gen_x_docs.py`` puts
``scripts/`` first on ``sys.path``; the tests put it there too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GeneratedBlock"]


@dataclass(frozen=True)
class GeneratedBlock:
    doc: Path
    begin: str
    end: str
    render: Callable[[], str]
    """The block's fresh text (without the markers)."""
    script: str
    """How to regenerate it, for the stale message: ``scripts/gen_x_docs.py``."""

    def update(self, text: str) -> str:
        """``text`` with the generated block replaced by a fresh one (nothing else changes)."""
        start = text.index(self.begin) + len(self.begin)
        end = text.index(self.end)
        return text[:start] + "\n" + self.render() + "\n" + text[end:]

    def main(self, argv: list[str] | None = None) -> int:
        """The script's command line: rewrite the doc, or with ``--check`` exit 1 when stale."""
        parser = argparse.ArgumentParser(description=f"Regenerate the block in {self.doc.name}.")
        parser.add_argument("--check", action="store_true", help="exit 1 if the doc is stale")
        args = parser.parse_args(argv)
        current = self.doc.read_text(encoding="utf-8")
        fresh = self.update(current)
        if args.check:
            if fresh != current:
                print(f"{self.doc} is stale: run python {self.script}", file=sys.stderr)
                return 1
            return 0
        self.doc.write_text(fresh, encoding="utf-8")
        return 0
