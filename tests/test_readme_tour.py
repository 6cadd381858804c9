"""The README tour runs (issue 25, item 7): every command line in README.md is run here, so that a new
user never meets a command that no longer works.

``readme_commands`` collects the README's shell command lines: indented code lines, and lines of ```sh,
```bash or ```console fences, that run ``seqlab``, ``echo ... | seqlab``, ``python -m seqlab...``,
``python3 -m venv ...``, ``python benchmarks/...`` or ``torchrun``, each without its trailing ``# comment``.
``TOUR`` says how each one runs: as written, or rewritten onto small settings (``why`` says what changed);
``EXCLUDED`` names the few that cannot run in a test, and why. A README command added or changed without
an entry here fails ``test_every_readme_command_has_a_tour_entry``, which names the line to add.

The commands run in-process through Click's test runner (a subprocess would cost two seconds of torch
import each), in README order, in a workspace laid out like a checkout: the current directory holds
``configs/`` and every file the commands name, and its ``../shared/data`` is a miniature of the real
one (the first lines of each file the README reads, under the same names and formats), so that a line
that reads the shared data runs as written, in seconds. Such lines are skipped when the real
``../shared/data`` is absent (a fresh clone); every other line runs everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import lzma
import os
import re
import shlex
import shutil
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner, Result
from interrupt import interrupt_after

from seqlab.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED_DATA = ROOT.parent / "shared" / "data"  # where tests/conftest.py finds it

# --- the README's command lines --------------------------------------------------------------------------------

COMMAND = re.compile(r"seqlab(\s|$)|echo\s.*\|\s*seqlab\s|python3? -m seqlab\b|python3 -m venv\s|python3? benchmarks/"
                     r"|torchrun\s")
SHELL_FENCES = ("sh", "bash", "console", "shell")


def strip_comment(line: str) -> str:
    """``line`` without its trailing ``# comment`` (a ``#`` after a space, outside quotes), right-stripped."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def readme_commands(text: str) -> list[tuple[int, str, str]]:
    """(line number, command, its comment) of each shell command line of a README, in order: indented code
    lines outside fences, and the lines of ```sh/```bash/```console fences (``$ `` prompts dropped)."""
    found = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = line.strip()[3:].strip().lower() if fence is None else None
            continue
        if fence is not None:
            if fence not in SHELL_FENCES:
                continue  # ```python: the API snippets are tests/core/test_front_doors.py's
            code = line.strip().removeprefix("$ ")
        elif line.startswith("    "):
            code = line.strip()
        else:
            continue
        if COMMAND.match(code):
            command = strip_comment(code)
            found.append((number, command, code[len(command):].strip().removeprefix("#").strip()))
    return found


def readme() -> dict[str, int]:
    """README command -> the number of the first line that shows it, in README order."""
    out: dict[str, int] = {}
    for number, command, _ in readme_commands(README.read_text(encoding="utf-8")):
        out.setdefault(command, number)
    return out


# --- what a line must print ------------------------------------------------------------------------------------

Check = Callable[[Result], None]


def every(*checks: Check) -> Check:
    def check(result: Result) -> None:
        for one in checks:
            one(result)
    return check


def prints(*fragments: str) -> Check:
    def check(result: Result) -> None:
        for fragment in fragments:
            assert fragment in result.output, f"{fragment!r} not in the output:\n{result.output}"
    return check


def writes(*paths: str) -> Check:
    def check(result: Result) -> None:
        for path in paths:
            assert Path(path).exists(), f"{path} was not written"
    return check


def json_object(*keys: str) -> Check:
    def check(result: Result) -> None:
        assert set(keys) <= set(json.loads(result.stdout)), result.stdout
    return check


def json_lines(*keys: str) -> Check:
    def check(result: Result) -> None:
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert rows and all(set(keys) <= set(row) for row in rows), result.stdout
    return check


def neighbours_json(result: Result) -> None:
    rows = json.loads(result.stdout)
    assert len(rows) == 10 and all(set(row) == {"word", "score"} for row in rows), result.stdout


def one_line_per_input(path: str) -> Check:
    def check(result: Result) -> None:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        assert len(result.stdout.splitlines()) == len(lines), result.stdout
    return check


def resumed(output: str) -> Check:
    def check(result: Result) -> None:
        assert f"vectors to {output}" in result.stdout and not Path(f"{output}.last.safetensors").exists(), \
            result.output
    return check


def first_words(result: Result) -> list[str]:
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


def queen_first(result: Result) -> None:
    assert first_words(result)[0] == "queen", result.stdout


def bleu_report(result: Result) -> None:
    assert re.fullmatch(r"BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|\S+ = \d+\.\d\d \S+ \(BP = .*\)\n",
                        result.stdout), result.stdout


def negative_label(result: Result) -> None:
    # the label and the line's shape, not the probabilities: the shipped sentiment model is retrained now and then
    assert re.fullmatch(r"negative\tnegative=0\.\d{4} positive=0\.\d{4}\n", result.stdout), result.stdout


# --- how each line runs ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Run:
    """How the tour runs one README line.

    ``command``: "" to run the line as written, else the rewrite that runs, visibly close to the line, and
    ``why`` says what it changes. ``data``: the line reads ``../shared/data`` (skipped without it). ``needs``:
    the commands whose outputs it reads, run first (README lines as their entry says, or helper commands;
    each runs once). ``interrupt``: a command stopped with Ctrl-C after its first checkpoint, before this
    one. ``status``: the exit status the README shows (0). ``check``: what the README says it prints or
    writes, called with the last command's result.
    """

    command: str = ""
    why: str = ""
    data: bool = False
    needs: tuple[str, ...] = ()
    interrupt: str = ""
    status: int = 0
    check: Check | None = None


CPU = "CPU: CI has no GPU"
MINI_SST = "the miniature SST; one epoch"
SMALL_SEQ2SEQ = "--device cpu --epochs 1 --set vocab_size=200 --set emb_dim=16 --set hidden_size=16"
MINI_MULTI30K = "the miniature Multi30k; CPU, one epoch of a small model (GRU 16, 200 subwords)"

# README lines whose outputs later lines read
VECTORS_BIN = "seqlab embed train corpus.txt -o vectors.bin --model sg --loss ns --dim 100 --window 5 --epochs 5"
TEXT8 = "seqlab embed train corpus.txt -o vectors.bin --config configs/word2vec_text8.toml --epochs 10"
DE_EN = "seqlab seq2seq train --config configs/multi30k_de_en.toml -o runs/multi30k_de_en --device cuda"
R2L = "seqlab seq2seq train --config configs/multi30k_de_en.toml -o runs/r2l --set reverse_target=true"
SST5 = "seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5_bilstm --device cuda"
NBOW = "seqlab sentiment train --config configs/sst2_nbow.toml -o runs/sst2_nbow --vectors glove.6B.100d.txt"
PRETRAIN = "seqlab sentiment pretrain ../shared/data/sentiment-extra/imdb -o imdb.txt --vectors imdb_vectors"
ENCODER = f"{PRETRAIN} --encoder imdb_encoder"
DEBIAS = "seqlab debias vectors.bin -o debiased.bin --method hard"
VAE = "seqlab generative train --config configs/digits_vae.toml -o runs/digits_vae"
CARTPOLE = "seqlab rl train --config configs/cartpole_dqn.toml -o runs/cartpole"
RESNET = "seqlab vision train --config configs/digits_resnet.toml -o runs/resnet --json"
AVERAGE_LAST = "seqlab seq2seq train --config configs/dates.toml -o runs/dates --set batch_tokens=2000 --average-last 3"
# runs/a and runs/b, the README's two models of an ensemble: DE_EN's tour run, with other seeds
MODEL_A = f"seqlab seq2seq train --config configs/multi30k_de_en.toml -o runs/a {SMALL_SEQ2SEQ} --seed 2"
MODEL_B = f"seqlab seq2seq train --config configs/multi30k_de_en.toml -o runs/b {SMALL_SEQ2SEQ} --seed 3"

TOUR: dict[str, Run] = {  # in README order
    # word2vec
    "seqlab embed train corpus.txt": Run(check=every(writes("corpus.bin"), prints("the vectors to corpus.bin"))),
    "seqlab embed train raw_news.txt.gz --tokenize simple --lowercase": Run(check=writes("raw_news.bin")),
    VECTORS_BIN: Run(check=writes("vectors.bin", "vectors.bin.toml")),
    "seqlab embed train corpus.txt.xz -o vectors --model cbow --loss hs --device cuda": Run(
        "seqlab embed train corpus.txt.xz -o vectors --model cbow --loss hs --device cpu", CPU,
        check=writes("vectors/config.toml")),
    TEXT8: Run(),
    "seqlab embed train corpus.txt -o vectors.bin --resume": Run(  # "after an interruption" of the line above
        interrupt=f"{TEXT8} --checkpoint-words 1", check=resumed("vectors.bin")),
    # queries
    "seqlab analogy king man woman": Run(check=queen_first),
    "seqlab analogy king man woman --method mul": Run(),
    "seqlab similar france -n 5": Run(check=lambda result: len(first_words(result)) == 5),
    "seqlab similar france --vectors vectors.bin --json": Run(needs=(VECTORS_BIN,), check=neighbours_json),
    "seqlab embed eval vectors.bin": Run(needs=(VECTORS_BIN,), check=prints("analogies", "similarity")),
    "seqlab embed eval vectors.bin --similarity ../shared/data/wordsim/EN-SIMLEX-999.txt --json": Run(
        data=True, needs=(VECTORS_BIN,), check=json_object("similarity")),
    # BLEU
    "seqlab bleu hyp.txt ref.txt": Run(check=bleu_report),
    "seqlab bleu hyp.txt ref1.txt ref2.txt --tokenize intl --lowercase --json": Run(check=json_object("score")),
    "seqlab bleu hyp.txt ref.txt --sentence --smooth floor": Run(check=one_line_per_input("hyp.txt")),
    "seqlab bleu hyp.txt ref.txt --metrics bleu,chrf,ter --confidence": Run(
        check=prints("BLEU|nrefs:1|bs:1000|seed:12345|", "\nchrF2|", "\nTER|", "(μ = ")),
    "seqlab bleu ref.txt -i base.txt new.txt --metrics bleu,chrf,ter --paired-bs": Run(
        check=prints("Baseline: base.txt", "(p = ", "Paired bootstrap resampling test with 1000 resampling trials")),
    "seqlab bleu ref.txt -i base.txt new.txt other.txt --paired-ar --json": Run(
        check=json_object("test", "signatures", "systems")),
    # translation
    'echo "3 may 1979" | seqlab translate --beam 5': Run(check=lambda result: result.stdout == "1979-05-03\n"),
    "seqlab translate --model runs/multi30k_de_en --input test.de --beam 5 --alpha 0.7 --nbest 3": Run(
        data=True, needs=(DE_EN,)),
    "seqlab translate --plot-attention attention.png < dates.txt": Run(
        check=every(one_line_per_input("dates.txt"), writes("attention.png"))),
    "seqlab translate --sample --top-p 0.9 --seed 1 < dates.txt": Run(check=one_line_per_input("dates.txt")),
    "seqlab translate --min-len 11 < dates.txt": Run(check=one_line_per_input("dates.txt")),
    'echo "1 jan 2000" | seqlab translate --no-repeat-ngram 3': Run(
        check=lambda result: result.stdout == "2000-01-11\n"),
    "seqlab translate --prefix prefixes.txt < dates.txt": Run(
        check=lambda result: result.stdout.splitlines()[3] == "1776-07-04"),
    'echo "3 mäy 1979" | seqlab translate --replace-unk': Run(check=lambda result: result.stdout == "1979-05-03\n"),
    DE_EN: Run(f"seqlab seq2seq train --config configs/multi30k_de_en.toml -o runs/multi30k_de_en {SMALL_SEQ2SEQ}",
               MINI_MULTI30K, data=True),
    "seqlab seq2seq train --config configs/dates.toml -o my_dates --epochs 2 --set hidden_size=64": Run(
        "seqlab seq2seq train --config configs/dates.toml -o my_dates --epochs 2 --set hidden_size=64 "
        "--train-size 1000 --set valid_size=100", "1,000 generated training dates, not 40,000"),
    "seqlab seq2seq eval --model runs/multi30k_de_en --src test.de --ref test.en --json": Run(
        data=True, needs=(DE_EN,), check=json_object("bleu", "signature", "exact_match")),
    "seqlab seq2seq analyze --model runs/multi30k_de_en --src test.de --ref test.en": Run(
        data=True, needs=(DE_EN,), check=prints("search errors", "model errors")),
    "seqlab translate --model runs/a --model runs/b --beam 5 < test.de": Run(
        data=True, needs=(MODEL_A, MODEL_B), check=one_line_per_input("test.de")),
    "seqlab translate --model runs/multi30k_de_en --beam 5 --beta 0.2 < test.de": Run(
        data=True, needs=(DE_EN,), check=one_line_per_input("test.de")),
    R2L: Run(f"{R2L} {SMALL_SEQ2SEQ}", MINI_MULTI30K, data=True),
    "seqlab translate --model runs/a --model runs/b --rerank runs/r2l --rerank-weight 0.5 < test.de": Run(
        data=True, needs=(MODEL_A, MODEL_B, R2L), check=one_line_per_input("test.de")),
    "seqlab seq2seq train --config configs/dates.toml -o runs/dates_chrf --set valid_metric=chrf --set accumulate=2":
        Run("seqlab seq2seq train --config configs/dates.toml -o runs/dates_chrf --set valid_metric=chrf --set "
            "accumulate=2 --epochs 1 --train-size 1000 --set valid_size=100",
            "one epoch on 1,000 generated training dates, not three on 40,000", check=prints(", chrF ")),
    AVERAGE_LAST: Run(f"{AVERAGE_LAST} --train-size 1000 --set valid_size=100", "1,000 generated training dates, "
                      "not 40,000", check=writes("runs/dates/average/model.safetensors")),
    "seqlab seq2seq average runs/dates/epoch2.safetensors runs/dates/epoch3.safetensors -o runs/dates_avg": Run(
        needs=(AVERAGE_LAST,), check=writes("runs/dates_avg/model.safetensors", "runs/dates_avg/config.toml")),
    # sentiment
    'seqlab sentiment predict "not good at all"': Run(check=negative_label),
    "seqlab sentiment predict runs/sst5_bilstm --json < reviews.txt": Run(
        data=True, needs=(SST5,), check=every(one_line_per_input("reviews.txt"),
                                              json_lines("text", "label", "probabilities"))),
    SST5: Run("seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5_bilstm --device cpu --epochs 1",
              f"{MINI_SST}; {CPU}", data=True),
    NBOW: Run(f"{NBOW} --epochs 1", f"{MINI_SST}; glove.6B.100d.txt is a tiny file in GloVe's format", data=True),
    "seqlab sentiment train --config configs/sst2_bilstm.toml -o my_run --cell gru --pooling last --set loss='focal'":
        Run("seqlab sentiment train --config configs/sst2_bilstm.toml -o my_run --cell gru --pooling last "
            "--set loss='focal' --epochs 1", MINI_SST, data=True),
    "seqlab sentiment eval runs/sst5_bilstm ../shared/data/sst/stsa.fine.test --json": Run(
        data=True, needs=(SST5,), check=json_object("accuracy", "macro_f1", "confusion_matrix")),
    "seqlab sentiment eval runs/sst2_nbow reviews.csv --header --label-column stars --text-column review "
    "--plot cm.png": Run(data=True, needs=(NBOW,), check=every(prints("accuracy"), writes("cm.png"))),
    PRETRAIN: Run(data=True, check=writes("imdb.txt", "imdb_vectors")),
    "seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5 --vectors imdb_vectors --set emb_dim=300":
        Run("seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5 --vectors imdb_vectors "
            "--set emb_dim=300 --epochs 1", MINI_SST, data=True, needs=(PRETRAIN,)),
    ENCODER: Run(f"{ENCODER} --tokens 3000", "3,000 words of the miniature IMDB, not 6M", data=True,
                 check=writes("imdb_encoder")),
    "seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5 --encoder imdb_encoder --extend-vocab "
    "--set emb_dim=300": Run(
        "seqlab sentiment train --config configs/sst5_bilstm.toml -o runs/sst5 --encoder imdb_encoder --extend-vocab "
        "--set emb_dim=300 --epochs 1", MINI_SST, data=True, needs=(ENCODER,),
        check=prints("from the pretrained encoder imdb_encoder")),
    # GloVe
    "seqlab glove train corpus.txt -o glove.bin --dim 50 --window 15 --x-max 10 --epochs 15": Run(
        check=writes("glove.bin")),
    "seqlab glove train corpus.txt.xz -o glove --config configs/glove_text8.toml --cooc corpus.cooc --device cuda":
        Run("seqlab glove train corpus.txt.xz -o glove --config configs/glove_text8.toml --cooc corpus.cooc "
            "--device cpu", CPU, check=writes("glove/config.toml", "corpus.cooc")),
    # gender bias
    "seqlab embed bias vectors.bin --json": Run(
        needs=(VECTORS_BIN,), check=json_object("direct_bias", "weat", "cluster_accuracy")),
    DEBIAS: Run(needs=(VECTORS_BIN,), check=writes("debiased.bin")),
    "seqlab embed bias debiased.bin --reference vectors.bin": Run(
        needs=(DEBIAS,), check=prints("DirectBias", "WEAT", "clustering")),
    # plots
    "seqlab embed plot vectors.bin --words king,queen,man,woman,paris,france -o words.png --method pca": Run(
        needs=(VECTORS_BIN,), check=writes("words.png")),
    "seqlab embed plot vectors.bin --top 200 -o top.png": Run(needs=(VECTORS_BIN,), check=writes("top.png")),
    "seqlab embed plot-bias vectors.bin --debiased debiased.bin -o bias.png": Run(
        needs=(DEBIAS,), check=writes("bias.png")),
    # model files of seqlab 0.1
    "seqlab convert runs/old_model": Run(check=prints("runs/old_model/model.pt -> runs/old_model/model.safetensors")),
    # generative models and reinforcement learning
    VAE: Run(f"{VAE} --epochs 2", "2 epochs, not 100"),
    "seqlab generative train --config configs/digits_gan.toml --epochs 20 -o runs/gan --device cuda": Run(
        "seqlab generative train --config configs/digits_gan.toml --epochs 1 -o runs/gan --device cpu",
        f"1 epoch, not 20; {CPU}"),
    "seqlab generative train --config configs/digits_vae.toml -o runs/digits_vae --resume": Run(
        "seqlab generative train --config configs/digits_vae.toml -o runs/digits_vae --resume --epochs 3",
        "on to epoch 3: the tour's run stopped after 2", needs=(VAE,), check=prints("epoch 3:")),
    "seqlab generative sample runs/digits_vae -n 64 -o grid.png": Run(needs=(VAE,), check=writes("grid.png")),
    "seqlab generative eval runs/digits_vae": Run(needs=(VAE,), check=prints("model ", "noise ")),
    "seqlab rl train --config configs/gridworld_qlearning.toml -o runs/gridworld": Run(),
    CARTPOLE: Run(f"{CARTPOLE} --set total_steps=400 --set learning_starts=100 --set eval_every=200 "
                  "--set eval_episodes=10", "400 steps, not 100,000"),
    "seqlab rl eval runs/cartpole --episodes 100": Run(needs=(CARTPOLE,), check=prints("over 100 episodes")),
    # vision
    "seqlab vision train --config configs/digits_lenet.toml -o runs/lenet --threads 1": Run(
        "seqlab vision train --config configs/digits_lenet.toml -o runs/lenet --threads 1 --epochs 1",
        "1 epoch, not 30"),
    RESNET: Run(f"{RESNET} --epochs 1", "1 epoch, not 12", check=json_object("test_accuracy")),
    "seqlab vision train --config configs/digits_resnet.toml --set shortcut='A' --optimizer adam --lr 1e-3": Run(
        "seqlab vision train --config configs/digits_resnet.toml --set shortcut='A' --optimizer adam --lr 1e-3 "
        "--epochs 1", "1 epoch, not 12", check=writes("vision_model/model.safetensors")),
    "seqlab vision train --config configs/digits_resnet.toml -o runs/resnet --epochs 20 --resume": Run(
        "seqlab vision train --config configs/digits_resnet.toml -o runs/resnet --epochs 2 --resume",
        "on to epoch 2, not 20: the tour's run stopped after 1", needs=(RESNET,), check=prints("epoch 2:")),
    "seqlab vision oneshot --unseen 7,8,9 --loss triplet --mining semi_hard": Run(
        "seqlab vision oneshot --unseen 7,8,9 --loss triplet --mining semi_hard --steps 20", "20 steps, not 300",
        check=prints("on unseen digits [7, 8, 9]")),
    "seqlab vision style -o styled.png --steps 100": Run(
        "seqlab vision style -o styled.png --steps 2 --size 32", "2 steps on 32-pixel images, not 100 on 128",
        check=writes("styled.png")),
    "seqlab vision style content.jpg style.jpg -o out.png --size 256 --vgg-weights vgg16-397923af.pth --device cuda":
        Run("seqlab vision style content.jpg style.jpg -o out.png --size 32 --steps 2 --vgg-weights "
            "vgg16-397923af.pth --device cpu", "2 steps on 32-pixel images; vgg16-397923af.pth holds random "
            f"weights (the real file is 528 MB); {CPU}", check=writes("out.png")),
    # the default vectors (written to the workspace's data/, not the checkout's)
    "seqlab embed train ../shared/data/corpus/wiki2015-text8style.xz --config configs/default_vectors.toml -o "
    "data/default_vectors --store-dtype float16": Run(data=True, check=writes("data/default_vectors/vectors.npy")),
}

MAIN_JOB = ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -e . && seqlab embed train "
            "--tokenize simple && seqlab similar government --vectors lee.bin -n 5 && seqlab analogy sydney australia "
            "afghanistan --vectors lee.bin -n 5")
BENCHMARK = "a benchmark: minutes of measurements against its anchor, most on a GPU; it prints figures, not a verdict"
EXCLUDED: dict[str, str] = {
    MAIN_JOB: "installs seqlab into a new virtual environment (network); test_main_job runs its seqlab part as written",
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -e '.[test]' && python -m pytest -q":
        "installs seqlab and runs this test suite: CI's .ci/run runs this very line (tests/test_readme.py)",
    "python benchmarks/rnn_kernels.py --device cuda": BENCHMARK,
    "python benchmarks/dqn_cartpole.py --device cpu --seeds 1 2 3": BENCHMARK,
    "python benchmarks/word2vec_vs_gensim.py --device cuda": BENCHMARK,
    "python benchmarks/word2vec_vs_gensim.py --max-words 3000000 --device cpu": BENCHMARK,
    "python benchmarks/glove_vs_reference.py --device cuda [--stanford-dir ~/GloVe]": BENCHMARK,
    "python benchmarks/bleu_speed.py --device cuda": BENCHMARK,
    "python benchmarks/fasttext_vs_gensim.py --corpus ../shared/data/corpus/wiki2015-text8style.xz": BENCHMARK,
    "python benchmarks/significance_speed.py --device cpu": BENCHMARK,
    "python benchmarks/seq2seq_multi30k.py --device cuda": BENCHMARK,
    "python benchmarks/sentiment_sst.py --device cuda": BENCHMARK,
    "python benchmarks/dqn_cartpole.py": BENCHMARK,
}


# --- running commands in-process -------------------------------------------------------------------------------

def split_command(command: str) -> tuple[list[str], bytes | Path | None]:
    """``seqlab ARGS`` and its standard input: the text of ``echo TEXT | seqlab ARGS``, the file of
    ``seqlab ARGS < FILE``, or None."""
    words = shlex.split(command)
    stdin: bytes | Path | None = None
    if "|" in words:
        bar = words.index("|")
        assert words[0] == "echo", f"only `echo ... | seqlab ...` pipes run here: {command!r}"
        stdin, words = (" ".join(words[1:bar]) + "\n").encode(), words[bar + 1:]
    if "<" in words:
        at = words.index("<")
        stdin, words = Path(words[at + 1]), words[:at] + words[at + 2:]
    assert words[0] == "seqlab", f"only seqlab commands run in-process here: {command!r}"
    return words, stdin


def invoke(command: str) -> Result:
    """One command (no ``&&``) through Click's test runner."""
    words, stdin = split_command(command)
    stdin = stdin.read_bytes() if isinstance(stdin, Path) else stdin
    return CliRunner().invoke(main, words[1:], input=stdin, prog_name="seqlab")


def explain(result: Result) -> str:
    bug = result.exception is not None and not isinstance(result.exception, SystemExit)
    trace = "".join(traceback.format_exception(*result.exc_info)) if bug and result.exc_info else ""
    return f"exit status {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}{trace}"


def run_line(line: str, status: int = 0) -> Result:
    """A command line of commands joined by ``&&``: each runs in turn and must exit with ``status``."""
    result = None
    for command in line.split(" && "):
        result = invoke(command)
        assert result.exit_code == status, f"`{command}` exited with {result.exit_code}, not {status}:\n" \
                                           f"{explain(result)}"
    assert result is not None
    return result


class Tour:
    """Runs README lines in the workspace, each once, after what it needs; remembers each one's failure."""

    def __init__(self) -> None:
        self.failed: dict[str, str | None] = {}  # line -> None when it passed, else the failure message

    def run(self, line: str) -> None:
        """Run ``line`` (a README line as its TOUR entry says, or a helper command as written)."""
        if line not in self.failed:
            self.failed[line] = self._run(line)
        if self.failed[line] is not None:
            pytest.fail(self.failed[line], pytrace=False)

    def _run(self, line: str) -> str | None:
        spec = TOUR.get(line, Run())
        if spec.data and not SHARED_DATA.is_dir():
            pytest.skip("../shared/data is absent (a fresh clone): this line reads it; CI runs it")
        for need in spec.needs:
            with contextlib.suppress(pytest.fail.Exception):
                self.run(need)
            if self.failed[need] is not None:
                return f"README line `{line}` reads what `{need}` makes, and that failed:\n{self.failed[need]}"
        command = spec.command or line
        name = f"README line `{line}`" + (f" (run as `{command}`: {spec.why})" if spec.command else "") + \
            (" [../shared/data: the tour's miniature]" if spec.data else "")
        try:
            if spec.interrupt:
                with interrupt_after(checkpoints=1):
                    result = invoke(spec.interrupt)
                assert result.exit_code == 130 and "continue with --resume" in result.stderr, \
                    f"interrupting `{spec.interrupt}` first:\n{explain(result)}"
            result = run_line(command, spec.status)
            if spec.check is not None:
                assert spec.check(result) is not False, f"unexpected output:\n{explain(result)}"
        except AssertionError as exc:
            return f"{name}:\n{exc}"
        except Exception:  # e.g. a file the workspace lacks: reported under the line, with its traceback
            return f"{name}:\n{traceback.format_exc()}"
        return None


def parse_as_written(line: str) -> None:
    """Parse ``line`` with its seqlab command's options, converting every value (flag names, choices, numbers),
    without running it: click.UsageError when the command would refuse it."""
    words, _ = split_command(line)
    command: click.Command | None = main
    context, at = None, 0
    while isinstance(command, click.Group):
        context = click.Context(command, info_name=words[at], parent=context)
        at += 1
        command = command.get_command(context, words[at])
        assert command is not None, f"no command {words[at]!r} in `{line}`"
    with command.make_context(words[at], words[at + 1:], parent=context):
        pass


# --- the workspace ---------------------------------------------------------------------------------------------

def _opener(path: Path) -> Callable:
    return gzip.open if path.suffix == ".gz" else lzma.open if path.suffix == ".xz" else open


def _head(path: Path, lines: int, step: int = 1) -> list[str]:
    """Every ``step``-th line of a text file (plain, .gz or .xz), up to ``lines`` of them, read lazily."""
    out = []
    with _opener(path)(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0:
                out.append(line)
                if len(out) == lines:
                    break
    return out


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _opener(path)(path, "wt", encoding="utf-8") as fh:
        fh.writelines(lines)


def make_miniature(source: Path, target: Path) -> None:
    """The files of ``../shared/data`` the README reads (or its configs do), cut short, same names and formats."""
    for split, size in (("train", 300), ("val", 40), ("test_2016_flickr", 8)):
        for lang in ("de", "en"):
            _write(target / f"multi30k/{split}.{lang}.gz", _head(source / f"multi30k/{split}.{lang}.gz", size))
    for kind in ("fine", "binary"):  # every 20th (10th) line: all classes, as in the whole file
        _write(target / f"sst/stsa.{kind}.train", _head(source / f"sst/stsa.{kind}.train", 300, step=20))
        for split in ("dev", "test"):
            _write(target / f"sst/stsa.{kind}.{split}", _head(source / f"sst/stsa.{kind}.{split}", 60, step=10))
    _write(target / "wordsim/EN-SIMLEX-999.txt", _head(source / "wordsim/EN-SIMLEX-999.txt", 999))
    for split in ("unsup", "train", "test"):
        name = f"sentiment-extra/imdb/imdb_{split}.tsv.xz"
        _write(target / name, _head(source / name, 61))  # the header and 60 reviews
    with lzma.open(source / "corpus/wiki2015-text8style.xz", "rt", encoding="utf-8") as fh:
        text = fh.read(300_000)
    _write(target / "corpus/wiki2015-text8style.xz", [text[:text.rindex(" ")]])


HYPOTHESES = ["The cat sat on the mat.\n", "A dog barked at the postman this morning.\n",
              "It is raining again in the north of the country.\n", "She reads two books a week.\n"]
REFERENCES = ["The cat sat on a mat.\n", "This morning a dog barked at the postman.\n",
              "It rains again in the north of the country.\n", "She reads two books every week.\n"]
DATES = ["3 may 1979\n", "March 14, 2021\n", "12/25/1999\n", "tuesday 4 july 1976\n", "1 jan 2000\n"]
REVIEWS = ["a gorgeous , witty , seductive movie .\n", "the plot is nothing but boilerplate clichés .\n",
           "not good at all\n", "an enjoyable , if slight , comedy .\n"]
STARS = [(0, "a dull , lifeless film ."), (1, "a joy to watch ."), (0, "the worst of the year ."),
         (1, "moving and funny .")]


def make_workspace(repo: Path) -> None:
    """Every file the README's commands name, in ``repo`` (the tour's current directory), and the miniature
    ``../shared/data`` when the real one is there."""
    from gensim.test.utils import datapath

    shutil.copytree(ROOT / "configs", repo / "configs")
    news = Path(datapath("lee_background.cor")).read_text(encoding="utf-8").splitlines(keepends=True)
    words = [" ".join(re.findall(r"[a-z0-9]+", line.lower())) + "\n" for line in news]  # Lee's 60k words
    _write(repo / "corpus.txt", words)
    _write(repo / "corpus.txt.xz", words)
    _write(repo / "raw_news.txt.gz", news[:100])
    _write(repo / "hyp.txt", HYPOTHESES)
    _write(repo / "ref.txt", REFERENCES)
    _write(repo / "ref1.txt", REFERENCES)
    _write(repo / "ref2.txt", [line.replace("The ", "A ") for line in REFERENCES])
    _write(repo / "base.txt", HYPOTHESES)  # the systems that seqlab bleu -i compares
    _write(repo / "new.txt", REFERENCES[:2] + HYPOTHESES[2:])
    _write(repo / "other.txt", [line.replace("the ", "") for line in HYPOTHESES])
    _write(repo / "dates.txt", DATES)
    _write(repo / "prefixes.txt", ["\n", "\n", "\n", "1776\n", "\n"])  # target prefixes of dates.txt's lines
    _write(repo / "reviews.txt", REVIEWS)
    _write(repo / "reviews.csv", ["stars,review\n", *(f'{stars},"{text}"\n' for stars, text in STARS)])
    rng = np.random.default_rng(0)  # glove.6B.100d.txt's format: word and 100 numbers a line, no header
    vocabulary = sorted({word for line in words[:60] for word in line.split()})
    _write(repo / "glove.6B.100d.txt", [f"{word} {' '.join(f'{v:.4f}' for v in rng.normal(0, 0.3, 100))}\n"
                                        for word in vocabulary])
    shutil.copytree(ROOT / "tests/fixtures/release_0_1/seq2seq_dates", repo / "runs/old_model")  # model.pt
    (repo / "data").mkdir()
    _images(repo)
    if SHARED_DATA.is_dir():
        mini = repo.parent / "shared" / "data"
        make_miniature(SHARED_DATA, mini)
        for lang in ("de", "en"):
            _write(repo / f"test.{lang}", _head(mini / f"multi30k/test_2016_flickr.{lang}.gz", 8))


def _images(repo: Path) -> None:
    """content.jpg and style.jpg (small pictures), and vgg16-397923af.pth: VGG-16's convolutional layers with
    random weights, in torchvision's state-dict format."""
    import torch
    from PIL import Image

    from seqlab.vision.architectures.vgg import CONFIGS, make_features

    y, x = np.mgrid[0:48, 0:64]
    Image.fromarray(np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.uint8)).save(repo / "content.jpg")
    Image.fromarray(((np.sin(x / 3) * np.cos(y / 2) + 1) * 120).astype(np.uint8)).convert("RGB").save(
        repo / "style.jpg")
    torch.manual_seed(0)
    features = make_features(CONFIGS["D"]).state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, repo / "vgg16-397923af.pth")


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> Iterator[Tour]:
    """A checkout-like workspace as the current directory (restored after): ``configs/``, every file the
    README names, and ``../shared/data`` as a miniature of the real one."""
    repo = tmp_path_factory.mktemp("tour") / "repo"
    repo.mkdir()
    make_workspace(repo)
    cwd, threads = os.getcwd(), os.environ.get("OMP_NUM_THREADS")
    os.chdir(repo)
    try:
        yield Tour()
    finally:
        os.chdir(cwd)
        (repo / "vgg16-397923af.pth").unlink()  # 59 MB; pytest keeps the last runs' directories
        if threads is None:  # --threads N sets it for the process
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = threads


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every command here computes on one torch thread (see conftest.one_thread)."""


# --- the tests -------------------------------------------------------------------------------------------------

def test_every_readme_command_has_a_tour_entry():
    commands = readme()
    assert not set(TOUR) & set(EXCLUDED), "a line is both in TOUR and in EXCLUDED"
    missing = [f"  README.md line {number}: {command}" for command, number in commands.items()
               if command not in TOUR and command not in EXCLUDED]
    stale = [f"  {line}" for line in [*TOUR, *EXCLUDED] if line not in commands]
    assert not missing and not stale, (
        "README commands without a tour entry: add each to TOUR (how it runs) or EXCLUDED (why it cannot run) in "
        "tests/test_readme_tour.py, keyed by the line without its comment:\n" + "\n".join(missing or ["  (none)"])
        + "\ntour entries of lines no longer in the README (update or remove them):\n"
        + "\n".join(stale or ["  (none)"]))
    runnable = [command for command in commands if command in TOUR]
    assert list(TOUR) == runnable, "keep TOUR in README order"


def test_the_parser_takes_shell_lines_and_leaves_python_alone():
    text = ("Text `seqlab x` inline.\n\n    seqlab a --b 'c # d'   # a comment\n    from seqlab import x\n"
            "    seqlab/   the library\n    python benchmarks/x.py --n 3\n\n```python\nseqlab_run('x')  # no\n```\n"
            "```console\n$ seqlab c  # out\n```\n```sh\necho \"1 may\" | seqlab translate\ntorchrun --nproc-per-node 2 "
            "-m seqlab.x\n```\n")
    assert [(command, comment) for _, command, comment in readme_commands(text)] == [
        ("seqlab a --b 'c # d'", "a comment"), ("python benchmarks/x.py --n 3", ""), ("seqlab c", "out"),
        ('echo "1 may" | seqlab translate', ""), ("torchrun --nproc-per-node 2 -m seqlab.x", "")]


def test_rewrites_say_why_and_keep_the_command():
    for line, spec in TOUR.items():
        if spec.command:
            assert spec.why, f"say why `{line}` runs rewritten"
            assert spec.command != line and shlex.split(spec.command)[:3] == shlex.split(line)[:3], line


def short(line: str) -> str:
    """A test id: the line, cut at 90 characters."""
    return line if len(line) <= 90 else line[:87] + "..."


REWRITTEN = [line for line, spec in TOUR.items() if spec.command]


@pytest.mark.parametrize("line", REWRITTEN, ids=map(short, REWRITTEN))
def test_a_rewritten_line_parses_as_written(line, tour):
    """What a rewrite changes still parses as the README writes it: every flag exists and takes its value."""
    parse_as_written(line)


@pytest.mark.parametrize("line", list(TOUR), ids=map(short, TOUR))
def test_readme_line(line, tour):
    tour.run(line)


def test_main_job(tour):
    """The seqlab part of the README's first set-up line, as written: word2vec on the Lee corpus into lee.bin,
    then nearest neighbours and an analogy, whose five answers each are words (``--tokenize simple``)."""
    seqlab_part = [command for command in MAIN_JOB.split(" && ") if command.startswith("seqlab ")]
    assert len(seqlab_part) == 3
    results = [run_line(command) for command in seqlab_part]
    assert Path("lee.bin").exists()
    for result in results[1:]:
        words = first_words(result)
        # words, not punctuation: letters, with the inner apostrophes --tokenize simple keeps ("country's")
        assert len(words) == 5 and all(re.fullmatch(r"[a-z]+(?:'[a-z]+)*", word) for word in words), result.stdout


def test_excluded_benchmarks_exist_and_take_their_flags():
    """A benchmark line is not run, but its script exists and declares every flag the README gives it."""
    for line in EXCLUDED:
        if line.startswith("python benchmarks/"):
            words = shlex.split(line)
            source = (ROOT / words[1]).read_text(encoding="utf-8")
            for flag in (word.strip("[]") for word in words[2:] if word.lstrip("[").startswith("--")):
                assert f'"{flag}"' in source or f"'{flag}'" in source, f"{words[1]} has no {flag}: `{line}`"
