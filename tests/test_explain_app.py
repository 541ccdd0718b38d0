"""``realtalk explain`` on an app (a Runner or an Agent in a module), ``Runner.explain()`` and
``realtalk --version`` (issue 12, item 6)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

import realtalk as rt
from realtalk import cli

APP = """
import realtalk as rt
from helper import INSTRUCTIONS  # a sibling module: the app's folder must be on the path

support = rt.Agent("support", instructions=INSTRUCTIONS, config=rt.SessionConfig(voice="marin"))
runner = rt.Runner(
    support,
    provider=rt.providers.Local(flavor="azure-preview"),
    config=rt.SessionConfig(voice="alloy", max_output_tokens=200),
)
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "helper.py").write_text('INSTRUCTIONS = "You help with bookings."\n')
    (tmp_path / "my_app.py").write_text(APP.replace('voice="marin"', 'voice="verse"'))
    (tmp_path / "broken.py").write_text("import realtalk\nimport no_such_module_xyz\n")
    return tmp_path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_explain_an_agent_in_a_file_with_a_sibling_import(app: Path) -> None:
    code, out, err = run("explain", f"{app}/my_app.py:support")
    assert code == 0, err
    assert "Layers, lowest first: provider defaults < agent:support" in out
    assert "'You help with bookings.'  agent:support" in out
    assert "== openai: OpenAI GA rules" in out  # an Agent has no provider: the default one


def test_explain_a_runner_uses_its_own_provider(app: Path) -> None:
    code, out, err = run("explain", f"{app}/my_app.py:runner")
    assert code == 0, err
    assert "provider defaults < runner < agent:support" in out
    assert "== local: Azure OpenAI preview rules, beta wire shape ==" in out
    assert "connect: ws://127.0.0.1:<port chosen at start>/openai/realtime?" in out
    assert '"max_response_output_tokens": 200' in out  # the beta shape's name for it
    code, out, _ = run("explain", f"{app}/my_app.py:runner", "--provider", "openai")
    assert "== openai: OpenAI GA rules" in out
    assert "== local" not in out


def test_explain_errors_are_one_line_without_traceback(app: Path) -> None:
    code, out, err = run("explain", f"{app}/broken.py:anything")
    assert code == 2
    assert "importing it failed at broken.py:2: ModuleNotFoundError" in err
    assert "install 'no_such_module_xyz'" in err
    assert "Traceback" not in err + out
    code, _, err = run("explain", f"{app}/my_app.py:suport")
    assert code == 2
    assert "did you mean 'support'?" in err


def test_explain_a_module_name_from_the_current_folder(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(app))])
    code, out, err = run("explain", "my_app:support")
    assert code == 0, err
    assert "agent:support" in out


def test_runner_explain_prints_the_table() -> None:
    agent = rt.Agent("helper", instructions="Be brief.", config=rt.SessionConfig(voice="marin"))
    runner = rt.Runner(agent, provider=rt.providers.Local())
    explained = runner.explain()
    text = str(explained)
    assert text == repr(explained)
    assert "Effective session config:" in text
    assert "voice         'marin'" in text
    assert "session.update sent on connect" in text
    # still an Effective: what a session would ask for, with provenance
    assert explained.config.voice == "marin"
    assert explained.source("voice") == "agent:helper"


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "realtalk.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"realtalk {rt.__version__}"
