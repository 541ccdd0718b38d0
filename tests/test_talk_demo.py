"""`realtalk talk`, `demo` and `serve` as a new user meets them: banners that tell the truth,
a prompt, Ctrl-C that ends at once, one-line hints instead of tracebacks, demo output that
matches what was asked."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from realtalk import testing
from realtalk.audio import write_wav


def realtalk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_OPENAI", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "realtalk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def start(*args: str) -> subprocess.Popen[str]:
    # A runner started in the background by a shell without job control (``nohup sh -c ...
    # &``) runs with SIGINT ignored, which its children inherit, and Python then installs no
    # KeyboardInterrupt handler: Ctrl-C would reach a CLI that cannot hear it. A handler (unlike
    # "ignored") is reset to the default by exec, so one set here for the spawn gives the child
    # what a terminal gives it, and these tests check the CLI, not how they were launched.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "realtalk", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never printed; got {seen}")


def stamp(text: str, prefix: str) -> float:
    """The time stamp ("[   123 ms]") of the demo's first line that starts with ``prefix``."""
    for line in text.splitlines():
        found = re.match(r"\[\s*(\d+) ms\] (.*)", line)
        if found and found[2].startswith(prefix):
            return float(found[1])
    raise AssertionError(f"no line starting with {prefix!r} in:\n{text}")


# -- talk --------------------------------------------------------------------------------------


def test_talk_says_the_local_assistant_is_an_echo_and_how_to_get_a_real_one() -> None:
    done = realtalk("talk", stdin="hello there\n/quit\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("realtalk talk: provider=local (the built-in server, offline) ")
    assert "brain=echo" in lines[0]
    hint = lines[1]
    assert "says back what it hears" in hint
    assert "--brain script --scenario FILE" in hint
    assert "--brain openai-chat --chat-base-url URL --chat-model NAME" in hint
    assert "Ctrl-C ends at once" in lines[2]
    assert lines[3:] == ["assistant: hello there"]  # no prompt when stdin is not a terminal


def test_talk_with_a_scenario_answers_from_it(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text('rules:\n  - keywords: [hours]\n    say: "We are open from 7 to 23."\n')
    done = realtalk("talk", "--brain", "script", "--scenario", str(scenario), stdin="hours?\n")
    assert done.returncode == 0, done.stderr
    assert "brain=script" in done.stdout.splitlines()[0]
    assert "says back what it hears" not in done.stdout
    assert done.stdout.splitlines()[-1] == "assistant: We are open from 7 to 23."


def test_talk_ends_at_once_on_ctrl_c_while_waiting_for_input() -> None:
    proc = start("talk")
    try:
        read_until(proc, "Ctrl-C ends at once")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # before the fix it waited for Enter forever
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err


def test_talk_mic_problems_are_one_line_hints() -> None:
    done = realtalk("talk", "--mic", stdin="")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("realtalk talk: ")
    if importlib.util.find_spec("sounddevice") is None:
        assert "pip install 'realtalk[devices]'" in message
    else:  # installed, but this machine has no PortAudio library or no audio device
        assert "PortAudio" in message or "microphone or speaker" in message


def test_talk_unknown_brain_option_is_refused_by_the_parser() -> None:
    done = realtalk("talk", "--brain", "gpt")
    assert done.returncode == 2
    assert "invalid choice: 'gpt'" in done.stderr


# -- serve -------------------------------------------------------------------------------------


def test_serve_says_when_its_brain_is_an_echo() -> None:
    proc = start("serve", "--port", "0", "--vad", "energy", "--transcriber", "none",
                 "--synthesizer", "tone")  # fmt: skip
    try:
        seen = read_until(proc, "brain=echo:")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "realtalk server listening on ws://127.0.0.1:" in seen[0]
    assert "--brain openai-chat --chat-base-url URL" in seen[-1]


# -- demo --------------------------------------------------------------------------------------


def test_demo_help_says_what_triggers_the_tool_and_the_handoff() -> None:
    done = realtalk("demo", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "weather in a city" in text
    assert "mention a bill, billing or an invoice" in text


def test_demo_banner_names_provider_brain_and_engines(tmp_path: Path) -> None:
    done = realtalk("demo", "--engines", "deterministic", "--out", str(tmp_path / "r.wav"))
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert "provider=local (the built-in server, offline)" in first
    for engine in ("vad=energy", "transcriber=tone", "synthesizer=tone", "brain=script"):
        assert engine in first


def test_demo_billing_handoff_speaks_a_sentence_not_json(tmp_path: Path) -> None:
    done = realtalk(
        "demo", "--engines", "deterministic", "--out", str(tmp_path / "r.wav"),
        "--question", "I have a question about my bill",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "handoff to billing" in done.stdout
    assert "assistant: You are through to billing." in done.stdout
    assert "transferred_to" not in done.stdout


def test_demo_input_file_prints_its_own_question(tmp_path: Path) -> None:
    wav = tmp_path / "q8k.wav"
    write_wav(wav, testing.speak("What's the weather in London?", 8000), 8000)
    done = realtalk(
        "demo", "--engines", "deterministic", "--out", str(tmp_path / "r.wav"), "--input", str(wav)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"speaking: the audio in {wav} (" in done.stdout
    assert "at 8000 Hz)" in done.stdout
    assert "Paris" not in done.stdout
    assert "you said: What's the weather in London?" in done.stdout
    assert "assistant: In London it is light rain and 14 degrees." in done.stdout


def test_demo_realtime_stamps_events_as_they_arrive(tmp_path: Path) -> None:
    done = realtalk("demo", "--engines", "deterministic", "--realtime", "--out",
                    str(tmp_path / "r.wav"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The question is seconds of audio sent in real time: speech starts soon after the
    # stream does and stops only when the speech does, so the two stamps are far apart.
    spoken_ms = len(testing.speak("What's the weather in Paris?", 16000)) / 32
    started = stamp(done.stdout, "VAD: speech started")
    assert stamp(done.stdout, "VAD: speech stopped") - started > spoken_ms / 2, done.stdout
    latency = re.search(
        r"first reply audio: (\d+) ms \(question streamed in real time\)", done.stdout
    )
    assert latency is not None, done.stdout
    assert int(latency[1]) > 0


@pytest.mark.parametrize("command", ["talk", "demo"])
def test_a_missing_azure_setting_is_one_line_without_traceback(command: str) -> None:
    done = realtalk(command, "--provider", "azure", stdin="")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "AZURE_OPENAI_ENDPOINT" in done.stderr
