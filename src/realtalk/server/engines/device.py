"""Which device the model engines run on: ``realtalk serve --device auto|cpu|cuda``.

The engines run on two runtimes, and each knows on its own whether it can use CUDA:
CTranslate2 (faster-whisper's Whisper) counts the CUDA devices it was built for and can see,
and onnxruntime (Silero VAD, Piper) lists ``CUDAExecutionProvider`` only in its GPU build
(``onnxruntime-gpu``) on a machine with the CUDA libraries. So each engine decides from its own
runtime's answer: with ``auto`` Whisper may run on the GPU while Piper stays on the CPU.

:func:`probe` asks the runtimes (importing them, loading no model), :func:`choose` decides, and
an explicit ``cuda`` that cannot be honoured fails there, before any model loads, naming what
is missing. CPU is the default in practice (``auto`` on a machine without CUDA) and the one the
tests run on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from realtalk.errors import ConfigError, ConfigProblem

__all__ = [
    "DEVICES",
    "CudaReport",
    "choose",
    "describe",
    "onnx_providers",
    "probe",
    "whisper_compute_type",
]

DEVICES = ("auto", "cpu", "cuda")
Device = Literal["cpu", "cuda"]
Runtime = Literal["ctranslate2", "onnxruntime"]

RUNTIMES: Mapping[str, Runtime] = {
    "whisper": "ctranslate2",
    "silero": "onnxruntime",
    "piper": "onnxruntime",
}
"""The runtime of each engine that runs a model (the others run on the CPU, as plain code)."""

_CUDA_PROVIDER = "CUDAExecutionProvider"
# Whisper on a GPU: half precision, as faster-whisper recommends for CUDA; int8 weights with
# float16 compute where a card lacks efficient float16; float32 as the last resort.
_CUDA_COMPUTE_TYPES = ("float16", "int8_float16", "float32")


@dataclass(frozen=True, slots=True)
class CudaReport:
    """What the runtimes say about CUDA on this machine (plain data: tests can describe a GPU
    machine with one)."""

    ctranslate2_cuda_devices: int = 0
    """0: no CUDA device, ctranslate2 built without CUDA, or not installed."""
    ctranslate2_cuda_compute_types: tuple[str, ...] = ()
    onnxruntime_providers: tuple[str, ...] = ()
    """Empty: onnxruntime is not installed."""

    def has_cuda(self, runtime: Runtime) -> bool:
        if runtime == "ctranslate2":
            return self.ctranslate2_cuda_devices > 0
        return _CUDA_PROVIDER in self.onnxruntime_providers

    def missing(self, runtime: Runtime) -> tuple[str, str]:
        """(what is missing, the fix) for CUDA on ``runtime``."""
        if runtime == "ctranslate2":
            return (
                "CTranslate2 (faster-whisper) sees no CUDA device",
                "install the NVIDIA driver, CUDA 12 and cuDNN 9 libraries on a machine with a "
                "GPU (ctranslate2.get_cuda_device_count() must be above 0)",
            )
        found = ", ".join(self.onnxruntime_providers) or "onnxruntime is not installed"
        return (
            f"onnxruntime has no {_CUDA_PROVIDER} (it offers: {found})",
            "pip install onnxruntime-gpu in place of onnxruntime, on a machine with the CUDA "
            "libraries",
        )


def probe() -> CudaReport:
    """Ask the installed runtimes about CUDA (no model is loaded; a runtime that is not
    installed counts as having no CUDA)."""
    devices = 0
    compute_types: tuple[str, ...] = ()
    try:
        import ctranslate2

        devices = int(ctranslate2.get_cuda_device_count())
        if devices:
            compute_types = tuple(sorted(ctranslate2.get_supported_compute_types("cuda")))
    except (ImportError, OSError, RuntimeError):  # not installed, a build without CUDA, no libs
        devices = 0
    providers: tuple[str, ...] = ()
    try:
        import onnxruntime

        providers = tuple(onnxruntime.get_available_providers())
    except ImportError:
        providers = ()
    return CudaReport(devices, compute_types, providers)


def choose(requested: str, engines: Mapping[str, str], report: CudaReport) -> dict[str, Device]:
    """The device of each engine in ``engines`` (kind -> engine name, e.g. ``{"vad":
    "silero"}``) for ``requested`` (``auto`` | ``cpu`` | ``cuda``). An explicit ``cuda`` that
    an engine's runtime cannot honour, or that no engine would use, is a ConfigError."""
    if requested not in DEVICES:
        raise ConfigError(
            [ConfigProblem("device", requested, "unknown device", f"use one of {list(DEVICES)}")],
            target="the server engines",
        )
    chosen: dict[str, Device] = {}
    problems = []
    for kind, name in engines.items():
        runtime = RUNTIMES.get(name)
        if runtime is None or requested == "cpu":
            chosen[kind] = "cpu"
        elif report.has_cuda(runtime):
            chosen[kind] = "cuda"
        elif requested == "auto":
            chosen[kind] = "cpu"
        else:
            what, fix = report.missing(runtime)
            problems.append(
                ConfigProblem("device", "cuda", f"{name} cannot run on CUDA: {what}", fix)
            )
    if requested == "cuda" and not problems and "cuda" not in chosen.values():
        problems.append(
            ConfigProblem(
                "device",
                "cuda",
                "no engine here runs a model ("
                + ", ".join(f"{kind}={name}" for kind, name in engines.items())
                + "), so nothing would run on CUDA",
                "use the real engines (silero, whisper, piper), or --device cpu",
            )
        )
    if problems:
        raise ConfigError(problems, target="the server engines")
    return chosen


def describe(devices: Mapping[str, Device], engines: Mapping[str, str]) -> str:
    """``cpu`` or ``cuda`` when every engine agrees, else per engine (``whisper:cuda,...``)."""
    distinct = set(devices.values())
    if len(distinct) <= 1:
        return next(iter(distinct), "cpu")
    return ",".join(f"{engines[kind]}:{device}" for kind, device in devices.items())


def whisper_compute_type(device: Device, report: CudaReport) -> str:
    """int8 on the CPU (what the CPU figures are measured with); on CUDA the first of float16,
    int8_float16, float32 the device supports."""
    if device == "cpu":
        return "int8"
    for kind in _CUDA_COMPUTE_TYPES:
        if kind in report.ctranslate2_cuda_compute_types:
            return kind
    return "float32"


def onnx_providers(device: str) -> list[str]:
    """onnxruntime's providers, most wanted first (the CPU stays as the fallback for any
    operator the CUDA provider does not implement)."""
    return (
        [_CUDA_PROVIDER, "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    )
