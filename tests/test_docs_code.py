"""Every code block in docs/ runs, offline, against the local server.

The rules (languages, and the marks that change what happens to a block) are documented for
authors in docs/writing-docs.md. In short: each page runs in its own Python process in a fresh
folder; its ``python`` blocks share one namespace, in order; shell blocks run with ``bash -e``;
``yaml``/``json``/``toml`` must parse; a ``text`` block marked ``output`` must match what the
block before it printed.

This file is also the per-page driver: ``python tests/test_docs_code.py PLAN.json`` runs the
blocks of one page and writes a result per block next to the plan.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import traceback
import types
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

KINDS = {
    "python": "python",
    "py": "python",
    "bash": "shell",
    "sh": "shell",
    "shell": "shell",
    "console": "shell",
    "yaml": "data",
    "yml": "data",
    "json": "data",
    "toml": "data",
    "text": "text",
}
MARKS = {"skip-run", "file", "output", "raises"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARK = re.compile(r"^\s*<!--\s*test:\s*(?P<mark>[a-z-]+)\s*(?P<arg>.*?)\s*-->\s*$")
# The shell separators after which a new command (maybe a `realtalk` one) starts.
_SHELL_SPLIT = re.compile(r"&&|\|\||[;|]")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the first line of code
    language: str
    kind: str  # python, shell, data, text, or "" when the language is unknown
    code: str
    mark: str | None = None
    arg: str = ""


def parse(text: str, page: str) -> list[Block]:
    """The fenced blocks of a Markdown page, with the mark on the line above each."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        info = opening["info"].strip()
        language = info.split()[0].lower() if info else ""
        end = i + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            end += 1
        code = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        mark = _MARK.match(lines[i - 1]) if i > 0 else None
        blocks.append(
            Block(
                page=page,
                line=i + 2,
                language=language,
                kind=KINDS.get(language, ""),
                code=code,
                mark=mark["mark"] if mark else None,
                arg=mark["arg"] if mark else "",
            )
        )
        i = end + 1
    return blocks


def problems_before_running(blocks: list[Block]) -> list[str]:
    """What is wrong with the page's blocks as written (unknown languages and marks)."""
    found = []
    for block in blocks:
        where = f"{block.page}:{block.line}"
        if not block.kind:
            found.append(
                f"{where}: a code block needs a language this test knows "
                f"({', '.join(sorted(KINDS))}), got {block.language or 'none'!r}"
            )
        if block.mark is not None and block.mark not in MARKS:
            found.append(f"{where}: unknown mark {block.mark!r}; use one of {sorted(MARKS)}")
        if block.mark == "output" and block.kind != "text":
            found.append(f"{where}: only a text block can be marked output")
        if block.mark in ("file", "raises") and not block.arg:
            found.append(f"{where}: the {block.mark} mark needs a name")
    return found


# -- the driver (runs in the page's own process) -----------------------------------------------


def _check_cli_line(command: str) -> None:
    """Parse a `realtalk ...` command with the real argument parser (exits on a bad option)."""
    argv = shlex.split(command, comments=True)
    if argv[:1] == ["realtalk"]:
        from realtalk.cli import parse_args

        parse_args(argv[1:])


def _run_python(block: Block, namespace: dict[str, Any]) -> dict[str, Any]:
    padded = "\n" * (block.line - 1) + block.code  # tracebacks point at the page's lines
    if block.mark in ("skip-run", "file"):  # a file is run by a later block (e.g. pytest)
        compile(padded, block.page, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return {"ok": True, "output": ""}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(padded, block.page, "exec"), namespace)
    except BaseException as exc:
        if block.mark == "raises" and type(exc).__name__ == block.arg:
            return {"ok": True, "output": out.getvalue() + str(exc)}
        return {"ok": False, "output": out.getvalue(), "error": traceback.format_exc()}
    if block.mark == "raises":
        return {"ok": False, "output": out.getvalue(), "error": f"did not raise {block.arg}"}
    return {"ok": True, "output": out.getvalue()}


def _run_shell(block: Block, cwd: Path) -> dict[str, Any]:
    if block.mark in ("skip-run", "file"):
        done = subprocess.run(
            ["bash", "-n"], input=block.code, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return {"ok": False, "output": "", "error": done.stderr}
        for line in block.code.replace("\\\n", " ").splitlines():
            for command in _SHELL_SPLIT.split(line):
                try:
                    _check_cli_line(command.strip().removeprefix("$ "))
                except SystemExit as exc:
                    if exc.code not in (0, None):
                        return {"ok": False, "output": "", "error": f"bad command: {command}"}
        return {"ok": True, "output": ""}
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return {
            "ok": False,
            "output": done.stdout,
            "error": f"exit {done.returncode}\n{done.stderr[-3000:]}",
        }
    return {"ok": True, "output": done.stdout}


def _check_data(block: Block) -> dict[str, Any]:
    try:
        if block.language in ("yaml", "yml"):
            import yaml

            yaml.safe_load(block.code)
        elif block.language == "json":
            json.loads(block.code)
        else:
            import tomllib

            tomllib.loads(block.code)
    except Exception as exc:
        return {"ok": False, "output": "", "error": f"does not parse: {exc}"}
    return {"ok": True, "output": ""}


def drive(plan_path: Path) -> None:
    """Run one page's blocks in order; write ``results.json`` beside the plan."""
    plan = json.loads(plan_path.read_text())
    cwd = Path(plan["cwd"])
    os.chdir(cwd)
    sys.path.insert(0, str(cwd))
    module = types.ModuleType("__main__")  # the page's code is the main module, as in a script
    module.__file__ = str(cwd / "page.py")
    sys.modules["__main__"] = module
    results: list[dict[str, Any]] = []
    for raw in plan["blocks"]:
        block = Block(**raw)
        if block.kind == "python":
            result = _run_python(block, module.__dict__)
        elif block.kind == "shell":
            result = _run_shell(block, cwd)
        elif block.kind == "data":
            result = _check_data(block)
        else:
            result = {"ok": True, "output": None}  # text: checked by the test, not run
        results.append(result)
        plan_path.with_name("results.json").write_text(json.dumps(results))
        if not result["ok"]:
            break


# -- the test -----------------------------------------------------------------------------------


def output_mismatch(expected: str, printed: str) -> str | None:
    """None when every non-blank expected line appears, in order, among the printed lines.

    ``...`` in an expected line stands for any text (timings, ids)."""
    got = [line.rstrip() for line in printed.splitlines()]
    position = 0
    for want in (line.rstrip() for line in expected.splitlines()):
        if not want:
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("...")))
        found = next((i for i in range(position, len(got)) if pattern.fullmatch(got[i])), None)
        if found is None:
            return f"expected the line {want!r}; printed:\n{printed}"
        position = found + 1
    return None


def run_page(blocks: list[Block], workdir: Path) -> list[str]:
    """Run a page's blocks in a fresh process in ``workdir``; the failures, one text each."""
    failures = problems_before_running(blocks)
    if failures:
        return failures
    if not any(b.kind in ("python", "shell", "data") for b in blocks):
        return []
    (workdir / "examples").symlink_to(ROOT / "examples")
    for block in blocks:
        if block.mark == "file":
            (workdir / block.arg).parent.mkdir(parents=True, exist_ok=True)
            (workdir / block.arg).write_text(block.code)
    plan = workdir / "plan.json"
    plan.write_text(json.dumps({"cwd": str(workdir), "blocks": [asdict(b) for b in blocks]}))
    env = {
        k: v
        for k, v in os.environ.items()
        if not re.search(r"API_KEY|TOKEN|SECRET|^AZURE_OPENAI", k)  # offline: no real keys
    }
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(
        [sys.executable, __file__, str(plan)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    results_file = workdir / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    if done.returncode != 0:
        failures.append(f"the page's process failed (exit {done.returncode}):\n{done.stderr}")
    previous: dict[str, Any] | None = None
    for block, result in zip(blocks, results, strict=False):
        where = f"{block.page}:{block.line} ({block.language})"
        if not result["ok"]:
            failures.append(f"{where} failed:\n{result.get('error', '')}\n{result['output']}")
        if block.mark == "output":
            if previous is None or previous["output"] is None:
                failures.append(f"{where}: an output block must follow a block that ran")
            elif (problem := output_mismatch(block.code, previous["output"])) is not None:
                failures.append(f"{where}: {problem}")
        if block.kind != "text":
            previous = result
    if len(results) < len(blocks) and not failures:
        failures.append(f"{blocks[len(results)].page}: stopped before all blocks ran")
    return failures


PAGES = sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_code_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    blocks = parse(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
    failures = run_page(blocks, tmp_path)
    assert not failures, "\n\n".join(failures)


def _nav_files(entries: Any) -> list[str]:
    found: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += _nav_files(value) if isinstance(value, list) else [value]
    return found


def test_the_site_nav_lists_every_page_and_only_pages_that_exist() -> None:
    import yaml

    nav = _nav_files(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in PAGES)
    assert sorted(nav) == pages


# -- the runner itself can fail -----------------------------------------------------------------

SAMPLE = """\
# Sample

<!-- test: file scenario.yaml -->
```yaml
rules: []
```

```python
print("hello")
value = 41
```

<!-- test: output -->
```text
hello
```

```python
print(value + 1)
```

<!-- test: skip-run (a fragment) -->
```python
await session.send_text("hi")
```

<!-- test: raises ValueError -->
```python
raise ValueError("bad value")
```

<!-- test: output -->
```text
bad value
```

```bash
test -f scenario.yaml && echo shell-ok
```

<!-- test: skip-run (runs forever) -->
```bash
realtalk serve --brain script --scenario scenario.yaml
```

    ```text
    indented blocks count too
    ```
"""


def test_parse_reads_languages_marks_and_lines() -> None:
    blocks = parse(SAMPLE, "sample.md")
    assert [(b.language, b.mark) for b in blocks] == [
        ("yaml", "file"),
        ("python", None),
        ("text", "output"),
        ("python", None),
        ("python", "skip-run"),
        ("python", "raises"),
        ("text", "output"),
        ("bash", None),
        ("bash", "skip-run"),
        ("text", None),
    ]
    assert blocks[1].line == 9
    assert blocks[0].arg == "scenario.yaml"
    assert blocks[-1].code == "indented blocks count too\n"


def test_a_sample_page_passes(tmp_path: Path) -> None:
    assert run_page(parse(SAMPLE, "sample.md"), tmp_path) == []


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("print(value + 1)", "print(valu + 1)", "sample.md:19 (python) failed"),
        (
            "hello\n```\n\n```python\nprint(value",
            "goodbye\n```\n\n```python\nprint(value",
            "goodbye",
        ),
        ('raise ValueError("bad value")', "pass", "did not raise ValueError"),
        ("echo shell-ok", "false", "exit 1"),
        ("--scenario scenario.yaml", "--scenarioo x", "bad command"),
        ('await session.send_text("hi")', "await (", "failed"),
        ("rules: []", "rules: [", "does not parse"),
        ("```bash\ntest", "```bsh\ntest", "needs a language"),
        ("<!-- test: output -->\n```text\nhello", "<!-- test: outptu -->\n```text\nhello", "mark"),
    ],
)
def test_a_broken_block_fails_with_its_place(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    assert old in SAMPLE
    failures = run_page(parse(SAMPLE.replace(old, new, 1), "sample.md"), tmp_path)
    assert failures
    assert complaint in "\n".join(failures)


def test_output_mismatch_wants_lines_in_order() -> None:
    assert output_mismatch("a\n\nc\n", "a\nb\nc\n") is None
    assert output_mismatch("c\na\n", "a\nb\nc\n") is not None
    assert output_mismatch("a", "ab\n") is not None
    assert output_mismatch("5 passed in ...", "5 passed in 6.30s\n") is None
    assert output_mismatch("5 passed in ...", "4 passed in 6.30s\n") is not None


if __name__ == "__main__":
    drive(Path(sys.argv[1]))
