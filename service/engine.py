"""The engine: ``Engine.score(text) -> Report``. The only entry point the CLI, API and page use.

Data flows one way: text -> sentences and tokens (offsets into the text as received) -> slots
(words and known phrases that could be spun) -> candidates (thesaurus, lexicon, LM fillers) ->
language-model comparisons and lexical facts -> fused scores -> spans with suggestions -> Report.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_right
from importlib.metadata import version as _version
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from service.analysis import Analysis, NearMisses, SlotResult, list_rule
from service.articles import ARTICLES, after_its_article, article_for
from service.causal_lm import NAME as CAUSAL_NAME
from service.causal_lm import CausalLM, CausalLMUnavailable
from service.case import match_case
from service.candidates import INSERTED_FILLERS, SKIP_RELATIONS, Candidate, CandidateGenerator
from service.config import Settings, get_settings
from service.credits import credit_hits
from service.corrector import DEFAULT_PATH as CORRECTOR_PATH
from service.corrector import Corrector
from service.decoding import InputError, check_text
from service.detector import DEFAULT_PATH as DETECTOR_PATH
from service.detector import ReplacedWordDetector
from service.garble import GarbleModel, load_garble_model, sentence_features
from service.grammar import GrammarChecker, GrammarMatch, GrammarOptions, merge_part_statuses
from service.homoglyphs import look_alike_span, look_alikes
from service.grammar_signal import SlotView, match_span, slot_evidence
from service.language import combine as combine_languages
from service.language import identify as identify_language
from service.language import letters
from service.lexicon import Lexicon, load_lexicons
from service.lm.base import LanguageModel, Slot, lm_word, lm_words, screen_select
from service.lm.ngram import NGramLM
from service.neighbour_store import NeighbourStore, store_key
from service.pages import without_furniture
from service.prior import document_prior, shift
from service.relatedness import Relatedness
from service.second_look import DEFAULT_PATH as SECOND_LOOK_PATH
from service.second_look import SecondLook, SlotProgress
from service.report import SPUN_DOC_EVIDENCE, GrammarStatus, Report, SentenceScore, Span, Stats, Suggestion
from service.scoring import (
    FusionModel,
    FEATURE_NAMES,
    SlotRows,
    default_fusion_path,
    document_label,
    document_score,
    featurize_rows,
    slot_features,
)
from service.slots import PendingSlot, capitals_mark_nothing, filler_slot, open_class
from service.text import OPENERS, Sentence, segment, word_count
from service.thesaurus import ThesaurusUnavailable, get_thesaurus

log = logging.getLogger("unspin")

_SIM = FEATURE_NAMES.index("sim")
#: Slots featurized (and fused) per call.
_FEATURE_CHUNK = 2048


class Engine:
    """Scores texts for spinning. One instance can serve concurrent ``score`` calls: its only mutable
    state is caches that are filled, never changed."""

    def __init__(
        self,
        settings: Settings | None = None,
        lm: LanguageModel | None = None,
        ngram: NGramLM | None = None,
        fusion: FusionModel | None = None,
        lexicon: Lexicon | None = None,
        grammar: GrammarChecker | None = None,
        garble: GarbleModel | None = None,
        lm_fallback: str | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        #: why the transformer that ``UNSPIN_LM=auto`` asked for is not the model that runs (given by
        #: :func:`build_engine`; None when it runs, or was not asked for)
        self.lm_fallback = lm_fallback
        #: the LanguageTool checker, or None when none is configured (grammar then "not checked")
        self.grammar = grammar if grammar is not None else GrammarChecker.from_settings(self.settings)
        self.garble = garble or load_garble_model()
        self.ngram = ngram or NGramLM(self.settings.ngram_path, self.settings.cache_dir)
        self.lm = lm or self.ngram
        #: the second look at doubtful slots and the model it reads with (None, None: not used);
        # learned on the shipped fusion's scores: not with another fusion (training starts from a neutral
        # one). Loaded before the thesaurus and the encoders, so that a second-look file that cannot load
        # stops the engine in a second or two rather than after everything else has loaded.
        self.second_look, self.causal = get_second_look(self.settings, self.lm.name) if fusion is None else (None, None)
        self.fusion = fusion or _load_fusion(self.lm.name)
        self.lexicon = lexicon if lexicon is not None else load_lexicons(self.settings.lexicons)
        self.thesaurus = get_thesaurus(self.settings)
        self.relatedness = get_relatedness(self.ngram, self.settings.cache_dir)
        self.detector = get_detector(self.relatedness)
        #: None without the corrector file or a detector to read states with (its features are then 0)
        self.corrector = get_corrector(self.relatedness) if self.detector.probe is not None else None
        self.candidates = CandidateGenerator(
            self.thesaurus, self.ngram, self.relatedness, store=get_neighbour_store(self.settings, self.ngram)
        )

    @property
    def lm_name(self) -> str:
        """The language models that produce the scores, as reports name them ("ngram:cmu-en-us",
        "ngram:cmu-en-us+causal:smollm2-135m" with the second look)."""
        return self._lm_name(self.second_look is not None)

    def _lm_name(self, looked: bool) -> str:
        """The name of the models of an analysis the second look read (``looked``) or not."""
        return self.lm.name + (f"+causal:{CAUSAL_NAME}" if looked else "")

    @property
    def threshold(self) -> float:
        """Span score from which spans are reported (with the second look when the engine has it)."""
        return self._threshold(self.second_look is not None)

    def _threshold(self, looked: bool) -> float:
        """The threshold for an analysis the second look read (``looked``: the one calibrated with
        it) or not (the fusion's); ``UNSPIN_THRESHOLD`` when set."""
        t = self.settings.threshold
        if t is not None:
            return t
        return self.second_look.threshold if looked and self.second_look is not None else self.fusion.threshold

    def spun_doc_threshold(self, threshold: float | None = None, looked: bool | None = None) -> float | None:
        """The second, lower threshold for documents judged spun (``None``: none), for a report made
        at ``threshold`` (``None``: the engine's :attr:`threshold`) of an analysis the second look
        read (``looked``; ``None``: whether the engine has it). ``UNSPIN_SPUN_DOC_THRESHOLD``
        decides when set ('off': none); unset, it is the value chosen with the second look, which
        goes with the threshold calibrated with it: not used when the second look does not run or
        the threshold is set otherwise (``UNSPIN_THRESHOLD``, a request's own)."""
        low = self.settings.spun_doc_threshold
        if low is not None:
            return None if low == "off" else low
        if looked is None:
            looked = self.second_look is not None
        if not looked or self.second_look is None or threshold is not None or self.settings.threshold is not None:
            return None
        return self.second_look.spun_doc_threshold

    def _listed_from(self, threshold: float | None, looked: bool, label: str) -> float:
        """The lowest score a spun span of a report is listed at: the threshold, or in a document
        labelled spun the second threshold (:meth:`spun_doc_threshold`) when it is lower. For a
        report made at ``threshold`` (``None``: the engine's) of an analysis the second look read
        (``looked``) or not."""
        thr = self._threshold(looked) if threshold is None else threshold
        low = self.spun_doc_threshold(threshold, looked)
        return low if low is not None and low < thr and label == "spun" else thr

    # -- analysis ---------------------------------------------------------------------------
    def _eligible(self, sent: Sentence, idx: int, word: str | None, names: frozenset[str], caps_free: bool) -> bool:
        """Whether token ``idx`` of ``sent`` (read as ``word``) may be a slot: an open-class word the
        n-gram model knows, not a name, not an acronym; where capitals mark nothing (``caps_free``,
        see :func:`capitals_mark_nothing`) a word in capitals is read as a word, unless the document
        writes it as a name in mid-sentence ("KNOLL TO BUY ..." over a text about Knoll)."""
        tok = sent.tokens[idx]
        if word is None or not open_class(word):
            return False
        if tok.is_upper and (not caps_free or word in names):
            return False  # acronyms, and names in a heading or a line in capitals
        if tok.is_capitalized and not tok.is_upper:
            first_word = next((i for i, t in enumerate(sent.tokens) if t.is_word), -1)
            if idx != first_word or word in names:
                return False  # names, also at the start of a sentence
        return self.ngram.in_vocab(word)

    @staticmethod
    def _names(sentences: Sequence[Sentence]) -> frozenset[str]:
        """Words the document capitalises in mid-sentence: names, even where they open a sentence."""
        out = set()
        for sent in sentences:
            words = [t for t in sent.tokens if t.is_word]
            out.update(t.norm for t in words[1:] if t.is_capitalized and not t.is_upper)
        return frozenset(out)

    def _slots_for(self, s_idx: int, sent: Sentence, names: frozenset[str]) -> list[PendingSlot]:
        words = [lm_word(t) for t in sent.tokens]
        pos = [i for i, w in enumerate(words) if w is not None]
        lm_tokens = tuple(words[i] for i in pos)  # type: ignore[misc]
        where = {tok_i: lm_i for lm_i, tok_i in enumerate(pos)}
        out = []
        taken: set[tuple[int, int]] = set()

        def usable(first: int, last: int) -> bool:  # a hit holding a word the language model reads
            return any(t in where for t in range(first, last))

        def article(a: int) -> int | None:
            """The token index of an "a"/"an" right before LM token ``a``, or with opening quotation
            marks or brackets alone between them ("a ‘brand-new’ level" -> "an ‘unprecedented’")."""
            if a == 0 or lm_tokens[a - 1] not in ARTICLES:
                return None
            return pos[a - 1] if all(set(t.text) <= OPENERS for t in sent.tokens[pos[a - 1] + 1 : pos[a]]) else None

        hits = [*(self.lexicon.match(sent.tokens, usable) if len(self.lexicon) else []),
                *credit_hits(sent, self.thesaurus, self.relatedness)]
        for hit in hits:
            # the language model compares the hit's words; the span is the whole hit, punctuation at
            # its edges too ("hazard ratio (RR)": the ")" is no word of the model, but the list's)
            inner = [where[t] for t in range(hit.first_token, hit.last_token) if t in where]
            if inner:
                a, b = inner[0], inner[-1] + 1
                # the originals in the number the text has, as the list writes them ("DNA damage"),
                # and with the article they take ("an essential moment" -> "a critical moment")
                cands = [Candidate(tuple(o.lower().split()), "lexicon", written=o) for o in hit.suggestions]
                first_word = pos[a] == hit.first_token
                out.append(PendingSlot(s_idx, hit.first_token, hit.last_token, Slot(lm_tokens, a, b), cands, hit.source,
                                    article=article(a) if first_word else None, builtin=hit.builtin))
                taken.add((a, b))
        caps_free = capitals_mark_nothing(sent)
        eligible = [self._eligible(sent, i, words[i], names, caps_free) for i in pos]

        for a in range(len(pos)):
            if not eligible[a]:
                continue
            w = lm_tokens[a]
            if any(a < tb and ta < a + 1 for ta, tb in taken):
                continue  # inside a lexicon entry: the user's list decides there
            if w in INSERTED_FILLERS:
                if (filler := filler_slot(s_idx, sent, a, pos, lm_tokens)) is not None:
                    out.append(filler)
                continue
            for n in (3, 2):
                b = a + n
                if b <= len(pos) and all(eligible[a:b]) and pos[b - 1] - pos[a] == n - 1:
                    if not any(a < tb and ta < b for ta, tb in taken) and self.candidates.is_phrase(lm_tokens[a:b]):
                        slot = Slot(lm_tokens, a, b)
                        cands, sims = self.candidates.scored_for_slot(slot)
                        if cands:
                            out.append(PendingSlot(s_idx, pos[a], pos[b - 1] + 1, slot, cands, None, sims, article(a)))
            slot = Slot(lm_tokens, a, a + 1)
            cands, sims = self.candidates.scored_for_slot(slot)
            if cands:
                out.append(PendingSlot(s_idx, pos[a], pos[a] + 1, slot, cands, None, sims, article(a)))
        return out

    def analyze(self, text: str, progress: SlotProgress | None = None, second_look: bool = True) -> Analysis:
        """Segment ``text`` and score every slot's candidates (no thresholding). ``progress`` wraps
        the iteration over the slots the second look reads (see :meth:`score`); with
        ``second_look`` false it does not read them, even when the engine has it."""
        return self.analyze_many([text], progress, [second_look])[0]

    def analyze_many(self, texts: Sequence[str], progress: SlotProgress | None = None,
                     second_look: Sequence[bool] | None = None) -> list[Analysis]:
        """:meth:`analyze` for several texts at once, with the same result for each: the language
        model screens and compares the slots of all texts in one call each, which is what lets a
        transformer batch across documents. Screening still keeps a share of each text's slots.
        ``progress`` wraps each text's second look in turn; ``second_look`` says, per text, whether
        the second look reads it when the engine has one (``None``: every text)."""
        looks = [True] * len(texts) if second_look is None else list(second_look)
        if len(looks) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(looks)} second-look choices")
        docs = []
        readings = [without_furniture(text) for text in texts]  # page numbers and running heads left unread
        for text, reading in zip(texts, readings):
            sentences = segment(reading)
            names = self._names(sentences)
            pending = [p for s_idx, sent in enumerate(sentences) for p in self._slots_for(s_idx, sent, names)]
            docs.append((text, sentences, pending))
        st = self.settings
        if st.screen_keep < 1.0 and self.lm.screens:  # masked comparisons only for the slots the screen doubts
            screens = self.lm.screen([p.lm_slot() for _, _, pending in docs for p in pending])
            at = 0
            for k, (text, sentences, pending) in enumerate(docs):
                mine, at = screens[at : at + len(pending)], at + len(pending)
                kept = screen_select(mine, st.screen_keep, st.screen_candidates, [p.lexicon is not None for p in pending])
                docs[k] = (text, sentences, [pending[i].keep(alts) for i, alts in kept])
        every = [p for _, _, pending in docs for p in pending]
        scores = self._agreeing_articles(every, self.lm.compare([p.lm_slot() for p in every]))
        replaced, states = self.detector.read([s for _, sentences, _ in docs for s in sentences])
        out, at, s_at = [], 0, 0
        for (text, sentences, pending), look, reading in zip(docs, looks, readings):
            mine, at = scores[at : at + len(pending)], at + len(pending)
            odds, read = replaced[s_at : s_at + len(sentences)], states[s_at : s_at + len(sentences)]
            s_at += len(sentences)
            results: list[SlotResult] = []
            # features and fusion for many slots per call (per-call overhead dominates otherwise),
            # in chunks so that a very long text does not build one huge matrix
            for lo in range(0, len(pending), _FEATURE_CHUNK):
                chunk, X = self._features(pending[lo : lo + _FEATURE_CHUNK], mine[lo : lo + _FEATURE_CHUNK], odds, read)
                probs = self.fusion.predict(X)
                row = 0
                for r in chunk:
                    r.probs = probs[row : row + len(r.features)]
                    row += len(r.features)
                if self.fusion.slot is not None:  # P(spun) of each slot with candidates; 0 without
                    counts = np.array([len(r.features) for r in chunk])
                    spun = iter(self.fusion.slot.predict(slot_features(X, probs, counts[counts > 0])).tolist())
                    for r in chunk:
                        r.slot_prob = next(spun) if len(r.features) else 0.0
                results += chunk
            analysis = Analysis(text, sentences, results, word_count(sentences), self._adapt_prior(results),
                                read=None if reading is text else reading)
            if look and self.second_look is not None:
                self.second_look.apply(analysis, self.causal, progress)
                analysis.second_look = True
            out.append(analysis)
        return out

    def _agreeing_articles(self, pending: Sequence[PendingSlot], scores: list[np.ndarray]) -> list[np.ndarray]:
        """``scores`` (the LM's ``compare`` of each slot) with every candidate that takes the other
        article than the one written before the slot scored with its own ("at an essential moment":
        "critical" as "a critical", not "an critical"). The language model compares the article and
        the slot together for those; their score is that comparison's gain over the written words
        added to the written words' score, so it sits on the same scale as the other candidates'."""
        jobs, slots = [], []
        for k, p in enumerate(pending):
            need = p.articles()
            if need is None:
                continue
            written = p.written_article()
            other = [j for j, a in enumerate(need) if a != written]
            if other:
                sl = p.slot
                alts = tuple((need[j], *p.candidates[j].tokens) for j in other)
                jobs.append((k, other))
                slots.append(Slot(sl.tokens, sl.start - 1, sl.end, alts))
        if not slots:
            return scores
        out = list(scores)
        for (k, other), ext in zip(jobs, self.lm.compare(slots)):
            fixed = np.array(out[k], dtype=np.float64)
            fixed[[1 + j for j in other]] = ext[1:] - ext[0] + fixed[0]
            out[k] = fixed
        return out

    def _adapt_prior(self, results: Sequence[SlotResult]) -> float | None:
        """Re-weight a document's slot probabilities (with a slot model; else its candidate
        probabilities) to its own estimated share of spun slots (:mod:`service.prior`); returns that
        share, or None when the fusion has no training prior."""
        f = self.fusion
        if f.train_prior is None:
            return None
        scores = np.array([r.lm_score for r in results])
        if f.slot is None:
            prior = document_prior(_distinct(results, scores), f.train_prior, f.prior_strength, f.prior_target)
            for r in results:
                r.probs = shift(r.probs, f.train_prior, prior)
            return prior
        # the slots the slot model learned from: with candidates, not decided by a list
        learned = np.array([bool(len(r.candidates)) and not r.lexicon for r in results], dtype=bool)
        mine = [r for r, k in zip(results, learned) if k]
        prior = document_prior(_distinct(mine, scores[learned]), f.train_prior, f.prior_strength, f.prior_target)
        for r, p in zip(results, shift(scores, f.train_prior, prior).tolist()):
            r.slot_prob = p
        return prior

    def _features(
        self, pending: Sequence[PendingSlot], scores: Sequence[np.ndarray], replaced: Sequence[np.ndarray],
        states: Sequence[dict[int, np.ndarray]],
    ) -> tuple[list[SlotResult], np.ndarray]:
        """The feature rows of every candidate of these slots (``scores``: the LM's ``compare`` for
        each; ``replaced``: the detector's log-odds per token of each sentence of the text;
        ``states``: the encoder's state of each word read, by token index, for the corrector),
        computed for all slots at once: one result per slot, its ``features`` a view of the
        returned matrix, which holds the rows of all of them in order."""
        if not pending:
            return [], np.zeros((0, len(FEATURE_NAMES)))
        ng = self.ngram
        counts = np.array([len(p.candidates) for p in pending])
        slot_ids = np.repeat(np.arange(len(pending)), counts)
        cands = [c for p in pending for c in p.candidates]
        uni_w = np.empty(len(pending))
        per_token = np.empty(len(pending))  # the written window's ln-score per word
        len_w = np.empty(len(pending))
        sims = []
        seams_w: list[tuple[str | None, str | None]] = []
        seams_left: list[tuple[str | None, str | None]] = []
        seams_right: list[tuple[str | None, str | None]] = []
        written_all = []
        for k, (p, lp) in enumerate(zip(pending, scores)):
            slot = p.slot
            toks = slot.tokens
            written = tuple(toks[slot.start : slot.end])
            written_all.append(written)
            left = toks[slot.start - 1] if slot.start > 0 else "<s>"
            right = toks[slot.end] if slot.end < len(toks) else "</s>"
            uni_w[k] = sum(_unigram(ng, w) for w in written)
            window = (slot.end - slot.start) + min(2, len(toks) - slot.end) + 1
            per_token[k] = float(lp[0]) / window
            len_w[k] = len(written)
            sims.append(p.sims if p.sims is not None
                        else self.relatedness.similarities(" ".join(written), [c.text for c in p.candidates]))
            seams_w += [(left, written[0]), (written[-1], right)]
            lefts = p.articles() or [left] * len(p.candidates)  # a candidate after its own article
            seams_left += [(lc, c.tokens[0] if c.tokens else None) for lc, c in zip(lefts, p.candidates)]
            seams_right += [(c.tokens[-1] if c.tokens else None, right) for c in p.candidates]
        lp_all = np.concatenate([np.asarray(lp[1:], dtype=np.float64) for lp in scores])
        lp0 = np.array([float(lp[0]) for lp in scores])
        lens = np.array([len(c.tokens) for c in cands], dtype=np.float64)
        # a candidate with fewer words skips their cost: charge it the window's mean cost per word
        gains = lp_all - lp0[slot_ids] + (len_w[slot_ids] - lens) * per_token[slot_ids]
        # every seam bigram in one lookup: per slot, written left and right; per candidate, the same
        seen = ng.bigrams_seen(seams_w + seams_left + seams_right).astype(np.float64)
        w, c = 2 * len(pending), len(cands)
        seen_w, seen_left_c, seen_c_right = seen[:w], seen[w : w + c], seen[w + c :]
        uni_c = np.array([
            _unigram(ng, c.tokens[0]) if len(c.tokens) == 1 else sum(_unigram(ng, w) for w in c.tokens) for c in cands
        ], dtype=np.float64)
        X = featurize_rows(SlotRows(
            slot=slot_ids,
            gains=gains,
            uni_w=uni_w[slot_ids],
            uni_c=uni_c,
            lp_w_tok=per_token[slot_ids],
            seen_left_w=seen_w[0::2][slot_ids],
            seen_w_right=seen_w[1::2][slot_ids],
            seen_left_c=seen_left_c,
            seen_c_right=seen_c_right,
            len_w=len_w[slot_ids],
            len_c=lens,
            relations=np.array([c.relation for c in cands]),
            sims=np.concatenate([np.asarray(x, dtype=np.float64) for x in sims]),
            replaced=np.array([replaced[p.sentence][p.first : p.last].max() for p in pending])[slot_ids],
            corr=self._corrections(pending, written_all, states, counts),
        ))
        out, at = [], 0
        for p, written, n in zip(pending, written_all, counts.tolist()):
            out.append(SlotResult(p.sentence, p.first, p.last, written, p.candidates, X[at : at + n], lexicon=p.lexicon,
                                  article=p.article, builtin=p.builtin))
            at += n
        return out, X

    def _corrections(self, pending: Sequence[PendingSlot], written: Sequence[tuple[str, ...]],
                     states: Sequence[dict[int, np.ndarray]], counts: np.ndarray) -> np.ndarray:
        """The corrector's gain of every candidate row (``counts``: each slot's candidates), NaN
        where it has none: it learned one word for one word, so slots of several words, candidates
        of other than one known word and words the encoder did not read are left to the other
        features (and everything without a corrector)."""
        out = np.full(int(counts.sum()), np.nan)
        if self.corrector is None:
            return out
        read = np.array([len(w) == 1 and p.first in states[p.sentence] for p, w in zip(pending, written)], dtype=bool)
        if not read.any():
            return out
        ks = np.flatnonzero(read)
        out[np.repeat(read, counts)] = self.corrector.gains(
            np.stack([states[pending[k].sentence][pending[k].first] for k in ks]),
            [written[k][0] for k in ks],
            [[c.text for c in pending[k].candidates] for k in ks],
        )
        return out

    def common_words(self, n: int) -> list[str]:
        """The ``n`` words the n-gram model finds most frequent that can be slots (lower case,
        letters only, not closed-class), most frequent first."""
        ng = self.ngram
        words = [w for w in ng.index.vocab if w.isalpha() and w.islower() and open_class(w)]
        words.sort(key=lambda w: (-_unigram(ng, w), w))
        return words[: max(0, n)]

    def prepare(self, words: Sequence[str],
                progress: Callable[[Sequence[str]], Iterable[str]] | None = None) -> None:
        """Fill the neighbour store with these words' candidates (``unspin prepare``): a process
        that later meets them reads the store instead of walking WordNet. ``progress`` wraps the
        iteration (e.g. tqdm)."""
        for w in progress(words) if progress else words:
            self.candidates.prefetch(w)
        if self.candidates.store is not None:
            self.candidates.store.flush()

    # -- the report ---------------------------------------------------------------------------
    def score(
        self,
        text: str,
        *,
        id: str | None = None,
        path: str | None = None,
        threshold: float | None = None,
        max_suggestions: int | None = None,
        grammar: bool | GrammarOptions = True,
        progress: SlotProgress | None = None,
        second_look: bool = True,
    ) -> Report:
        """Score one text. Raises :class:`service.decoding.InputError` for empty or oversized text.

        With ``grammar`` (and a checker configured) LanguageTool checks the text too: its matches
        become spans of kind grammar/typo/formatting, and grammar errors on or next to a candidate
        slot raise its score. A grammar server in trouble never fails the call: the report's
        ``grammar`` says why it was not checked. ``grammar`` may be a
        :class:`~service.grammar.GrammarOptions`: checked, with a client's own language, level and
        rules (what ``/v2/check`` was sent) instead of the configured ones.

        ``progress`` wraps the iteration over the slots the second look reads (e.g. ``tqdm``; it is
        given a sequence, so it knows their number): most of the time a long text takes is there.
        It does not change the report.

        With ``second_look`` false the second look does not read the text although the engine has
        it: the report is the one an engine without it (``UNSPIN_SECOND_LOOK=off``) gives, at its
        threshold, in a fraction of the time, and its ``lm`` says so.
        """
        return self._score(text, progress, second_look, id=id, path=path, threshold=threshold,
                           max_suggestions=max_suggestions, grammar=grammar)

    def _score(self, text: str, progress: SlotProgress | None, second_look: bool = True, **report) -> Report:
        """:meth:`score`, its ``report`` options passed to :meth:`_report` (with ``weaker`` for a
        part of a document, :meth:`score_parts`); the clock starts before the text is checked."""
        t0 = time.perf_counter()
        check_text(text, self.settings.max_chars)
        return self._report(self.analyze(text, progress, second_look), t0, **report)

    def score_near(self, text: str, phrases: Sequence[tuple[int, int]], *,
                   progress: SlotProgress | None = None) -> NearMisses:
        """:meth:`score` with its defaults, and for each of ``phrases`` (code-point ``(start, end)``
        ranges of ``text``, e.g. gold spun phrases) the span the engine would list there at any
        score: the highest-scoring slot over the range, as a spun span with its suggestions
        (``None`` where no slot overlaps it). Tells how far a phrase the report misses was from being
        listed (``NearMisses.listed_from``); the report is the one :meth:`score` gives."""
        t0 = time.perf_counter()
        check_text(text, self.settings.max_chars)
        analysis = self.analyze(text, progress)
        report = self._report(analysis, t0)  # grammar evidence, if any, is in the slots' scores after this
        k = self.settings.max_suggestions
        near = []
        for start, end in phrases:
            r = analysis.best_slot(start, end)
            near.append(None if r is None else self._spans_of(analysis, [r], k)[0])
        return NearMisses(report, near, self._listed_from(None, analysis.second_look, report.label))

    def score_many(self, texts: Sequence[str], options: Sequence[dict] | None = None) -> list[Report | InputError]:
        """Score several texts in one go (the language model batches across them), each with its own
        keyword options of :meth:`score` (``id``, ``path``, ``threshold``, ``max_suggestions``,
        ``grammar``, ``second_look``). Returns one entry per text, in order: its report, or the
        :class:`InputError` that refused it (the others are still scored). Each report equals what
        :meth:`score` gives."""
        t0 = time.perf_counter()
        opts = [dict(o) for o in options] if options is not None else [{} for _ in texts]
        out: list[Report | InputError | None] = [None] * len(texts)
        ok = []
        for i, text in enumerate(texts):
            try:
                check_text(text, self.settings.max_chars)
                ok.append(i)
            except InputError as e:
                out[i] = e
        looks = [bool(opts[i].pop("second_look", True)) for i in ok]
        for i, analysis in zip(ok, self.analyze_many([texts[i] for i in ok], second_look=looks)):
            out[i] = self._report(analysis, t0, **opts[i])
        return out  # type: ignore[return-value]

    def _report(
        self,
        analysis: Analysis,
        t0: float,
        *,
        id: str | None = None,
        path: str | None = None,
        threshold: float | None = None,
        max_suggestions: int | None = None,
        grammar: bool | GrammarOptions = True,
        weaker: bool = False,
    ) -> Report:
        """Threshold, grammar, garble and the document score: an analysis becomes a report. With
        ``weaker`` the spans down to the second threshold are listed (marked) whatever this text's
        verdict: :meth:`score_parts` keeps them only when the whole document is judged spun."""
        text = analysis.text
        looked = analysis.second_look
        thr = self._threshold(looked) if threshold is None else threshold
        k = max_suggestions or self.settings.max_suggestions
        status, gmatches = self._check_grammar(text, grammar)
        if gmatches:
            self._apply_grammar(analysis, gmatches)
        spans = self._spans(analysis, thr, k)
        # the verdict comes from the spans at the threshold; a document judged spun may then show its
        # weaker spans too (the second threshold), without them changing the verdict
        doc = document_score([s.score for s in spans], analysis.words)
        low = self._listed_from(threshold, looked, "spun" if weaker else document_label(doc))
        if low < thr:
            judged = {(s.start, s.end) for s in spans}
            spans = self._spans(analysis, low, k)
            for s in spans:
                if (s.start, s.end) not in judged:
                    s.evidence[SPUN_DOC_EVIDENCE] = low
        sent_scores = [0.0] * len(analysis.sentences)
        for r in analysis.slots:
            sent_scores[r.sentence] = max(sent_scores[r.sentence], r.score)
        garbles = self._garbles(analysis, gmatches if status.checked else None)
        spans += self._grammar_spans(analysis, gmatches, sent_scores, garbles)
        spans += self._look_alike_spans(analysis)
        spans.sort(key=lambda s: (s.start, s.end, s.kind != "spun"))
        return Report(
            id=id,
            path=path,
            score=round(doc, 4),
            label=document_label(doc),
            lm=self._lm_name(looked),
            grammar=status,
            language=identify_language(text),
            stats=Stats(words=analysis.words, sentences=len(analysis.sentences), seconds=round(time.perf_counter() - t0, 4)),
            sentences=[
                SentenceScore(start=s.start, end=s.end, score=round(sc, 4), garble=round(g, 4))
                for s, sc, g in zip(analysis.sentences, sent_scores, garbles)
            ],
            spans=spans,
        )

    def score_parts(
        self,
        parts: Iterable[str],
        *,
        id: str | None = None,
        path: str | None = None,
        threshold: float | None = None,
        max_suggestions: int | None = None,
        grammar: bool | GrammarOptions = True,
        progress: SlotProgress | None = None,
    ) -> Report:
        """Score a document too long for one call, given as consecutive parts (their concatenation is
        the document), holding one part at a time: offsets in the report index into the whole
        document. Cut the parts at paragraph breaks, each at most ``UNSPIN_MAX_CHARS`` long; a
        whitespace-only part is skipped. Raises :class:`InputError` when no part has any text.
        Each part gets its own document-level prior (:mod:`service.prior`); at tens of thousands of
        words a part, its estimate is as firm as the whole document's. The second threshold
        (:meth:`spun_doc_threshold`) goes by the whole document's verdict, as in one call: every
        part's weaker spans are listed when the document is judged spun, none when it is not (a
        part judged spun in a document that is not had listed its own). ``progress`` is as for :meth:`score`,
        given each part's slots in turn. The report's ``grammar`` sums the matches of the parts
        checked; when some parts were not checked (the server went down) or LanguageTool checked a
        part only in part, it is checked but not ``complete``, its ``reason`` naming those parts
        (:func:`~service.grammar.merge_part_statuses`); when no part was checked, it says why.
        """
        t0 = time.perf_counter()
        base = 0
        spans: list[Span] = []
        sentences: list[SentenceScore] = []
        words = 0
        statuses: list[GrammarStatus] = []  # each scored part's
        languages = []  # each part's (letters, language)
        lm_name = self.lm_name
        for part in parts:
            if part and not part.isspace():
                r = self._score(part, progress, threshold=threshold, max_suggestions=max_suggestions,
                                grammar=grammar, weaker=True)
                spans += [s.model_copy(update={"start": s.start + base, "end": s.end + base}) for s in r.spans]
                sentences += [s.model_copy(update={"start": s.start + base, "end": s.end + base}) for s in r.sentences]
                words += r.stats.words
                languages.append((letters(part), r.language))
                statuses.append(r.grammar)
            base += len(part)
        if not statuses:
            raise InputError("the text is empty or contains only whitespace")
        # the verdict from the spans at the threshold, as for one call; the weaker spans every part
        # listed stay only in a document judged spun, as they would in one call
        doc = document_score([s.score for s in spans if s.kind == "spun" and not s.by_document_verdict], words)
        if document_label(doc) != "spun":
            spans = [s for s in spans if not s.by_document_verdict]
        return Report(
            id=id,
            path=path,
            score=round(doc, 4),
            label=document_label(doc),
            lm=lm_name,
            grammar=merge_part_statuses(statuses),
            language=combine_languages(languages),
            stats=Stats(words=words, sentences=len(sentences), seconds=round(time.perf_counter() - t0, 4)),
            sentences=sentences,
            spans=spans,
        )

    # -- grammar and garble -----------------------------------------------------------------------
    def _check_grammar(self, text: str, wanted: bool | GrammarOptions) -> tuple[GrammarStatus, list[GrammarMatch]]:
        if self.grammar is None:
            return GrammarStatus(), []
        if not wanted:
            return GrammarStatus(reason="grammar check not requested", server=self.grammar.server), []
        res = self.grammar.check(text, wanted if isinstance(wanted, GrammarOptions) else None)
        return res.status, res.matches

    def _apply_grammar(self, analysis: Analysis, matches: list[GrammarMatch]) -> None:
        """Attach to each slot the strongest grammar evidence on or next to it (raises its score)."""
        views = [
            SlotView(*analysis.offsets(r), [c.text for c in r.candidates]) for r in analysis.slots
        ]
        evidence = slot_evidence(analysis.text, views, matches, self.relatedness.similarities, self._same_word)
        for r, ev in zip(analysis.slots, evidence):
            r.grammar = ev

    def _same_word(self, a: str, b: str) -> bool:
        """Whether ``a`` and ``b`` are forms of one word ("participates", "participate")."""
        a, b = a.lower().strip(), b.lower().strip()
        return a == b or bool(self.thesaurus.lemmas(a) & self.thesaurus.lemmas(b))

    def _garbles(self, analysis: Analysis, matches: list[GrammarMatch] | None) -> list[float]:
        """Each sentence's garble score; grammar-error density counts when grammar was checked."""
        out = []
        for sent in analysis.sentences:
            if sent.kind not in ("prose", "caption"):
                out.append(0.0)
                continue
            words = lm_words(sent.tokens)
            errors = 0
            if matches:
                errors = sum(m.kind == "grammar" and sent.start <= m.start < sent.end for m in matches)
            out.append(self.garble.score(sentence_features(self.ngram, words), errors, len(words)))
        return out

    def _grammar_spans(
        self, analysis: Analysis, matches: list[GrammarMatch], sent_scores: list[float], garbles: list[float]
    ) -> list[Span]:
        """One span per LanguageTool match. A grammar span scores like its sentence (the higher of its
        spun and garble scores); typo and formatting spans score 0: they are not evidence of spinning."""
        spans = []
        starts = [s.start for s in analysis.sentences]
        for m in matches:
            score = 0.0
            if m.kind == "grammar" and starts:
                i = max(0, bisect_right(starts, m.start) - 1)
                score = max(sent_scores[i], garbles[i])
            spans.append(match_span(analysis.text, m, score))
        return spans

    def _look_alike_spans(self, analysis: Analysis) -> list[Span]:
        """A ``formatting`` span (:func:`service.homoglyphs.look_alike_span`) for every word disguised
        with look-alike letters (of other alphabets, or fullwidth or mathematical forms of Latin ones)
        whose Latin twin is a word the language model knows (its twin is how the models read it:
        :attr:`service.text.Token.norm`)."""
        return [
            look_alike_span(tok.start, tok.text, *hit)
            for sent in analysis.sentences
            for tok in sent.tokens
            if (hit := look_alikes(tok.text)) is not None and tok.is_word and self._known(tok.norm)
        ]

    def _known(self, word: str) -> bool:
        """Whether the n-gram model knows ``word``, or each part of it when it is a compound
        ("hard-line", "Washington-based": the model knows few compounds, and their parts)."""
        if self.ngram.in_vocab(word):
            return True
        parts = word.split("-")
        return len(parts) > 1 and all(p and self.ngram.in_vocab(p) for p in parts)

    def _spans(self, analysis: Analysis, threshold: float, k: int) -> list[Span]:
        chosen: list[tuple[int, int, SlotResult]] = []
        # user lexicon entries first and always: the user's own list outranks any threshold
        # (a credit line's suspect role word is a signal like the others: it meets the threshold)
        def always(r: SlotResult) -> bool:
            return r.lexicon is not None and list_rule(r.lexicon, r.builtin).always

        for r in sorted(analysis.slots, key=lambda r: (not always(r), -r.score)):
            if not always(r) and r.score < threshold:
                break
            start, end = analysis.offsets(r)
            if any(start < e and s < end for s, e, _ in chosen):
                continue
            chosen.append((start, end, r))
        return self._spans_of(analysis, [r for _, _, r in sorted(chosen, key=lambda x: x[0])], k)

    def _spans_of(self, analysis: Analysis, slots: Sequence[SlotResult], k: int) -> list[Span]:
        """The spun spans of ``slots`` (in text order, not overlapping), with ``k`` suggestions each."""
        text = analysis.text
        spans = []
        prev_end = 0
        for r in slots:
            start, end = analysis.offsets(r)
            written = text[start:end]
            rule = list_rule(r.lexicon, r.builtin) if r.lexicon else None
            # a list's originals keep the list's order; otherwise the fusion ranks
            order = np.arange(len(r.candidates)) if rule else np.argsort(-r.probs)
            fix = r.grammar.replacement if r.grammar is not None else None
            listed = [r.candidates[j].text for j in order[:k] if r.candidates[j].tokens] + ([fix] if fix else [])
            head = _article_head(analysis, r, listed, prev_end)
            between = "" if head is None else text[head[0] + len(head[1]) : start]

            def phrase(word: str) -> str:
                """A suggestion's text: the word in the written case, after its own article when
                the span takes in the article before the slot (with what stands between them in
                the text: the line break of a hard-wrapped line stays)."""
                t = match_case(written, word)
                return t if head is None else after_its_article(head[1], t, between)

            scores = r.suggestion_scores
            sugg, seen = [], set()
            for j in order[:k]:
                c = r.candidates[j]
                # a name's capitals, which the lower-case candidates lost ("yank" -> "American")
                t = phrase(c.shown if c.written is not None else self.thesaurus.written_form(c.text))
                if t.lower() in seen:
                    continue
                seen.add(t.lower())
                sugg.append(Suggestion(text=t, score=round(float(scores[j]) if rule is None else rule.suggestion_score, 4)))
            best = int(order[0])
            feats = r.features[best]
            evidence: dict[str, float | str] = {
                "relation": r.candidates[best].relation,
                "lm_gain": round(float(feats[0]), 3),
                "fit_gain": round(float(feats[1]), 3),
            }
            if self.relatedness is None or self.relatedness.knows(" ".join(r.written), r.candidates[best].text):
                evidence["similarity"] = round(float(feats[_SIM]), 3)  # not for a word with no vector ("brand-new")
            if r.second_look_gains is not None and best in r.second_look_gains:
                evidence["second_look_gain"] = round(r.second_look_gains[best], 3)
            if r.lexicon:
                evidence["lexicon"] = r.lexicon
            sources = ([] if rule is None else [rule.source]) + (["lm"] if rule is None or r.lm_score > rule.floor else [])
            if r.grammar is not None:
                sources.append("grammar")
                evidence["grammar_rule"] = r.grammar.match.rule_id
                evidence["grammar_relation"] = r.grammar.relation
                evidence["grammar_weight"] = r.grammar.weight
                if fix is not None:  # LanguageTool's near-synonym joins the suggestions
                    sugg = _with_fix(sugg, Suggestion(text=phrase(fix), score=r.grammar.weight), k)
            if head is not None:
                start = head[0]
            prev_end = end
            spans.append(
                Span(
                    start=start,
                    end=end,
                    text=text[start:end],
                    kind="spun",
                    score=round(r.score, 4),
                    suggestions=sugg,
                    sources=sources,
                    evidence=evidence,
                )
            )
        return spans


def _with_fix(sugg: list[Suggestion], fix: Suggestion, k: int) -> list[Suggestion]:
    """``sugg`` with LanguageTool's near-synonym ``fix`` in its place by score, after the first (the
    models' best, which scores as the span: at least the fix's weight, the span being raised by it;
    or a list's first original, which stays first, the fix then scoring no more than it), and ``k``
    at most: with one suggestion asked for, the first stays. A suggestion the fix repeats takes the
    higher of its two scores, so that the fix is listed alike however many suggestions are asked for."""
    key = fix.text.lower()
    if not sugg or sugg[0].text.lower() == key:
        return (sugg or [fix])[:k]
    score = max([fix.score, *(s.score for s in sugg[1:] if s.text.lower() == key)])
    rest = sorted([*(s for s in sugg[1:] if s.text.lower() != key),
                   Suggestion(text=fix.text, score=min(score, sugg[0].score))], key=lambda x: -x.score)
    return (sugg[:1] + rest)[:k]  # sorted is stable: the fix after those scoring as much


def _article_head(analysis: Analysis, r: SlotResult, listed: Sequence[str], prev_end: int) -> tuple[int, str] | None:
    """Where a span must take in the "a"/"an" before its slot: when one of the ``listed``
    suggestions (the candidates' words, and LanguageTool's fix) takes the other article ("an
    essential" -> "a critical"), so that applying any
    suggestion gives the original with its own article. Returns the article's start and the article
    as written; None when no suggestion needs it, or when the article belongs to the previous span
    (ending at ``prev_end``). In the suggestions, article and word are joined by what stands between
    them in the text, so that the line break of a hard-wrapped line stays, and a suggestion that
    keeps the article writes it as it was, however many suggestions are listed."""
    art = analysis.written_article(r)
    if art is None or art[0] < prev_end or all(article_for(w) == art[1].lower() for w in listed):
        return None
    return art


def _distinct(results: Sequence[SlotResult], scores: np.ndarray) -> np.ndarray:
    """``scores`` (one per slot of ``results``) with repeats left out: a slot whose written words and
    score equal an earlier slot's is the same words in the same context, repeated (boilerplate, a
    pasted paragraph), and says nothing new about how much of the text was spun. Without this, a
    text repeating one mildly doubtful sentence a hundred times talks the document prior up to
    "spun" and every copy is flagged."""
    seen: set[tuple[tuple[str, ...], float]] = set()
    keep = []
    for i, (r, s) in enumerate(zip(results, scores.tolist())):
        key = (tuple(w.lower() for w in r.written), round(s, 9))
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return scores[keep]


def _load_fusion(lm_name: str) -> FusionModel:
    """The shipped fusion for this backend; the n-gram one where a backend has none of its own."""
    path = default_fusion_path(lm_name)
    if not path.exists():
        path = default_fusion_path("ngram")
    if not path.exists():
        return FusionModel.neutral()
    return FusionModel.load(path)


def _unigram(ng: NGramLM, w: str) -> float:
    v = ng.unigram(w)
    return -25.0 if v == -np.inf else v


_ENGINES_LOCK = threading.RLock()
_RELATEDNESS: dict[tuple, Relatedness] = {}


def get_relatedness(ngram: NGramLM, cache_dir: str | Path) -> Relatedness:
    """Word relatedness over the n-gram vocabulary (model cache: built once per process)."""
    key = (str(ngram.path), str(cache_dir))
    with _ENGINES_LOCK:
        if key not in _RELATEDNESS:
            _RELATEDNESS[key] = Relatedness(ngram.index.vocab, cache_dir)
        return _RELATEDNESS[key]


_DETECTORS: dict[Path, ReplacedWordDetector] = {}


def get_detector(relatedness: Relatedness) -> ReplacedWordDetector:
    """The shipped replaced-word detector, reading with the relatedness model's encoder (model
    cache: loads once)."""
    with _ENGINES_LOCK:
        key = relatedness.model_dir
        if key not in _DETECTORS:
            _DETECTORS[key] = ReplacedWordDetector.load(relatedness.model_dir)
        return _DETECTORS[key]


_CORRECTORS: dict[Path, Corrector | None] = {}


def get_corrector(relatedness: Relatedness) -> Corrector | None:
    """The shipped corrector, made for the shipped detector and the n-gram vocabulary (model
    cache: loads once); None when its file is missing."""
    with _ENGINES_LOCK:
        key = relatedness.model_dir
        if key not in _CORRECTORS:
            _CORRECTORS[key] = Corrector.load(CORRECTOR_PATH, relatedness, DETECTOR_PATH)
        return _CORRECTORS[key]


_STORES: dict[Path, NeighbourStore] = {}


def get_neighbour_store(settings: Settings, ngram: NGramLM) -> NeighbourStore:
    """The machine-wide cache of thesaurus answers for these thesauri and this n-gram model (one
    SQLite file in the cache directory, opened once per process)."""
    key = store_key([
        Path(settings.wordnet_dir) / "data.noun", Path(settings.wordnet_dir) / "data.verb",
        Path(settings.mythes_path) if settings.mythes_path else None, Path(ngram.path),
        ",".join(sorted(SKIP_RELATIONS)), _version("nltk"), _version("lemminflect"),
    ])
    path = Path(settings.cache_dir) / f"neighbours-{key}.sqlite"
    with _ENGINES_LOCK:
        if path not in _STORES:
            _STORES[path] = NeighbourStore(path)
        return _STORES[path]


_SECOND_LOOKS: dict[str, tuple[SecondLook, CausalLM]] = {}


def get_second_look(settings: Settings, lm_name: str) -> tuple[SecondLook | None, CausalLM | None]:
    """The second look (the shipped one, or the file ``UNSPIN_SECOND_LOOK_PATH`` names) and its causal
    language model (model cache: loads once), as ``UNSPIN_SECOND_LOOK`` says: (None, None) when it is
    off, the backend is not the n-gram model (the weights were learned on its fusion), or, with 'auto'
    and no file named, the model or the shipped weights are missing. A file named is used or the
    engine fails: with it, 'auto' is 'on'.

    Raises:
        CausalLMUnavailable: 'on' (or a file named) and the model cannot load.
        OSError, ValueError: 'on' (or a file named) and the weights file is missing or for other features.
    """
    mode = settings.second_look
    if mode == "off" or not lm_name.startswith("ngram:"):
        if mode == "on":  # asked for, and not run: said, not left to the report's 'lm' alone
            log.warning("UNSPIN_SECOND_LOOK=on: the second look reads with the n-gram backend only (its weights "
                        "were learned on its fusion), so %s scores without it", lm_name)
        return None, None
    path = Path(settings.second_look_path or SECOND_LOOK_PATH)
    key = f"{path.resolve()}-{settings.second_look_threads}"
    with _ENGINES_LOCK:
        if key not in _SECOND_LOOKS:
            try:
                try:
                    look = SecondLook.load(path)
                except (OSError, ValueError) as e:
                    if settings.second_look_path is None:
                        raise
                    # the file the user named: the variable and the file, whatever the reason (a binary
                    # file's decoding error named neither)
                    reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                    if isinstance(e, UnicodeDecodeError):
                        reason = f"not a second-look file (not UTF-8 JSON: {e.reason} at byte {e.start})"
                    kind = type(e) if isinstance(e, OSError) else ValueError  # FileNotFoundError stays one
                    raise kind(f"UNSPIN_SECOND_LOOK_PATH={str(path)!r}: {reason}") from e
                _SECOND_LOOKS[key] = (look, CausalLM(cache_dir=settings.cache_dir, threads=settings.second_look_threads))
            except (CausalLMUnavailable, OSError, ValueError):
                if mode == "on" or settings.second_look_path is not None:
                    raise
                return None, None
        return _SECOND_LOOKS[key]


_ENGINES: dict[tuple, Engine] = {}


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for these settings (the model cache; loads once)."""
    settings = settings or get_settings()
    key = tuple(sorted(settings.model_dump(mode="json").items()))
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = build_engine(settings)
        return _ENGINES[key]


class EngineUnavailable(RuntimeError):
    """The engine cannot start: a model or weights file the settings name cannot load (the reason
    is in the message)."""


def load_engine(settings: Settings | None = None, *, fresh: bool = False, fusion: FusionModel | None = None) -> Engine:
    """:func:`get_engine` (with ``fresh``: :func:`build_engine`, a new engine, with ``fusion``
    when given), for commands that report to people: a model or weights file that cannot load is
    raised as :class:`EngineUnavailable` with the reason.

    Raises:
        EngineUnavailable: the masked LM, the causal model, WordNet or a weights file cannot load.
    """
    from service.lm.transformer import ModelUnavailable

    try:
        return build_engine(settings or get_settings(), fusion=fusion) if fresh else get_engine(settings)
    except (ModelUnavailable, CausalLMUnavailable, ThesaurusUnavailable, OSError, ValueError) as e:
        raise EngineUnavailable(f"the engine cannot start: {e}") from e


def build_engine(settings: Settings, fusion: FusionModel | None = None) -> Engine:
    """Build an engine, choosing the language model as ``UNSPIN_LM`` says (never silently);
    ``fusion`` replaces the shipped fusion model (training starts from a neutral one)."""
    ngram = NGramLM(settings.ngram_path, settings.cache_dir)
    lm: LanguageModel = ngram
    fallback = None
    if settings.lm in ("auto", "transformer"):
        from service.lm.transformer import DeviceUnavailable, ModelUnavailable, TransformerLM

        try:
            lm = TransformerLM.load(
                settings.model, device=settings.device, local_files_only=True,
                num_threads=settings.torch_threads, quantize=settings.quantize,
            )
        except DeviceUnavailable:
            raise  # the weights are there: a device setting to mend, not a reason to fall back
        except ModelUnavailable as e:
            if settings.lm == "transformer":
                raise
            fallback = f"UNSPIN_LM=auto: the masked LM {settings.model!r} did not load, so the n-gram model scores ({e})"
            # said where it matters: a model the user named (the default id is seldom on a machine)
            if settings.model != Settings.model_fields["model"].default:
                log.warning("%s", fallback)
            else:
                log.info("%s", fallback)
    return Engine(settings, lm=lm, ngram=ngram, fusion=fusion, lm_fallback=fallback)
