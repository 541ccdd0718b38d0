"""Images for the user's messages: what ``Session.send_image`` takes, checked at the call.

The Realtime services take an image as an ``input_image`` content part whose ``image_url`` is a
``data:image/png;base64,...`` or ``data:image/jpeg;base64,...`` URL (protocol.md 6.6: PNG or
JPEG). Bytes are sniffed (their signature decides, a given ``mime_type`` must agree); a file path
is read and sniffed; a ``data:`` URL is checked; an ``http(s)`` URL is passed on as is (the
service documents data URLs only, so a remote URL is the server's to accept or refuse).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Literal

from realtalk.errors import ConfigError, ConfigProblem
from realtalk.items import InputImage

__all__ = ["MIME_TYPES", "image_part"]

MIME_TYPES = ("image/png", "image/jpeg")
"""The image types an ``input_image`` takes (protocol.md 6.6)."""

_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_WHERE = "send_image(image)"


def _problem(rule: str, fix: str, value: object = None) -> ConfigError:
    shown = value if value is not None else type(value).__name__
    return ConfigError([ConfigProblem(_WHERE, shown, rule, fix)], target="an image")


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES.items():
        if data.startswith(signature):
            return mime
    return None


def _from_bytes(data: bytes, mime_type: str | None, source: str) -> str:
    if not data:
        raise _problem(f"{source} is empty", "pass the bytes of a PNG or JPEG image", b"")
    found = _sniff(data)
    if found is None:
        raise _problem(
            f"{source} is not a PNG or JPEG image (no PNG/JPEG signature)",
            "convert it to PNG or JPEG first (e.g. with Pillow: image.save(buf, 'PNG'))",
            data[:8],
        )
    if mime_type is not None and mime_type != found:
        raise _problem(
            f"mime_type={mime_type!r} but the bytes are {found}",
            f"pass mime_type={found!r} or leave it out (the bytes say which)",
            mime_type,
        )
    return f"data:{found};base64,{base64.b64encode(data).decode('ascii')}"


def _from_data_url(url: str) -> str:
    head, sep, payload = url.partition(",")
    mime = head.removeprefix("data:").removesuffix(";base64")
    if not sep or not head.endswith(";base64") or mime not in MIME_TYPES:
        raise _problem(
            "a data URL must be data:image/png;base64,... or data:image/jpeg;base64,...",
            "pass the image's bytes instead and realtalk builds the URL",
            url[:40],
        )
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _problem(
            "the data URL's payload is not valid base64", "pass the image's bytes instead"
        ) from None
    return url


def image_part(
    image: object,
    *,
    mime_type: str | None = None,
    detail: Literal["auto", "low", "high"] | None = None,
) -> InputImage:
    """The ``input_image`` part for ``image``: PNG/JPEG bytes, a file path (``str`` or
    ``Path``), a ``data:`` URL or an ``http(s)`` URL. Raises ``ConfigError`` / ``TypeError``
    with the fix."""
    if mime_type is not None and mime_type not in MIME_TYPES:
        raise _problem(
            f"mime_type must be one of {', '.join(MIME_TYPES)}",
            "convert the image to PNG or JPEG",
            mime_type,
        )
    if detail is not None and detail not in ("auto", "low", "high"):
        raise _problem("detail must be 'auto', 'low' or 'high'", "e.g. detail='low'", detail)
    if isinstance(image, bytes | bytearray | memoryview):
        return InputImage(_from_bytes(bytes(image), mime_type, "the image"), detail)
    if isinstance(image, str) and image.startswith("data:"):
        return InputImage(_from_data_url(image), detail)
    if isinstance(image, str) and image.startswith(("https://", "http://")):
        return InputImage(image, detail)
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise _problem(
                f"no image file at {str(path)!r}",
                "pass an existing PNG/JPEG file, its bytes, or a data:/https: URL",
                str(image),
            )
        return InputImage(_from_bytes(path.read_bytes(), mime_type, str(path)), detail)
    raise TypeError(
        "send_image(image) takes PNG/JPEG bytes, a file path, or a data:/https: URL, "
        f"not {type(image).__name__}"
    )
