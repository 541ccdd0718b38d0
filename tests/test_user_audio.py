"""UserAudio (reconnect.py) holds the turn under way as the chunks sent and joins them only when
a commit or a restore asks: what it gives back must be, byte for byte, what one flat buffer
would give. The model below is that flat buffer (the rules of the docstring, written the
plain way); random runs of appends (small, large, odd, across the lead and the bound), VAD
marks, commits, clears, new connections and format changes must agree with it at every step:
the turn a restore would replay, its length, what was dropped of it, and the items kept."""

from __future__ import annotations

import random
from collections import OrderedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from realtalk.reconnect import UserAudio


class FlatBuffer:
    """The turn under way as one buffer. Two clamps the old bytearray code lacked: a VAD end
    mark past what is held cuts at what is held (the old code moved its timeline on by the
    mark), and an end mark before what is held gives nothing (the old slice took a negative
    end as counted from the back)."""

    def __init__(self, per_ms: float, budget: int, lead_ms: float, max_pending: int) -> None:
        self.per_ms, self.sample, self.budget, self.lead_ms = per_ms, 2, budget, lead_ms
        self.lead = int(lead_ms * per_ms)
        self.max_pending = max_pending - max_pending % 2
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self.vad_on = False
        self.new_connection()

    def new_connection(self) -> None:
        self.buf = b""
        self.at = 0  # timeline offset of buf[0]
        self.vad = self.vad_on
        self.start: int | None = None
        self.end: int | None = None
        self.dropped = 0

    def set_rate(self, per_ms: float, sample: int) -> None:
        self.per_ms, self.sample = per_ms, sample
        self.lead = int(self.lead_ms * per_ms)

    def vad_configured(self, on: bool) -> None:
        self.vad_on = on
        self.vad = on or (self.vad and (self.start is not None or self.end is not None))

    def offset(self, ms: float) -> int:
        at = int(ms * self.per_ms)
        return at - at % self.sample

    def cut(self, count: int) -> None:
        self.buf = self.buf[count:]
        self.at += count

    def appended(self, audio: bytes) -> None:
        self.buf += audio
        if self.vad and self.start is None and len(self.buf) > self.lead:
            drop = len(self.buf) - self.lead
            self.cut(drop - drop % 2)
        elif len(self.buf) > self.max_pending:
            drop = len(self.buf) - self.max_pending
            drop -= drop % 2
            self.cut(drop)
            self.dropped += drop

    def speech_started(self, ms: float) -> None:
        self.vad, self.start, self.end = True, self.offset(ms), None

    def speech_stopped(self, ms: float) -> None:
        self.vad, self.end = True, self.offset(ms)

    def cleared(self) -> None:
        self.cut(len(self.buf))
        self.start = self.end = None
        self.dropped = 0

    def committed(self, item_id: str) -> None:
        if self.start is not None and self.end is not None:
            begin = max(0, self.start - self.at)
            end = min(len(self.buf), max(begin, self.end - self.at))
            audio = self.buf[begin:end]
            self.cut(end)
        else:
            audio = self.buf
            self.cleared()
        self.start = self.end = None
        self.dropped = 0
        if audio:
            self.items[item_id] = audio
            while sum(map(len, self.items.values())) > self.budget and self.items:
                self.items.popitem(last=False)

    def pending_turn(self) -> bytes:
        if self.vad and self.start is not None:
            begin = max(0, self.start - self.at)
            end = len(self.buf) if self.end is None else self.end - self.at
            return self.buf[begin : max(begin, end)]
        return self.buf


def sizes() -> st.SearchStrategy[int]:
    # 20 ms frames, odd bytes (G.711), and chunks past the 64 KiB at which a mostly dropped
    # chunk is copied down.
    return st.one_of(
        st.sampled_from([960, 640, 320]),
        st.integers(0, 3001),
        st.integers(60_000, 200_000),
    )


step = st.one_of(
    st.tuples(st.just("append"), sizes()),
    st.tuples(st.just("started"), st.floats(-50, 9000)),
    st.tuples(st.just("stopped"), st.floats(-50, 9000)),
    st.tuples(st.sampled_from(["committed", "cleared", "new_connection", "pending"]), st.none()),
    st.tuples(st.just("vad"), st.booleans()),
    st.tuples(st.just("rate"), st.sampled_from([(48.0, 2), (8.0, 1), (32.0, 2)])),
)


@settings(max_examples=400, deadline=None)
@given(
    lead_ms=st.sampled_from([10.0, 40.0, 2000.0, 5000.0]),
    max_pending=st.sampled_from([2000, 9001, 150_000, 400_000]),
    budget=st.sampled_from([0, 5000, 10**6]),
    steps=st.lists(step, max_size=60),
    seed=st.integers(0, 2**32),
)
def test_chunks_give_back_what_one_buffer_would(
    lead_ms: float, max_pending: int, budget: int, steps: list[tuple[str, object]], seed: int
) -> None:
    rng = random.Random(seed)
    log = UserAudio(48.0, budget, lead_ms=lead_ms, max_pending=max_pending)
    flat = FlatBuffer(48.0, budget, lead_ms, max_pending)
    for number, (op, arg) in enumerate(steps):
        if op == "append":
            assert isinstance(arg, int)
            audio = rng.randbytes(arg)  # every byte told apart: an offset off by one shows
            sent = bytearray(audio) if number % 3 == 0 else audio
            log.appended(sent)  # type: ignore[arg-type]
            if isinstance(sent, bytearray):
                sent[:] = b"\0" * len(sent)  # the caller reuses its buffer: nothing changes
            flat.appended(audio)
        elif op == "started":
            log.speech_started(arg)  # type: ignore[arg-type]
            flat.speech_started(arg)  # type: ignore[arg-type]
        elif op == "stopped":
            log.speech_stopped(arg)  # type: ignore[arg-type]
            flat.speech_stopped(arg)  # type: ignore[arg-type]
        elif op == "committed":
            log.committed(f"item_{number}")
            flat.committed(f"item_{number}")
        elif op == "cleared":
            log.cleared()
            flat.cleared()
        elif op == "new_connection":
            log.new_connection()
            flat.new_connection()
        elif op == "vad":
            log.vad_configured(bool(arg))
            flat.vad_configured(bool(arg))
        elif op == "rate":
            per_ms, width = arg  # type: ignore[misc]
            log.set_rate(per_ms, width)
            flat.set_rate(per_ms, width)
        if op == "pending" or number % 4 == 0:
            assert log.pending_turn() == flat.pending_turn()  # (and joins the chunks)
        assert log.pending_bytes == len(flat.buf)
        assert log.pending_dropped == flat.dropped
        assert log.items() == flat.items
        assert log.kept_bytes == sum(map(len, flat.items.values()))
    assert log.pending_turn() == flat.pending_turn()


def test_holding_at_the_bound_does_not_keep_more_than_the_bound_and_a_chunk() -> None:
    # One big append, then 20 ms frames: the big chunk is copied down once mostly dropped.
    log = UserAudio(48.0, 0, max_pending=1_000_000)
    log.appended(b"x" * 900_000)
    for _ in range(2_000):
        log.appended(b"y" * 960)
        assert log.pending_bytes <= 1_000_000
        assert sum(map(len, log._chunks)) <= 1_000_000 + 900_000 // 2 + 960
    assert log.pending_turn() == b"y" * 1_000_000
    assert log.pending_dropped == 900_000 + 2_000 * 960 - 1_000_000
