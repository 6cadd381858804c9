"""``seqlab embed phrases``: join the collocations of a corpus (new york -> new_york), as gensim's Phrases does."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from seqlab.cli.common import config_flags, handle_errors, json_option, quiet_option
from seqlab.config import build_config
from seqlab.errors import ConfigError
from seqlab.io import check_writable
from seqlab.text.corpus import Corpus
from seqlab.text.phrases import Phrases, PhrasesConfig


@click.command("phrases")
@click.argument("corpus", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Corpus to write: one sentence a line, the words of each phrase joined by --delimiter.")
@config_flags(PhrasesConfig)
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=str),
              help="Also write the phrases found here, 'phrase<TAB>score' lines, best first.")
@quiet_option
@json_option
@handle_errors
def phrases_command(corpus: str, output: str, export_path: str | None, quiet: bool, as_json: bool,
                    **settings) -> None:
    """Join the bigrams of CORPUS that score above --threshold (Mikolov et al. 2013, as gensim's Phrases) into OUTPUT.

    CORPUS is text, .gz, .bz2 or .xz, one sentence a line or text8-style (- reads stdin); lines longer
    than 10,000 words are cut into lines of that many, as gensim's LineSentence cuts them. Run the command
    on its own OUTPUT to find phrases of three and four words.
    """
    cfg = build_config(PhrasesConfig, None, section="phrases", **settings)
    if any(c.isspace() for c in cfg.delimiter):
        raise ConfigError(f"--delimiter {cfg.delimiter!r} holds whitespace, which separates the words of OUTPUT")
    if export_path is not None and Path(export_path).resolve() == Path(output).resolve():
        raise ConfigError(f"--export {export_path} is the output corpus too; give another file")
    start = time.perf_counter()
    with Corpus("/dev/stdin" if corpus == "-" else corpus, cfg.lowercase, cfg.max_sentence_length,
                cfg.tokenize) as sentences:
        for path in (output, export_path):  # before the work, not after it
            if path is not None:
                check_writable(path)
        phrases = Phrases(sentences, config=cfg, quiet=quiet)
        stats = phrases.transform_file(sentences, output, quiet=quiet)
    found = phrases.write_phrases(export_path) if export_path else len(phrases.export_phrases())
    summary = {"output": output, "corpus": corpus, "phrases": found, **stats, "export": export_path,
               "seconds": round(time.perf_counter() - start, 2)}
    click.echo(json.dumps(summary) if as_json else
               f"found {found:,} phrases, joined {stats['joined']:,} times: wrote {stats['tokens_written']:,} tokens "
               f"({stats['tokens_read']:,} read) in {stats['sentences']:,} lines to {output}"
               + (f", the phrases to {export_path}" if export_path else ""))
