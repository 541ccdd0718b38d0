"""session.send_image over a real socket: the input_image item on the wire (checked by the SDK's
types), the local server taking it as the service does, the echo brain saying it saw an image;
bad images refused at the call with the fix, before anything is sent."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import pytest

import realtalk as rt
from realtalk import events as ev
from realtalk import items, testing
from tests.oracle import validate_client_event


def _png() -> bytes:
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND with their CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("flavor", ["openai", "azure"])
async def test_an_image_reaches_the_server_and_the_brain(flavor: str, tmp_path: Path) -> None:
    png = _png()
    path = tmp_path / "dot.png"
    path.write_bytes(png)
    runner = rt.Runner(
        rt.Agent("eyes"),
        provider=testing.local(flavor=flavor),  # type: ignore[arg-type]
        options=rt.SessionOptions(raw_tap=True),
    )
    async with runner.connect() as session:
        await session.send_image(png, text="What is this?", respond=True, detail="low")
        events = await testing.collect(session, ev.SessionIdle, timeout=10)
        spoken = [e.transcript for e in events if isinstance(e, ev.AudioTranscriptDone)]
        assert spoken == ["I see an image. What is this?"]
        sent = [
            json.loads(e.text)
            for e in events
            if isinstance(e, ev.RawMessage) and e.direction == "out"
        ]
        create = next(m for m in sent if m["type"] == "conversation.item.create")
        validate_client_event("ga", create)
        text, image = create["item"]["content"]
        assert text == {"type": "input_text", "text": "What is this?"}
        assert image["type"] == "input_image"
        assert image["detail"] == "low"
        assert image["image_url"] == "data:image/png;base64," + base64.b64encode(png).decode()
        # The server keeps it in the conversation as sent.
        user = [i for i in session.history if isinstance(i, items.MessageItem) and i.role == "user"]
        assert isinstance(user[-1].content[-1], items.InputImage)
        # A file path works the same way (read and sniffed at the call).
        await session.send_image(path, respond=True)
        events = await testing.collect(session, ev.SessionIdle, timeout=10)
        spoken = [e.transcript for e in events if isinstance(e, ev.AudioTranscriptDone)]
        assert spoken == ["I see an image."]


async def test_bad_images_fail_at_the_call_and_send_nothing(tmp_path: Path) -> None:
    runner = rt.Runner(
        rt.Agent("eyes"), provider=testing.local(), options=rt.SessionOptions(raw_tap=True)
    )
    async with runner.connect() as session:
        cases: list[tuple[object, dict[str, object], type[Exception], str]] = [
            (b"GIF89a....", {}, rt.ConfigError, "convert it to PNG or JPEG"),
            (b"", {}, rt.ConfigError, "is empty"),
            (_png(), {"mime_type": "image/jpeg"}, rt.ConfigError, "mime_type='image/png'"),
            (_png(), {"mime_type": "image/gif"}, rt.ConfigError, "convert the image"),
            (_png(), {"detail": "max"}, rt.ConfigError, "detail='low'"),
            (str(tmp_path / "missing.png"), {}, rt.ConfigError, "no image file"),
            ("data:image/png,notbase64", {}, rt.ConfigError, "data:image/png;base64"),
            (12345, {}, TypeError, "PNG/JPEG bytes, a file path"),
        ]
        for image, kwargs, error, fix in cases:
            with pytest.raises(error, match=fix.replace("(", r"\(").replace(")", r"\)")):
                await session.send_image(image, **kwargs)  # type: ignore[arg-type]
        await session.send_text("still here")
        events = await testing.collect(session, ev.SessionIdle, timeout=10)
        sent = [e for e in events if isinstance(e, ev.RawMessage) and e.direction == "out"]
        assert all("input_image" not in e.text for e in sent)
