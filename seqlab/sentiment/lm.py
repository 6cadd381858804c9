"""Language-model pretraining of the sentiment encoder (Dai & Le 2015; the biLM of Peters et al. 2018).

A BiLSTM trained on the 8.5k SST sentences alone sees little text. Here its recurrent layer is
first trained as a bidirectional language model on in-domain text (the IMDB reviews, labels
unused): the forward direction's output at word t predicts word t+1 and the backward direction's
output predicts word t-1 (Peters et al. 2018, sec. 3.1; neither direction has seen the word it
predicts), with one adaptive softmax (Grave et al. 2017; ``torch.nn.AdaptiveLogSoftmaxWithLoss``)
over the vocabulary serving both. The input embeddings are the pretrained word vectors, kept
fixed. The classifier then starts from these weights (``encoder = DIR`` in its config) and is
fine-tuned on SST as usual (Dai & Le 2015's LM-LSTM).

    python -m seqlab.sentiment.pretrain ../shared/data/sentiment-extra/imdb -o imdb.txt \\
        --vectors imdb_vectors --encoder imdb_encoder
    seqlab sentiment train --config configs/sst5_bilstm.toml --set encoder=imdb_encoder -o runs/x

Training reads sentences (the corpus split at ``.``, ``!`` and ``?``) in a seeded shuffled order,
bucketed by length, for ``tokens`` words (passing over the corpus again if it is shorter),
checkpoints atomically every few minutes and resumes exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqlab.config import learning_rate_check, require
from seqlab.device import make_generator, resolve_device
from seqlab.distributed import refuse_multiprocess
from seqlab.errors import ConfigError, DataError
from seqlab.io import claim_output, load_model_dir, open_text, save_model_dir
from seqlab.rnn import RNN
from seqlab.rnn.cells import CELL_NAMES
from seqlab.sentiment.data import PAD, PAD_WORD, UNK, UNK_WORD, load_vectors, pad_batch
from seqlab.training import Block, BudgetLoop, discard_checkpoint, last_checkpoint, load_training_state

ENCODER_KIND = "sentiment-encoder"
ENCODER_FILE = "encoder.safetensors"
LAST_FILE = "last.safetensors"
STATE_KIND = "sentiment-encoder-training"
SENTENCE_END = frozenset({".", "!", "?"})


@dataclass(frozen=True)
class LMConfig:
    """The encoder's shape (it must match the classifier's) and the pretraining run."""

    cell: str = "lstm"
    hidden_size: int = 150
    num_layers: int = 1
    dropout: float = 0.1
    min_len: int = 4  # sentences shorter or longer than this (in words) are skipped
    max_len: int = 60
    tokens: int = 6_000_000  # words to train on (seeded shuffles of the sentences, as many passes as needed)
    batch_size: int = 128
    lr: float = 1e-3
    clip_norm: float = 1.0
    cutoffs: tuple[int, ...] = (2000, 10000, 40000)  # adaptive softmax clusters (words sorted by frequency)
    seed: int = 1
    checkpoint_minutes: float = 5.0

    def validate(self) -> None:
        if self.cell not in CELL_NAMES:
            raise ConfigError(f"cell must be one of {', '.join(CELL_NAMES)}, got {self.cell!r}")
        if min(self.hidden_size, self.num_layers, self.batch_size, self.tokens) < 1 or self.min_len < 2:
            raise ConfigError("hidden_size, num_layers, batch_size and tokens must be >= 1 and min_len >= 2")
        if self.max_len < self.min_len:
            raise ConfigError(f"max_len ({self.max_len}) is below min_len ({self.min_len})")
        require(learning_rate_check(self.lr))


def split_sentences(tokens: Sequence[str]) -> list[list[str]]:
    """Cut a tokenised text after each ``.``, ``!`` or ``?`` (kept with its sentence)."""
    out, current = [], []
    for token in tokens:
        current.append(token)
        if token in SENTENCE_END:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def read_sentences(corpus: str | os.PathLike, index: dict[str, int], min_len: int, max_len: int) -> list[Tensor]:
    """The corpus (tokenised text, one document a line) as id tensors, one per sentence of
    ``min_len..max_len`` words; words outside ``index`` are UNK."""
    out = []
    with open_text(corpus) as fh:
        for line in fh:
            for sentence in split_sentences(line.split()):
                if min_len <= len(sentence) <= max_len:
                    out.append(torch.tensor([index.get(w, UNK) for w in sentence], dtype=torch.int32))
    if not out:
        raise DataError(f"{corpus}: no sentences of {min_len}-{max_len} words")
    return out


def batch_order(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of sentence indices of similar length: shuffle, sort pools of 50 batches by
    length, cut them into batches and shuffle the batches."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class BiLM(nn.Module):
    """Fixed embeddings -> bidirectional RNN -> one adaptive softmax for both directions."""

    def __init__(self, embeddings: Tensor, cfg: LMConfig) -> None:
        super().__init__()
        vocab, dim = embeddings.shape
        self.embedding = nn.Embedding.from_pretrained(embeddings, freeze=True, padding_idx=PAD)
        self.rnn = RNN(cfg.cell, dim, cfg.hidden_size, num_layers=cfg.num_layers, bidirectional=True,
                       dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(cfg.dropout)
        cutoffs = [c for c in cfg.cutoffs if c < vocab - 1] or [max(1, (vocab - 1) // 2)]
        self.softmax = nn.AdaptiveLogSoftmaxWithLoss(cfg.hidden_size, vocab, cutoffs, div_value=4.0)
        self.hidden_size = cfg.hidden_size

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, int]:
        """(sum of -log p over the predicted words, their number); UNK is never a target."""
        out, _ = self.rnn(self.dropout(self.embedding(ids)), lengths=lengths.cpu())
        out = self.dropout(out)
        h = self.hidden_size
        steps = ids.shape[1] - 1
        pairs = torch.arange(steps, device=ids.device)[None, :] < (lengths.to(ids.device) - 1)[:, None]
        after, before = ids[:, 1:], ids[:, :-1]
        fwd_mask, bwd_mask = pairs & (after != UNK), pairs & (before != UNK)
        hidden = torch.cat([out[:, :-1, :h][fwd_mask], out[:, 1:, h:][bwd_mask]])
        target = torch.cat([after[fwd_mask], before[bwd_mask]]).long()
        if target.numel() == 0:
            return out.sum() * 0.0, 0
        return -self.softmax(hidden, target).output.sum(), int(target.numel())


def pretrain_encoder(corpus: str | os.PathLike, vectors: str, output: str | os.PathLike, cfg: LMConfig | None = None,
                     device: torch.device | str = "auto", resume: bool = False, quiet: bool = False,
                     log: Callable[[str], None] | None = None) -> dict:
    """Train the biLM on ``corpus`` over ``vectors`` and save the encoder in directory ``output``.

    The training runs in a :class:`~seqlab.training.BudgetLoop` of ``cfg.tokens`` tokens, one block a
    batch. A checkpoint ``output/last.safetensors`` is written every ``checkpoint_minutes``; with ``resume``
    a run continues exactly from it (or from a seqlab 0.1 ``last.pt``; none is a DataError), without it
    a new run replaces it. Returns a summary (sentences, tokens, final perplexity).
    """
    refuse_multiprocess("the biLM pretraining", "its batches are not split between processes; sentiment train's are")
    cfg = cfg or LMConfig()
    cfg.validate()
    log = log or (lambda message: None)
    device = resolve_device(device)
    with claim_output(output, directory=True) as out:
        last = last_checkpoint(out, directory=True)
        state = load_training_state(last, STATE_KIND, "sentiment encoder") if resume else None  # before the reading
        known, matrix = load_vectors(vectors)
        words = [PAD_WORD, UNK_WORD, *(w for w in known if w not in (PAD_WORD, UNK_WORD))]
        index = {w: i for i, w in enumerate(words)}
        rows = {w: i for i, w in enumerate(known)}
        table = torch.zeros(len(words), matrix.shape[1])
        table[2:] = torch.as_tensor(matrix[[rows[w] for w in words[2:]]], dtype=torch.float32)
        sentences = read_sentences(corpus, index, cfg.min_len, cfg.max_len)
        log(f"{len(sentences):,} sentences of {cfg.min_len}-{cfg.max_len} words, {len(words):,} words")
        torch.manual_seed(cfg.seed)
        model = BiLM(table, cfg).to(device)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=cfg.lr)
        run = _Pretraining(model, optimizer, sentences, words, cfg, device)
        if state is not None:
            if state["config"] != dataclasses.asdict(cfg) or state["words"] != words:
                raise DataError(f"{last}: a checkpoint of another pretraining run (settings or vectors differ)")
            run.load_state_dict(state)
            log(f"resumed at {run.tokens:,} tokens")
        loop = BudgetLoop(cfg.tokens, "biLM", "tok", done=run.tokens, quiet=quiet, checkpoint=last,
                          minutes=cfg.checkpoint_minutes)
        model.train()
        perplexity = loop.run(run.blocks(), run.state_dict, params, params)
        summary = {"sentences": len(sentences), "tokens": run.tokens, "passes": run.passes(),
                   "vocabulary": len(words), "perplexity": perplexity}
        rnn = {k: v.detach().cpu() for k, v in model.rnn.state_dict().items()}
        save_model_dir(out, {"kind": ENCODER_KIND, "words": words, "embedding": table, "rnn": rnn,
                             "config": dataclasses.asdict(cfg), "summary": summary}, ENCODER_FILE)
        discard_checkpoint(last)
        return summary


class _Pretraining:
    """The position of a pretraining run (pass over the sentences, batch within it, tokens done), its
    batches, one optimiser step each, and its checkpoint state."""

    def __init__(self, model: BiLM, optimizer: torch.optim.Optimizer, sentences: list[Tensor], words: list[str],
                 cfg: LMConfig, device: torch.device) -> None:
        self.model, self.optimizer, self.sentences, self.words = model, optimizer, sentences, words
        self.cfg, self.device = cfg, device
        self.lengths = [len(s) for s in sentences]
        self.epoch, self.position, self.tokens = 0, 0, 0
        self.batches = self.order(0)

    def order(self, epoch: int) -> list[list[int]]:
        """Each pass over the sentences has its own seeded order."""
        generator = make_generator(self.cfg.seed * 1_000_003 + epoch, torch.device("cpu"))
        return batch_order(self.lengths, self.cfg.batch_size, generator)

    def passes(self) -> float:
        return self.epoch + self.position / len(self.batches)

    def state_dict(self) -> dict:
        return {"kind": STATE_KIND, "config": dataclasses.asdict(self.cfg), "words": self.words,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                "position": self.position, "tokens": self.tokens, "torch_rng": torch.get_rng_state()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.position, self.tokens = state["epoch"], state["position"], state["tokens"]
        self.batches = self.order(self.epoch)
        torch.set_rng_state(state["torch_rng"])

    def blocks(self) -> Generator[Block, None, float | None]:
        """One Adam step a batch until ``cfg.tokens`` tokens are done; returns the perplexity of the last
        (up to 20) batches. The loss read off the device at every step is the one the step already needed."""
        cfg, device = self.cfg, self.device
        params = [p for p in self.model.parameters() if p.requires_grad]
        loss_sum, loss_count = 0.0, 0
        while self.tokens < cfg.tokens:
            if self.position == len(self.batches):
                self.epoch, self.position = self.epoch + 1, 0
                self.batches = self.order(self.epoch)
            ids, lengths = pad_batch([self.sentences[i] for i in self.batches[self.position]], device)
            loss, count = self.model(ids, lengths)
            self.optimizer.zero_grad(set_to_none=True)
            (loss / max(1, count)).backward()
            nn.utils.clip_grad_norm_(params, cfg.clip_norm)
            self.optimizer.step()
            self.position += 1
            self.tokens += int(lengths.sum())
            loss_sum, loss_count = loss_sum + float(loss.detach()), loss_count + count
            checked, shown = loss_sum, {}
            if self.position % 20 == 0:
                shown = {"ppl": math.exp(min(50.0, loss_sum / max(1, loss_count)))}
                loss_sum, loss_count = 0.0, 0
            yield Block(self.tokens, f"after {self.tokens:,} tokens", {"loss": checked}, shown)
        return math.exp(min(50.0, loss_sum / loss_count)) if loss_count else None


def load_encoder(path: str | os.PathLike) -> dict:
    """A pretrained encoder directory (or its encoder file): words, embedding (V, D), rnn state, config."""
    _, state = load_model_dir(path, ENCODER_KIND, "sentiment encoder", ENCODER_FILE)
    return state


def check_encoder_fits(state: dict, cell: str, emb_dim: int, hidden_size: int, num_layers: int,
                       bidirectional: bool, where: str) -> None:
    """Refuse an encoder whose shape differs from the classifier's, naming what differs."""
    cfg = state["config"]
    theirs = {"cell": cfg["cell"], "emb_dim": int(state["embedding"].shape[1]), "hidden_size": cfg["hidden_size"],
              "num_layers": cfg["num_layers"], "bidirectional": True}
    ours = {"cell": cell, "emb_dim": emb_dim, "hidden_size": hidden_size, "num_layers": num_layers,
            "bidirectional": bidirectional}
    wrong = [f"{k} {ours[k]} (encoder: {theirs[k]})" for k in ours if ours[k] != theirs[k]]
    if wrong:
        raise ConfigError(f"{where}: the pretrained encoder does not fit this model: {', '.join(wrong)}")
