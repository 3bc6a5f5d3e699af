"""Learning the corrector (:mod:`service.corrector`) from synthetic spun documents.

The replaced-word detector's encoder reads each training sentence once (unmasked, as at scoring
time) and every word it reads becomes one example: its state, the written word and the target,
which is the original at a replaced one-word span and the word itself elsewhere. Words outside
the n-gram vocabulary and spans of several words on either side are left out. The network is
trained with a softmax over the whole vocabulary; each pass sees every replaced word and a fresh
draw of ``clean_ratio`` times as many unreplaced ones, weighted so that the two count alike.

Nothing here is used at scoring time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from service.corrector import KEYS, file_key, vocab_key
from service.detector import ReplacedWordDetector
from service.relatedness import Relatedness
from service.text import segment


def corrector_examples(
    detector: ReplacedWordDetector,
    relatedness: Relatedness,
    docs: Iterable[dict],
    chunk: int = 64,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> dict[str, np.ndarray]:
    """The training examples of spun documents (``{"text", "spans": [{start, end, original}]}``):
    ``states`` (one row per example), ``written`` and ``target`` (vocabulary ids) and
    ``replaced`` (1 where the word was replaced). ``chunk`` documents are read per encoder call."""
    ids = relatedness.ids
    states, written, target, replaced = [], [], [], []
    docs = list(docs)
    starts = range(0, len(docs), chunk)
    for lo in progress(starts) if progress else starts:
        part = docs[lo : lo + chunk]
        per_doc = [segment(d["text"]) for d in part]
        read = detector.word_states([s for sents in per_doc for s in sents])
        at = 0
        for d, sents in zip(part, per_doc):
            spans = [(int(g["start"]), int(g["end"]), str(g.get("original", ""))) for g in d.get("spans", [])]
            for s, rows in zip(sents, read[at : at + len(sents)]):
                for ti, v in rows:
                    tok = s.tokens[ti]
                    word = tok.norm
                    inside = [g for g in spans if g[0] <= tok.start < g[1]]
                    if inside:
                        a, b, orig = inside[0]
                        if a != tok.start or len(d["text"][a:b].split()) != 1 or len(orig.split()) != 1:
                            continue
                        goal, was = orig.lower(), 1
                    else:
                        goal, was = word, 0
                    if word in ids and goal in ids:
                        states.append(v.astype(np.float32))
                        written.append(ids[word])
                        target.append(ids[goal])
                        replaced.append(was)
            at += len(sents)
    return {
        "states": np.vstack(states) if states else np.zeros((0, relatedness.vectors.shape[1]), dtype=np.float32),
        "written": np.array(written, dtype=np.int64),
        "target": np.array(target, dtype=np.int64),
        "replaced": np.array(replaced, dtype=np.int64),
    }


def train_corrector(
    detector: ReplacedWordDetector,
    detector_path: Path,
    relatedness: Relatedness,
    docs: Sequence[dict],
    out: Path,
    epochs: int = 4,
    hidden: int = 512,
    clean_ratio: int = 3,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> dict:
    """Learn a corrector on the states of ``detector`` (the one stored at ``detector_path``) and
    write it to ``out`` (``.npz``). Returns counts for a message (examples, replaced words).
    ``progress`` wraps the reading of the documents and each pass's batches (e.g. tqdm).

    Raises:
        ValueError: the documents have no replaced one-word spans, or no other words.
    """
    import torch

    ex = corrector_examples(detector, relatedness, docs, progress=progress)
    rep, cln = np.flatnonzero(ex["replaced"] == 1), np.flatnonzero(ex["replaced"] == 0)
    if not len(rep) or not len(cln):
        raise ValueError("the training documents need both replaced one-word spans and other words")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V = torch.from_numpy(relatedness.vectors.astype(np.float32))
    n_vocab, dim = V.shape
    net = torch.nn.Sequential(torch.nn.Linear(2 * dim, hidden), torch.nn.GELU(approximate="tanh"),
                              torch.nn.Linear(hidden, dim))
    m = torch.nn.Parameter(torch.eye(dim))
    bias = torch.nn.Parameter(torch.zeros(n_vocab))
    scale = torch.nn.Parameter(torch.tensor(10.0))
    opt = torch.optim.AdamW([*net.parameters(), m, bias, scale], lr=lr, weight_decay=0.01)
    H = torch.from_numpy(ex["states"])
    W, T = torch.from_numpy(ex["written"]), torch.from_numpy(ex["target"])
    weight = torch.from_numpy(np.where(ex["replaced"] == 1, 1.0, 1.0 / clean_ratio)).float()
    for _ in range(epochs):
        idx = np.concatenate([rep, rng.choice(cln, min(len(cln), clean_ratio * len(rep)), replace=False)])
        rng.shuffle(idx)
        starts = range(0, len(idx), batch_size)
        for lo in progress(starts) if progress else starts:
            b = torch.from_numpy(idx[lo : lo + batch_size])
            q = net(torch.cat([H[b], V[W[b]]], -1))
            logits = scale * (q @ (V @ m).T) + bias
            loss = torch.nn.functional.cross_entropy(logits, T[b], reduction="none")
            loss = (loss * weight[b]).sum() / weight[b].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    f32 = lambda t: t.detach().numpy().astype(np.float32)  # noqa: E731
    arrays = {"w1": f32(net[0].weight).T, "b1": f32(net[0].bias), "w2": f32(net[2].weight).T,
              "b2": f32(net[2].bias), "m": f32(m), "bias": f32(bias).astype(np.float16),
              "scale": np.float32(scale.item())}
    assert set(arrays) == set(KEYS)
    with open(out, "wb") as fh:
        np.savez_compressed(fh, **arrays, vocab_key=np.array(vocab_key(relatedness.vocab)),
                            detector_key=np.array(file_key(detector_path)))
    return {"examples": int(len(ex["replaced"])), "replaced": int(len(rep))}
