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
from benchmarks._stats import Table
from benchmarks._targets import Target

BENCHMARKS = ("inbound", "userloop", "outbound", "imports", "concurrency", "turn_latency", "server")

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


def cross_targets() -> list[Target]:
    """Goals that compare what two benchmarks published (only those both ran)."""
    found = []
    for ms in (100, 20):
        for ratio, label in (
            ("realtalk/floor", "realtalk / floor"),
            ("agents/realtalk", "openai-agents / realtalk"),
        ):
            main = _targets.published(f"inbound.{ms}.{ratio}")
            plain = _targets.published(f"userloop.{ms}.{ratio}")
            if not (math.isnan(main) or math.isnan(plain)):
                what = f"inbound {ms} ms, {label}: user loop vs main harness"
                found.append(_targets.agreement(what, main, plain, AGREEMENT_PCT))
    return found


def targets_table(targets: list[Target]) -> Table:
    table = Table("Targets", ["target", "figure", "goal", "verdict"])
    for target in targets:
        table.add(target.what, target.shown, target.goal, target.verdict)
    met = sum(1 for t in targets if t.met)
    table.note(f"{met} of {len(targets)} met")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--update-doc", type=Path, help="write the tables into this file")
    args = parser.parse_args(argv)

    header = "\n".join(describe_machine())
    print(header, flush=True)
    blocks = [header]
    failed = []
    targets: list[Target] = []
    _targets.reset()
    for name in args.only or BENCHMARKS:
        started = time.monotonic()
        load = load_average()
        print(f"\n--- {name} (load average {load}) ...", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            tables: list[Table] = module.run(quick=args.quick)
        except Exception:
            # A broken benchmark is a bug (it fails the run); a slow one never is.
            traceback.print_exc()
            failed.append(name)
            continue
        for table in tables:
            table.note(f"load average when it started: {load}")
            rendered = table.render()
            print("\n" + rendered, flush=True)
            blocks.append(rendered)
            targets.extend(table.targets)
        print(f"({name}: {time.monotonic() - started:.1f} s)", flush=True)
    targets.extend(cross_targets())
    if targets:
        rendered = targets_table(targets).render()
        print("\n" + rendered, flush=True)
        blocks.append(rendered)
    if args.update_doc and not failed:
        _update_doc(args.update_doc, "```text\n" + "\n\n".join(blocks) + "\n```")
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
