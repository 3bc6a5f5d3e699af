"""Shared fixtures: one n-gram engine for the whole session, the seed texts, a tiny masked LM.

The engine is built once (the first build creates the bigram/WordNet caches, ~10 s) and is
never mutated by tests: a test that needs other settings, another lexicon or another fusion
builds its own ``Engine`` around the session engine's language model (cheap).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

#: Words for the tiny masked LM's tokenizer (the model is random: only mechanics are tested).
TINY_LM_SENTENCES = [
    "with great power comes great responsibility",
    "the cat sat on the mat",
    "the dog sat on the rug",
    "china and russia proposed that the united nations lift a ban on north korea",
    "the proposal comes at a critical moment for the security council",
    "sanctions increase pressure on the united states",
    "experts said the move represents a new level of public pressure",
]


def seed_paths() -> list[Path]:
    """The seed documents (``seeds/*.txt``), sorted."""
    return sorted(SEEDS.glob("*.txt"))


def read_seed(path: Path) -> str:
    """A seed decoded exactly as the CLI decodes files (no newline translation)."""
    from service.text import decode

    return decode(path.read_bytes())


@pytest.fixture(scope="session")
def engine():
    """The process-wide n-gram engine (``get_engine`` caches it, so CLI tests that run with
    ``UNSPIN_LM=ngram`` and otherwise default settings reuse this very engine)."""
    from service.config import Settings
    from service.engine import get_engine

    return get_engine(Settings(lm="ngram"))


@pytest.fixture(scope="session")
def seeds() -> dict[str, str]:
    """Seed file name -> text."""
    paths = seed_paths()
    if len(paths) < 2:
        pytest.skip("the seed documents are missing from seeds/")
    return {p.name: read_seed(p) for p in paths}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny BERT masked LM with its WordPiece tokenizer, saved with ``save_pretrained``.

    Random weights (no training): enough to exercise the transformer backend's mechanics.
    """
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    torch.manual_seed(0)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(TINY_LM_SENTENCES, trainer)
    tokenizer = transformers.BertTokenizer(vocab=tok.get_vocab())
    config = transformers.BertConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = transformers.BertForMaskedLM(config).eval()
    directory = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
