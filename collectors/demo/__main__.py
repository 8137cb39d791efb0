"""`python -m collectors.demo OUT_DIR --orders N --seed S`: write an estate, print its summary."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import orjson

from collectors.demo import generate


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m collectors.demo",
                                     description="Write a demo retail integration estate.")
    parser.add_argument("out_dir", type=Path, help="folder to write traces/, events/, dlq/ into")
    parser.add_argument("--orders", type=int, default=3000,
                        help="orders to generate (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the end of the data, ISO 8601 (default: this minute, UTC)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the estate and print a JSON summary on stdout."""
    arguments = _arguments(argv)
    if arguments.orders < 1:
        print("--orders must be at least 1", file=sys.stderr)
        return 2
    summary = generate(arguments.out_dir, orders=arguments.orders, seed=arguments.seed,
                       now=arguments.now)
    report = {
        "orders": summary.orders, "events": summary.events, "spans": summary.spans,
        "dead_letters": summary.dead_letters, "files": len(summary.files),
        "seconds": round(summary.seconds, 2),
        "events_per_second": round(summary.events_per_second),
        "now": summary.now.isoformat(), "manifest": str(arguments.out_dir / "manifest.json"),
    }
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
