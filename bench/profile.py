"""Summarise a py-spy collapsed-stack file: ``python -m bench.profile FILE [--top N] [--all]``.

Prints the frames with the most inclusive samples (time spent in them and below), and the
leaf frames with the most self samples, as a share of all samples. Project code only,
unless ``--all``.
"""

from __future__ import annotations

import argparse
from collections import Counter

PROJECT = ("catalog/", "diagnostics/", "sandbox/", "galantis/", "bench/")


def summarise(path: str, top: int, everything: bool) -> str:
    inclusive: Counter = Counter()
    leaf: Counter = Counter()
    total = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            for frame in set(frames):
                if everything or any(p in frame for p in PROJECT):
                    inclusive[frame] += n
            leaf[frames[-1]] += n
    out = [f"{total} samples", "", "inclusive (project frames):"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    out += ["", "self (leaf frames):"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in leaf.most_common(top)]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--all", action="store_true", help="every frame, not only project code")
    args = parser.parse_args()
    print(summarise(args.path, args.top, args.all))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
