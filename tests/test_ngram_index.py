"""The n-gram model's bigram index (service/lm/ngram.py): exported whole and the same every time,
checked against the model, and built again when a cached one is damaged or does not agree."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from pocketsphinx import NGramModel

from service.lm import ngram
from service.lm.ngram import BigramIndex, _parse_arpa, agrees_with, default_model_path, load_bigram_index

ARRAYS = ("unigram", "succ_ptr", "succ_word", "pred_ptr", "pred_word")


@pytest.fixture(scope="module")
def model() -> NGramModel:
    return NGramModel.readfile(str(default_model_path()))


@pytest.fixture(scope="module")
def built(tmp_path_factory, model) -> tuple[Path, BigramIndex]:
    """An index built from nothing, in its own cache folder."""
    folder = tmp_path_factory.mktemp("cache")
    return folder, load_bigram_index(default_model_path(), folder, model.prob)


def same(a: BigramIndex, b: BigramIndex) -> bool:
    return a.vocab == b.vocab and all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ARRAYS)


def test_the_index_is_the_models_and_the_same_every_time(built, model, tmp_path):
    """Exported twice, the index is the same, agrees with the model and holds all but the few
    bigrams the exporter's crash loses. Opened with ``NGramModel.readfile``, the exporter had
    written log-probabilities from freed memory, differing from run to run (all -inf, -0.0000)."""
    _, index = built
    assert agrees_with(index, model.prob)
    assert len(index.vocab) == 72_547
    assert 2_051_547 - ngram._BIGRAMS_LOST_AT_MOST <= len(index.succ_word) <= 2_051_547
    assert np.isfinite(index.unigram).all()
    great = index.vocab.index("great")
    assert "deal" in [index.vocab[i] for i in index.successors(great, 5)]
    assert same(load_bigram_index(default_model_path(), tmp_path, model.prob), index)


def _write_arpa(path: Path, unigram: str, bigram: str, words: int = 1200) -> Path:
    """An ARPA file of ``words`` words and as many bigrams, every log-probability written as given."""
    vocab = [f"w{i}" for i in range(words)]
    lines = ["\\data\\", f"ngram 1={words}", f"ngram 2={words}", "", "\\1-grams:"]
    lines += [f"{unigram}\t{w}\t0.0000" for w in vocab]
    lines += ["", "\\2-grams:"]
    lines += [f"{bigram}\t{a}\t{b}\t0.0000" for a, b in zip(vocab, vocab[1:] + vocab[:1])]
    path.write_text("\n".join(lines + ["", "\\end\\", ""]), encoding="utf-8")
    return path


@pytest.mark.parametrize("unigram, bigram", [("-inf", "-0.0000"), ("-2.5", "-0.0000"), ("-1.4", "-1.56e15")])
def test_an_export_of_log_probabilities_no_model_has_is_refused(tmp_path, unigram, bigram):
    """The exports the exporter had written from freed memory: refused, not indexed."""
    with pytest.raises(ValueError, match="not whole: its (unigram|bigram) log-probabilities"):
        _parse_arpa(_write_arpa(tmp_path / "bad.arpa", unigram, bigram))


def test_an_export_short_of_what_its_header_declares_is_refused(tmp_path):
    arpa = _write_arpa(tmp_path / "short.arpa", "-3.0", "-1.0")
    arpa.write_text(arpa.read_text().replace("ngram 2=1200", "ngram 2=5000"))
    with pytest.raises(ValueError, match="1200 of the 5000 bigrams its header declares"):
        _parse_arpa(arpa)


def _damaged(cache: Path, how: str) -> None:
    if how == "empty":
        cache.write_bytes(b"")
    elif how == "truncated":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    else:  # whole, but each word's successors in the reverse order: other fillers proposed
        with np.load(cache) as z:
            arrays = {k: z[k] for k in z.files}
        ptr, succ = arrays["succ_ptr"], arrays["succ_word"].copy()
        for i in range(len(ptr) - 1):
            succ[ptr[i] : ptr[i + 1]] = succ[ptr[i] : ptr[i + 1]][::-1]
        arrays["succ_word"] = succ
        np.savez(cache, **arrays)


@pytest.mark.parametrize("how", ["empty", "truncated", "reordered"])
def test_a_damaged_cached_index_is_built_again(built, model, tmp_path, caplog, how):
    """A cached index that cannot be read (a traceback, or click's bare "Aborted!" for an empty
    file) or that does not agree with the model (it was loaded silently, and proposed other
    fillers) is built again, with a warning naming it."""
    folder, index = built
    cache = next(folder.glob("bigrams-*.npz"))
    copy = tmp_path / cache.name
    shutil.copy(cache, copy)
    _damaged(copy, how)
    with caplog.at_level(logging.WARNING, logger="service.lm.ngram"):
        again = load_bigram_index(default_model_path(), tmp_path, model.prob)
    assert same(again, index)
    assert any(str(copy) in r.getMessage() and "built again" in r.getMessage() for r in caplog.records)
    assert same(load_bigram_index(default_model_path(), tmp_path, model.prob), index)  # the rebuilt one is kept


def test_an_export_that_never_agrees_is_an_error_naming_the_model(model, tmp_path, monkeypatch):
    """No export gives a whole index: a ValueError (the engine's "cannot start", exit 2), after
    the exports allowed, and no index cached."""
    calls = []

    def garbage(model_path: Path, arpa: Path) -> None:
        calls.append(1)
        _write_arpa(arpa, "-inf", "-0.0000")

    monkeypatch.setattr(ngram, "_export_arpa", garbage)
    with pytest.raises(ValueError, match="could not build the bigram index of the n-gram model .*en-us.lm.bin"):
        load_bigram_index(default_model_path(), tmp_path, model.prob)
    assert len(calls) == ngram._EXPORTS and not list(tmp_path.glob("bigrams-*"))
