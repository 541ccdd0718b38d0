"""Where a response run is: one enum and the table of the moves it may make.

Everything that changes a :class:`~realtalk.server.core.responses.ResponseRun`'s phase goes
through :func:`advance`, which raises :class:`~realtalk.errors.InvalidState` on a move the table
does not list (a bug in the server, never the client's doing: client mistakes are ``error``
events before any move is tried).

::

    WAITING ──> GENERATING <──> SYNTHESISING ──> SPEAKING ──> GENERATING
       │            │                 │              │
       └────────────┴─────────────────┴──────────────┴──> RELEASING ──> DONE

* ``WAITING``: ``response.created`` is out; transcriptions of the turn are still running, so the
  brain is not asked yet (it would not see the user's words).
* ``GENERATING``: the brain is asked (or has answered); no sentence is at the synthesizer.
* ``SYNTHESISING``: one sentence is at the synthesizer, its transcript delta not yet queued.
* ``SPEAKING``: that sentence's transcript delta is queued, its audio streaming out.
* ``RELEASING``: ``response.done`` is queued; paced events are still going out (a cancel here
  turns the outcome into ``cancelled``, a self-move).
* ``DONE``: everything is released; the session forgets the run.
"""

from __future__ import annotations

import enum

from realtalk.errors import InvalidState

__all__ = ["TRANSITIONS", "Phase", "advance"]


class Phase(enum.Enum):
    WAITING = "waiting"
    GENERATING = "generating"
    SYNTHESISING = "synthesising"
    SPEAKING = "speaking"
    RELEASING = "releasing"
    DONE = "done"


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.WAITING: frozenset({Phase.GENERATING, Phase.RELEASING}),
    Phase.GENERATING: frozenset({Phase.SYNTHESISING, Phase.RELEASING}),
    Phase.SYNTHESISING: frozenset({Phase.SPEAKING, Phase.RELEASING}),
    Phase.SPEAKING: frozenset({Phase.GENERATING, Phase.RELEASING}),
    Phase.RELEASING: frozenset({Phase.RELEASING, Phase.DONE}),
    Phase.DONE: frozenset(),
}


def advance(current: Phase, to: Phase) -> Phase:
    """``to``, if the table allows ``current -> to``; else :class:`InvalidState`."""
    if to not in TRANSITIONS[current]:
        raise InvalidState(f"a response cannot go from {current.name} to {to.name}")
    return to
