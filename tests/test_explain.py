"""`realtalk explain`: provenance per field and the exact session.update per provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realtalk.cli import main
from realtalk.config import Layer, SemanticVAD, ServerVAD, SessionConfig
from realtalk.explain import field_provenance, load_layers
from tests.oracle import validate_client_event

ROOT = Path(__file__).resolve().parents[1]
CONCIERGE = ROOT / "examples" / "config" / "concierge.toml"
CONCIERGE_JSON = ROOT / "examples" / "config" / "concierge.json"
SECRET = "sk-explain-SECRET-999"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["explain", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def provider(report: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [p for p in report["providers"] if p["name"] == name]
    return found


def test_concierge_provenance_and_payloads_for_every_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, str(CONCIERGE), "--provider", "all")
    assert code == 0
    assert report["ok"] is True
    assert report["layers"] == ["runner", "agent"]
    fields = {row["field"]: (row["value"], row["layer"]) for row in report["fields"]}
    assert fields["instructions"][1] == "agent"
    assert fields["voice"] == ("'alloy'", "runner")
    assert fields["turn_detection"] == ("SemanticVAD", "agent")
    assert fields[".eagerness"] == ("'low'", "agent")
    assert ".threshold" not in fields  # replaced by the agent's semantic VAD, not carried over
    assert fields["output_modalities"] == ("['audio']", "runner")

    ga = provider(report, "openai")["session_update"]
    validate_client_event("ga", ga)
    assert ga["session"]["output_modalities"] == ["audio"]
    assert ga["session"]["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
    }
    azure = provider(report, "azure")
    assert "api-version" not in azure["url"]
    assert azure["session_update"] == ga

    preview = provider(report, "azure-preview")
    assert "api-version=" in preview["url"]
    session = preview["session_update"]["session"]
    assert not set(session) & {"type", "output_modalities", "audio"}
    assert session["modalities"] == ["audio", "text"]
    assert session["max_response_output_tokens"] == 1024
    validate_client_event("beta", preview["session_update"])


def test_text_report_shows_layers_sources_and_each_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["explain", str(CONCIERGE), "-p", "openai", "-p", "azure", "-p", "azure-preview"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Layers, lowest first: provider defaults < runner < agent" in out
    assert any(
        line.split()[:3] == ["turn_detection", "SemanticVAD", "agent"] for line in out.splitlines()
    )
    for header in ("== openai: OpenAI GA", "== azure: Azure OpenAI GA", "== azure-preview:"):
        assert header in out
    assert '"output_modalities": [' in out
    assert '"modalities": [' in out
    assert "compatible" not in out


def test_config_error_is_printed_in_full_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "warm.toml"
    config.write_text("temperature = 0.8\nspeed = 1.4\n[turn_detection]\nidle_timeout_ms = 100\n")
    code = main(["explain", str(config), "-p", "openai", "-p", "azure-preview"])
    out = capsys.readouterr().out
    assert code == 2
    assert "session.temperature: OpenAI GA rejects 'temperature'" in out
    assert (
        "session.audio.input.turn_detection.idle_timeout_ms: OpenAI GA takes 5000 to 30000" in out
    )
    assert "session.speed: Azure OpenAI preview: Azure preview does not document it" in out
    assert "warm" in out  # a plain file is one layer, named after the file


def test_unmappable_layer_names_the_layer_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "vad.toml"
    config.write_text('[agent.turn_detection]\ntype = "semantic_vad"\nthreshold = 0.5\n')
    assert main(["explain", str(config)]) == 2
    err = capsys.readouterr().err
    assert "[agent]" in err
    assert "turn_detection.threshold: semantic_vad does not take 'threshold'" in err


def test_python_layers_from_a_file_and_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "from realtalk.config import Layer, SessionConfig as C, ServerVAD as V\n"
        "LAYERS = [Layer('runner', C(voice='ash', turn_detection=V(threshold=0.4))),\n"
        "          Layer('agent', C(turn_detection=V(silence_duration_ms=300)))]\n"
        "CONFIG = C(instructions='hi')\n"
    )
    (tmp_path / "myagentconf.py").write_text(source)
    code, report = run_json(capsys, f"{tmp_path / 'myagentconf.py'}:LAYERS")
    assert code == 0
    rows = [(r["field"], r["layer"]) for r in report["fields"]]
    assert ("turn_detection", "agent") in rows
    assert (".threshold", "runner") in rows
    assert (".silence_duration_ms", "agent") in rows
    monkeypatch.syspath_prepend(str(tmp_path))
    code, report = run_json(capsys, "myagentconf:CONFIG", "--layer", f"extra={CONCIERGE_JSON}")
    assert code == 0
    assert report["layers"] == ["CONFIG", "extra"]
    assert ("instructions", "extra") in [(r["field"], r["layer"]) for r in report["fields"]]


def test_named_layers_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, str(CONCIERGE_JSON), "--layer", f"app={CONCIERGE}")
    assert code == 0
    assert report["layers"] == ["concierge", "app.runner", "app.agent"]


@pytest.mark.parametrize("spec", ["missing.toml", "config.ini", "nosuchmodule_xyz:CONFIG"])
def test_unreadable_sources_exit_2(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.ini").write_text("[x]\n")
    assert main(["explain", spec]) == 2
    assert spec in capsys.readouterr().err


def test_layer_flag_needs_name_and_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(CONCIERGE), "--layer", "nothing"]) == 2
    assert "NAME=CONFIG" in capsys.readouterr().err


def test_explain_never_prints_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    assert main(["explain", str(CONCIERGE), "--provider", "all"]) == 0
    assert main(["explain", str(CONCIERGE), "--provider", "all", "--json"]) == 0
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert "<redacted>" in captured.out


def test_field_provenance_tracks_sub_fields_and_replacement() -> None:
    layers = [
        Layer(
            "runner", SessionConfig(turn_detection=ServerVAD(threshold=0.4, prefix_padding_ms=200))
        ),
        Layer("agent", SessionConfig(turn_detection=ServerVAD(threshold=0.6), extra={"k": 1})),
    ]
    assert field_provenance(layers) == {
        "turn_detection": "agent",
        "turn_detection.threshold": "agent",
        "turn_detection.prefix_padding_ms": "runner",
        "extra": "agent",
        "extra.k": "agent",
    }
    layers.append(Layer("update", SessionConfig(turn_detection=SemanticVAD())))
    assert field_provenance(layers)["turn_detection"] == "update"
    assert "turn_detection.threshold" not in field_provenance(layers)
    layers.append(Layer("off", SessionConfig(turn_detection=None)))
    assert [k for k in field_provenance(layers) if k.startswith("turn_detection")] == [
        "turn_detection"
    ]


def test_load_layers_single_json_is_one_layer_named_after_the_file() -> None:
    [layer] = load_layers(str(CONCIERGE_JSON))
    assert layer.name == "concierge"
    assert layer.config.turn_detection == SemanticVAD(eagerness="low")


def test_console_entry_point_in_a_subprocess() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("OPENAI_API_KEY", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    result = run("realtalk", "explain", str(CONCIERGE), "--provider", "all")
    assert result.returncode == 0, result.stderr
    assert "== azure-preview: Azure OpenAI preview rules, beta wire shape ==" in result.stdout
    bad = run("realtalk.cli", "explain", "does-not-exist.toml")
    assert bad.returncode == 2
    assert "no such config file" in bad.stderr
