"""The whole "Why" list of issue 12 (wrong types, audio and Azure mistakes, explain), plus the
URL and secret cases of issue 8, replayed as a new user would: a script of their own run with
``python``, and the ``realtalk`` command line. What they see must hold no traceback and no
internal name, and every mistake must say what to do instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INTERNAL = (
    "Traceback",
    "set_fields",
    "SessionOptions",
    "AttributeError",
    "_AsyncGeneratorContextManager",
    "KeyError",
    "unexpected keyword argument",
    "has no attribute 'dialect'",
    "has no attribute 'name'",
    "'str' object",
    "'dict' object",
    "__init__()",
    "InvalidURI",
    "ValueError",
    "sample rate must be a positive integer",
)

SCRIPT = r"""
import asyncio
import numpy as np
import realtalk as rt
from realtalk import audio, testing

agent = rt.Agent("helper", instructions="Be brief.")


def attempt(label, make):
    try:
        result = make()
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        print(f"[{label}] ok: {result}")
    except Exception as exc:
        flat = " ".join(str(exc).split())
        print(f"[{label}] {type(exc).__name__}: {flat}")


async def in_session(body):
    manual = rt.SessionConfig(turn_detection=None)
    runner = rt.Runner(agent, provider=testing.local(), config=manual)
    async with runner.connect() as session:
        return await body(session)


async def update_after_close():
    async with rt.Runner(agent, provider=testing.local()).connect() as session:
        pass
    await session.update(voice="marin")


async def forgot_async_with():
    session = rt.Runner(agent, provider=testing.local()).connect()
    await session.send_text("hi")


async def wav_turn(session):
    speech = testing.speak("hello", 16000) + testing.silence(300, 16000)
    await session.send_audio(audio.wav_bytes(speech, 16000))
    return (await testing.run_turn(session, audio=b"")).transcript


async def float_turn(session):
    pcm = np.frombuffer(testing.speak("numbers") + testing.silence(300), dtype="<i2")
    await session.send_audio(pcm.astype(np.float32) / 32768)
    return (await testing.run_turn(session, audio=b"")).transcript


pcm = testing.speak("hi")
attempt("config dict", lambda: rt.Runner(agent, config={"voice": "marin"}))
attempt("update dict", lambda: in_session(lambda s: s.update({"voice": "marin"})))
attempt("provider string", lambda: rt.Runner(agent, provider="openai"))
attempt("handoff string", lambda: rt.Agent("concierge", handoffs=["billing"]))
attempt("no async with", forgot_async_with)
attempt("local flavor", lambda: rt.providers.Local(flavor="gemini"))
attempt("local option", lambda: rt.providers.Local(realtime_pace=True))
attempt("guardrail string", lambda: rt.Runner(agent, provider=testing.local(), guardrails=["x"]))
attempt("runner option", lambda: rt.Runner(agent, provider=testing.local(), queue_sise=3))
attempt("update after close", update_after_close)
attempt("format string", lambda: in_session(lambda s: s.send_audio(pcm, format="pcmu")))
attempt("rate zero", lambda: in_session(lambda s: s.send_audio(pcm, rate=0)))
attempt("odd bytes", lambda: in_session(lambda s: s.send_audio(pcm + b"\0")))
attempt("wav bytes", lambda: in_session(wav_turn))
attempt("float array", lambda: in_session(float_turn))
attempt("float out of range", lambda: in_session(lambda s: s.send_audio(np.ones(10) * 3)))
attempt("approve unknown", lambda: in_session(lambda s: asyncio.sleep(0, s.approve("call_1"))))
attempt(
    "azure portal url",
    lambda: rt.providers.AzureOpenAI(
        "https://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview", "gpt"
    ),
)
attempt("azure from env", lambda: rt.providers.AzureOpenAI.from_env())
attempt("port 99999", lambda: rt.providers.Compatible("ws://127.0.0.1:99999/v1/realtime"))
attempt("ipv6", lambda: rt.providers.Compatible("ws://[::1/v1/realtime"))
attempt("userinfo repr", lambda: repr(rt.providers.Compatible("ws://me:PW-SECRET-1@gw/v1?api_key=QS-SECRET-2")))
attempt("runner explain", lambda: "\n" + str(rt.Runner(agent, provider=testing.local()).explain()))
"""

APP = """
import realtalk as rt
from helper import INSTRUCTIONS

support = rt.Agent("support", instructions=INSTRUCTIONS)
runner = rt.Runner(support, provider=rt.providers.Local())
"""


def run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_OPENAI_")}
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.stdout + done.stderr


def test_the_why_list_as_a_new_user_sees_it(tmp_path: Path) -> None:
    (tmp_path / "mistakes.py").write_text(SCRIPT)
    (tmp_path / "helper.py").write_text('INSTRUCTIONS = "You help."\n')
    (tmp_path / "agent.py").write_text(APP)
    (tmp_path / "broken.py").write_text("import realtalk\nimport helpers_typo\n")
    cli = [sys.executable, "-m", "realtalk"]
    seen = run([sys.executable, "mistakes.py"], tmp_path)
    seen += run([*cli, "explain", "agent.py:support"], tmp_path)
    seen += run([*cli, "explain", "agent.py:runner"], tmp_path)
    seen += run([*cli, "explain", "broken.py:support"], tmp_path)
    seen += run([*cli, "explain", "-p", "compatible-ga", "--url", "wss://gw/rt?api_key=QS-SECRET-3",
                 "agent.py:support"], tmp_path)  # fmt: skip
    seen += run([*cli, "--version"], tmp_path)
    talk = run([*cli, "talk", "--provider", "azure"], tmp_path)  # no Azure variables set
    seen += talk

    for word in INTERNAL:
        assert word not in seen, f"{word!r} shown to the user:\n{seen}"
    for secret in ("PW-SECRET-1", "QS-SECRET-2", "QS-SECRET-3"):
        assert secret not in seen
    lines = {line.split("]")[0][1:]: line for line in seen.splitlines() if line.startswith("[")}
    expected = {
        "config dict": "SessionConfig.from_dict(",
        "update dict": "SessionConfig.from_dict(",
        "provider string": "rt.providers.OpenAI()",
        "handoff string": "Agent('billing', ...)",
        "no async with": "async with runner.connect() as session:",
        "local flavor": "one of 'openai', 'azure', 'azure-preview'",
        "local option": "did you mean 'realtime_pacing'?",
        "guardrail string": "check(text) -> bool",
        "runner option": "did you mean 'queue_size'?",
        "update after close": "InvalidState: the session is closed",
        "format string": "format=rt.AudioFormat.pcmu()",
        "rate zero": "give the rate your audio was recorded at",
        "odd bytes": "send whole samples",
        "wav bytes": "ok: hello",
        "float array": "ok: numbers",
        "float out of range": "scale the floats to [-1, 1]",
        "approve unknown": "InvalidState: no tool call 'call_1' is waiting for approval",
        "azure portal url": "keep only 'https://res.openai.azure.com' as endpoint",
        "azure from env": "AZURE_OPENAI_API_KEY",
        "port 99999": "fix the number after the host's ':'",
        "ipv6": "write an IPv6 host in brackets",
        "userinfo repr": "ws://<redacted>@gw/v1?api_key=<redacted>",
        "runner explain": "ok: ",
    }
    for label, needle in expected.items():
        assert needle in lines.get(label, ""), f"[{label}] {lines.get(label)!r}"
    assert "AZURE_OPENAI_ENDPOINT" in lines["azure from env"]
    assert "Effective session config:" in seen  # Runner.explain() printed as the table
    assert "provider defaults < agent:support" in seen
    assert "== local: OpenAI GA rules" in seen  # the Runner explained for its own provider
    assert "importing it failed at broken.py:2: ModuleNotFoundError" in seen
    assert f"realtalk {__import__('realtalk').__version__}" in seen
    # every missing variable in one run, not one per run
    assert "AZURE_OPENAI_ENDPOINT: is not set" in talk
    assert "AZURE_OPENAI_API_KEY: is not set" in talk
