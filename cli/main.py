"""The ``seqlab`` entry point: one Click group with a sub-group or command per pipeline.

The tree is named here, with each command's one-line summary, and a command's module is imported only
when that command runs or shows its own help: ``seqlab --help``, ``seqlab GROUP --help`` and
``seqlab --version`` import neither torch, scikit-learn, gensim nor sacrebleu.
``tests/cli/test_startup.py`` checks that and that each summary is its command's own.
"""

from __future__ import annotations

import importlib

import click

from seqlab import __version__


class LazyGroup(click.Group):
    """A group whose commands are ``name -> ("module:attribute", one-line summary)`` and are imported on
    first use; ``--help`` lists the summaries without importing anything."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            module, _, attribute = self.lazy[name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return self.commands.get(name)

    def summary(self, name: str) -> click.Command:
        """The command ``name`` if it is loaded, else a stand-in that carries only its summary."""
        return self.commands.get(name) or click.Command(name, help=self.lazy[name][1])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [name for name in self.list_commands(ctx) if not self.summary(name).hidden]
        if names:
            limit = formatter.width - 6 - max(map(len, names))
            with formatter.section("Commands"):
                formatter.write_dl([(name, self.summary(name).get_short_help_str(limit)) for name in names])


def group(name: str, help: str, lazy: dict[str, tuple[str, str]]) -> LazyGroup:
    return LazyGroup(name, help=help, lazy=lazy)


embed = group("embed", "Train, store and evaluate word embeddings.", {
    "bias": ("seqlab.cli.embed_bias:bias_command",
             'Print DirectBias, projections, "she - he" analogy pairs, WEAT and the clustering test for VECTORS.'),
    "eval": ("seqlab.cli.embed_eval:eval_command",
             "Evaluate VECTORS on word analogies (accuracy) and word-pair similarity (Spearman, Pearson)."),
    "phrases": ("seqlab.cli.embed_phrases:phrases_command",
                "Join the bigrams of CORPUS that score above --threshold (Mikolov et al. 2013, as gensim's Phrases) "
                "into OUTPUT."),
    "plot": ("seqlab.cli.embed_plot:plot_command",
             "Draw a labelled 2-D map of some words of VECTORS (--words w1,w2,... or --top N)."),
    "plot-bias": ("seqlab.cli.embed_plot:plot_bias_command",
                  "Draw each word's projection on the gender direction of VECTORS, before and after debiasing."),
    "train": ("seqlab.cli.embed:train",
              "Train word2vec on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style; - reads stdin)."),
})
glove = group("glove", "Train GloVe word vectors from co-occurrence counts.", {
    "train": ("seqlab.cli.glove:train",
              "Train GloVe on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style)."),
})
seq2seq = group("seq2seq", "Encoder-decoder translation with attention: train, evaluate, analyse errors.", {
    "analyze": ("seqlab.cli.seq2seq:analyze_command",
                "Is each error the search's fault (the model prefers the reference) or the model's?"),
    "average": ("seqlab.cli.seq2seq:average_command",
                "Average the weights of MODELS (model directories, model files or last.safetensors checkpoints of "
                "one model) into one model."),
    "eval": ("seqlab.cli.seq2seq:eval_command",
             "BLEU (sacrebleu-exact, with its signature) and exact match of a model's translations."),
    "train": ("seqlab.cli.seq2seq:train_command",
              "Train a model with the settings of --config (flags override them); the best model goes to OUTPUT."),
})
sentiment = group(
    "sentiment",
    "Sentence sentiment: averaged embeddings (NBoW/DAN) and many-to-one RNNs; train, evaluate, predict.", {
        "eval": ("seqlab.cli.sentiment:eval_command",
                 "Accuracy, macro-F1, confusion matrix and per-class report of MODEL on labelled DATA."),
        "predict": ("seqlab.cli.sentiment:predict_command",
                    "Label each TEXT (or each line of stdin when no text is given) with its class and probabilities."),
        "pretrain": ("seqlab.cli.sentiment:pretrain_command",
                     "Write the IMDB reviews in IMDB_DIR (imdb_{unsup,train,test}.tsv.xz) as a tokenised word2vec "
                     "corpus, and with --vectors / --encoder train in-domain vectors and a pretrained encoder on it."),
        "train": ("seqlab.cli.sentiment:train_command",
                  "Train a classifier with the settings of --config (flags override them); the best model goes to "
                  "OUTPUT."),
    })
vision = group("vision", "CNN classifiers on digits, one-shot verification, neural style transfer.", {
    "oneshot": ("seqlab.cli.vision:oneshot_command",
                'Siamese one-shot verification: "same digit?" accuracy on digits never seen in training.'),
    "style": ("seqlab.cli.vision:style_command",
              "Gatys style transfer: CONTENT painted in the style of STYLE (default: scikit-learn's china.jpg in the "
              "style of flower.jpg)."),
    "train": ("seqlab.cli.vision:train_command",
              "Train a classifier on scikit-learn's digits; prints the best model's test accuracy."),
})
generative = group(
    "generative",
    "Autoencoders, VAEs and GANs on images (scikit-learn's digits by default): train, sample, evaluate.", {
        "eval": ("seqlab.cli.generative:eval_command",
                 "Samples vs held-out test images: MMD on pixels and classifier features, confidently classified "
                 "share; the same for uniform noise as a reference."),
        "sample": ("seqlab.cli.generative:sample_command",
                   "Draw N images from a trained model into a PNG grid (or a .npy array of shape (N, C, H, W))."),
        "train": ("seqlab.cli.generative:train_command",
                  "Train the model of --config (flags override it); the best model goes to "
                  "OUTPUT/model.safetensors."),
    })
rl = group("rl", "Reinforcement learning: tabular Q-learning on a grid world, DQN on CartPole.", {
    "eval": ("seqlab.cli.rl:eval_command", "Average return of a saved DQN's greedy policy over EPISODES episodes."),
    "train": ("seqlab.cli.rl:train_command",
              "Train the agent of --config and report how good its greedy policy is."),
})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, lazy={
    "analogy": ("seqlab.cli.query:analogy",
                "Print the words nearest to A - B + C (king man woman -> queen), best first."),
    "bleu": ("seqlab.cli.bleu:bleu",
             "BLEU of HYPOTHESIS (a file, or - for stdin) against one or more REFERENCES files, line by line."),
    "convert": ("seqlab.cli.convert:convert",
                "Convert the seqlab 0.1 file PATH (model.pt, last.pt, encoder.pt, OUTPUT.ckpt, a .cooc matrix), or "
                "every such file of the model directory PATH, to seqlab's safe format (safetensors); with -o, word "
                "vectors."),
    "debias": ("seqlab.cli.debias:debias",
               "Debias VECTORS and write them to OUTPUT (unit-length vectors); print what changed."),
    "similar": ("seqlab.cli.query:similar", "Print the words nearest to WORD by cosine similarity, best first."),
    "translate": ("seqlab.cli.seq2seq:translate",
                  "Translate lines from --input or stdin, one output line per input line."),
})
@click.version_option(__version__, prog_name="seqlab")
def main() -> None:
    """seqlab: classic NLP sequence models, faithful to their papers, on CPU and GPU."""


for _group in (embed, glove, seq2seq, sentiment, vision, generative, rl):
    main.add_command(_group)


if __name__ == "__main__":  # pragma: no cover
    main()
