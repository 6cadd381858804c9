"""The three commands seqlab promises its users, exactly as written: `seqlab embed train corpus.txt`,
`seqlab analogy king man woman` and `seqlab translate --beam 5` (a date on stdin)."""

from __future__ import annotations

import shlex

from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.embeddings.keyed_vectors import KeyedVectors

TEXT = "the king and the queen rode to the castle .\nthe man and the woman walked to the market .\n" * 60


def run(command: str, input: str | None = None):
    args = shlex.split(command)
    assert args[0] == "seqlab"
    return CliRunner().invoke(main, args[1:], input=input)


def test_embed_train_corpus_txt_with_no_other_flag(tmp_path, monkeypatch, one_thread):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus.txt").write_text(TEXT)
    result = run("seqlab embed train corpus.txt")
    assert result.exit_code == 0, result.output
    assert "writing the vectors to corpus.bin" in result.stderr and "seqlab similar WORD --vectors corpus.bin" in \
        result.stderr
    kv = KeyedVectors.load(tmp_path / "corpus.bin")
    assert "king" in kv and (tmp_path / "corpus.bin.toml").exists()
    result = run("seqlab embed train corpus.txt")  # a second run says it replaces the first one's file
    assert result.exit_code == 0 and "corpus.bin exists and will be replaced" in result.stderr


def test_analogy_king_man_woman():
    result = run("seqlab analogy king man woman")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split("\t")[0] == "queen"


def test_translate_beam_5():
    result = run("seqlab translate --beam 5", input="3 may 1979\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1979-05-03\n"
