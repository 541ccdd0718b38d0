"""docs/configuration.md carries the per-provider field table generated from the rules."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

from realtalk.dialects.rules import ALL_RULES, FIELD_KEYS
from tests.docscripts import ROOT, SCRIPTS, load_script

SCRIPT = SCRIPTS / "gen_config_docs.py"


def load_generator() -> ModuleType:
    return load_script("gen_config_docs")


def test_generated_table_is_current() -> None:
    gen = load_generator()
    text = gen.DOC.read_text(encoding="utf-8")
    assert gen.update(text) == text, (
        "docs/configuration.md is stale: run scripts/gen_config_docs.py"
    )


def test_table_covers_every_field_and_target() -> None:
    table = load_generator().render_table()
    for key in FIELD_KEYS:
        assert f"| `{key}` |" in table
    for rules in ALL_RULES:
        assert rules.name in table.splitlines()[0]
    row = next(line for line in table.splitlines() if line.startswith("| `temperature` |"))
    assert row.split(" | ")[3:] == ["✗ rejected", "✗ rejected", "✓ 0.6 to 1.2", "✓ 0.6 to 1.2 |"]


def test_a_changed_rule_makes_the_doc_stale() -> None:
    gen = load_generator()
    text = gen.DOC.read_text(encoding="utf-8")
    stale = text.replace("✓ 0.25 to 1.5", "✓ 0.25 to 2", 1)
    assert gen.update(stale) != stale
    assert gen.update(stale) == text


def test_check_mode_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
