"""Mechanics of the masked-LM backend, with tiny models built and trained here (no downloads).

Two families are covered: BERT (WordPiece, ``[CLS] … [SEP]``) and RoBERTa (byte-level BPE with
``Ġ`` word starts, ``<s> … </s>``, position ids offset by the padding index). Detection quality is
NOT tested here: these models only learn a few dozen sentences.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from service.lm.base import Slot  # noqa: E402
from service.lm.transformer import ModelUnavailable, TransformerLM  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SENTENCES = [
    "with great power comes great responsibility",
    "the cat sat on the mat",
    "the dog sat on the rug",
    "the food was terrific tonight",
    "she has great power over the city",
    "he made a terrific effort to win",
    "the city has a great river",
    "the river runs through the city",
    "we ate the food on the mat",
    "a small dog ran to the river",
    "the cat ran to the city",
    "power comes with responsibility",
    "they won the game tonight",
    "the game was great fun",
    "she won a great prize",
    "he ate the food tonight",
    "the responsibility was great",
    "a terrific game tonight",
]
MAX_POS = 64  # usable length of the tiny models: forces windowing on long input


def _train_tokenizer(kind: str):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    if kind == "bert":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(
            vocab_size=160, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        )
        tok.train_from_iterator(SENTENCES, trainer)
        return transformers.BertTokenizer(vocab=tok.get_vocab())
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=420,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(SENTENCES, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return transformers.RobertaTokenizer(vocab=model["vocab"], merges=merges)


def _build(kind: str, directory: Path, train_steps: int = 80) -> Path:
    torch.manual_seed(0)
    tokenizer = _train_tokenizer(kind)
    common = dict(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
    )
    if kind == "bert":
        config = transformers.BertConfig(max_position_embeddings=MAX_POS, **common)
        model = transformers.BertForMaskedLM(config)
    else:
        pad = tokenizer.pad_token_id
        config = transformers.RobertaConfig(
            max_position_embeddings=MAX_POS + pad + 1,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            **common,
        )
        model = transformers.RobertaForMaskedLM(config)

    # teach it the sentences: every word position masked once per example
    lm = TransformerLM(model, tokenizer, name="tmp")
    inputs, labels = [], []
    for sentence in SENTENCES:
        words = sentence.split()
        pieces = lm._sentence_pieces(words)
        flat = list(lm._prefix) + [t for p in pieces for t in p] + list(lm._suffix)
        at = len(lm._prefix)
        for p in pieces:
            ids = list(flat)
            lab = [-100] * len(flat)
            for j in range(at, at + len(p)):
                ids[j], lab[j] = tokenizer.mask_token_id, flat[j]
            inputs.append(ids)
            labels.append(lab)
            at += len(p)
    return train_and_save(model, tokenizer, inputs, labels, train_steps, directory)


def train_and_save(model, tokenizer, inputs: list[list[int]], labels: list[list[int]], steps: int, directory: Path) -> Path:
    """Train a tiny masked LM on padded ``inputs``/``labels`` (-100 = not predicted) and save it with its tokenizer."""
    width = max(map(len, inputs))
    ids = torch.full((len(inputs), width), tokenizer.pad_token_id)
    lab = torch.full((len(inputs), width), -100)
    att = torch.zeros((len(inputs), width), dtype=torch.long)
    for i, (x, y) in enumerate(zip(inputs, labels)):
        ids[i, : len(x)], lab[i, : len(y)], att[i, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        model(input_ids=ids, attention_mask=att, labels=lab).loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine (no spin-waiting)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=["bert", "roberta"])
def model_dir(request, tmp_path_factory) -> Path:
    return _build(request.param, tmp_path_factory.mktemp(f"tiny-{request.param}"))


@pytest.fixture(scope="module")
def lm(model_dir) -> TransformerLM:
    return TransformerLM.load(str(model_dir), batch_size=8)


def _slot(sentence: str, start: int, end: int, *alts: str) -> Slot:
    return Slot(tuple(sentence.split()), start, end, tuple(tuple(a.split()) for a in alts))


# ---------------------------------------------------------------- loading


def test_load_name_and_eval(lm, model_dir):
    assert lm.name == f"transformer:{model_dir.name}"
    assert not lm.model.training
    assert lm.max_length == MAX_POS
    assert lm._head is not None  # the cheap head-only path matched the full model


def test_missing_directory_raises(tmp_path):
    with pytest.raises(ModelUnavailable, match="UNSPIN_MODEL"):
        TransformerLM.load(str(tmp_path / "no-such-model"))


def test_a_missing_folder_is_not_taken_for_a_hub_id(tmp_path):
    """``nope/`` (a folder, by its slash) had been read as a Hub id, and a missing folder's advice
    read as if the default model had been asked for."""
    for name in ("nope/", str(tmp_path / "bert-base-uncased")):
        with pytest.raises(ModelUnavailable, match="does not exist") as err:
            TransformerLM.load(name)
        assert "To fill a folder with a model (unspin's default shown; name the one you want)" in str(err.value)


def test_loading_draws_no_progress_bar(model_dir, capfd):
    """Every load had drawn transformers' "Loading weights" bar on stderr (in reports and server logs).
    The bars are on when the load starts (an engine loaded before in this session must not have left
    them off, or this would pass whatever the load does) and as they were after it."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    capfd.readouterr()
    TransformerLM.load(str(model_dir))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()


def test_int8_on_another_device_is_a_device_setting_to_mend(lm):
    """int8 quantization on a device other than the CPU had been a plain ModelUnavailable, so that
    UNSPIN_LM=auto fell back to the n-gram model instead of naming the setting."""
    import torch

    from service.lm.transformer import DeviceUnavailable

    kept = lm.device
    try:
        lm.device = torch.device("cuda")
        with pytest.raises(DeviceUnavailable, match="UNSPIN_QUANTIZE"):
            lm._quantize("int8")
    finally:
        lm.device = kept


def test_hub_id_not_cached_raises(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelUnavailable, match="hf download distilbert/distilroberta-base"):
        TransformerLM.load("distilroberta-base", local_files_only=True)


def test_directory_without_weights_raises(tmp_path, model_dir):
    (tmp_path / "config.json").write_text((model_dir / "config.json").read_text())
    with pytest.raises(ModelUnavailable):
        TransformerLM.load(str(tmp_path))


def _save_untrained(kind: str, architecture: str, directory: Path, tokenizer_of: str | None = None, **config) -> Path:
    """An untrained tiny ``transformers.<architecture>`` saved with the ``tokenizer_of`` family's tokenizer
    (its own by default); ``config`` overrides the configuration (vocabulary size, padding id, ...)."""
    torch.manual_seed(0)
    tokenizer = _train_tokenizer(tokenizer_of or kind)
    settings = dict(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    if kind == "roberta":
        settings.update(pad_token_id=1, bos_token_id=0, eos_token_id=2, max_position_embeddings=MAX_POS + 2)
    else:
        settings.update(pad_token_id=0, max_position_embeddings=MAX_POS)
    settings.update(config)
    model_config = (transformers.RobertaConfig if kind == "roberta" else transformers.BertConfig)(**settings)
    getattr(transformers, architecture)(model_config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.mark.parametrize("kind, encoder", [("bert", "BertModel"), ("roberta", "RobertaModel")])
def test_an_encoder_without_its_masked_lm_head_is_refused(tmp_path, kind, encoder):
    """transformers would fill the missing head with random weights (scores that change at each load)."""
    head = "Bert" if kind == "bert" else "Roberta"
    TransformerLM.load(str(_save_untrained(kind, f"{head}ForMaskedLM", tmp_path / "mlm")))  # tied weights are not missing
    with pytest.raises(ModelUnavailable, match="no weights for its masked-LM head.*not a masked LM"):
        TransformerLM.load(str(_save_untrained(kind, encoder, tmp_path / "encoder")))


def test_a_decoder_is_refused(tmp_path):
    with pytest.raises(ModelUnavailable, match="is_decoder"):
        TransformerLM.load(str(_save_untrained("bert", "BertLMHeadModel", tmp_path / "causal", is_decoder=True)))


@pytest.mark.parametrize(
    "kind, tokenizer_of, rows_of, extra_rows",
    [
        ("roberta", "bert", "roberta", 0),  # fewer tokens than rows, other special ids
        ("bert", "roberta", "roberta", 0),  # as many tokens as rows, other special ids
        ("bert", "bert", "bert", 200),  # same special ids, far more rows than tokens
    ],
)
def test_a_smaller_tokenizer_of_another_model_is_refused(tmp_path, kind, tokenizer_of, rows_of, extra_rows):
    rows = len(_train_tokenizer(rows_of)) + extra_rows
    assert len(_train_tokenizer(tokenizer_of)) <= rows  # not more tokens than rows (always refused)
    architecture = "RobertaForMaskedLM" if kind == "roberta" else "BertForMaskedLM"
    folder = _save_untrained(kind, architecture, tmp_path / "m", tokenizer_of=tokenizer_of, vocab_size=rows)
    with pytest.raises(ModelUnavailable, match="belongs to another model"):
        TransformerLM.load(str(folder))


def test_rows_padded_beyond_the_tokenizer_are_accepted(tmp_path):
    """Real models often pad their embedding matrix to a multiple of 8, 64 or 128 rows."""
    tokens = len(_train_tokenizer("bert"))
    rows = -(-tokens // 64) * 64 + 64
    folder = _save_untrained("bert", "BertForMaskedLM", tmp_path / "m", vocab_size=rows)
    assert TransformerLM.load(str(folder)).vocab_size == rows


def test_an_empty_folder_says_what_it_lacks(tmp_path):
    with pytest.raises(ModelUnavailable, match="has no config.json and no weights"):
        TransformerLM.load(str(tmp_path))


def _weights_only(model_dir: Path, into: Path) -> Path:
    """A folder with the model's config and weights and none of its tokenizer's files."""
    import shutil

    into.mkdir()
    for f in model_dir.iterdir():
        if f.name == "config.json" or f.suffix in (".safetensors", ".bin"):
            shutil.copy(f, into / f.name)
    return into


def test_a_folder_without_tokenizer_files_is_refused(tmp_path, model_dir):
    """transformers makes an empty tokenizer for such a folder, which reads every word as unknown
    (or as nothing): scores that say nothing, under the transformer's name. It is refused instead."""
    with pytest.raises(ModelUnavailable, match="tokenizer's files"):
        TransformerLM.load(str(_weights_only(model_dir, tmp_path / "weights-only")))


def test_a_truncated_weights_file_is_a_model_that_cannot_load(tmp_path, model_dir):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    weights = next(f for f in broken.iterdir() if f.suffix in (".safetensors", ".bin"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelUnavailable, match="Cannot load the masked LM in the folder"):
        TransformerLM.load(str(broken))


def test_a_file_is_not_a_model_folder(tmp_path, model_dir):
    with pytest.raises(ModelUnavailable, match="is a file"):
        TransformerLM.load(str(model_dir / "config.json"))


@pytest.mark.parametrize("device", ["meta", "cuda:7", "no-such-device"])
def test_a_device_that_cannot_run_the_model_names_the_setting(model_dir, device):
    from service.lm.transformer import DeviceUnavailable

    with pytest.raises(DeviceUnavailable, match="UNSPIN_DEVICE"):
        TransformerLM.load(str(model_dir), device=device)


# ---------------------------------------------------------------- tokens


def test_word_pieces_match_tokenizer_on_joined_text(lm):
    for sentence in SENTENCES[:6] + ["zebrafish powers the unseen quixotic city"]:
        words = sentence.split()
        flat = [t for p in lm._sentence_pieces(words) for t in p]
        assert flat == lm.tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]


def test_token_logprobs_shapes(lm):
    sents = [s.split() for s in SENTENCES[:5]] + [[], ["city"], "quixotic zebrafish".split()]
    out = lm.token_logprobs(sents)
    assert [len(a) for a in out] == [len(s) for s in sents]
    for a in out:
        assert a.dtype == np.float64 and np.all(np.isfinite(a)) and np.all(a <= 0)


def test_token_logprobs_batching_matches_single(lm):
    sents = [s.split() for s in SENTENCES[:7]]
    together = lm.token_logprobs(sents)
    for s, a in zip(sents, together):
        np.testing.assert_allclose(lm.token_logprobs([s])[0], a, atol=1e-4)


# ---------------------------------------------------------------- compare


def test_compare_lengths_and_index0(lm):
    slots = [
        _slot("with great power comes great responsibility", 1, 2, "terrific", "huge", "quixotic"),
        _slot("the cat sat on the mat", 1, 2),
        _slot("the cat sat on the mat", 5, 6, "rug", "small rug"),
    ]
    out = lm.compare(slots)
    assert [len(a) for a in out] == [4, 1, 3]
    assert all(np.all(np.isfinite(a)) for a in out)
    # index 0 is the text as written: same as offering it explicitly as an alternative
    explicit = lm.compare([_slot("with great power comes great responsibility", 1, 2, "great", "terrific")])[0]
    np.testing.assert_allclose(explicit[0], explicit[1], atol=1e-5)
    np.testing.assert_allclose(explicit[0], out[0][0], atol=1e-4)
    np.testing.assert_allclose(explicit[2], out[0][1], atol=1e-4)


def test_compare_prefers_seen_word(lm):
    scores = lm.compare([_slot("with great power comes great responsibility", 1, 2, "terrific")])[0]
    assert scores[0] > scores[1]
    scores = lm.compare([_slot("the food was terrific tonight", 3, 4, "great")])[0]
    assert scores[0] > scores[1]


def test_single_piece_alternatives_share_one_pass(lm):
    alts = [w for w in ("great", "terrific", "small", "city", "river", "food") if len(lm._pieces(w, False)) == 1]
    assert len(alts) >= 4
    before = lm.stats["rows"]
    lm.compare([_slot("with great power comes great responsibility", 1, 2, *alts)])
    assert lm.stats["rows"] - before == 1


def test_multi_piece_and_multi_word_fillers(lm):
    slot = _slot("she won a great prize", 3, 4, "dogmatic", "very great", "terrific great fun")
    n_pieces = [sum(len(p) for p in lm._pieces_many([(w, False) for w in f])) for f in (("great",),) + slot.alternatives]
    assert n_pieces[1] > 1  # an unseen word is several sub-tokens
    before = lm.stats["rows"]
    scores = lm.compare([slot])[0]
    assert len(scores) == 4 and np.all(np.isfinite(scores)) and np.all(scores < 0)
    # left-to-right chain: one row per sub-token, minus rows shared between same-length fillers
    assert lm.stats["rows"] - before <= sum(n_pieces)


def test_deletion(lm):
    slots = [
        _slot("she won a great prize", 3, 4, "", "terrific"),  # delete "great"
        _slot("she won a great prize", 0, 1, ""),  # delete the first word
        _slot("she won a great prize", 4, 5, ""),  # delete the last word
        _slot("she won a great prize", 2, 2, "very"),  # insertion: the slot as written is empty
    ]
    out = lm.compare(slots)
    assert [len(a) for a in out] == [3, 2, 2, 2]
    assert all(np.all(np.isfinite(a)) for a in out)
    # every filler of a deletion slot includes the neighbours' terms, so even deletion is < 0
    assert np.all(out[0] < 0) and np.all(out[1] < 0)
    # whole sentence deleted: nothing left to score
    assert lm.compare([_slot("prize", 0, 1, "")])[0][1] == 0.0


def test_compare_batching_matches_single(lm):
    slots = [
        _slot("with great power comes great responsibility", 1, 2, "terrific", "very great"),
        _slot("the cat sat on the mat", 2, 3, "ran", ""),
        _slot("the river runs through the city", 5, 6, "game", "quixotic"),
        _slot("the food was terrific tonight", 0, 2, "food"),
    ]
    together = lm.compare(slots)
    old = lm.batch_size
    lm.batch_size = 1
    try:
        for slot, a in zip(slots, together):
            np.testing.assert_allclose(lm.compare([slot])[0], a, atol=1e-4)
    finally:
        lm.batch_size = old


def test_bad_slot_raises(lm):
    with pytest.raises(ValueError):
        lm.compare([Slot(("a", "b"), 1, 5, ())])


# ---------------------------------------------------------------- fillers


def test_fillers(lm):
    slots = [
        _slot("with great power comes great responsibility", 1, 2),
        _slot("the cat sat on the mat", 0, 1),
        _slot("the cat sat on the mat", 1, 3),  # not one word: no fillers
    ]
    out = lm.fillers(slots, k=5)
    assert len(out) == 3 and out[2] == []
    for cands in out[:2]:
        assert 0 < len(cands) <= 5
        words = [w for w, _ in cands]
        assert len(set(words)) == len(words)
        assert all(w.isalpha() and w == w.lower() for w in words)
        assert not any(w.startswith(("##", "Ġ")) for w in words)
        scores = [s for _, s in cands]
        assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)
    assert out[0][0][0] == "great"
    # a filler's score is the masked ln-prob compare() gives the same single-piece word
    word, score = out[0][0]
    np.testing.assert_allclose(lm.compare([_slot("with great power comes great responsibility", 1, 2)])[0][0], score, atol=1e-4)
    # restrict, as the interface declares it (it had been a TypeError): only those words, same scores
    second = [w for w, _ in out[0][1:3]]
    kept = lm.fillers(slots[:2], k=5, restrict=[set(second) | {"zzzz"}, None])
    assert [w for w, _ in kept[0]] == second and kept[1] == out[1]


# ---------------------------------------------------------------- long input


def test_long_input_is_windowed(lm):
    words = (" ".join(SENTENCES) + " ") * 6
    words = words.split() + ["quixotic"] * 40
    assert sum(len(p) for p in lm._sentence_pieces(words)) > 4 * lm.max_length
    lp = lm.token_logprobs([words])[0]
    assert len(lp) == len(words) and np.all(np.isfinite(lp))
    mid = len(words) // 2
    slots = [
        Slot(tuple(words), mid, mid + 1, (("great",), ("very", "great"), ())),
        Slot(tuple(words), 0, 1, (("a",),)),
        Slot(tuple(words), len(words) - 1, len(words), (("city",),)),
        Slot(tuple(words), 3, 3 + 60, (("city",),)),  # a slot longer than the model window
    ]
    out = lm.compare(slots)
    assert [len(a) for a in out] == [4, 2, 2, 2]
    assert all(np.all(np.isfinite(a)) for a in out)
    assert len(lm.fillers(slots[:1], k=3)[0]) == 3
    # context beyond the window does not matter, and no model input exceeds the model's length
    widths = []
    hook = lm.model.base_model.register_forward_pre_hook(
        lambda mod, args, kwargs: widths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    try:
        near = lm.compare([Slot(tuple(words), mid, mid + 1, (("great",), ("city",)))])[0]
        changed = ["river"] * 30 + words[30:-30] + ["river"] * 30
        far = lm.compare([Slot(tuple(changed), mid, mid + 1, (("great",), ("city",)))])[0]
        lm.token_logprobs([words])
    finally:
        hook.remove()
    np.testing.assert_allclose(near, far, atol=1e-6)
    assert widths and max(widths) <= lm.max_length


# ---------------------------------------------------------------- registry


def test_registry_copies_identical():
    assert (ROOT / "models" / "registry.json").read_bytes() == (ROOT / "service" / "data" / "registry.json").read_bytes()


def test_registry_and_verify(tmp_path):
    from service.models import load_registry, model_entry, sha256_file, verify

    reg = load_registry()
    names = {m["name"] for m in reg["models"]}
    assert {"ngram:cmu-en-us", "transformer:distilroberta-base", "transformer:roberta-base",
            "transformer:bert-base-uncased"} <= names
    assert model_entry("distilroberta-base")["name"] == "transformer:distilroberta-base"
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_file(f) == digest
    assert verify(f, digest.upper()) and not verify(f, "0" * 64) and not verify(tmp_path / "missing", digest)
    assert not verify(f, None)
