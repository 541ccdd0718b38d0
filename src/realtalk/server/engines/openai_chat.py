"""A brain backed by any OpenAI-compatible Chat Completions endpoint, streamed.

This turns a local LLM server (llama.cpp, vLLM, Ollama, LM Studio...) into the mind of a
Realtime endpoint: the conversation's items become chat messages, function tools become chat
tools, streamed text becomes text deltas and streamed tool calls become Realtime function calls.

HTTP goes through the standard library (``urllib`` in a worker thread) rather than a new
dependency: one streaming POST per response is all it needs, and urllib brings proxies, TLS
and chunked decoding for free.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Any

from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    Item,
    MessageItem,
)
from realtalk.server.engines.base import Action, Brain, BrainRequest, CallTool, EngineError, Say

__all__ = ["OpenAIChatBrain", "chat_messages", "chat_tools"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def chat_messages(instructions: str, items: tuple[Item, ...]) -> list[dict[str, Any]]:
    """Realtime conversation items as Chat Completions messages."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        if isinstance(item, MessageItem):
            images = [p for p in item.content if isinstance(p, InputImage)]
            content: Any = item.text
            if images and item.role == "user":
                content = [{"type": "text", "text": item.text}] if item.text else []
                content += [
                    {"type": "image_url", "image_url": {"url": p.image_url}} for p in images
                ]
            messages.append({"role": item.role, "content": content})
        elif isinstance(item, FunctionCallItem):
            call = {
                "id": item.call_id or item.id or "call",
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            # Parallel calls of one response share one assistant message in chat format.
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutputItem):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return messages


def chat_tools(request: BrainRequest) -> dict[str, Any]:
    """The ``tools`` and ``tool_choice`` fields of the chat request (none when no tools)."""
    if not request.tools:
        return {}
    tools = [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": dict(t.parameters),
            },
        }
        for t in request.tools
    ]
    choice: Any = request.tool_choice
    if choice not in {"auto", "none", "required"}:
        choice = {"type": "function", "function": {"name": choice}}
    return {"tools": tools, "tool_choice": choice}


class _StreamParser:
    """Server-sent events of ``chat.completion.chunk`` objects to actions."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}
        self.done = False

    def line(self, raw: bytes) -> list[Action]:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text.startswith("data:"):
            return []  # comments, event names, keep-alives, blank separators
        data = text[5:].strip()
        if data == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise EngineError(f"the chat endpoint sent a malformed stream chunk: {exc}") from exc
        return self.chunk(chunk)

    def chunk(self, chunk: Any) -> list[Action]:
        if not isinstance(chunk, Mapping):
            return []
        if "error" in chunk:
            raise EngineError(f"the chat endpoint failed: {_error_message(chunk)}")
        actions: list[Action] = []
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                actions.append(Say(content))
            for call in delta.get("tool_calls") or []:
                slot = self._calls.setdefault(
                    int(call.get("index", len(self._calls))),
                    {"id": "", "name": "", "arguments": ""},
                )
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
        return actions

    def finish(self) -> list[Action]:
        calls = [self._calls[i] for i in sorted(self._calls)]
        self._calls.clear()
        return [CallTool(c["name"], c["arguments"] or "{}", c["id"] or None) for c in calls]


def _error_message(body: Any) -> str:
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("code") or "unknown error")[:300]
    return str(error or body)[:300]


class OpenAIChatBrain(Brain):
    """Streams ``POST {base_url}/chat/completions`` and maps the reply to actions.

    ``api_key`` is sent as a bearer token and never appears in reprs or error messages.
    ``extra_body`` is merged into every request (e.g. ``{"top_p": 0.9}``).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self.timeout = timeout
        self.extra_body = dict(extra_body or {})
        handlers: list[urllib.request.BaseHandler] = []
        if parsed.hostname in _LOOPBACK:
            handlers.append(urllib.request.ProxyHandler({}))  # never send loopback via a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def body(self, request: BrainRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(request.instructions, request.items),
            "stream": True,
            **chat_tools(request),
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if isinstance(request.max_output_tokens, int):
            body["max_tokens"] = request.max_output_tokens
        body.update(self.extra_body)
        return body

    def _http_request(self, body: Mapping[str, Any]) -> urllib.request.Request:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return urllib.request.Request(
            self.url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
        )

    async def respond(self, request: BrainRequest) -> AsyncIterator[Action]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        http_request = self._http_request(self.body(request))

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                with self._opener.open(http_request, timeout=self.timeout) as resp:
                    if "text/event-stream" not in resp.headers.get("Content-Type", ""):
                        put("json", resp.read())
                        return
                    for raw in resp:
                        if stop.is_set():
                            return
                        put("line", raw)
            except urllib.error.HTTPError as exc:
                put(
                    "error",
                    EngineError(f"the chat endpoint answered HTTP {exc.code}: {_http_error(exc)}"),
                )
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                put("error", EngineError(f"cannot reach the chat endpoint {self.url}: {reason}"))
            finally:
                put("end", None)

        # A daemon thread, not the loop's executor: a stalled read must not hold up shutdown.
        threading.Thread(target=work, name="realtalk-openai-chat", daemon=True).start()
        parser = _StreamParser()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise value
                if kind == "json":
                    for action in self._from_body(parser, value):
                        yield action
                    continue
                for action in parser.line(value):
                    yield action
            for action in parser.finish():
                yield action
        finally:
            stop.set()

    @staticmethod
    def _from_body(parser: _StreamParser, raw: bytes) -> list[Action]:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise EngineError(f"the chat endpoint answered with malformed JSON: {exc}") from exc
        return parser.chunk(body)

    def __repr__(self) -> str:
        key = ", api_key=<set>" if self._api_key else ""
        return f"OpenAIChatBrain(url={self.url!r}, model={self.model!r}{key})"


def _http_error(exc: urllib.error.HTTPError) -> str:
    with contextlib.suppress(OSError, ValueError):
        return _error_message(json.loads(exc.read() or b"{}"))
    return str(exc.reason)[:300]
