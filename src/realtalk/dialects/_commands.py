"""Client command encoding, parametrised by the dialect's tables (protocol.md 6.1, 6.3, 6.7)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from realtalk.commands import (
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    ClientCommand,
    CommitAudio,
    CreateItem,
    CreateResponse,
    DeleteItem,
    ResponseOptions,
    RetrieveItem,
    TruncateItem,
    UpdateSession,
)
from realtalk.config import is_set
from realtalk.dialects._common import b64encode, jsonable, set_path
from realtalk.dialects._items import Spelling, encode_item

CommandEncoder = Callable[[ClientCommand, str | None], dict[str, Any]]


def encode_response_options(
    options: ResponseOptions,
    paths: Mapping[str, str],
    encoders: Mapping[str, Callable[[Any], Any]],
    spelling: Spelling,
) -> dict[str, Any]:
    """``response.create``'s ``response`` object: only the options that are set."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if not is_set(value):
            continue
        if f.name == "input" and isinstance(value, list | tuple):
            wire: Any = [encode_item(item, spelling) for item in value]
        else:
            try:
                wire = encoders.get(f.name, jsonable)(value)
            except (TypeError, ValueError, AttributeError):
                wire = jsonable(value)
        set_path(out, paths.get(f.name, f.name), wire)
    return out


def make_command_encoder(
    *,
    spelling: Spelling,
    encode_update: Callable[[UpdateSession], tuple[str, dict[str, Any]]],
    response_paths: Mapping[str, str],
    response_encoders: Mapping[str, Callable[[Any], Any]],
) -> CommandEncoder:
    """The ``encode_command`` of a dialect."""

    def encode_command(command: ClientCommand, event_id: str | None = None) -> dict[str, Any]:
        event: dict[str, Any]
        match command:
            case UpdateSession():
                kind, session = encode_update(command)
                event = {"type": kind, "session": session}
            case AppendAudio(audio=audio):
                event = {"type": "input_audio_buffer.append", "audio": b64encode(bytes(audio))}
            case CommitAudio():
                event = {"type": "input_audio_buffer.commit"}
            case ClearAudio():
                event = {"type": "input_audio_buffer.clear"}
            case ClearOutputAudio():
                event = {"type": "output_audio_buffer.clear"}
            case CreateItem(item=item, previous_item_id=previous):
                event = {"type": "conversation.item.create"}
                if previous is not None:
                    event["previous_item_id"] = previous
                event["item"] = encode_item(item, spelling)
            case DeleteItem(item_id=item_id):
                event = {"type": "conversation.item.delete", "item_id": item_id}
            case RetrieveItem(item_id=item_id):
                event = {"type": "conversation.item.retrieve", "item_id": item_id}
            case TruncateItem(item_id=item_id, audio_end_ms=end, content_index=index):
                event = {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": index,
                    "audio_end_ms": int(end),
                }
            case CreateResponse(options=options):
                event = {"type": "response.create"}
                if options is not None:
                    event["response"] = encode_response_options(
                        options, response_paths, response_encoders, spelling
                    )
            case CancelResponse(response_id=response_id):
                event = {"type": "response.cancel"}
                if response_id is not None:
                    event["response_id"] = response_id
            case _:
                raise TypeError(f"not a realtalk client command: {command!r}")
        if event_id is not None:
            event = {"type": event["type"], "event_id": event_id, **event}
        return event

    return encode_command
