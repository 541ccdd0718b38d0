"""The openai-chat brain against a real Chat-Completions-compatible HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtalk.config import ToolSpec
from realtalk.items import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputText,
    MessageItem,
    OutputText,
)
from realtalk.server.engines import (
    Action,
    BrainRequest,
    CallTool,
    EngineError,
    OpenAIChatBrain,
    Say,
)


@dataclass
class Reply:
    status: int = 200
    content_type: str = "text/event-stream"
    parts: list[bytes] = field(default_factory=list)


def sse(*chunks: dict[str, Any], done: bool = True) -> list[bytes]:
    parts = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks]
    return [b": keep-alive\n\n", *parts, *([b"data: [DONE]\n\n"] if done else [])]


def delta(**d: Any) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": d, "finish_reason": None}],
    }


class ChatServer:
    """A tiny OpenAI-compatible server: replies are queued by the test, requests recorded."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # so streamed bodies use chunked transfer encoding

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                assert self.path == "/v1/chat/completions", self.path
                reply = outer.replies.pop(0)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for part in reply.parts:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


WEATHER = ToolSpec(
    "get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}
)


async def run(brain: OpenAIChatBrain, request: BrainRequest) -> list[Action]:
    return [a async for a in brain.respond(request)]


async def test_streamed_text_becomes_say_deltas(server: ChatServer) -> None:
    server.replies.append(
        Reply(parts=sse(delta(role="assistant"), delta(content="Hel"), delta(content="lo!")))
    )
    brain = OpenAIChatBrain(server.url, "local-model")
    actions = await run(
        brain, BrainRequest((MessageItem("user", (InputText("hi"),)),), instructions="Be brief.")
    )
    assert actions == [Say("Hel"), Say("lo!")]
    headers, body = server.requests[0]
    assert body["model"] == "local-model"
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert "tools" not in body  # some local servers reject an empty tools list
    assert "authorization" not in headers


async def test_streamed_tool_call_fragments_become_one_function_call(server: ChatServer) -> None:
    call = {
        "index": 0,
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    server.replies.append(
        Reply(
            parts=sse(
                delta(tool_calls=[call]),
                delta(tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}]),
                delta(tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}]),
            )
        )
    )
    brain = OpenAIChatBrain(server.url, "m", api_key="sk-secret-123")
    request = BrainRequest(
        (MessageItem("user", (InputText("weather in Paris?"),)),),
        tools=(WEATHER,),
        tool_choice="get_weather",
    )
    assert await run(brain, request) == [CallTool("get_weather", '{"city": "Paris"}', "call_9")]
    headers, body = server.requests[0]
    assert headers["authorization"] == "Bearer sk-secret-123"
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": dict(WEATHER.parameters),
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert "sk-secret" not in repr(brain)


async def test_history_with_tool_calls_maps_to_chat_messages(server: ChatServer) -> None:
    server.replies.append(Reply(parts=sse(delta(content="It is sunny."))))
    items = (
        MessageItem("user", (InputText("weather in Paris and Rome?"),)),
        FunctionCallItem("get_weather", '{"city":"Paris"}', call_id="c1"),
        FunctionCallItem("get_weather", '{"city":"Rome"}', call_id="c2"),
        FunctionCallOutputItem("c1", '{"sky":"sunny"}'),
        FunctionCallOutputItem("c2", '{"sky":"rain"}'),
        MessageItem("assistant", (OutputText("Paris is sunny."),)),
    )
    await run(
        OpenAIChatBrain(server.url, "m"),
        BrainRequest(items, tools=(WEATHER,), temperature=0.6, max_output_tokens=50),
    )
    _, body = server.requests[0]
    assert body["messages"] == [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"sky":"sunny"}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"sky":"rain"}'},
        {"role": "assistant", "content": "Paris is sunny."},
    ]
    assert (body["temperature"], body["max_tokens"], body["tool_choice"]) == (0.6, 50, "auto")


async def test_a_non_streaming_json_answer_is_accepted(server: ChatServer) -> None:
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Plain answer."}}]}
    server.replies.append(Reply(content_type="application/json", parts=[json.dumps(body).encode()]))
    assert await run(OpenAIChatBrain(server.url, "m"), BrainRequest(())) == [Say("Plain answer.")]


async def test_http_errors_become_engine_errors_with_the_servers_message(
    server: ChatServer,
) -> None:
    error = {"error": {"message": "model 'm' not found", "type": "invalid_request_error"}}
    server.replies.append(
        Reply(status=404, content_type="application/json", parts=[json.dumps(error).encode()])
    )
    with pytest.raises(EngineError, match=r"HTTP 404: model 'm' not found"):
        await run(OpenAIChatBrain(server.url, "m", api_key="sk-secret-123"), BrainRequest(()))


async def test_an_error_in_the_stream_is_an_engine_error(server: ChatServer) -> None:
    server.replies.append(
        Reply(parts=sse(delta(content="Hi"), {"error": {"message": "overloaded"}}, done=False))
    )
    brain = OpenAIChatBrain(server.url, "m")
    got: list[Action] = []

    async def consume() -> None:
        async for action in brain.respond(BrainRequest(())):
            got.append(action)

    with pytest.raises(EngineError, match="overloaded"):
        await consume()
    assert got == [Say("Hi")]


async def test_unreachable_endpoint_is_an_engine_error() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError, match="cannot reach the chat endpoint"):
        await run(OpenAIChatBrain(f"http://127.0.0.1:{port}/v1", "m", timeout=5), BrainRequest(()))


async def test_stopping_early_closes_the_stream(server: ChatServer) -> None:
    server.replies.append(Reply(parts=sse(*(delta(content=f"w{i} ") for i in range(50)))))
    gen = OpenAIChatBrain(server.url, "m").respond(BrainRequest(()))
    first = await gen.__anext__()
    await gen.aclose()  # a barge-in cancels the response mid-stream
    assert first == Say("w0 ")


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        OpenAIChatBrain("ftp://example.com", "m")
