"""The one tokeniser of training, evaluation, prediction and pretraining: user text comes out as SST writes
it, and SST's own (already tokenised) lines come out unchanged."""

from __future__ import annotations

import pytest

from seqlab.sentiment.data import tokenize

# Lines of stsa.binary.{train,dev,test} that are not fixed points, all for one reason: a sentence that ends
# in a one-letter word and a dot ("... jason x.", "... ll cool j.", "... to a t."). SST (the PTB tokeniser)
# kept the dot on the letter there, reading it as an initial, and wrote no sentence-final "."; the
# tokeniser splits that dot off, so that user text ending in "so did i." gives "i ." rather than an unknown
# word "i.". In the middle of a line ("j. lo") a letter keeps its dot, as in SST.
NOT_FIXED = {("train", 273), ("train", 706), ("train", 4004), ("train", 4897), ("train", 5068)}


@pytest.mark.parametrize(("text", "tokens"), [
    ("The writer/director (and star) said \"wow\"", ["the", "writer\\/director", "-lrb-", "and", "star", "-rrb-",
                                                     "said", "``", "wow", "''"]),
    ("Isn't it GREAT? I can't; I cannot!", ["is", "n't", "it", "great", "?", "i", "ca", "n't", ";", "i", "can",
                                            "not", "!"]),
    ("“Fun” film, it’s the 'best' [sic]…", ["``", "fun", "''", "film", ",", "it", "'s", "the", "`", "best", "'",
                                           "-lrb-", "sic", "-rrb-", "..."]),
    ("Mr. Smith said \"a cliché... vs. E.T. -- the '70s\" No. 5, and I said no.",
     ["mr.", "smith", "said", "``", "a", "cliché", "...", "vs.", "e.t.", "--", "the", "'70s", "''", "no.", "5",
      ",", "and", "i", "said", "no", "."]),
    ("3.5 stars *** of 1/2 -- rock 'n' roll, 2,500 screens, s&m, etc. — ok?!",
     ["3.5", "stars", "\\*\\*\\*", "of", "1\\/2", "--", "rock", "'n'", "roll", ",", "2,500", "screens", ",", "s&m",
      ",", "etc.", "--", "ok", "?!"]),
    ("It was bad. Really bad.", ["it", "was", "bad", ".", "really", "bad", "."]),
])
def test_user_text_becomes_sst_tokens(text, tokens):
    assert tokenize(text) == tokens
    assert tokenize(" ".join(tokens)) == tokens  # its own output is a fixed point


def test_case_is_kept_when_asked():
    assert tokenize("Isn't it (GREAT)?", lowercase=False) == ["Is", "n't", "it", "-lrb-", "GREAT", "-rrb-", "?"]


def test_sst_escapes_are_not_escaped_again():
    line = "a writer\\/director 's \\*\\*\\* -lrb- `` quoted '' -rrb- and\\/or \\/ ` single ' ."
    assert tokenize(line) == line.split()


@pytest.mark.data
def test_every_sst_line_is_a_fixed_point_but_five(shared_data):
    changed = set()
    for split in ("train", "dev", "test"):
        with open(shared_data / "sst" / f"stsa.binary.{split}", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                text = line.split(" ", 1)[1]
                if tokenize(text) != text.split():
                    changed.add((split, number))
                    assert text.split()[-1][-1] == "." and len(text.split()[-1]) == 2, (split, number, text)
    assert changed == NOT_FIXED
