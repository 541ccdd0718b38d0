"""``python -m benchmarks [--quick] [--only NAME ...] [--update-doc docs/performance.md]``.

Runs every benchmark and prints its tables, then every goal the benchmarks are held to with its
figure and met / missed (``benchmarks/_targets.py``). ``--quick`` uses tiny sizes so CI can check
that the benchmarks still run; no timing is ever asserted. ``--update-doc`` writes the tables and
the machine description between the markers in the given Markdown file.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
import traceback
from pathlib import Path

from benchmarks import _targets
from benchmarks._machine import describe_machine, load_average
from benchmarks._stats import Table, median, paired_ratio
from benchmarks._targets import Target

# Figures in CPU time or wall-clock lag move 10-15 % run to run on a small VM: --repeat runs
# these again; the others count instructions, bytes or pinned engine stages and run once.
NOISY = ("inbound", "userloop", "outbound", "concurrency")
BENCHMARKS = ("inbound", "outbound", "imports", "concurrency", "turn_latency", "server")
# The plain user-loop harness runs inside inbound's rounds (paired with its runs); on its own
# only when asked for by name.
ON_ITS_OWN = ("userloop",)

BEGIN = "<!-- benchmarks:begin -->"
END = "<!-- benchmarks:end -->"


def _update_doc(path: Path, text: str) -> None:
    doc = path.read_text()
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block to replace")
    path.write_text(doc[: start + len(BEGIN)] + "\n" + text + "\n" + doc[end:])


# The two inbound harnesses measure one quantity; a figure counts only if both see it.
AGREEMENT_PCT = 5.0

# (published ratio, its label, the client over, the client under)
RATIOS = (
    ("realtalk/floor", "realtalk / floor", "realtalk Session", "floor: websockets"),
    (
        "agents/realtalk",
        "openai-agents / realtalk",
        "openai-agents RealtimeSession",
        "realtalk Session",
    ),
)


def _agreement_what(ms: int, label: str) -> str:
    return f"inbound {ms} ms, {label}: user loop vs main harness"


def cross_targets() -> list[Target]:
    """Goals that compare what two benchmarks published (only those both ran)."""
    found = []
    for ms in (100, 20):
        for ratio, label, _, _ in RATIOS:
            main = _targets.published(f"inbound.{ms}.{ratio}")
            plain = _targets.published(f"userloop.{ms}.{ratio}")
            if not (math.isnan(main) or math.isnan(plain)):
                found.append(
                    _targets.agreement(_agreement_what(ms, label), main, plain, AGREEMENT_PCT)
                )
    return found


def pooled_targets() -> dict[str, Target]:
    """The harnesses' agreement over every run's rounds pooled (``--repeat``): each harness's
    ratio is the median of its per-round ratios (the two clients of a ratio run in the same
    round, one right after the other), and the two harnesses' medians are compared.

    Not the median of per-run gaps: a gap is an absolute difference of two noisy ratios, above
    zero even when both measure the same thing. Not a ratio of pooled medians either: the
    machine's level moves between runs (session 6's idle run: every client ~17 % slower in run
    2 than in runs 1 and 3), and medians of two pooled mixtures can come from different runs;
    that gave an 8.2 % gap where each run's own gaps were 0.2, 2.8 and 3.3 %. A round's ratio
    has both of its clients on the same machine state."""
    found = {}
    for ms in (100, 20):
        for _, label, top, bottom in RATIOS:
            ratios = []
            for harness in ("inbound", "userloop"):
                over = _targets.pooled(f"{harness}.{ms}.{top}")
                under = _targets.pooled(f"{harness}.{ms}.{bottom}")
                ratios.append(paired_ratio(over, under))
            if not any(math.isnan(r) for r in ratios):
                what = _agreement_what(ms, label)
                found[what] = _targets.agreement(what, ratios[0], ratios[1], AGREEMENT_PCT)
    return found


def targets_table(runs: list[list[Target]], pooled: dict[str, Target] | None = None) -> Table:
    """One row per goal; with several runs, each run's figure and the verdict on their median,
    or, for the goals in ``pooled``, on all runs' samples pooled."""
    several = len(runs) > 1
    by_what: dict[str, list[Target]] = {}
    for run_targets in runs:
        for target in run_targets:
            by_what.setdefault(target.what, []).append(target)
    columns = ["target"]
    if several:
        columns += [f"run {i + 1}" for i in range(len(runs))]
    table = Table("Targets", [*columns, "figure" if not several else "median", "goal", "verdict"])
    met = 0
    for what, seen in by_what.items():
        figures = [t.figure for t in seen if not math.isnan(t.figure)]
        judged = seen[0].with_figure(median(figures) if figures else math.nan)
        if several and pooled and what in pooled:
            judged = pooled[what]
        met += bool(judged.met)
        per_run = [t.shown for t in seen] + ["-"] * (len(runs) - len(seen)) if several else []
        table.add(what, *per_run, judged.shown, judged.goal, judged.verdict)
    table.note(
        f"{met} of {len(by_what)} met"
        + (f" (verdict on the median of {len(runs)} runs)" if several else "")
    )
    if several and pooled and any(what in pooled for what in by_what):
        table.note(
            "'user loop vs main harness' rows: the figure under 'median' is the gap between "
            f"the two harnesses' median per-round ratios over all {len(runs)} runs' rounds "
            "pooled, not the median of the per-run gaps (an absolute difference of two noisy "
            "ratios is biased upward)"
        )
    return table


def run_benchmarks(
    names: list[str], quick: bool, label: str, blocks: list[str]
) -> tuple[list[Target], list[str]]:
    """Run ``names`` once; print and keep their tables; return their goals and what crashed."""
    failed = []
    targets: list[Target] = []
    _targets.reset()
    for name in names:
        started = time.monotonic()
        load = load_average()
        tag = label if name in NOISY else ""
        print(f"\n--- {name}{tag} (load average {load}) ...", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            tables: list[Table] = module.run(quick=quick)
        except Exception:
            # A broken benchmark is a bug (it fails the run); a slow one never is.
            traceback.print_exc()
            failed.append(name)
            continue
        for table in tables:
            table.title += tag
            table.note(f"load average when it started: {load}")
            rendered = table.render()
            print("\n" + rendered, flush=True)
            blocks.append(rendered)
            targets.extend(table.targets)
        print(f"({name}: {time.monotonic() - started:.1f} s)", flush=True)
    return targets + cross_targets(), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS + ON_ITS_OWN, help="run only these")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help=f"run the CPU-time benchmarks ({', '.join(NOISY)}) N times; targets on the median",
    )
    parser.add_argument("--update-doc", type=Path, help="write the tables into this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat needs a count of 1 or more")

    header = "\n".join(describe_machine())
    print(header, flush=True)
    blocks = [header]
    names = list(args.only or BENCHMARKS)
    noisy = [name for name in names if name in NOISY]
    runs: list[list[Target]] = []
    failed: list[str] = []
    _targets.reset(samples=True)
    for repeat in range(args.repeat):
        label = f" (run {repeat + 1} of {args.repeat})" if args.repeat > 1 else ""
        # The steady benchmarks run once, in the first round; only the noisy ones repeat.
        chosen = names if repeat == 0 else noisy
        targets, crashed = run_benchmarks(chosen, args.quick, label, blocks)
        runs.append(targets)
        failed += crashed
    if any(runs):
        rendered = targets_table(runs, pooled_targets()).render()
        print("\n" + rendered, flush=True)
        blocks.append(rendered)
    if args.update_doc and not failed:
        _update_doc(args.update_doc, "```text\n" + "\n\n".join(blocks) + "\n```")
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(sorted(set(failed)))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
