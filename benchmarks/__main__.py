"""``python -m benchmarks [--quick] [--only NAME ...] [--update-doc docs/performance.md]``.

Runs every benchmark and prints its tables. ``--quick`` uses tiny sizes so CI can check that the
benchmarks still run; no timing is ever asserted. ``--update-doc`` writes the tables and the
machine description between the markers in the given Markdown file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks._machine import describe_machine, load_average
from benchmarks._stats import Table

BENCHMARKS = ("inbound", "userloop", "outbound", "imports", "concurrency", "turn_latency", "server")

BEGIN = "<!-- benchmarks:begin -->"
END = "<!-- benchmarks:end -->"


def _update_doc(path: Path, text: str) -> None:
    doc = path.read_text()
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block to replace")
    path.write_text(doc[: start + len(BEGIN)] + "\n" + text + "\n" + doc[end:])


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
        print(f"({name}: {time.monotonic() - started:.1f} s)", flush=True)
    if args.update_doc and not failed:
        _update_doc(args.update_doc, "```text\n" + "\n\n".join(blocks) + "\n```")
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
