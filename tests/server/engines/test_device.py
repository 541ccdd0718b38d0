"""Where the model engines run (``--device auto|cpu|cuda``): the choice per runtime, the real
probe of this (CPU) machine, and an explicit ``cuda`` refused before any model loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from realtalk.errors import ConfigError
from realtalk.server.engines import EngineSpec, load_engines, speech_extra_installed
from realtalk.server.engines.device import (
    CudaReport,
    choose,
    describe,
    onnx_providers,
    probe,
    whisper_compute_type,
)

REAL = {"vad": "silero", "transcriber": "whisper", "synthesizer": "piper"}
TONES = {"vad": "energy", "transcriber": "tone", "synthesizer": "tone"}
GPU = CudaReport(
    ctranslate2_cuda_devices=1,
    ctranslate2_cuda_compute_types=("float16", "float32", "int8", "int8_float16"),
    onnxruntime_providers=("CUDAExecutionProvider", "CPUExecutionProvider"),
)
"""A machine with one GPU, the CUDA libraries and onnxruntime-gpu, as the runtimes report it."""
GPU_WITHOUT_ORT_GPU = CudaReport(1, ("float32", "int8_float32"), ("CPUExecutionProvider",))


def this_machine_has_no_cuda() -> CudaReport:
    report = probe()
    if report.has_cuda("ctranslate2") or report.has_cuda("onnxruntime"):
        pytest.skip("this machine has CUDA: the CPU-machine cases do not apply")
    return report


def test_the_probe_of_this_machine_finds_no_cuda() -> None:
    report = this_machine_has_no_cuda()
    assert report.ctranslate2_cuda_devices == 0
    if speech_extra_installed("onnxruntime"):
        assert "CPUExecutionProvider" in report.onnxruntime_providers
    assert choose("auto", REAL, report) == {
        "vad": "cpu",
        "transcriber": "cpu",
        "synthesizer": "cpu",
    }


def test_auto_picks_cuda_for_each_engine_whose_runtime_has_it() -> None:
    assert set(choose("auto", REAL, GPU).values()) == {"cuda"}
    assert whisper_compute_type("cuda", GPU) == "float16"
    assert onnx_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]
    # CTranslate2 sees the GPU, but onnxruntime is the CPU build: Whisper alone goes to CUDA.
    mixed = choose("auto", REAL, GPU_WITHOUT_ORT_GPU)
    assert mixed == {"vad": "cpu", "transcriber": "cuda", "synthesizer": "cpu"}
    assert describe(mixed, REAL) == "silero:cpu,whisper:cuda,piper:cpu"
    assert whisper_compute_type("cuda", GPU_WITHOUT_ORT_GPU) == "float32"
    # cpu is cpu whatever the machine has; engines without a model are always on the CPU.
    assert set(choose("cpu", REAL, GPU).values()) == {"cpu"}
    assert set(choose("auto", TONES, GPU).values()) == {"cpu"}
    assert whisper_compute_type("cpu", GPU) == "int8"


def test_explicit_cuda_names_what_is_missing_per_runtime() -> None:
    with pytest.raises(ConfigError) as info:
        choose("cuda", REAL, GPU_WITHOUT_ORT_GPU)
    text = str(info.value)
    assert "silero cannot run on CUDA: onnxruntime has no CUDAExecutionProvider" in text
    assert "piper cannot run on CUDA" in text
    assert "pip install onnxruntime-gpu" in text
    assert "whisper" not in text  # CTranslate2 has its GPU
    with pytest.raises(ConfigError, match="CTranslate2 \\(faster-whisper\\) sees no CUDA device"):
        choose("cuda", REAL, CudaReport())
    with pytest.raises(ConfigError, match="no engine here runs a model"):
        choose("cuda", TONES, GPU)
    with pytest.raises(ConfigError, match="unknown device") as unknown:
        choose("gpu", REAL, GPU)
    assert "['auto', 'cpu', 'cuda']" in str(unknown.value)


def test_auto_runs_on_the_cpu_here_and_says_so() -> None:
    this_machine_has_no_cuda()
    engines = load_engines(EngineSpec(vad="energy", transcriber="tone", synthesizer="tone"))
    assert engines.device == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        load_engines(EngineSpec(device="gpu"))


@pytest.mark.speech
def test_the_real_engines_load_on_the_cpu_with_auto() -> None:
    if not speech_extra_installed():
        pytest.skip("speech extra not installed")
    this_machine_has_no_cuda()
    engines = load_engines(EngineSpec())
    assert engines.device == "cpu"
    assert "device='cpu', compute_type='int8'" in repr(engines.transcriber)
    assert "device='cpu'" in repr(engines.synthesizer)


def test_explicit_cuda_fails_here_before_any_model_loads() -> None:
    if not speech_extra_installed():
        pytest.skip("speech extra not installed: no model engine to refuse")
    this_machine_has_no_cuda()
    # A fresh interpreter, so "nothing loaded" means nothing: no Whisper, Piper or Silero.
    code = (
        "import json, sys\n"
        "from realtalk.errors import ConfigError\n"
        "from realtalk.server.engines import EngineSpec, load_engines\n"
        "from realtalk.server.engines.vad import SileroVAD\n"
        "try:\n"
        "    load_engines(EngineSpec(device='cuda'))\n"
        "    error = None\n"
        "except ConfigError as exc:\n"
        "    error = str(exc)\n"
        "loaded = {'faster_whisper', 'piper'} & set(sys.modules)\n"
        "print(json.dumps({'error': error, 'loaded': sorted(loaded),\n"
        "                  'silero': SileroVAD._shared_session is not None}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["loaded"] == []
    assert result["silero"] is False
    error = result["error"]
    assert error is not None
    assert "whisper cannot run on CUDA: CTranslate2 (faster-whisper) sees no CUDA device" in error
    assert "silero cannot run on CUDA: onnxruntime has no CUDAExecutionProvider" in error
    assert "piper cannot run on CUDA" in error


def test_serve_with_device_cuda_exits_with_the_reason() -> None:
    if not speech_extra_installed():
        pytest.skip("speech extra not installed: no model engine to refuse")
    this_machine_has_no_cuda()
    done = subprocess.run(
        [sys.executable, "-m", "realtalk", "serve", "--port", "0", "--no-auth", "--device", "cuda"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # it never listened
    assert done.stderr.startswith("realtalk serve: error: device: silero cannot run on CUDA")
    assert "whisper cannot run on CUDA: CTranslate2 (faster-whisper) sees no CUDA" in done.stderr
    assert "pip install onnxruntime-gpu" in done.stderr
