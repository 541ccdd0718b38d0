"""realtalk's benchmarks: the cost of every event, of importing, of each concurrent session, and
of a spoken turn, side by side with the floor (a bare client loop) and the peers.

Run them all with ``python -m benchmarks`` (``--quick`` for CI). Each module has a
``run(quick: bool) -> list[Table]``; tables print medians, spread and ratios from one run.
Timings are reported, never asserted. See docs/performance.md.
"""
