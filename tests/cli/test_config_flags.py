"""The dedicated options of embed/glove train are generated from the config declarations: every flagged
field has its option, with the declared help and the dataclass default, so the two cannot drift."""

from __future__ import annotations

import dataclasses

import click
import pytest

from seqlab.cli.embed import train as embed_train
from seqlab.cli.glove import train as glove_train
from seqlab.embeddings.glove import GloveConfig
from seqlab.embeddings.word2vec import Word2VecConfig


@pytest.mark.parametrize("command,cls", [(embed_train, Word2VecConfig), (glove_train, GloveConfig)])
def test_every_flagged_field_is_an_option_with_its_declared_help_and_default(command, cls):
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    flagged = [f for f in dataclasses.fields(cls) if f.metadata.get("flag")]
    assert len(flagged) >= 12
    for field in flagged:
        option = options[field.name]
        assert option.default is None  # not given: the TOML file's value, else the dataclass default, stands
        assert option.help.startswith(field.metadata["help"])
        if not isinstance(field.default, bool):
            shown = f"{field.default:g}" if isinstance(field.default, float) else str(field.default)
            assert option.help.endswith(f"[default: {shown}]")
        if field.metadata.get("choices"):
            assert tuple(option.type.choices) == field.metadata["choices"]
    # the flags that were hand-written before are all still there
    names = {o for p in command.params for o in getattr(p, "opts", [])}
    assert {"--dim", "--window", "--min-count", "--max-vocab", "--epochs", "--seed", "--lowercase", "--batch-size",
            "--checkpoint-minutes", "--checkpoint", "--resume", "--store-dtype", "--config", "-o"} <= names


def test_glove_help_quotes_the_batch_the_code_uses():
    """cli/glove.py said 512 while glove.py used 4096: one declaration now says both."""
    option = next(p for p in glove_train.params if p.name == "batch_size")
    assert "0: 4096 on CPU, 16384 on GPU" in option.help
    assert GloveConfig().batch_for(__import__("torch").device("cpu")) == 4096
