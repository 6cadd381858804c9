"""Every GPU figure of seqlab in one call: the GPU tests and each benchmark's --device cuda run.

    python benchmarks/device_all.py                 # on a machine with a GPU: about 10 minutes
    python benchmarks/device_all.py --smoke         # the same steps on the CPU at toy sizes (CI runs it)

Installs nothing: it runs the project as checked out, with the data in ``../shared/data``. Each step
is a subprocess with its own time limit; a step that fails or times out is recorded and the next one
runs. The steps:

1. ``pytest -m gpu``: the tests that need CUDA (Triton kernels, GPU parity);
2. ``word2vec_vs_gensim.py``: sg-ns, sg-hs and cbow-ns, seqlab on the device against gensim on the
   CPU, on a prefix of the wiki corpus;
3. ``glove_vs_reference.py``: counting and training on the device, and hard debiasing;
4. ``bleu_speed.py``: token-id BLEU on the device against sacrebleu;
5. ``significance_speed.py``: paired bootstrap of 5 systems (BLEU, chrF, TER), resampled on the device,
   against sacrebleu's;
6. ``rnn_kernels.py``: cuDNN against each cell (fused Triton, eager, compiled);
7. ``seq2seq_multi30k.py``: a small de-en model trained, then decoding speed (greedy and beam) on
   the device against the per-sentence loop.

Writes ``OUT/summary.json`` (the device, and per step the command, status, seconds and the last lines
of its output) and ``OUT/summary.md``, and keeps each step's full output in ``OUT/STEP.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PY = sys.executable

# (name, arguments on a GPU, arguments for --smoke on the CPU, seconds allowed on a GPU, data it needs)
STEPS = [
    ("gpu_tests", ["-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests"],
     ["-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests/rnn"], 120, None),
    ("word2vec", ["benchmarks/word2vec_vs_gensim.py", "--device", "cuda", "--max-words", "4000000", "--epochs", "2"],
     ["benchmarks/word2vec_vs_gensim.py", "--device", "cpu", "--max-words", "30000", "--epochs", "1",
      "--configs", "sg-ns"], 150, "corpus/wiki2015-text8style.xz"),
    ("glove", ["benchmarks/glove_vs_reference.py", "--device", "cuda", "--max-words", "4000000", "--epochs", "5"],
     ["benchmarks/glove_vs_reference.py", "--device", "cpu", "--max-words", "30000", "--epochs", "1",
      "--debias-words", "2000", "--debias-dim", "50"], 120, "corpus/wiki2015-text8style.xz"),
    ("bleu", ["benchmarks/bleu_speed.py", "--device", "cuda"],
     ["benchmarks/bleu_speed.py", "--device", "cpu", "--pairs", "2000", "--repeats", "1"], 60,
     "multi30k/test_2016_flickr.en.gz"),
    ("significance", ["benchmarks/significance_speed.py", "--device", "cuda", "--metrics", "bleu,chrf,ter"],
     ["benchmarks/significance_speed.py", "--device", "cpu", "--systems", "2", "--samples", "50", "--repeats", "1"],
     60, "multi30k/test_2016_flickr.en.gz"),
    ("rnn_kernels", ["benchmarks/rnn_kernels.py", "--device", "cuda"],
     ["benchmarks/rnn_kernels.py", "--device", "cpu", "--batch", "4", "--steps", "5", "--input-size", "16",
      "--hidden-size", "16", "--iters", "1", "--warmup", "0", "--dtypes", "fp32", "--no-compile"], 90, None),
    ("seq2seq", ["benchmarks/seq2seq_multi30k.py", "--device", "cuda", "--directions", "de-en", "--epochs", "2",
                 "--max-train", "20000", "--eval-limit", "1000", "--quiet"],
     ["benchmarks/seq2seq_multi30k.py", "--device", "cpu", "--directions", "de-en", "--epochs", "1",
      "--max-train", "300", "--max-valid", "20", "--eval-limit", "20", "--naive-sample", "3", "--quiet",
      "--set", "vocab_size=300", "--set", "emb_dim=16", "--set", "hidden_size=16", "--set", "amp=false"],
     150, "multi30k"),
]


def device_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})"
        return f"no CUDA device (torch {torch.__version__}); {os.cpu_count()} CPUs, {platform.processor() or ''}"
    except ImportError:
        return "torch is not installed"


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def run_step(name: str, args: list[str], limit: float, needs: str | None, out: Path) -> dict:
    command = [PY, *args]
    record = {"step": name, "command": " ".join(["python", *args]), "limit_s": limit}
    if needs and not (SHARED / needs).exists():
        return {**record, "status": "skipped", "seconds": 0.0, "output": f"../shared/data/{needs} is absent"}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=limit,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        status, output = ("ok" if done.returncode == 0 else f"failed ({done.returncode})"), done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {limit:g} s"
        output = "".join(part.decode(errors="replace") if isinstance(part, bytes) else (part or "")
                         for part in (exc.stdout, exc.stderr))
    seconds = time.perf_counter() - start
    (out / f"{name}.log").write_text(output, encoding="utf-8")
    return {**record, "status": status, "seconds": round(seconds, 1), "output": tail(output)}


def markdown(summary: dict) -> str:
    lines = [f"# device_all ({summary['mode']}, {summary['date']})", "", f"Device: {summary['device']}", "",
             "| step | status | seconds |", "|---|---|---:|"]
    lines += [f"| {s['step']} | {s['status']} | {s['seconds']} |" for s in summary["steps"]]
    for s in summary["steps"]:
        lines += ["", f"## {s['step']}", "", f"`{s['command']}`", "", "```", s["output"], "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="run every step on the CPU at toy sizes")
    parser.add_argument("--out", type=Path, default=None, help="folder for the summary and the logs "
                        "(default: benchmarks/device_results/DATE, or a temporary folder with --smoke)")
    parser.add_argument("--steps", default=",".join(s[0] for s in STEPS), help="comma-separated subset")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every step's time limit")
    args = parser.parse_args()
    wanted = args.steps.split(",")
    unknown = set(wanted) - {s[0] for s in STEPS}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = args.out or (Path(os.environ.get("TMPDIR", "/tmp")) / f"seqlab_device_smoke_{date}" if args.smoke
                       else REPO / "benchmarks" / "device_results" / date)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"mode": "smoke (CPU, toy sizes)" if args.smoke else "device", "date": date, "device": device_name(),
               "steps": []}
    for name, gpu_args, smoke_args, limit, needs in STEPS:
        if name not in wanted:
            continue
        print(f"[{name}] ...", flush=True)
        result = run_step(name, smoke_args if args.smoke else gpu_args, limit * args.scale * (3 if args.smoke else 1),
                          needs, out)
        print(f"[{name}] {result['status']} in {result['seconds']} s", flush=True)
        summary["steps"].append(result)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    print(f"\nsummary: {out / 'summary.md'}")
    failed = [s["step"] for s in summary["steps"] if s["status"] not in ("ok", "skipped")]
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
