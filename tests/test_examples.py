"""Every runnable example runs as documented, offline, against the local server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_every_example_has_a_test_here() -> None:
    source = Path(__file__).read_text()
    for example in sorted(EXAMPLES.glob("*.py")):
        assert f'"{example.name}"' in source, f"examples/{example.name} is not run by a test"


def test_gateway_hook_example() -> None:
    done = run(str(EXAMPLES / "gateway_hook.py"))
    assert done.returncode == 0, done.stderr
    assert "assistant: hello gateway" in done.stdout
    assert "tracing on the wire: False" in done.stdout


def test_concierge_example() -> None:
    done = run(str(EXAMPLES / "concierge.py"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "user: What's the weather in Paris?",
        '  tool call: get_weather({"city": "Paris"})',
        "concierge: Paris: sunny, 21 degrees. Anything else?",
        "user: A table for 2 at 19:30, please.",
        '  tool call: book_table({"guests": "2", "time": "19:30"})',
        "concierge: Booked for 2 at 19:30, confirmation T-1042.",
        "user: How much is the suite?",
        "  guardrail no_prices tripped: the reply was stopped",
        "user: Then I have a question about my invoice.",
        "  tool call: transfer_to_billing({})",
        "  handoff: concierge -> billing",
        "billing: Billing here. What would you like to know about your invoice?",
    ]


def test_the_pytest_example_passes_from_any_folder(tmp_path: Path) -> None:
    done = run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLES / "test_concierge.py"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed" in done.stdout
    assert "warning" not in done.stdout.lower()


def test_push_to_talk_example() -> None:
    done = run(str(EXAMPLES / "push_to_talk.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "user: Tell me a story"
    assert lines[1].startswith("  (interrupted the assistant at ")
    assert lines[2:] == [
        "user: What's the weather?",
        "assistant: Sunny and 21 degrees.",
        "cancelled press: nothing committed",
    ]
    assert "Once upon a time" not in done.stdout  # the interrupted story never completed


def test_approvals_example() -> None:
    done = run(str(EXAMPLES / "approvals.py"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "user: Please refund 12.50",
        "  app: approved a refund of 12.50",
        "assistant: Refunded 12.50 to the card on file.",
        "user: Please refund 900",
        "  app: rejected a refund of 900.00",
        "  the model is told: the user rejected this call: refunds over 50 need a manager",
        "assistant: I could not refund 900: the user rejected this call: refunds over 50 need a "
        "manager.",
    ]


def test_check_config_example() -> None:
    done = run(str(EXAMPLES / "check_config.py"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("== openai: wss://api.openai.com/v1/realtime?model=gpt-realtime") == 2
    assert out.count("== azure-preview: wss://my-resource.openai.azure.com/openai/realtime?") == 2
    assert '"input_audio_transcription"' in out  # the beta shape on Azure preview
    assert '"audio": {' in out  # the GA shape on OpenAI and Azure GA
    assert "session.speed: Azure OpenAI preview" in out
    for flavor in ("openai", "azure", "azure-preview"):
        assert f"local server ({flavor}) confirmed: voice=alloy" in out


def test_the_config_file_explained_for_three_providers() -> None:
    done = run(
        "-m", "realtalk", "explain", str(EXAMPLES / "config" / "concierge.toml"),
        "-p", "openai", "-p", "azure", "-p", "azure-preview",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for provider in ("== openai", "== azure", "== azure-preview"):
        assert provider in done.stdout


def test_phone_agent_example() -> None:
    # The whole phone flow offline: local server, the webhook app, a simulated caller.
    done = run(str(EXAMPLES / "phone_agent.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "call: ended",
        "tools: ['get_weather']",
        "agent said: ['The weather says Sunny and 21 degrees in Paris.']",
        "keys: 42#",
    ]
    assert lines[4].startswith("caller heard: The weather says Sunny and 21 degrees in Paris.")


def test_transcribe_example() -> None:
    done = run(str(EXAMPLES / "transcribe.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "  (speech started)"
    deltas = [ast.literal_eval(line.split(": ", 1)[1]) for line in lines if "delta:" in line]
    assert "".join(deltas) == "the meeting starts at nine"
    assert lines[-2:] == ["heard: the meeting starts at nine", "heard: please call me back"]
