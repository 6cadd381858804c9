"""Wall time of seqlab's quick commands, each against Python's own start measured in the same run.

    python benchmarks/cli_startup.py             # 7 runs of each, the median printed
    python benchmarks/cli_startup.py --runs 15

Each command runs in a fresh process, as a user types it, with its output thrown away. The anchors:
``python -c pass`` (an empty interpreter), ``python -c "import click"`` (the least a Click program
pays) and ``sacrebleu --help`` (a CLI of the same field). The commands: ``seqlab --help``,
``seqlab --version``, ``seqlab embed --help``, ``seqlab analogy king man woman`` and
``seqlab similar king`` on the shipped vectors, ``seqlab bleu`` on a 100-line file,
``seqlab translate`` of one date and ``seqlab sentiment predict`` of one line (the shipped models).

Targets (issue 25): ``--help`` at most 2x ``import click``; ``analogy`` at most 1.0 s on a quiet
2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable


def seqlab(*args: str) -> list[str]:
    script = shutil.which("seqlab")
    return [script, *args] if script else [PY, "-m", "seqlab.cli.main", *args]


def sacrebleu(*args: str) -> list[str]:
    script = shutil.which("sacrebleu")
    return [script, *args] if script else [PY, "-m", "sacrebleu", *args]


def wall(command: list[str], stdin: str | None, runs: int) -> float:
    """Median wall seconds of ``runs`` runs (after one untimed run that warms the file cache)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, input=stdin, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        if i:
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (median)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ref, hyp = Path(tmp, "ref.txt"), Path(tmp, "hyp.txt")
        lines = [f"a man in a red shirt is riding bike number {i} down the street ." for i in range(100)]
        ref.write_text("\n".join(lines) + "\n")
        hyp.write_text("\n".join(line.replace("red", "blue") for line in lines) + "\n")
        cases = [
            ("python -c pass", [PY, "-c", "pass"], None),
            ('python -c "import click"', [PY, "-c", "import click"], None),
            ("sacrebleu --help", sacrebleu("--help"), None),
            ("seqlab --help", seqlab("--help"), None),
            ("seqlab --version", seqlab("--version"), None),
            ("seqlab embed --help", seqlab("embed", "--help"), None),
            ("seqlab analogy king man woman", seqlab("analogy", "king", "man", "woman"), None),
            ("seqlab similar king", seqlab("similar", "king"), None),
            ("seqlab bleu hyp ref (100 lines)", seqlab("bleu", str(hyp), str(ref)), None),
            ("seqlab translate (one date)", seqlab("translate", "--beam", "5"), "3 may 1979\n"),
            ("seqlab sentiment predict (one line)", seqlab("sentiment", "predict", "a good film"), None),
        ]
        print(f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.2f}, "
              f"median of {args.runs} runs\n")
        results = {}
        for name, command, stdin in cases:
            results[name] = wall(command, stdin, args.runs)
    base, click_, sacre = (results[k] for k in ("python -c pass", 'python -c "import click"', "sacrebleu --help"))
    print(f"| {'command':<36} | wall s | x python | x import click | x sacrebleu --help |")
    print(f"|{'-' * 38}|-------:|---------:|--------------:|-------------------:|")
    for name, seconds in results.items():
        print(f"| {name:<36} | {seconds:6.3f} | {seconds / base:7.2f}x | {seconds / click_:12.2f}x "
              f"| {seconds / sacre:17.2f}x |")
    helps, analogy = results["seqlab --help"], results["seqlab analogy king man woman"]
    print(f"\ntarget --help <= 2x import click: {helps / click_:.2f}x ({'met' if helps <= 2 * click_ else 'NOT met'})")
    print(f"target analogy <= 1.0 s: {analogy:.3f} s ({'met' if analogy <= 1.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
