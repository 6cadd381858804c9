"""seqlab's paired significance tests against sacrebleu's (the anchor): same systems, same seed, same run.

    python benchmarks/significance_speed.py --device cpu
    python benchmarks/significance_speed.py --device cuda --metrics bleu,chrf,ter

Five systems are built from the Multi30k test_2016_flickr English references (``../shared/data``,
1000 lines) by dropping and swapping words at different rates, as ``benchmarks/bleu_speed.py`` does.
The paired bootstrap test (1000 resamples, seed 12345) of systems 2-5 against system 1 runs:

1. ``sacrebleu REF -i S1 .. S5 --paired-bs -m METRICS`` (its CLI, a subprocess: reading, statistics,
   test, table; Python start-up and imports included);
2. sacrebleu's Python API that this CLI calls (``sacrebleu.significance.PairedTest``), from strings:
   reference caching, statistics, test;
3. the same ``PairedTest`` with every metric's statistics already extracted: the resampling test alone;

and seqlab's counterparts: ``seqlab bleu REF -i S1 .. S5 --paired-bs`` (subprocess), ``evaluate_systems``
from strings, and ``paired_bootstrap`` on the statistics (numpy arrays on the CPU, where the command
never imports torch; tensors on a GPU). The two commands are timed ``--repeats`` times (median).
Tokeniser caches (sacrebleu's lru_cache, shared by both) are cleared before each timed call from
strings. Every seqlab figure is checked against sacrebleu's before the times are printed (scores and
p-values equal, means and CIs to 1e-9). torch computes on ``--threads`` (1: sacrebleu's loop runs on
one; on a busy machine more threads slow these small products down).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import bleu_speed  # benchmarks/, the script's own folder
import sacrebleu
import torch
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

from seqlab.device import resolve_device
from seqlab.metrics.arrays import namespace
from seqlab.metrics.evaluate import evaluate_systems, metric_statistics
from seqlab.metrics.significance import paired_bootstrap

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "multi30k" / "test_2016_flickr.en.gz"
SACRE = {"bleu": BLEU, "chrf": CHRF, "ter": TER}


def load_systems(path: Path, count: int, seed: int) -> tuple[list[str], list[tuple[str, list[str]]]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        refs = [line.rstrip("\n") for line in fh]
    rng = random.Random(seed)
    systems = []
    for k in range(count):
        hyps = []
        for ref in refs:
            words = [w for w in ref.split() if rng.random() > 0.08 + 0.03 * k]
            if len(words) > 2 and rng.random() < 0.5:
                i = rng.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
            hyps.append(" ".join(words))
        systems.append((f"sys{k + 1}.txt", hyps))
    return refs, systems


def clear_caches() -> None:
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    for cls in (Tokenizer13a,):
        call = cls.__call__
        if hasattr(call, "cache_clear"):
            call.cache_clear()


def timed(fn, device: torch.device, repeats: int) -> tuple[float, object]:
    """bleu_speed's timer, with the tokeniser caches cleared before each call."""
    return bleu_speed.timed(fn, device, repeats, before=clear_caches)


class Extracted:
    """A sacrebleu metric whose statistics are already extracted: PairedTest then times its test alone."""

    def __init__(self, metric, systems):
        self.metric, self.cache = metric, {}
        for _, hyps in systems:
            self.cache[id(hyps)] = metric._extract_corpus_statistics(hyps, None)
        metric._extract_corpus_statistics = lambda hyps, refs: self.cache[id(hyps)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="reference sentences (one a line, .gz ok)")
    parser.add_argument("--systems", type=int, default=5)
    parser.add_argument("--metrics", default="bleu", help="comma-separated: bleu, chrf, ter")
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of the fast paths (median)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the perturbations (the test's is 12345)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's CPU threads (sacrebleu computes on one; more threads only help large inputs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if not args.data.exists():
        raise SystemExit(f"{args.data}: no such file (pass --data, one reference sentence a line)")
    keys = args.metrics.split(",")
    refs, systems = load_systems(args.data, args.systems, args.seed)
    print(f"{len(systems)} systems x {len(refs):,} lines of {args.data.name}, paired bootstrap with {args.samples} "
          f"resamples, metrics {args.metrics}; seqlab device {device}; torch {torch.__version__}, "
          f"sacrebleu {sacrebleu.__version__}, {torch.get_num_threads()} CPU threads")

    def sacre_api():
        metrics = {key: SACRE[key](references=[refs]) for key in keys}
        return PairedTest(systems, metrics, None, "bs", args.samples)()

    def ours_api():
        return evaluate_systems(systems, [refs], keys, "bs", args.samples, device=device)

    ours_api()  # warm-up: torch's first calls
    sacre_s, (_, expected) = timed(sacre_api, torch.device("cpu"), 1)
    ours_s, ours = timed(ours_api, device, args.repeats)
    for name in ours.metrics:
        for a, b in zip(ours.results[name], expected[name], strict=True):
            assert (a.score, a.p_value) == (b.score, b.p_value), (name, a, b)
            assert abs(a.mean - b.mean) <= 1e-9 * abs(b.mean) and abs(a.ci - b.ci) <= 1e-9 * max(abs(b.ci), 1), (a, b)

    # the test alone, on statistics already extracted
    extracted = {}
    for key in keys:
        metric = SACRE[key](references=[refs])
        Extracted(metric, systems)
        extracted[key] = metric
    sacre_test_s, _ = timed(lambda: PairedTest(systems, extracted, None, "bs", args.samples)(), torch.device("cpu"), 1)
    tensors = []
    for key in keys:  # numpy arrays on the CPU (the command's path there), tensors on a GPU
        adapter = metric_statistics(key, [refs])
        rows, corpus = zip(*(adapter.statistics(hyps, None if device.type == "cpu" else device)
                             for _, hyps in systems), strict=True)
        tensors.append((adapter, namespace(rows[0]).stack(rows), [float(c.score) for c in corpus]))

    def ours_test():
        return [paired_bootstrap(stats, adapter.score, args.samples, 12345, real) for adapter, stats, real in tensors]

    ours_test()
    ours_test_s, _ = timed(ours_test, device, args.repeats)

    # the two CLIs, as a user runs them
    with tempfile.TemporaryDirectory() as tmp:
        ref_path = Path(tmp) / "ref.txt"
        ref_path.write_text("\n".join(refs) + "\n", encoding="utf-8")
        paths = []
        for name, hyps in systems:
            paths.append(str(Path(tmp) / name))
            Path(paths[-1]).write_text("\n".join(hyps) + "\n", encoding="utf-8")
        scripts = Path(sys.executable).parent  # the console scripts of this environment
        sacre_cli = [str(scripts / "sacrebleu"), str(ref_path), "-i", *paths, "--paired-bs", "--paired-bs-n",
                     str(args.samples), "-m", *keys, "-f", "text"]
        ours_cli = [str(scripts / "seqlab"), "bleu", str(ref_path), "-i", *paths, "--paired-bs", "--paired-bs-n",
                    str(args.samples), "--metrics", args.metrics, "--device", args.device, "--threads",
                    str(args.threads), "--json"]
        sacre_cli_s, _ = timed(lambda: subprocess.run(sacre_cli, check=True, capture_output=True),
                               torch.device("cpu"), args.repeats)
        ours_cli_s, done = timed(lambda: subprocess.run(ours_cli, check=True, capture_output=True, text=True),
                                 torch.device("cpu"), args.repeats)
        report = json.loads(done.stdout)
        for name in ours.metrics:
            assert [row[name]["p_value"] for row in report["systems"]] == [r.p_value for r in expected[name]]

    rows = [
        ("sacrebleu CLI: sacrebleu REF -i S1..S5 --paired-bs", sacre_cli_s, None),
        ("seqlab CLI: seqlab bleu REF -i S1..S5 --paired-bs", ours_cli_s, sacre_cli_s / ours_cli_s),
        ("sacrebleu API (PairedTest) from strings", sacre_s, None),
        (f"seqlab API (evaluate_systems) from strings, {device.type}", ours_s, sacre_s / ours_s),
        ("sacrebleu test alone (PairedTest, statistics extracted)", sacre_test_s, None),
        (f"seqlab test alone (paired_bootstrap), {device.type}", ours_test_s, sacre_test_s / ours_test_s),
    ]
    print(f"\n{'':62s} {'seconds':>9s} {'x anchor':>9s}")
    for name, seconds, ratio in rows:
        print(f"{name:62s} {seconds:9.3f} {'' if ratio is None else f'{ratio:8.1f}x':>9s}")
    print("\nscores and p-values equal to sacrebleu's, means and CIs to 1e-9 (same seed); "
          "target (issue 28): >= 10x `sacrebleu -i ... --paired-bs` on the CPU; the rows say which layer reaches it")
    for name in ours.metrics:
        print(f"  {name}: " + ", ".join(f"{s}: {r.score:.2f} (p = {'-' if r.p_value is None else f'{r.p_value:.4f}'})"
                                      for s, r in zip(ours.systems, ours.results[name], strict=True)))


if __name__ == "__main__":
    main()
