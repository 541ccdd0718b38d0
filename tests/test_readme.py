"""The README's promises: two set-up commands first, and a quickstart that runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text()
    first = blocks("bash")[0].strip().splitlines()
    assert text.index("```bash") < 20
    assert len(first) == 2
    assert first[0].endswith("realtalk demo")
    assert "pip install" in first[1]
    assert "pytest" in first[1]
    assert ".[test" in first[1]


def test_quickstart_runs_as_written_against_the_local_server(tmp_path: Path) -> None:
    code = blocks("python")[0]
    assert "rt.providers.Local()" in code
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the local server's default brain echoes the user
    assert "Hello" in done.stdout


def test_config_error_example_matches_reality() -> None:
    import realtalk as rt

    example = blocks("python")[1]
    error_text = blocks("text")[1].strip()
    with pytest.raises(rt.ConfigError) as info:
        exec(example, {"rt": rt})  # the README's own snippet
    assert str(info.value) == error_text


def test_readme_links_every_page_of_the_docs_site() -> None:
    text = README.read_text()
    docs = README.parent / "docs"
    guides = [p for p in docs.glob("*.md") if p.stem not in {"index", "writing-docs"}]
    guides += [docs / "index.md", docs / "reference" / "realtalk.md"]
    for page in guides:
        link = f"(docs/{page.relative_to(docs)})"
        assert link in text, f"README does not link {link}"


def test_readme_says_the_local_default_is_an_echo() -> None:
    text = README.read_text()
    assert "default assistant is an echo" in text
    assert 'brain="openai-chat"' in text
