"""Evaluation metrics on hand-made cases with known numbers."""

from __future__ import annotations

import json
import math

import pytest

from service.evaluation import (
    EvalDoc,
    evaluate,
    load_gold,
    match_spans,
    original_text,
    proportion_interval,
    span_outcomes,
    suggestion_hits,
    tokens,
    word_errors,
)
from service.report import Span, Suggestion
from service.spinner import GoldSpan

#            0         1         2         3         4         5
#            0123456789012345678901234567890123456789012345678901234
SPUN = "The minister stated that terrific powers have actually met."
# gold: "stated" (13-19) <- said ; "terrific" (25-33) <- great ; " actually" (45-54) <- ""
GOLD = [
    GoldSpan(13, 19, "stated", "said"),
    GoldSpan(25, 33, "terrific", "great"),
    GoldSpan(45, 54, " actually", ""),
]


def span(start, end, *sugs, text=SPUN, score=0.9):
    return Span(start=start, end=end, text=text[start:end], score=score,
                suggestions=[Suggestion(text=s, score=0.5) for s in sugs])  # fmt: skip


def test_gold_offsets_are_right():
    for g in GOLD:
        assert SPUN[g.start : g.end] == g.text


def test_matching_is_one_to_one_by_overlap():
    preds = [{"start": 10, "end": 20}, {"start": 14, "end": 16}, {"start": 25, "end": 40}]
    gold = [{"start": 13, "end": 19}, {"start": 30, "end": 33}]
    # pred0 overlaps gold0 by 6, pred1 by 2 -> pred0 wins; pred2 takes gold1
    assert sorted(match_spans(preds, gold)) == [(0, 0), (2, 1)]
    assert match_spans([{"start": 0, "end": 13}], [{"start": 13, "end": 19}]) == []  # touching is not overlap


def test_matching_makes_as_many_pairs_as_it_can():
    """A flag straddling two gold phrases takes the one no other flag can take (greedy matching by
    overlap had paired it with the larger one and left the other flag and phrase unmatched)."""
    gold = [{"start": 0, "end": 8}, {"start": 8, "end": 12}]
    preds = [{"start": 3, "end": 12}, {"start": 0, "end": 3}]
    assert match_spans(preds, gold) == [(0, 1), (1, 0)]
    t = "abcdefgh ijk"
    m = evaluate([EvalDoc(text=t, gold=[GoldSpan(0, 8, "abcdefgh", "x"), GoldSpan(8, 12, " ijk", "y")],
                          predicted=[span(3, 12, "q", text=t), span(0, 3, "r", text=t)])])
    assert m.precision == m.recall == m.f1 == 1.0


def test_a_suggestion_with_its_own_article_reproduces_a_label_without_it():
    """The engine takes the article in when its suggestion needs the other one ("an essential" ->
    "a critical"); a label of the word alone ("essential" -> "critical") is the same original."""
    text = "It came at an essential moment."
    gold = GoldSpan(14, 23, "essential", "critical")
    assert suggestion_hits(text, span(11, 23, "a critical", "a crucial"), gold) == [True, False]
    assert suggestion_hits(text, span(14, 23, "critical"), gold) == [True]
    assert suggestion_hits(text, span(11, 23, "a vital"), gold) == [False]
    assert suggestion_hits(text, span(11, 23, "an critical"), gold) == [False]  # the wrong article is still wrong


def test_a_flag_is_not_drawn_off_the_phrase_it_covers():
    gold = [{"start": 0, "end": 10}, {"start": 10, "end": 14}]
    preds = [{"start": 0, "end": 11}, {"start": 9, "end": 10}]
    assert match_spans(preds, gold) == [(0, 0)]


@pytest.mark.parametrize("text, gold_words", [("We saw the big large ox.", ("saw", "big large", "ox")),
                                               ("The big large ox met.", ("big large", "ox", "met"))])
def test_a_tie_in_overlap_is_broken_towards_more_pairs(text, gold_words):
    """Flags "big" and "large ox" over phrases "big large" and "ox": two assignments share 5
    characters of overlap. Which one was taken had been arbitrary (1 pair in the first text, 2 in
    the second, a phrase elsewhere making the difference); the one with more pairs is taken."""
    gold = [GoldSpan(text.index(w), text.index(w) + len(w), w, "x") for w in gold_words]
    b, lo = text.index("big"), text.index("large ox")
    preds = [span(b, b + 3, "y", text=text), span(lo, lo + 8, "y", text=text)]
    m = evaluate([EvalDoc(text=text, gold=gold, predicted=preds)])
    assert m.n_matched == 2 and m.precision == 1.0


def test_a_flag_over_two_phrases_that_restores_both_gives_the_original():
    """One flag over "stated that terrific" suggesting "said that great" puts back both phrases it
    straddles ("stated" -> "said", "terrific" -> "great"); it had been read against "stated that
    great" and counted wrong."""
    pred = span(13, 33, "said that great", "stated that great")
    assert suggestion_hits(SPUN, pred, GOLD[0], others=GOLD) == [True, False]
    assert suggestion_hits(SPUN, pred, GOLD[0]) == [False, False]  # alone, the label is the one phrase
    m = evaluate([EvalDoc(text=SPUN, gold=GOLD[:2], predicted=[pred])])
    assert m.n_matched == 1 and m.acc_at_1 == 1.0


def test_suggestion_hits_on_union_region():
    # predicted covers "terrific powers", suggestion "great powers" reproduces the gold original
    assert suggestion_hits(SPUN, span(25, 40, "mighty powers", "great powers"), GOLD[1]) == [False, True]
    # predicted word "actually" (46-54) with suggestion "" equals the gold deletion (whitespace collapsed)
    assert suggestion_hits(SPUN, span(46, 54, ""), GOLD[2]) == [True]
    # case-insensitive
    assert suggestion_hits(SPUN, span(13, 19, "SAID"), GOLD[0]) == [True]


def test_known_numbers():
    preds = [
        span(13, 19, "declared", "said"),     # matches gold0; hit at rank 2 -> acc@1 no, acc@3 yes
        span(25, 33, "great"),                # matches gold1; hit at rank 1
        span(4, 12, "priest"),                # false positive ("minister")
    ]  # fmt: skip
    clean_text = " ".join(["word"] * 2000)
    docs = [
        EvalDoc(text=SPUN, gold=GOLD, predicted=preds, score=0.9),
        EvalDoc(text=clean_text, gold=[], predicted=[span(0, 4, "term", text=clean_text)] * 3, score=0.2),
        EvalDoc(text="Clean text here.", gold=[], predicted=[], words=1000, score=0.95),
        {"text": SPUN, "gold": [g.to_dict() for g in GOLD], "predicted": [], "score": 0.1},
    ]
    m = evaluate(docs)
    # spun docs: 3 predicted, 6 gold, 2 matched
    assert (m.n_predicted, m.n_gold, m.n_matched) == (3, 6, 2)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 6)
    assert m.f1 == pytest.approx(2 * (2 / 3) * (1 / 3) / (2 / 3 + 1 / 3))
    assert m.acc_at_1 == pytest.approx(1 / 2)
    assert m.acc_at_3 == pytest.approx(2 / 2)
    # clean: 3 flags over 2000 + 1000 words
    assert m.clean_words == 3000 and m.clean_flags == 3
    assert m.false_flags_per_1k == pytest.approx(1.0)
    # AUC: spun scores {0.9, 0.1} vs clean {0.2, 0.95}: pairs won 0.9>0.2 -> 1 of 4
    assert m.auc == pytest.approx(0.25)
    assert (m.n_top3, m.top3_over_gold) == (2, pytest.approx(2 / 6))
    assert m.precision_interval == pytest.approx(_wilson(2, 3))
    assert m.recall_interval == pytest.approx(_wilson(2, 6))
    assert m.top3_over_gold_interval == pytest.approx(_wilson(2, 6))
    table = m.as_table()
    assert table.startswith("| metric | value |") and "span F1" in table and "66.7 %" in table
    assert "| span recall | 33.3 % (95 % CI 9.7–70.0) |" in table
    assert m.to_dict()["n_matched"] == 2


def test_span_outcomes_say_what_was_counted():
    preds = [
        span(13, 19, "declared", "told", "said"),  # gold0, the original third
        span(25, 33, "great"),                     # gold1, first
        span(4, 12, "priest"),                     # no gold: a false flag in a spun document
        Span(start=35, end=40, text=SPUN[35:40], kind="grammar", score=0.9),  # not a prediction of spinning
    ]  # fmt: skip
    clean_text = "Clean words only here."
    docs = [
        EvalDoc(text=SPUN, gold=GOLD, predicted=preds, id="spun"),
        EvalDoc(text=clean_text, gold=[], predicted=[span(0, 5, "Pure", text=clean_text)], id="clean"),
        EvalDoc(text=SPUN, gold=GOLD, predicted=[], id="nothing"),
    ]
    records = list(span_outcomes(docs))
    m = evaluate(docs)
    by = lambda outcome, clean=None: [r for r in records if r["outcome"] == outcome  # noqa: E731
                                      and (clean is None or r["clean"] == clean)]
    # they add up to the metrics
    assert len(by("found")) == m.n_matched == 2
    assert len(by("missed")) == m.n_gold - m.n_matched == 4
    assert len(by("false_flag", False)) == m.n_predicted - m.n_matched == 1
    assert len(by("false_flag", True)) == m.clean_flags == 1
    assert sum(1 for r in by("found") if r["original_rank"] <= 3) == m.n_top3
    spun = [r for r in records if r["id"] == "spun"]
    assert [(r["outcome"], r["start"]) for r in spun] == [("false_flag", 4), ("found", 13), ("found", 25), ("missed", 45)]
    stated = spun[1]
    assert (stated["text"], stated["original"], stated["original_rank"]) == ("stated", "said", 3)
    assert stated["predicted"] == {"start": 13, "end": 19, "text": "stated", "score": 0.9,
                                   "suggestions": ["declared", "told", "said"]}
    assert spun[0]["predicted"]["suggestions"] == ["priest"] and "original" not in spun[0]
    assert spun[3] == {"id": "spun", "clean": False, "outcome": "missed", "start": 45, "end": 54,
                       "text": " actually", "original": ""}
    assert json.loads(json.dumps(records)) == records  # plain JSON
    # a found phrase none of whose suggestions gives the original
    (wrong,) = [r for r in span_outcomes([EvalDoc(text=SPUN, gold=GOLD[:1], predicted=[span(13, 19, "told")])])]
    assert wrong["outcome"] == "found" and wrong["original_rank"] is None


def test_missed_phrases_say_how_near_the_engine_came():
    """With the engine's best span over each gold phrase (EvalDoc.near), a missed phrase's record
    gives it, the score it needed and the original's place among its suggestions; found phrases'
    records and the metrics are as without."""
    near = [span(13, 19, "declared", text=SPUN, score=0.95),  # found anyway: not used
            span(25, 33, "large", "great", score=0.2),
            None]  # no slot over " actually"
    plain = EvalDoc(text=SPUN, gold=GOLD, predicted=[span(13, 19, "said")], id="d")
    told = EvalDoc(text=SPUN, gold=GOLD, predicted=[span(13, 19, "said")], id="d", near=near, listed_from=0.3)
    records = list(span_outcomes([told]))
    assert records[0] == list(span_outcomes([plain]))[0]
    assert records[1] == {"id": "d", "clean": False, "outcome": "missed", "start": 25, "end": 33, "text": "terrific",
                          "original": "great", "listed_from": 0.3, "original_rank": 2,
                          "nearest": {"start": 25, "end": 33, "text": "terrific", "score": 0.2,
                                      "suggestions": ["large", "great"]}}
    assert records[2]["nearest"] is None and records[2]["original_rank"] is None and records[2]["listed_from"] == 0.3
    assert evaluate([told]).to_dict() == evaluate([plain]).to_dict()


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out (95 %), to check the library's against."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 5), (5, 5), (41, 67), (30, 67), (1, 1000)])
def test_proportion_interval_is_wilsons(k, n):
    low, high = proportion_interval(k, n)
    assert (low, high) == pytest.approx(_wilson(k, n))
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert proportion_interval(0, 0) is None


def test_sentences_are_counted_apart():
    """Clean texts scored one sentence at a time get their own false-flag rate and leave the
    document-level counts alone."""
    docs = [EvalDoc(text=SPUN, gold=GOLD, predicted=[], score=0.9)]
    sentences = [EvalDoc(text="", predicted=[span(0, 4, "term", text="word word")], words=400, clean=True),
                 EvalDoc(text="", predicted=[], words=600, clean=True)]
    m = evaluate(docs, sentences)
    assert (m.sentence_texts, m.sentence_words, m.sentence_flags) == (2, 1000, 1)
    assert m.sentence_false_flags_per_1k == pytest.approx(1.0)
    assert m.clean_words == 0 and m.false_flags_per_1k is None and m.n_clean_docs == 0
    assert "one sentence at a time" in m.as_table()
    assert evaluate(docs).sentence_false_flags_per_1k is None
    assert "one sentence at a time" not in evaluate(docs).as_table()


def test_undefined_metrics_are_none():
    m = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=[], score=0.5)])
    assert m.precision is None and m.recall == 0.0 and m.f1 == 0.0  # 2TP / (2TP + FP + FN): nothing found
    assert m.acc_at_1 is None and m.false_flags_per_1k is None and m.auc is None
    assert "n/a" in m.as_table()
    perfect = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=[span(g.start, g.end, g.original) for g in GOLD])])
    assert perfect.precision == perfect.recall == perfect.f1 == perfect.acc_at_1 == 1.0


def test_load_gold_inline_and_path(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(SPUN, encoding="utf-8")
    gold_file = tmp_path / "gold.jsonl"
    lines = [
        {"id": "inline", "text": SPUN, "clean": "x", "spans": [g.to_dict() for g in GOLD]},
        {"id": "file", "path": "a.txt", "spans": [{"start": 13, "end": 19, "original": "said"}]},
        {"id": "clean", "text": "Nothing spun.", "spans": []},
    ]
    gold_file.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    docs = load_gold(gold_file, texts_dir=tmp_path / "texts")
    assert [d.id for d in docs] == ["inline", "file", "clean"]
    assert docs[0].spans == GOLD and docs[0].clean_text == "x"
    assert docs[1].text == SPUN and docs[1].spans == [GoldSpan(13, 19, "stated", "said")]
    assert docs[2].is_clean and not docs[0].is_clean
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": SPUN, "spans": [{"start": 0, "end": 3, "text": "xyz", "original": "a"}]}))
    with pytest.raises(ValueError):
        load_gold(bad)


# --------------------------------------------------------------------------- reading gold and clean inputs

TEXT = "The company said profits rose sharply in the third quarter."  # "profits" at 17-24
OK_LINE = {"id": "ok", "text": TEXT, "spans": [{"start": 17, "end": 24, "text": "profits", "original": "earnings"}]}


def _jsonl(path, *lines) -> str:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return str(path)


def test_load_gold_reads_texts_as_score_does(tmp_path):
    """Gold texts named by "path" are decoded as ``unspin score`` decodes files (CRLF kept, a BOM
    dropped), so the offsets of its reports hold in the gold file."""
    from service.batch_inputs import Source, read_source

    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"First line.\r\nThe loss characteristic\r\nfell.\r\n")
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfThe loss characteristic fell.\r\n")
    lines = []
    for f in (crlf, bom):
        text = read_source(Source(f.name, f), max_chars=10_000)  # what `unspin score` scores
        start = text.index("loss characteristic")
        lines.append({"path": f.name, "spans": [{"start": start, "end": start + 19, "text": "loss characteristic",
                                                  "original": "loss function"}]})
    docs = load_gold(_jsonl(tmp_path / "gold.jsonl", *lines))
    assert [d.text for d in docs] == [read_source(Source(f.name, f), max_chars=10_000) for f in (crlf, bom)]
    assert "\r\n" in docs[0].text and not docs[1].text.startswith("\ufeff")
    assert [d.spans[0].start for d in docs] == [17, 4]  # "First line.\r\n" is 13 characters


@pytest.mark.parametrize("line, why", [
    ('{"text": "abc", "spans": []', "not valid JSON (Expecting ',' delimiter at column 28)"),
    ('{"text": "abc", "spans": [], "x": "y', "(Unterminated string starting at column 35)"),  # had said "at at"
    ([1, 2], "expected a JSON object"),
    ({"id": "x", "spans": []}, "needs 'text' (the document) or 'path'"),
    ({"text": "abc", "path": "a.txt", "spans": []}, "has both 'text' and 'path'"),
    ({"text": None, "spans": []}, "'text' must be a string, got null"),
    ({"text": "", "spans": []}, "the text is empty"),
    ({"text": "  \n ", "spans": []}, "the text contains only whitespace"),
    ({"text": TEXT}, "no 'spans' (keys: text); a clean document has \"spans\": []"),
    ({"text": TEXT, "span": []}, "no 'spans' (keys: text, span)"),
    ({"text": TEXT, "spans": "abc"}, "'spans' must be a list, got a string"),
    ({"text": TEXT, "spans": ["abc"]}, "span 1 must be an object"),
    ({"text": TEXT, "spans": [{"end": 5, "original": "x"}]}, "span 1 has no 'start'"),
    ({"text": TEXT, "spans": [{"start": 17.9, "end": 24.2, "original": "x"}]}, "'start' must be an integer"),
    ({"text": TEXT, "spans": [{"start": "17", "end": "24", "original": "x"}]}, "'start' must be an integer"),
    ({"text": TEXT, "spans": [{"start": 17, "end": True, "original": "x"}]}, "'end' must be an integer"),
    ({"text": TEXT, "spans": [{"start": -8, "end": -1, "text": "quarter", "original": "x"}]}, "start -8, end -1 is not"),
    ({"text": TEXT, "spans": [{"start": 20, "end": 10, "text": "", "original": "x"}]}, "start 20, end 10 is not"),
    ({"text": TEXT, "spans": [{"start": 17, "end": 17, "text": "", "original": "x"}]}, "start 17, end 17 is not"),
    ({"text": TEXT, "spans": [{"start": 500, "end": 510, "original": "x"}]}, "<= 59, the text's length"),
    ({"text": TEXT, "spans": [{"start": 4, "end": 11, "text": "profits", "original": "x"}]},
     "span 4-11 is 'company', not 'profits'"),
    ({"text": TEXT, "spans": [{"start": 17, "end": 24, "text": "profits"}]}, "span 1 ('profits') has no 'original'"),
    ({"text": TEXT, "spans": [{"start": 17, "end": 24, "original": None}]}, "'original' must be a string"),
    ({"text": TEXT, "spans": [{"start": 17, "end": 24, "original": "a"}] * 2}, "span 17-24 ('profits') is listed twice"),
    ({"text": TEXT, "spans": [{"start": 17, "end": 24, "original": "a"}, {"start": 17, "end": 29, "original": "b"}]},
     "span 17-29 ('profits rose') overlaps span 17-24"),
    ({"text": TEXT, "clean": True, "spans": []}, "'clean' is the unspun text"),
    ({"id": [1], "text": TEXT, "spans": []}, "'id' must be a string or an integer"),
    ({"id": "ok", "text": TEXT, "spans": []}, "id 'ok' is already used on line 1"),
    ({"path": "nope.txt", "spans": []}, "nope.txt': no such file"),
    ({"path": ".", "spans": []}, "is a folder, not a text file"),
    ({"path": "latin1.txt", "spans": []}, "not valid UTF-8"),
    ({"path": "binary.txt", "spans": []}, "looks like binary data"),
    ({"path": "a.txt", "spans": []}, "'a.txt' is the same file as line 1"),
])  # fmt: skip
def test_load_gold_refuses_invalid_lines(tmp_path, line, why):
    """Each invalid line is refused with the file and line number, never counted or skipped."""
    from service import evaluation

    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"abc\x00\x00def ghi")
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    first = {"id": "ok", "path": "a.txt", "spans": []} if why.startswith("'a.txt'") else OK_LINE
    gold = _jsonl(tmp_path / "gold.jsonl", first, "", line)  # the bad line is line 3
    with pytest.raises(evaluation.EvalInputError) as err:
        load_gold(gold)
    assert str(err.value).startswith(f"{gold}:3: ") and why in str(err.value), str(err.value)


def test_a_default_id_that_clashes_says_where_it_came_from(tmp_path):
    """A line without an id takes its line number; when another line gave that number as its id,
    the error says so, and what to do."""
    from service import evaluation

    gold = _jsonl(tmp_path / "gold.jsonl", {"id": 3, "text": TEXT, "spans": []}, "", {"text": TEXT, "spans": []})
    with pytest.raises(evaluation.EvalInputError) as err:
        load_gold(gold)
    assert str(err.value) == (f"{gold}:3: id 3 is already used on line 1 (this line has no 'id', so its "
                              "line number is its id; give it an 'id')")


def test_load_gold_refuses_empty_files_and_long_texts(tmp_path):
    from service import evaluation

    for content in ("", "\n  \n"):
        (tmp_path / "empty.jsonl").write_text(content, encoding="utf-8")
        with pytest.raises(evaluation.EvalInputError, match="empty.jsonl: no documents"):
            load_gold(tmp_path / "empty.jsonl")
    gold = _jsonl(tmp_path / "gold.jsonl", OK_LINE)
    assert len(load_gold(gold, max_chars=len(TEXT))) == 1
    with pytest.raises(evaluation.EvalInputError, match=r"gold.jsonl:1: the text is 59 characters long; the limit is 58"):
        load_gold(gold, max_chars=len(TEXT) - 1)


def test_load_gold_keeps_explicit_clean_documents(tmp_path):
    """``"spans": []`` marks a clean document; ``"clean"`` (the unspun text, as make-data writes it)
    may be a string or null; an empty ``original`` (an inserted word) is a valid span."""
    gold = _jsonl(tmp_path / "gold.jsonl", {"id": 1, "text": TEXT, "spans": []},
                  {"id": 2, "text": TEXT, "clean": None, "spans": [{"start": 16, "end": 24, "original": ""}]})
    docs = load_gold(gold)
    assert docs[0].is_clean and docs[1].spans == [GoldSpan(16, 24, " profits", "")]


def test_load_clean_folder_of_texts(tmp_path):
    """A folder gives its text files, decoded as `unspin score` decodes them; JSONL files in it are
    not read, and the caller is told so."""
    from service.evaluation import load_clean

    folder = tmp_path / "clean"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbfOne text.\r\nTwo lines.\r\n")
    (folder / "sub" / "b.md").write_text("Another text.", encoding="utf-8")
    (folder / "docs.jsonl").write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    warnings: list[str] = []
    docs = load_clean(folder, warn=warnings.append)
    assert [d.text for d in docs] == ["One text.\r\nTwo lines.\r\n", "Another text."]
    assert all(d.is_clean for d in docs)
    assert len(warnings) == 1 and "1 JSONL file(s) not read" in warnings[0] and "docs.jsonl" in warnings[0]


def test_load_clean_file_is_json_lines_by_content(tmp_path):
    """A file is JSON lines when named *.jsonl/*.ndjson or when its first line is a JSON object,
    whatever its name; otherwise it is one text."""
    from service.evaluation import load_clean

    lines = [{"id": 1, "text": "First clean text."}, {"id": 2, "text": "Second one.", "spans": []}]
    for name in ("clean.jsonl", "clean.json", "clean.ndjson", "clean.JSONL", "clean"):
        docs = load_clean(_jsonl(tmp_path / name, *lines))
        assert [(d.id, d.text) for d in docs] == [(1, "First clean text."), (2, "Second one.")], name
    plain = tmp_path / "plain.txt"
    plain.write_text("{ not json } but a text\n", encoding="utf-8")
    assert [d.text for d in load_clean(plain)] == ["{ not json } but a text\n"]


@pytest.mark.parametrize("name, content, why", [
    ("empty.jsonl", "", "empty.jsonl: no documents"),
    ("blank.jsonl", "\n\n", "blank.jsonl: no documents"),
    ("body.jsonl", '{"id": 1, "body": "text"}\n', "body.jsonl:1: no 'text' (keys: id, body)"),
    ("bad.json", '{"text": "ok"}\n{"text": \n', "bad.json:2: not valid JSON"),
    ("null.jsonl", '{"text": null}\n', "null.jsonl:1: 'text' must be a string, got null"),
    ("emptytext.jsonl", '{"text": ""}\n', "emptytext.jsonl:1: the text is empty"),
    ("spun.jsonl", json.dumps(OK_LINE) + "\n", "spun.jsonl:1: has spans, but clean documents have none"),
    ("array.json", '[{"text": "a"},\n {"text": "b"}]\n', "array.json: is one JSON document, not JSON lines"),
    ("empty.txt", "", "empty.txt: the text is empty"),
    ("binary.txt", b"abc\x00\x00def", "binary.txt: looks like binary data"),
])  # fmt: skip
def test_load_clean_refuses_unusable_files(tmp_path, name, content, why):
    from service.evaluation import EvalInputError, load_clean

    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(EvalInputError) as err:
        load_clean(f)
    assert str(err.value).startswith(str(tmp_path)) and why in str(err.value), str(err.value)


def test_load_clean_refuses_folders_without_texts(tmp_path):
    from service.evaluation import EvalInputError, load_clean

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvalInputError, match=r"empty: no text files \(\*\.txt"):
        load_clean(empty)
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    (jsonl / "clean_test.jsonl").write_text('{"text": "a"}\n', encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"holds JSON lines: name the file itself \(--clean .*clean_test\.jsonl\)"):
        load_clean(jsonl)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_text("A text.", encoding="utf-8")
    (bad / "b.txt").write_text("", encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"bad/b\.txt: the text is empty"):
        load_clean(bad)


def test_word_errors_count_word_edits_case_folded():
    assert tokens("The U.S. didn't — ok.") == ["the", "u", ".", "s", ".", "didn't", "—", "ok", "."]
    assert word_errors("the two terrific powers", "The two GREAT powers") == 1
    assert word_errors("have actually met", "have met") == 1
    assert word_errors("same text.", "same  text .") == 0
    assert original_text(SPUN, GOLD) == "The minister said that great powers have met."
    assert original_text(SPUN, [{"start": 0, "end": 3}]) is None  # no original: not measured


def test_restored_text_errors_against_the_original():
    """As written, the three gold phrases are 3 word edits from the original (of its 9 tokens);
    restored with a right suggestion (0), a wrong one (1), a missed phrase (1) and a false flag (1),
    3; a flag in clean text is counted apart."""
    predicted = [span(13, 19, "said"), span(25, 33, "huge", "great"), span(55, 58, "gathered")]
    clean_text = "The minister said that great powers have met."
    clean = EvalDoc(text=clean_text, predicted=[span(23, 28, "big", text=clean_text)], clean=True)
    m = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=predicted), clean])
    assert m.original_tokens == 9 and m.word_errors_written == pytest.approx(3 / 9)
    assert m.word_errors_restored == pytest.approx(3 / 9)  # "huge", " actually" kept, "gathered"
    assert m.clean_tokens == 9 and m.clean_word_errors_restored == pytest.approx(1 / 9)
    right = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=[span(13, 19, "said"), span(25, 33, "great"),
                                                               span(45, 54, "")])])
    assert right.word_errors_restored == 0 and right.clean_word_errors_restored is None
    assert "33.3 % → 0.0 %" in right.as_table()
