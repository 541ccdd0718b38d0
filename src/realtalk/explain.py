"""``realtalk explain``: which layer set each field, and the exact ``session.update`` per provider.

Loading: a config comes from a TOML, JSON or YAML file, or from a Python object named
``package.module:attr`` or ``path/to/file.py:attr``. A file holds either one session config (one
layer, named after the file) or named layers as top-level tables, lowest first::

    [runner]                 # layer "runner"
    voice = "marin"
    [agent]                  # layer "agent", wins over "runner"
    instructions = "..."

Both the GA nested and the beta flat shapes are accepted inside a layer
(:meth:`SessionConfig.from_dict`). A Python attribute may be a ``SessionConfig``, a ``Layer``, a
list of layers, or a mapping of layer name to config.

Explaining never connects and needs no credentials: providers are built with placeholder
endpoints, and only redacted headers are shown.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import textwrap
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtalk._namespace import public_dir
from realtalk.config import (
    UNSET,
    AudioFormat,
    Effective,
    Layer,
    SessionConfig,
    ToolSpec,
    is_set,
    merge,
    overlay,
)
from realtalk.dialects import BETA, GA
from realtalk.errors import ConfigError, ConfigProblem
from realtalk.providers import AzureOpenAI, Compatible, OpenAI, Provider

__all__ = [
    "PROVIDER_NAMES",
    "Explanation",
    "ProviderReport",
    "Report",
    "build_provider",
    "explain",
    "explain_app",
    "field_provenance",
    "load_layers",
    "load_target",
    "render_json",
    "render_text",
]

PROVIDER_NAMES: tuple[str, ...] = (
    "openai",
    "azure",
    "azure-preview",
    "compatible-ga",
    "compatible-beta",
)

PLACEHOLDER_AZURE = "https://your-resource.openai.azure.com"
PLACEHOLDER_GATEWAY = "wss://gateway.example/v1/realtime"
DEFAULT_PREVIEW_VERSION = "2025-04-01-preview"

# Top-level keys that mark a mapping as one session config rather than a table of layers.
_SESSION_KEYS = frozenset(
    set(SessionConfig.field_names())
    | {path.split(".")[0] for path in (*GA.session_paths.values(), *BETA.session_paths.values())}
    | {"type", "audio", "object", "id"}
)


# --------------------------------------------------------------------------------------------
# Loading


def _layer_error(problems: Iterable[ConfigProblem], where: str) -> ConfigError:
    return ConfigError(list(problems), target=where)


def _from_dict(data: Mapping[str, Any], where: str) -> SessionConfig:
    try:
        return SessionConfig.from_dict(data)
    except ConfigError as exc:
        raise _layer_error(exc.problems, where) from None


def _is_layer_table(data: Mapping[str, Any]) -> bool:
    return bool(data) and all(
        isinstance(value, Mapping | SessionConfig) and key not in _SESSION_KEYS
        for key, value in data.items()
    )


def _layers_from(obj: object, name: str, where: str) -> list[Layer]:
    """Layers from whatever a file or a Python attribute holds."""
    if isinstance(obj, SessionConfig):
        return [Layer(name, obj)]
    if isinstance(obj, Layer):
        return [obj]
    if isinstance(obj, Mapping):
        if _is_layer_table(obj):
            return [
                Layer(str(key), _config_of(value, f"{where} [{key}]")) for key, value in obj.items()
            ]
        return [Layer(name, _from_dict(obj, where))]
    if isinstance(obj, list | tuple) and all(isinstance(item, Layer) for item in obj):
        return list(obj)
    agent_layers = _app_layers(obj)
    if agent_layers is not None:
        return agent_layers
    problem = ConfigProblem(
        where,
        type(obj).__name__,
        "is not something explain can read",
        "give a Runner, an Agent, a SessionConfig, a Layer, a list of Layers or a mapping of "
        "layer name to config",
    )
    raise _layer_error([problem], where)


def _app_layers(obj: object) -> list[Layer] | None:
    """The layers a Runner or an Agent gives a new session (provider defaults come per provider),
    or ``None`` for anything else. Imported lazily: explaining a file needs no runtime."""
    import sys

    runner_module = sys.modules.get("realtalk.runner")
    agent_module = sys.modules.get("realtalk.agent")
    if runner_module is not None and isinstance(obj, runner_module.Runner):
        return [Layer("runner", obj.config), _agent_layer(obj.agent)]
    if agent_module is not None and isinstance(obj, agent_module.Agent):
        return [_agent_layer(obj)]
    return None


def _agent_layer(agent: Any) -> Layer:
    return Layer(f"agent:{agent.name}", agent.session_layer())


def _config_of(value: object, where: str) -> SessionConfig:
    if isinstance(value, SessionConfig):
        return value
    assert isinstance(value, Mapping)
    return _from_dict(value, where)


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return _layer_error([ConfigProblem(str(path), "<file>", f"cannot be parsed: {exc}")], str(path))


def _read_file(path: Path) -> object:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _unreadable(path, exc) from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _unreadable(path, exc) from None
    if suffix in (".yaml", ".yml"):
        import yaml  # a runtime dependency; imported here so that the CLI starts fast

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _unreadable(path, exc) from None
    problem = ConfigProblem(
        str(path),
        suffix or "<none>",
        "unknown config file type",
        "use a .toml, .json or .yaml file, or a Python module:attr",
    )
    raise _layer_error([problem], str(path))


def _import_attr(spec: str) -> object:
    """``module:attr`` or ``path/to/file.py:attr``, imported as the app itself would be: the
    file's folder (or the current folder, for a module name) first on the import path, so its
    sibling imports work. Any error while importing becomes a one-line :class:`ConfigError`
    naming the file and line, never a traceback."""
    import sys

    target, _, attr = spec.rpartition(":")
    if target.endswith(".py"):
        path = Path(target).resolve()
        if not path.is_file():
            raise _layer_error(
                [ConfigProblem(spec, target, "no such Python file", "check the path")], spec
            )
        _put_first_on_path(str(path.parent))
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise _layer_error([ConfigProblem(spec, target, "cannot be imported")], spec)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = (
            module  # as `python file.py` would see itself (dataclasses need it)
        )
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(path.stem, None)
            raise _import_failed(spec, target, exc) from None
    else:
        _put_first_on_path(str(Path.cwd()))
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise _import_failed(spec, target, exc) from None
    try:
        value: object = getattr(module, attr)
    except AttributeError:
        names = [n for n in vars(module) if not n.startswith("_")]
        from realtalk.arguments import did_you_mean

        raise _layer_error(
            [
                ConfigProblem(
                    spec,
                    attr,
                    f"{target} has no attribute {attr!r}",
                    did_you_mean(attr, names) + "name a Runner, an Agent or a SessionConfig in it",
                )
            ],
            spec,
        ) from None
    return value


def _put_first_on_path(folder: str) -> None:
    import sys

    if folder not in sys.path:
        sys.path.insert(0, folder)


def _import_failed(spec: str, target: str, exc: Exception) -> ConfigError:
    import traceback

    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    if user:
        where = f" at {Path(user[-1].filename).name}:{user[-1].lineno}"
    if isinstance(exc, ModuleNotFoundError):
        fix = (
            f"install {exc.name!r}, or run explain from the folder your app runs from"
            if exc.name
            else "check the module name"
        )
    else:
        fix = "fix the error in the module (explain imports it as your app would)"
    return _layer_error(
        [
            ConfigProblem(
                spec, target, f"importing it failed{where}: {type(exc).__name__}: {exc}", fix
            )
        ],
        spec,
    )


def _is_python_spec(spec: str) -> bool:
    target, sep, attr = spec.rpartition(":")
    # "C:\\dir\\x.toml" has a colon too; a Python spec ends in an identifier after it.
    return bool(sep and target and attr.isidentifier() and not Path(spec).exists())


def load_target(spec: str) -> tuple[list[Layer], Provider | None]:
    """Like :func:`load_layers`, plus the provider when ``spec`` names a Runner."""
    if _is_python_spec(spec):
        obj = _import_attr(spec)
        provider = getattr(obj, "provider", None) if _app_layers(obj) is not None else None
        attr = spec.rpartition(":")[2]
        return _layers_from(obj, attr, spec), provider if isinstance(provider, Provider) else None
    return load_layers(spec), None


def load_layers(spec: str, name: str | None = None) -> list[Layer]:
    """The layers ``spec`` (a file path or ``module:attr``) holds, lowest first.

    A single config becomes one layer called ``name`` (default: the file stem or the attribute
    name). Raises :class:`ConfigError` naming the source when it cannot be read or mapped.
    """
    if _is_python_spec(spec):
        attr = spec.rpartition(":")[2]
        return _layers_from(_import_attr(spec), name or attr, spec)
    path = Path(spec)
    if not path.is_file():
        raise _layer_error([ConfigProblem(spec, "<missing>", "no such config file")], spec)
    layers = _layers_from(_read_file(path), name or path.stem, spec)
    if name is not None and len(layers) > 1:
        return [Layer(f"{name}.{layer.name}", layer.config) for layer in layers]
    return layers


# --------------------------------------------------------------------------------------------
# Provenance


def field_provenance(layers: Sequence[Layer]) -> dict[str, str]:
    """Which layer set each field and, for parts, each sub-field (``turn_detection.eagerness``).

    A part of another type, or ``None``, replaces the whole part: its older sub-field entries go.
    """
    where: dict[str, str] = {}
    current = SessionConfig()
    for layer in layers:
        for name, value in layer.config.set_fields().items():
            before = getattr(current, name)
            replaces = not (hasattr(value, "set_fields") and type(before) is type(value))
            if replaces:
                for key in [k for k in where if k.startswith(name + ".")]:
                    del where[key]
            where[name] = layer.name
            if hasattr(value, "set_fields"):
                for sub in value.set_fields():
                    where[f"{name}.{sub}"] = layer.name
            elif name == "extra" and isinstance(value, Mapping):
                for key in value:
                    where[f"extra.{key}"] = layer.name
        current = overlay(current, layer.config)
    return where


# --------------------------------------------------------------------------------------------
# Providers and the report


def build_provider(
    name: str,
    *,
    model: str = "gpt-realtime",
    azure_endpoint: str = PLACEHOLDER_AZURE,
    azure_deployment: str | None = None,
    api_version: str = DEFAULT_PREVIEW_VERSION,
    url: str = PLACEHOLDER_GATEWAY,
) -> Provider:
    """A provider for explaining: placeholder endpoints, no credentials read or needed."""
    deployment = azure_deployment or model
    if name == "openai":
        return OpenAI(model=model)
    if name == "azure":
        return AzureOpenAI(azure_endpoint, deployment)
    if name == "azure-preview":
        return AzureOpenAI(azure_endpoint, deployment, api_version=api_version)
    if name in ("compatible-ga", "compatible-beta"):
        return Compatible(url, dialect="ga" if name == "compatible-ga" else "beta")
    raise ValueError(f"unknown provider {name!r}; use one of {', '.join(PROVIDER_NAMES)}")


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """What one provider would do with the effective config."""

    provider: Provider
    effective: Effective
    event: dict[str, Any] | None
    error: ConfigError | None
    advice: tuple[ConfigProblem, ...]


@dataclass(frozen=True, slots=True)
class Report:
    layers: tuple[Layer, ...]
    effective: Effective
    provenance: Mapping[str, str]
    reports: tuple[ProviderReport, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(report.error is None for report in self.reports)


@dataclass(frozen=True, slots=True)
class Explanation(Effective):
    """What :meth:`Runner.explain <realtalk.runner.Runner.explain>` returns: the effective
    config a new session asks for (``config``, ``source(field)``, as :class:`Effective`), and
    the full report. ``print()`` it for the table ``realtalk explain`` shows."""

    report: Report | None = None

    def __str__(self) -> str:
        return render_text(self.report) if self.report is not None else repr(self.config)

    def __repr__(self) -> str:
        return self.__str__()


def explain_app(layers: Sequence[Layer], provider: Provider) -> Explanation:
    """The :class:`Explanation` of ``layers`` (lowest first, without provider defaults) on
    ``provider``: what :meth:`Runner.explain` returns."""
    report = explain(layers, [provider])
    effective = report.reports[0].effective
    return Explanation(effective.config, effective.provenance, report)


def explain(layers: Sequence[Layer], providers: Sequence[Provider]) -> Report:
    """Merge ``layers`` (lowest first) and ask each provider for its ``session.update``."""
    effective = merge(*layers)
    reports = []
    for provider in providers:
        stack = [Layer("provider", provider.defaults()), *layers]
        mine = merge(*stack)
        try:
            event = provider.session_update(mine.config)
            error = None
        except ConfigError as exc:
            event, error = None, exc
        advice = tuple(provider.advice(mine.config))
        reports.append(ProviderReport(provider, mine, event, error, advice))
    return Report(tuple(layers), effective, field_provenance(layers), tuple(reports))


# --------------------------------------------------------------------------------------------
# Rendering


def _show(value: object, width: int = 64) -> str:
    if value is None:
        text = "None (null: off)"
    elif isinstance(value, AudioFormat):
        text = f"{value.encoding} @ {value.rate} Hz"
    elif isinstance(value, tuple) and value and all(isinstance(t, ToolSpec) for t in value):
        text = f"{len(value)} tool(s): " + ", ".join(t.name for t in value)
    elif hasattr(value, "set_fields"):
        text = type(value).__name__
    elif isinstance(value, tuple):
        text = repr(list(value))
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _field_rows(config: SessionConfig, provenance: Mapping[str, str]) -> list[tuple[str, str, str]]:
    rows = []
    for name, value in config.set_fields().items():
        rows.append((name, _show(value), provenance.get(name, "?")))
        subs: Mapping[str, Any] = {}
        if hasattr(value, "set_fields"):
            subs = value.set_fields()
        elif name == "extra" and isinstance(value, Mapping):
            subs = value
        for sub, sub_value in subs.items():
            rows.append((f"  .{sub}", _show(sub_value), provenance.get(f"{name}.{sub}", "?")))
    return rows


def _table(rows: Sequence[tuple[str, str, str]], header: tuple[str, str, str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(2)]
    return [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in [header, *rows]]


def _pretty_json(value: Any, indent: int = 0, width: int = 88) -> str:
    """JSON with small objects and lists kept on one line, so payloads read at a glance."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k)}: {_pretty_json(v, indent + 2, width)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_pretty_json(v, indent + 2, width)}" for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def render_text(explained: Report) -> str:
    """The human-readable report printed by ``realtalk explain``."""
    names = " < ".join(layer.name for layer in explained.layers) or "(none)"
    lines = [f"Layers, lowest first: provider defaults < {names}", ""]
    config = explained.effective.config
    rows = _field_rows(config, explained.provenance)
    if rows:
        lines.append("Effective session config:")
        lines += _table(rows, ("field", "value", "set by"))
    else:
        lines.append("Effective session config: empty (every field UNSET)")
    unset = [n for n in SessionConfig.field_names() if not is_set(getattr(config, n))]
    if unset:
        text = "Left to the server (UNSET, not sent): " + ", ".join(unset)
        lines += ["", *textwrap.wrap(text, 100, subsequent_indent="  ")]
    for report in explained.reports:
        provider = report.provider
        shape = provider.dialect.name
        lines += ["", f"== {provider.name}: {provider.rules.name} rules, {shape} wire shape =="]
        lines.append(f"connect: {provider.display_url}")
        headers = provider.redacted_headers()
        if headers:
            lines.append("headers: " + ", ".join(f"{k}: {v}" for k, v in headers.items()))
        defaults = report.effective.config.set_fields().keys() - config.set_fields().keys()
        if defaults:
            lines.append("provider defaults: " + ", ".join(sorted(defaults)))
        if report.error is not None:
            lines.append(f"ConfigError: {report.error}")
        else:
            lines.append("session.update sent on connect (later updates send only the diff):")
            lines.append(_pretty_json(report.event))
        for note in report.advice:
            lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def _problem_json(problem: ConfigProblem) -> dict[str, Any]:
    return {
        "path": problem.path,
        "value": repr(problem.value),
        "rule": problem.rule,
        "fix": problem.fix,
    }


def render_json(explained: Report) -> dict[str, Any]:
    """The same report as a JSON-ready dict (``realtalk explain --json``)."""
    config = explained.effective.config
    return {
        "layers": [layer.name for layer in explained.layers],
        "fields": [
            {"field": f.strip(), "value": v, "layer": s}
            for f, v, s in _field_rows(config, explained.provenance)
        ],
        "unset": [n for n in SessionConfig.field_names() if getattr(config, n) is UNSET],
        "providers": [
            {
                "name": r.provider.name,
                "target": r.provider.rules.name,
                "dialect": r.provider.dialect.name,
                "url": r.provider.display_url,
                "headers": r.provider.redacted_headers(),
                "session_update": r.event,
                "problems": [_problem_json(p) for p in (r.error.problems if r.error else ())],
                "advice": [_problem_json(p) for p in r.advice],
            }
            for r in explained.reports
        ],
        "ok": explained.ok,
    }


__dir__ = public_dir(__all__)
