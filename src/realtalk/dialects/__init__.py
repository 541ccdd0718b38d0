"""Wire dialects: how the neutral model is written on, and read from, each wire shape.

A dialect is data plus pure functions (no I/O): a table from realtalk's session field names to
wire paths, encoders for the session object and every client command, and a decoder for every
server event. Two shapes exist in the wild:

* ``GA`` -- OpenAI GA and Azure GA (``session.type``, ``output_modalities``, ``audio.input`` /
  ``audio.output`` nesting, ``response.output_audio.*`` events);
* ``BETA`` -- the retired OpenAI beta and Azure preview (flat fields, ``modalities``,
  ``response.audio.*`` events).

Which fields and values a provider accepts is not a dialect matter: see
:mod:`realtalk.dialects.rules` (the tables) and :mod:`realtalk.dialects.checks` (the checks).
Wire strings live only in this package.
"""

from __future__ import annotations

from realtalk.dialects.beta import BETA
from realtalk.dialects.dialect import Dialect, DialectName
from realtalk.dialects.ga import GA

__all__ = ["BETA", "GA", "Dialect", "DialectName", "get_dialect"]


def get_dialect(name: DialectName) -> Dialect:
    """The dialect called ``name`` (``"ga"`` or ``"beta"``)."""
    if name == "ga":
        return GA
    if name == "beta":
        return BETA
    raise ValueError(f"unknown dialect {name!r}; use 'ga' or 'beta'")
